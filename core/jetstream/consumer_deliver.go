package jetstream

import (
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
)

// One round of the delivery loop sends at most this much before it lets go
// of the lock and publishes.
const (
	outMaxMsgs  = 128
	outMaxBytes = 1 << 20
)

// Where the next message comes from.
const (
	srcNew = iota
	srcRedelivery
	srcLastPerSubject
)

// queuedForRedelivery marks a pending message sitting in the redelivery
// queue (its deadline no longer applies).
const queuedForRedelivery = -1

// outMsg is a message a round prepared; its bytes live in outBatch.buf,
// copied out of the store while the lock was held.
type outMsg struct {
	to, subj          string // routed by to, presented as subj
	replyOff, replyLn int
	hdrOff, hdrLen    int
	dataOff, dataLn   int
}

// outBatch collects what one round of the loop publishes once it has let
// go of the consumer's lock. Only the loop goroutine touches it.
type outBatch struct {
	msgs  []outMsg
	buf   []byte
	after []func()
}

// add queues a message to subj; a stored message goes to the subscribers
// of to but keeps its own subject subj.
func (o *outBatch) add(to, subj string, reply, hdr, data []byte) {
	m := outMsg{to: to, subj: subj, replyOff: len(o.buf), replyLn: len(reply)}
	o.buf = append(o.buf, reply...)
	m.hdrOff, m.hdrLen = len(o.buf), len(hdr)
	o.buf = append(o.buf, hdr...)
	m.dataOff, m.dataLn = len(o.buf), len(data)
	o.buf = append(o.buf, data...)
	o.msgs = append(o.msgs, m)
}

// flushOut publishes the prepared messages in order, then runs the
// deferred work (advisories, retention).
func (c *Consumer) flushOut() {
	o := &c.out
	for i := range o.msgs {
		m := &o.msgs[i]
		var reply, hdr, data []byte
		if m.replyLn > 0 {
			reply = o.buf[m.replyOff : m.replyOff+m.replyLn]
		}
		if m.hdrLen > 0 {
			hdr = o.buf[m.hdrOff : m.hdrOff+m.hdrLen]
		}
		if m.dataLn > 0 {
			data = o.buf[m.dataOff : m.dataOff+m.dataLn]
		}
		c.acc.PublishTo(m.to, m.subj, reply, hdr, data)
	}
	clear(o.msgs)
	o.msgs = o.msgs[:0]
	if cap(o.buf) > 4*outMaxBytes {
		o.buf = nil
	}
	o.buf = o.buf[:0]
	after := o.after
	o.after = nil
	for _, f := range after {
		f()
	}
}

// later runs f after this round's messages went out. Held: c.mu, on the
// loop goroutine.
func (c *Consumer) later(f func()) { c.out.after = append(c.out.after, f) }

// run is the consumer's delivery loop. It sleeps until kicked (new
// messages, a pull request, an ack that frees room, a flow-control reply)
// or until its next timer-driven duty.
func (c *Consumer) run() {
	defer close(c.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		now := time.Now()
		if !c.nextEvent.IsZero() && !now.Before(c.nextEvent) {
			c.nextEvent = time.Time{}
			c.timersLocked(now)
		}
		more := c.fillLocked(now)
		c.persistLocked()
		next := c.nextEvent
		c.mu.Unlock()
		c.flushOut()
		if more {
			select {
			case <-c.quit:
				return
			default:
			}
			continue
		}
		var tc <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
			tc = timer.C
		}
		select {
		case <-c.kickCh:
		case <-tc:
		case <-c.quit:
			return
		}
	}
}

// timersLocked does the timer-driven work due at now and computes when the
// next is due.
func (c *Consumer) timersLocked(now time.Time) {
	if c.paused {
		if !now.Before(c.pauseUntil) {
			c.paused = false
			until := c.cfg.PauseUntil
			c.later(func() { c.rt.advisoryPause(c.acc, c.s.name, c.name, false, until) })
		} else {
			c.setEventLocked(c.pauseUntil)
		}
	}
	c.checkPendingLocked(now)
	c.checkWaitingLocked(now)
	c.checkPinsLocked(now)
	if c.cfg.IsPush() {
		c.checkPushLocked(now)
	}
	c.checkInactiveLocked(now)
}

