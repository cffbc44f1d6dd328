package jetstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

// hdrPinID carries the pin of a pinned_client priority group.
const hdrPinID = "Nats-Pin-Id"

// Status replies of pull requests (§3.4 of the surface notes).
var (
	statusNoMessages      = []byte("NATS/1.0 404 No Messages\r\n\r\n")
	statusPushBased       = []byte("NATS/1.0 409 Consumer is push based\r\n\r\n")
	statusMaxWaiting      = []byte("NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n")
	statusConsumerDeleted = []byte("NATS/1.0 409 Consumer Deleted\r\n\r\n")
	statusPinMismatch     = []byte("NATS/1.0 423 Nats-Pin-Id mismatch\r\n\r\n")
)

func statusLine(text string) []byte { return []byte("NATS/1.0 " + text + "\r\n\r\n") }

// pendingStatus is a status carrying what the request still wanted.
func pendingStatus(text string, msgs, bytes int) []byte {
	b := make([]byte, 0, 96)
	b = append(b, "NATS/1.0 "...)
	b = append(b, text...)
	b = append(b, "\r\nNats-Pending-Messages: "...)
	b = strconv.AppendInt(b, int64(msgs), 10)
	b = append(b, "\r\nNats-Pending-Bytes: "...)
	b = strconv.AppendInt(b, int64(bytes), 10)
	return append(b, "\r\n\r\n"...)
}

// heartbeatStatus is the idle heartbeat; stalled names the flow-control
// reply a push consumer waits for.
func (c *Consumer) heartbeatStatus(stalled string) []byte {
	b := make([]byte, 0, 128)
	b = append(b, "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: "...)
	b = strconv.AppendUint(b, c.dseq, 10)
	b = append(b, "\r\nNats-Last-Stream: "...)
	b = strconv.AppendUint(b, c.dsseq, 10)
	if stalled != "" {
		b = append(b, "\r\nNats-Consumer-Stalled: "...)
		b = append(b, stalled...)
	}
	return append(b, "\r\n\r\n"...)
}

// waitingRequest is a queued pull request.
type waitingRequest struct {
	reply     string
	n         int // messages still wanted
	maxBytes  int
	bytesLeft int
	expires   time.Time
	hb        time.Duration
	hbNext    time.Time
	noWait    bool
	group     string
	minPend   int64
	minAck    int64
	id        string
	priority  int
	gen       uint64 // subscription-index generation its interest was seen at
}

// ProcessNext handles a pull request (CONSUMER.MSG.NEXT or +NXT) whose
// messages go to reply.
func (c *Consumer) ProcessNext(reply string, body []byte) {
	status := c.addRequest(reply, body)
	if status != nil && reply != "" {
		c.acc.Publish(reply, "", status, nil)
	}
}

// parseNext decodes a pull request body: empty (one message), a number (a
// batch) or JSON. Unknown JSON fields are ignored, as the reference does.
func parseNext(body []byte) (jsapi.NextRequest, error) {
	var req jsapi.NextRequest
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		req.Batch = 1
		return req, nil
	}
	if body[0] != '{' {
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return req, err
		}
		req.Batch = n
		return req, nil
	}
	err := json.Unmarshal(body, &req)
	return req, err
}

