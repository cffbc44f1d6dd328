package jetstream

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
)

// Ack kinds, by the body of the message sent to an ack subject.
type ackKind int

const (
	ackAck ackKind = iota
	ackNak
	ackProgress
	ackNext
	ackTerm
)

// parseAckBody returns the kind of an ack and what follows the keyword.
func parseAckBody(b []byte) (ackKind, []byte) {
	switch {
	case len(b) == 0, bytes.Equal(b, []byte("+ACK")), bytes.Equal(b, []byte("+OK")):
		return ackAck, nil
	case bytes.HasPrefix(b, []byte("-NAK")):
		return ackNak, bytes.TrimSpace(b[4:])
	case bytes.HasPrefix(b, []byte("+WPI")):
		return ackProgress, nil
	case bytes.HasPrefix(b, []byte("+NXT")):
		return ackNext, bytes.TrimSpace(b[4:])
	case bytes.HasPrefix(b, []byte("+TERM")):
		return ackTerm, bytes.TrimSpace(b[5:])
	case bytes.HasPrefix(b, []byte("+ACK")):
		return ackAck, nil
	}
	return ackAck, nil
}

// parseAckSubject extracts the delivery count and the stream and consumer
// sequences from an ack subject: v1 `$JS.ACK.<s>.<c>.<dc>.<sseq>.<dseq>.
// <ts>.<pending>` or v2 `$JS.ACK.<domain>.<acchash>.<s>.<c>.<dc>.<sseq>.
// <dseq>.<ts>.<pending>[...]`.
func parseAckSubject(subj string, v2 bool) (dc, sseq, dseq uint64, ok bool) {
	var toks [12]string
	n := 0
	start := 0
	for i := 0; i < len(subj) && n < len(toks); i++ {
		if subj[i] == '.' {
			toks[n] = subj[start:i]
			n++
			start = i + 1
		}
	}
	if n < len(toks) {
		toks[n] = subj[start:]
		n++
	}
	first := 4
	if v2 {
		first = 6
		if n < 11 {
			return 0, 0, 0, false
		}
	} else if n != 9 {
		return 0, 0, 0, false
	}
	var err error
	if dc, err = strconv.ParseUint(toks[first], 10, 64); err != nil {
		return 0, 0, 0, false
	}
	if sseq, err = strconv.ParseUint(toks[first+1], 10, 64); err != nil {
		return 0, 0, 0, false
	}
	if dseq, err = strconv.ParseUint(toks[first+2], 10, 64); err != nil {
		return 0, 0, 0, false
	}
	return dc, sseq, dseq, true
}

// parseNakDelay reads `-NAK {"delay": ns}` or `-NAK <go duration>`.
func parseNakDelay(b []byte) time.Duration {
	if len(b) == 0 {
		return 0
	}
	if b[0] == '{' {
		var r jsapi.NakRequest
		if json.Unmarshal(b, &r) == nil {
			return r.Delay
		}
		return 0
	}
	d, err := time.ParseDuration(string(b))
	if err != nil {
		return 0
	}
	return d
}

// onAck handles a message on one of the consumer's ack subjects. It runs
// on the acking client's goroutine.
func (c *Consumer) onAck(subj, reply string, data []byte, v2 bool) {
	dc, sseq, dseq, ok := parseAckSubject(subj, v2)
	if !ok {
		return
	}
	kind, rest := parseAckBody(data)
	var acked []uint64
	var adv func()
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	switch kind {
	case ackAck, ackNext:
		acked = c.ackLocked(sseq, dseq, now)
	case ackTerm:
		if _, pending := c.pending[sseq]; pending {
			reason := string(rest)
			adv = func() { c.rt.advisoryTerminated(c.acc, c.s.name, c.name, dseq, sseq, dc, reason) }
		}
		acked = c.ackLocked(sseq, dseq, now)
	case ackNak:
		if c.nakLocked(sseq, parseNakDelay(rest), now) {
			adv = func() { c.rt.advisoryNak(c.acc, c.s.name, c.name, dseq, sseq, dc) }
		}
	case ackProgress:
		if p, ok := c.pending[sseq]; ok && p.deadline != queuedForRedelivery {
			p.deadline = now.UnixNano() + int64(c.ackWaitFor(p.dc, c.cfg.AckWait))
			c.pending[sseq] = p
		}
	}
	kickIt := len(acked) > 0 && c.maxAckBlocked
	if kickIt {
		c.maxAckBlocked = false
	}
	c.mu.Unlock()
	if kind == ackNext {
		if reply != "" {
			c.ProcessNext(reply, rest)
		}
	} else if reply != "" {
		// AckSync: the ack is applied; say so.
		c.acc.Publish(reply, "", nil, nil)
	}
	if adv != nil {
		adv()
	}
	if kickIt || kind == ackNak {
		c.kick()
	}
	if len(acked) > 0 {
		c.s.ackedForRetention(c, acked)
	}
}