// checkPendingLocked queues for redelivery what waited longer than its ack
// wait, and reports messages that reached max_deliver.
func (c *Consumer) checkPendingLocked(now time.Time) {
	if len(c.pending) == 0 {
		return
	}
	ns := now.UnixNano()
	var due []uint64
	var next int64
	for seq, p := range c.pending {
		switch {
		case p.deadline == queuedForRedelivery:
		case p.deadline <= ns:
			due = append(due, seq)
		case next == 0 || p.deadline < next:
			next = p.deadline
		}
	}
	if next > 0 {
		c.setEventLocked(time.Unix(0, next))
	}
	if len(due) == 0 {
		return
	}
	sortSeqs(due)
	for _, seq := range due {
		c.queueRedeliveryLocked(seq)
	}
}

// queueRedeliveryLocked puts a pending message in the redelivery queue.
func (c *Consumer) queueRedeliveryLocked(seq uint64) {
	p, ok := c.pending[seq]
	if !ok || p.deadline == queuedForRedelivery {
		return
	}
	p.deadline = queuedForRedelivery
	c.pending[seq] = p
	// Keep the queue in stream order; appends are the common case.
	i := len(c.rdq)
	for i > 0 && c.rdq[i-1] > seq {
		i--
	}
	c.rdq = append(c.rdq, 0)
	copy(c.rdq[i+1:], c.rdq[i:])
	c.rdq[i] = seq
}

// maxDeliveredLocked gives up on a message that used its deliveries.
func (c *Consumer) maxDeliveredLocked(seq, dc uint64) {
	delete(c.pending, seq)
	if c.maxed == nil {
		c.maxed = map[uint64]uint64{}
	}
	c.maxed[seq] = dc
	c.dirty = true
	c.later(func() { c.rt.advisoryMaxDeliver(c.acc, c.s.name, c.name, seq, dc) })
}