// addRequest validates and queues a pull request; it returns the status to
// answer at once, if any.
func (c *Consumer) addRequest(reply string, body []byte) []byte {
	req, err := parseNext(body)
	if err != nil {
		return statusLine("400 Bad Request - " + err.Error())
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	cfg := &c.cfg
	if cfg.IsPush() {
		return statusPushBased
	}
	if req.Batch <= 0 {
		req.Batch = 1
	}
	if m := cfg.MaxRequestBatch; m > 0 && req.Batch > m {
		return statusLine(fmt.Sprintf("409 Exceeded MaxRequestBatch of %d", m))
	}
	if m := cfg.MaxRequestExpires; m > 0 && req.Expires > m {
		return statusLine(fmt.Sprintf("409 Exceeded MaxRequestExpires of %v", m))
	}
	if m := cfg.MaxRequestMaxBytes; m > 0 && req.MaxBytes > m {
		return statusLine(fmt.Sprintf("409 Exceeded MaxRequestMaxBytes of %d", m))
	}
	if req.Heartbeat > 0 && (req.Expires <= 0 || req.Heartbeat > req.Expires/2) {
		return statusLine("400 Bad Request - heartbeat value too large")
	}
	if st := c.checkGroupLocked(&req); st != nil {
		return st
	}
	if req.Expires < 0 {
		return pendingStatus("408 Request Timeout", req.Batch, max(req.MaxBytes, 0))
	}
	wr := &waitingRequest{reply: reply, n: req.Batch, maxBytes: req.MaxBytes, bytesLeft: req.MaxBytes,
		hb: req.Heartbeat, group: req.Group, minPend: req.MinPending, minAck: req.MinAckPending,
		id: req.ID, priority: req.Priority}
	if req.Expires > 0 {
		wr.expires = now.Add(req.Expires)
	}
	if req.NoWait {
		if !c.hasMessageLocked() || !c.eligibleLocked(wr) {
			if req.Expires <= 0 {
				return statusNoMessages
			}
		} else {
			wr.noWait = true
		}
	}
	if len(c.waiting) >= cfg.MaxWaiting && cfg.MaxWaiting > 0 {
		if wr.hb > 0 {
			return nil
		}
		return statusMaxWaiting
	}
	if wr.hb > 0 {
		wr.hbNext = now.Add(wr.hb)
		c.setEventLocked(wr.hbNext)
	}
	c.setEventLocked(wr.expires)
	c.waiting = append(c.waiting, wr)
	c.activeAt = now
	if wr.id != "" {
		if p := c.pins[wr.group]; p != nil && p.id == wr.id {
			p.seen = now
		}
	}
	c.kick()
	return nil
}

// checkGroupLocked applies the priority-group rules to a request.
func (c *Consumer) checkGroupLocked(req *jsapi.NextRequest) []byte {
	cfg := &c.cfg
	if req.Priority < 0 || req.Priority > 9 {
		return statusLine("400 Bad Request - Priority must be between 0 and 9")
	}
	if cfg.PriorityPolicy == jsapi.PriorityNone {
		return nil
	}
	if req.Group == "" {
		return statusLine("400 Bad Request - Priority Group missing")
	}
	found := false
	for _, g := range cfg.PriorityGroups {
		if g == req.Group {
			found = true
			break
		}
	}
	if !found {
		return statusLine("400 Bad Request - Invalid Priority Group")
	}
	if cfg.PriorityPolicy == jsapi.PriorityPinnedClient && req.ID != "" {
		p := c.pins[req.Group]
		if p == nil {
			return pendingStatus("423 Nats-Wrong-Pin-Id", req.Batch, max(req.MaxBytes, 0))
		}
		if p.id != req.ID {
			return statusPinMismatch
		}
	}
	return nil
}

// hasMessageLocked reports whether something could be delivered now.
func (c *Consumer) hasMessageLocked() bool {
	if c.paused {
		return false
	}
	_, _, _, ok := c.peekLocked()
	return ok
}

// pickRequestLocked chooses the request the next message goes to.
func (c *Consumer) pickRequestLocked(now time.Time) *waitingRequest {
	var best *waitingRequest
	gen := c.acc.Sublist().Gen()
	for i := 0; i < len(c.waiting); i++ {
		wr := c.waiting[i]
		if !wr.expires.IsZero() && !now.Before(wr.expires) {
			continue
		}
		// A requester that went away takes nothing more; the check costs
		// an atomic load unless subscriptions changed.
		if wr.gen != gen {
			if !c.acc.HasInterest(wr.reply) {
				c.endRequestLocked(wr, nil)
				i--
				continue
			}
			wr.gen = gen
		}
		if !c.eligibleLocked(wr) {
			continue
		}
		if c.cfg.PriorityPolicy != jsapi.PriorityPrioritized {
			return wr
		}
		if best == nil || wr.priority < best.priority {
			best = wr
		}
	}
	return best
}

func (c *Consumer) eligibleLocked(wr *waitingRequest) bool {
	switch c.cfg.PriorityPolicy {
	case jsapi.PriorityOverflow:
		if wr.minPend > 0 {
			c.syncPendingLocked()
			if int64(c.npc) < wr.minPend {
				return false
			}
		}
		if wr.minAck > 0 && int64(len(c.pending)) < wr.minAck {
			return false
		}
	case jsapi.PriorityPinnedClient:
		if p := c.pins[wr.group]; p != nil {
			return wr.id == p.id
		}
	}
	return true
}

// servedLocked accounts a message sent to wr and ends it when it is done;
// a request with more to take goes to the back of the queue so that
// requests share the messages.
func (c *Consumer) servedLocked(wr *waitingRequest, size int, now time.Time) {
	wr.n--
	if wr.maxBytes > 0 {
		wr.bytesLeft -= size
	}
	if wr.hb > 0 {
		wr.hbNext = now.Add(wr.hb)
	}
	if wr.n <= 0 {
		if wr.maxBytes > 0 {
			c.endRequestLocked(wr, pendingStatus("409 Batch Completed", 0, wr.bytesLeft))
		} else {
			c.endRequestLocked(wr, nil)
		}
		return
	}
	if wr.maxBytes > 0 && wr.bytesLeft <= 0 {
		c.endRequestLocked(wr, pendingStatus("409 Batch Completed", wr.n, 0))
		return
	}
	if n := len(c.waiting); n > 1 && c.waiting[n-1] != wr {
		c.removeRequestLocked(wr)
		c.waiting = append(c.waiting, wr)
	}
}

func (c *Consumer) removeRequestLocked(wr *waitingRequest) {
	for i, w := range c.waiting {
		if w == wr {
			copy(c.waiting[i:], c.waiting[i+1:])
			c.waiting[len(c.waiting)-1] = nil
			c.waiting = c.waiting[:len(c.waiting)-1]
			return
		}
	}
}

// endRequestLocked drops wr, answering it with status if not nil.
func (c *Consumer) endRequestLocked(wr *waitingRequest, status []byte) {
	c.removeRequestLocked(wr)
	if status != nil {
		c.out.add(wr.reply, wr.reply, nil, status, nil)
	}
	if len(c.waiting) == 0 {
		c.activeAt = time.Now()
	}
}

// endNoWaitLocked answers the no_wait requests once nothing is left.
func (c *Consumer) endNoWaitLocked() {
	for i := 0; i < len(c.waiting); {
		wr := c.waiting[i]
		if wr.noWait {
			c.endRequestLocked(wr, statusNoMessages)
			continue
		}
		i++
	}
}

// checkWaitingLocked expires requests, sends their heartbeats and drops
// those whose requester went away.
func (c *Consumer) checkWaitingLocked(now time.Time) {
	for i := 0; i < len(c.waiting); {
		wr := c.waiting[i]
		if !wr.expires.IsZero() && !now.Before(wr.expires) {
			c.endRequestLocked(wr, pendingStatus("408 Request Timeout", wr.n, max(wr.bytesLeft, 0)))
			continue
		}
		if !c.acc.HasInterest(wr.reply) {
			c.endRequestLocked(wr, nil)
			continue
		}
		if wr.hb > 0 {
			if !now.Before(wr.hbNext) {
				c.out.add(wr.reply, wr.reply, nil, c.heartbeatStatus(""), nil)
				wr.hbNext = now.Add(wr.hb)
			}
			c.setEventLocked(wr.hbNext)
		}
		c.setEventLocked(wr.expires)
		i++
	}
	if len(c.waiting) > 0 {
		// Requesters that go away are noticed within a second.
		c.setEventLocked(now.Add(time.Second))
	}
}

// pinState is the pinned client of a priority group.
type pinState struct {
	id   string
	ts   time.Time // when it was pinned
	seen time.Time // its last pull request
}

// pinFor returns the pin a message for wr carries, pinning wr's client
// when its group has none.
func (c *Consumer) pinFor(wr *waitingRequest, now time.Time) string {
	if c.pins == nil {
		c.pins = map[string]*pinState{}
	}
	p := c.pins[wr.group]
	if p == nil {
		p = &pinState{id: newNUID(), ts: now.UTC(), seen: now}
		c.pins[wr.group] = p
		id, group := p.id, wr.group
		c.later(func() { c.rt.advisoryPinned(c.acc, c.s.name, c.name, group, id) })
		c.setEventLocked(now.Add(c.cfg.PinnedTTL))
	}
	wr.id = p.id
	return p.id
}

// checkPinsLocked unpins clients that stopped pulling for the pin TTL.
func (c *Consumer) checkPinsLocked(now time.Time) {
	for g, p := range c.pins {
		busy := false
		for _, wr := range c.waiting {
			if wr.group == g && wr.id == p.id {
				busy = true
				break
			}
		}
		if busy {
			p.seen = now
		}
		if due := p.seen.Add(c.cfg.PinnedTTL); !now.Before(due) {
			delete(c.pins, g)
			group := g
			c.later(func() { c.rt.advisoryUnpinned(c.acc, c.s.name, c.name, group, "timeout") })
			c.kickLater()
		} else {
			c.setEventLocked(due)
		}
	}
}

// kickLater makes the loop run another round after this one.
func (c *Consumer) kickLater() { c.later(c.kick) }

// Unpin drops the pinned client of group.
func (c *Consumer) Unpin(group string) error {
	c.mu.Lock()
	found := false
	for _, g := range c.cfg.PriorityGroups {
		if g == group {
			found = true
		}
	}
	if !found || c.cfg.PriorityPolicy != jsapi.PriorityPinnedClient {
		c.mu.Unlock()
		return jserr.NewConsumerInvalidPriorityGroupError()
	}
	_, pinned := c.pins[group]
	delete(c.pins, group)
	c.mu.Unlock()
	if pinned {
		c.rt.advisoryUnpinned(c.acc, c.s.name, c.name, group, "admin")
	}
	c.kick()
	return nil
}

// groupStatesLocked reports the priority groups: the first always, as the
// reference does, and any other with a pin.
func (c *Consumer) groupStatesLocked() []jsapi.PriorityGroupState {
	if c.cfg.PriorityPolicy == jsapi.PriorityNone {
		return nil
	}
	var out []jsapi.PriorityGroupState
	for i, g := range c.cfg.PriorityGroups {
		st := jsapi.PriorityGroupState{Group: g}
		if p := c.pins[g]; p != nil {
			st.PinnedClientID, st.PinnedTS = p.id, p.ts
		} else if i > 0 {
			continue
		}
		out = append(out, st)
	}
	return out
}