// ackLocked applies an ack of sseq (and, for ack all, of everything
// before it) and returns the stream sequences it acknowledged.
func (c *Consumer) ackLocked(sseq, dseq uint64, now time.Time) []uint64 {
	c.lastAck = now
	if c.cfg.AckPolicy == jsapi.AckNone {
		return nil
	}
	var acked []uint64
	if c.cfg.AckPolicy == jsapi.AckExplicit {
		p, ok := c.pending[sseq]
		if !ok {
			if _, ok := c.maxed[sseq]; ok {
				delete(c.maxed, sseq)
				c.raiseFloorLocked()
				c.dirty = true
			}
			return nil
		}
		c.ackOneLocked(sseq, p, now)
		acked = []uint64{sseq}
	} else {
		if sseq <= c.asflr {
			return nil
		}
		for seq := range c.pending {
			if seq <= sseq {
				acked = append(acked, seq)
			}
		}
		for seq := range c.maxed {
			if seq <= sseq {
				delete(c.maxed, seq)
				c.dirty = true
			}
		}
		sortSeqs(acked)
		for _, seq := range acked {
			c.ackOneLocked(seq, c.pending[seq], now)
		}
	}
	c.raiseFloorLocked()
	return acked
}

// ackOneLocked removes one acknowledged message from pending.
func (c *Consumer) ackOneLocked(sseq uint64, p pendingMsg, now time.Time) {
	delete(c.pending, sseq)
	if err := c.cs.UpdateAcks(c.rt.ctx, p.dseq, sseq); err != nil {
		c.rt.log.Warnf("JetStream: consumer %q > %q: recording ack: %v", c.s.name, c.name, err)
	}
	if c.sample > 0 && rand.Float64() < c.sample {
		c.rt.advisoryAckMetric(c.acc, c.s.name, c.name, p.dseq, sseq, now.UnixNano()-p.ts, p.dc)
	}
}

// dropPendingLocked forgets a pending message whose stream message is
// gone, as if it was acknowledged.
func (c *Consumer) dropPendingLocked(sseq uint64) {
	if _, ok := c.pending[sseq]; !ok {
		return
	}
	delete(c.pending, sseq)
	c.raiseFloorLocked()
	c.dirty = true
}

// raiseFloorLocked puts the ack floor just under the oldest message not
// yet acknowledged (pending, or given up after max_deliver); with none,
// at the last delivery.
func (c *Consumer) raiseFloorLocked() {
	if len(c.pending) == 0 && len(c.maxed) == 0 {
		c.adflr = max(c.adflr, c.dseq)
		c.asflr = max(c.asflr, c.dsseq)
		return
	}
	// Look just above the floor first: in-order acks find it at once.
	var low uint64
	limit := c.asflr + uint64(len(c.pending)+len(c.maxed)) + 1
	for seq := c.asflr + 1; seq <= c.dsseq && seq <= limit; seq++ {
		if c.unackedLocked(seq) {
			low = seq
			break
		}
	}
	if low == 0 {
		for seq := range c.pending {
			if low == 0 || seq < low {
				low = seq
			}
		}
		for seq := range c.maxed {
			if low == 0 || seq < low {
				low = seq
			}
		}
	}
	if low-1 <= c.asflr {
		return
	}
	c.asflr = low - 1
	if p, ok := c.pending[low]; ok {
		c.adflr = p.dseq - 1
	}
}

func (c *Consumer) unackedLocked(seq uint64) bool {
	if _, ok := c.pending[seq]; ok {
		return true
	}
	_, ok := c.maxed[seq]
	return ok
}

// nakLocked schedules a redelivery of sseq, now or after delay; it
// reports whether sseq was pending.
func (c *Consumer) nakLocked(sseq uint64, delay time.Duration, now time.Time) bool {
	if c.cfg.AckPolicy == jsapi.AckNone {
		return false
	}
	p, ok := c.pending[sseq]
	if !ok || p.deadline == queuedForRedelivery {
		return ok
	}
	if delay > 0 {
		p.deadline = now.Add(delay).UnixNano()
		c.pending[sseq] = p
		c.setEventLocked(time.Unix(0, p.deadline))
		return true
	}
	// Redeliver at once: the loop's next timer pass picks it up.
	p.deadline = now.UnixNano()
	c.pending[sseq] = p
	c.setEventLocked(now)
	return true
}

// streamPurged adjusts the consumer to a purge of its stream: messages it
// had not reached are gone and pending ones that were purged are dropped.
func (c *Consumer) streamPurged(req store.PurgeRequest) {
	st, err := c.s.st.FastState(c.rt.ctx)
	if err != nil {
		return
	}
	c.mu.Lock()
	first := st.FirstSeq
	for seq := range c.pending {
		if seq < first || (req.Subject != "" && !c.msgExists(seq)) {
			delete(c.pending, seq)
		}
	}
	for seq := range c.maxed {
		if seq < first || (req.Subject != "" && !c.msgExists(seq)) {
			delete(c.maxed, seq)
		}
	}
	if req.Subject == "" && first > 0 {
		c.lss = nil
		c.sseq = max(c.sseq, first)
		c.dsseq = max(c.dsseq, first-1)
		c.asflr = max(c.asflr, first-1)
	}
	c.raiseFloorLocked()
	c.dirty = true
	c.recountLocked()
	c.mu.Unlock()
	c.kick()
}

func (c *Consumer) msgExists(seq uint64) bool {
	_, err := c.s.st.Load(c.rt.ctx, seq)
	return err == nil
}