func sortSeqs(s []uint64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// ackWaitFor is the ack wait of delivery number dc: the backoff entry for
// it, else ack_wait.
func (c *Consumer) ackWaitFor(dc uint64, wait time.Duration) time.Duration {
	if bo := c.cfg.BackOff; len(bo) > 0 {
		i := int(dc) - 1
		if i >= len(bo) {
			i = len(bo) - 1
		}
		if i < 0 {
			i = 0
		}
		return bo[i]
	}
	if wait <= 0 {
		wait = defaultAckWait
	}
	return wait
}

// peekLocked returns the next message to deliver without taking it:
// redeliveries first, then the last-per-subject start list, then new
// messages (unless max_ack_pending is reached).
func (c *Consumer) peekLocked() (store.Msg, uint64, int, bool) {
	ctx := c.rt.ctx
	for len(c.rdq) > 0 {
		seq := c.rdq[0]
		p, ok := c.pending[seq]
		if !ok || p.deadline != queuedForRedelivery {
			c.rdq = c.rdq[1:]
			continue
		}
		if md := c.cfg.MaxDeliver; md > 0 && p.dc >= uint64(md) {
			// Used up its deliveries: it leaves pending but keeps the ack
			// floor, as in the reference.
			c.rdq = c.rdq[1:]
			c.maxDeliveredLocked(seq, p.dc)
			continue
		}
		m, err := c.s.st.Load(ctx, seq)
		if err != nil {
			c.rdq = c.rdq[1:]
			c.dropPendingLocked(seq)
			continue
		}
		return m, p.dc + 1, srcRedelivery, true
	}
	if c.cfg.MaxAckPending > 0 && len(c.pending) >= c.cfg.MaxAckPending {
		c.maxAckBlocked = true
		return store.Msg{}, 0, 0, false
	}
	for len(c.lss) > 0 {
		seq := c.lss[0]
		m, err := c.s.st.Load(ctx, seq)
		if err == nil {
			return m, 1, srcLastPerSubject, true
		}
		c.lss = c.lss[1:]
		if len(c.lss) == 0 {
			c.sseq = max(c.sseq, seq+1)
		}
	}
	m, err := c.s.st.LoadNext(ctx, c.filters, c.sseq)
	if err != nil {
		return store.Msg{}, 0, 0, false
	}
	return m, 1, srcNew, true
}

// fillLocked prepares deliveries until there is nothing to send, nobody to
// send it to, or the round is full (then it reports true).
func (c *Consumer) fillLocked(now time.Time) bool {
	if c.paused {
		return false
	}
	push := c.cfg.IsPush()
	if push {
		if !c.push.bound {
			return false
		}
	} else if len(c.waiting) == 0 {
		return false
	}
	for i := 0; i < outMaxMsgs; i++ {
		if len(c.out.buf) >= outMaxBytes {
			return true
		}
		if push && c.pushBlockedLocked(now) {
			return false
		}
		m, dc, src, ok := c.peekLocked()
		if !ok {
			if !push {
				c.endNoWaitLocked()
			}
			return false
		}
		if src != srcRedelivery && c.cfg.ReplayPolicy == jsapi.ReplayOriginal {
			if wait := c.replay.wait(m.Time, now); wait > 0 {
				c.setEventLocked(now.Add(wait))
				return false
			}
		}
		var wr *waitingRequest
		if !push {
			if wr = c.pickRequestLocked(now); wr == nil {
				// no_wait requests that can take nothing now are done.
				c.endNoWaitLocked()
				return false
			}
		}
		if !c.deliverLocked(&m, dc, src, wr, now) {
			// The request could not take the message; try the next one.
			i--
			continue
		}
		if !push && len(c.waiting) == 0 {
			return false
		}
	}
	return true
}

// deliverLocked hands m to wr (a pull request) or the deliver subject. It
// reports false, taking nothing, when m does not fit the request's bytes.
func (c *Consumer) deliverLocked(m *store.Msg, dc uint64, src int, wr *waitingRequest, now time.Time) bool {
	c.syncPendingLocked()
	np := c.npc
	if src != srcRedelivery && np > 0 && m.Seq <= c.npf {
		np--
	}
	c.scratch = c.ackReply(c.scratch[:0], dc, m.Seq, c.dseq+1, m.Time, np)
	reply := c.scratch
	hdr, data := m.Header, m.Data
	var pin string
	if wr != nil && c.cfg.PriorityPolicy == jsapi.PriorityPinnedClient {
		pin = c.pinFor(wr, now)
	}
	if c.cfg.HeadersOnly || pin != "" {
		kv := make([]string, 0, 4)
		if c.cfg.HeadersOnly {
			kv = append(kv, hdrMsgSize, strconv.Itoa(len(data)))
			data = nil
		}
		if pin != "" {
			kv = append(kv, hdrPinID, pin)
		}
		hdr = appendHeaders(hdr, kv...)
	}
	size := len(m.Subject) + len(reply) + len(hdr) + len(data)
	if wr != nil && wr.maxBytes > 0 && size > wr.bytesLeft {
		c.endRequestLocked(wr, pendingStatus("409 Message Size Exceeds MaxBytes", wr.n, wr.bytesLeft))
		return false
	}
	c.commitLocked(m, dc, src, now)
	if wr != nil {
		c.out.add(wr.reply, m.Subject, reply, hdr, data)
		c.servedLocked(wr, size, now)
	} else {
		c.out.add(c.cfg.DeliverSubject, m.Subject, reply, hdr, data)
		c.sentPushLocked(size, now)
	}
	return true
}

// commitLocked records the delivery of m.
func (c *Consumer) commitLocked(m *store.Msg, dc uint64, src int, now time.Time) {
	c.dseq++
	switch src {
	case srcRedelivery:
		c.rdq = c.rdq[1:]
	case srcLastPerSubject:
		c.lss = c.lss[1:]
		if len(c.lss) == 0 {
			c.sseq = max(c.sseq, m.Seq+1)
		}
	default:
		c.sseq = m.Seq + 1
	}
	if src != srcRedelivery && c.npc > 0 && m.Seq <= c.npf {
		c.npc--
	}
	if m.Seq > c.dsseq {
		c.dsseq = m.Seq
	}
	c.lastDelivered = now
	ns := now.UnixNano()
	if c.cfg.AckPolicy == jsapi.AckNone {
		c.adflr = c.dseq
		c.asflr = max(c.asflr, m.Seq)
		c.dirty = true
		c.deliveredNoAckLocked(m.Seq)
		return
	}
	p := pendingMsg{dseq: c.dseq, ts: ns, dc: dc}
	p.deadline = ns + int64(c.ackWaitFor(dc, c.cfg.AckWait))
	c.pending[m.Seq] = p
	if err := c.cs.UpdateDelivered(c.rt.ctx, c.dseq, m.Seq, dc, ns); err != nil {
		c.rt.log.Warnf("JetStream: consumer %q > %q: recording delivery: %v", c.s.name, c.name, err)
	}
	c.setEventLocked(time.Unix(0, p.deadline))
}

// ackReply builds the v1 ack subject of a delivery, which clients also
// parse for the message's metadata.
func (c *Consumer) ackReply(b []byte, dc, sseq, dseq uint64, ts int64, pending uint64) []byte {
	b = append(b, c.ackPrefix...)
	b = strconv.AppendUint(b, dc, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, sseq, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, dseq, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return strconv.AppendUint(b, pending, 10)
}

// persistLocked saves the whole state when it changed other than delivery
// by delivery and ack by ack: an ack-none consumer's position, a purge.
func (c *Consumer) persistLocked() {
	if !c.dirty {
		return
	}
	c.dirty = false
	st := c.stateLocked()
	if err := c.cs.Update(c.rt.ctx, st); err != nil {
		c.rt.log.Warnf("JetStream: consumer %q > %q: saving state: %v", c.s.name, c.name, err)
	}
}

// stateLocked is the consumer's state in the store's terms.
func (c *Consumer) stateLocked() store.ConsumerState {
	st := store.ConsumerState{
		Delivered: store.SeqPair{Consumer: c.dseq, Stream: c.dsseq},
		AckFloor:  store.SeqPair{Consumer: c.adflr, Stream: c.asflr},
	}
	for seq, dc := range c.maxed {
		if st.Redelivered == nil {
			st.Redelivered = map[uint64]uint64{}
		}
		st.Redelivered[seq] = dc - 1
	}
	if len(c.pending) > 0 {
		st.Pending = make(map[uint64]store.Pending, len(c.pending))
		for seq, p := range c.pending {
			st.Pending[seq] = store.Pending{Sequence: p.dseq, Timestamp: p.ts}
			if p.dc > 1 {
				if st.Redelivered == nil {
					st.Redelivered = map[uint64]uint64{}
				}
				st.Redelivered[seq] = p.dc - 1
			}
		}
	}
	return st
}

// syncPendingLocked brings num_pending up to date: a recount after
// removals, else a count of what arrived since the last look.
func (c *Consumer) syncPendingLocked() {
	if gen := c.s.cons.removals.Load(); gen != c.npGen {
		c.recountLocked()
		return
	}
	last := c.s.lastSeq.Load()
	if last <= c.npf {
		return
	}
	ctx := c.rt.ctx
	if st, err := c.s.st.FastState(ctx); err == nil && st.FirstSeq > c.sseq && len(c.lss) == 0 {
		// Limits dropped messages this consumer had not reached.
		c.recountLocked()
		return
	}
	n, through, err := c.s.st.NumPending(ctx, c.npf+1, c.filters, false)
	if err != nil {
		return
	}
	c.npc += n
	c.npf = max(through, last)
}

// recountLocked counts the messages still to be delivered from scratch.
func (c *Consumer) recountLocked() {
	ctx := c.rt.ctx
	c.npGen = c.s.cons.removals.Load()
	c.npc = 0
	start := c.sseq
	if len(c.lss) > 0 {
		for _, seq := range c.lss {
			if _, err := c.s.st.Load(ctx, seq); err == nil {
				c.npc++
			}
		}
		start = c.lss[len(c.lss)-1] + 1
	}
	n, through, err := c.s.st.NumPending(ctx, start, c.filters, false)
	if err != nil {
		c.npf = c.s.lastSeq.Load()
		return
	}
	c.npc += n
	c.npf = through
}

// replayState paces replay_policy original: messages go out as far apart
// as they were stored.
type replayState struct {
	start time.Time // when the first message went out
	first int64     // its stored time
}

func (r *replayState) wait(ts int64, now time.Time) time.Duration {
	if r.start.IsZero() {
		r.start, r.first = now, ts
		return 0
	}
	return time.Duration(ts-r.first) - now.Sub(r.start)
}
