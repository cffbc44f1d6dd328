package jetstream

import (
	"time"
)

// Push flow control: a FlowControl Request goes out with every fcChunk
// bytes, and delivery stalls when fcWindow bytes are unanswered.
const (
	fcWindow = 8 << 20
	fcChunk  = fcWindow / 4
	// interestPoll is how often an unbound push consumer looks for a
	// subscriber on its deliver subject (a subscription-index generation
	// check, so it costs an atomic load when nothing changed).
	interestPoll = 250 * time.Millisecond
)

var statusFlowControl = []byte("NATS/1.0 100 FlowControl Request\r\n\r\n")

// pushState is the delivery state of a push consumer.
type pushState struct {
	bound    bool
	gen      uint64    // subscription-index generation bound was computed at
	lastSend time.Time // last message or status to the deliver subject
	// Flow control: bytes sent, bytes the client confirmed, bytes sent
	// since the last request, and the outstanding requests with the byte
	// count each confirms.
	sent, acked, sinceFC int64
	fcs                  map[string]int64
	lastFC               string
	// Rate limit: the earliest time the next message may go.
	rlNext time.Time
}

// refreshBoundLocked recomputes whether the deliver subject has interest.
func (c *Consumer) refreshBoundLocked(now time.Time) {
	sl := c.acc.Sublist()
	gen := sl.Gen()
	if gen == c.push.gen && c.push.gen != 0 {
		return
	}
	c.push.gen = gen
	was := c.push.bound
	c.push.bound = c.acc.HasInterest(c.cfg.DeliverSubject)
	if c.push.bound {
		c.activeAt = now
		if !was {
			// A new subscriber starts a fresh flow-control window.
			c.push.acked, c.push.sinceFC = c.push.sent, 0
			clear(c.push.fcs)
		}
	}
}

// checkPushLocked keeps track of the subscriber and sends idle heartbeats.
func (c *Consumer) checkPushLocked(now time.Time) {
	c.refreshBoundLocked(now)
	if !c.push.bound {
		c.setEventLocked(now.Add(interestPoll))
		return
	}
	// Bound: notice the subscriber leaving within the poll interval too.
	c.setEventLocked(now.Add(interestPoll))
	hb := c.cfg.Heartbeat
	if hb <= 0 {
		return
	}
	due := c.push.lastSend.Add(hb)
	if !now.Before(due) {
		stalled := ""
		if c.push.sent-c.push.acked >= fcWindow {
			stalled = c.push.lastFC
		}
		c.out.add(c.cfg.DeliverSubject, c.cfg.DeliverSubject, nil, c.heartbeatStatus(stalled), nil)
		c.push.lastSend = now
		due = now.Add(hb)
	}
	c.setEventLocked(due)
}

// pushBlockedLocked reports whether delivery must wait: for a flow-control
// answer, or for the rate limit.
func (c *Consumer) pushBlockedLocked(now time.Time) bool {
	if c.cfg.FlowControl && c.push.sent-c.push.acked >= fcWindow {
		return true
	}
	if c.cfg.RateLimit > 0 && now.Before(c.push.rlNext) {
		c.setEventLocked(c.push.rlNext)
		return true
	}
	return false
}

// sentPushLocked accounts a message to the deliver subject and asks for
// flow control when a chunk's worth went out.
func (c *Consumer) sentPushLocked(size int, now time.Time) {
	c.push.lastSend = now
	if c.cfg.RateLimit > 0 {
		d := time.Duration(float64(size*8) / float64(c.cfg.RateLimit) * float64(time.Second))
		if c.push.rlNext.Before(now) {
			c.push.rlNext = now
		}
		c.push.rlNext = c.push.rlNext.Add(d)
	}
	if !c.cfg.FlowControl {
		return
	}
	c.push.sent += int64(size)
	c.push.sinceFC += int64(size)
	if c.push.sinceFC < fcChunk {
		return
	}
	c.push.sinceFC = 0
	reply := "$JS.FC." + c.s.name + "." + c.name + "." + newNUID()[18:]
	if c.push.fcs == nil {
		c.push.fcs = map[string]int64{}
	}
	c.push.fcs[reply] = c.push.sent
	c.push.lastFC = reply
	c.out.add(c.cfg.DeliverSubject, c.cfg.DeliverSubject, []byte(reply), statusFlowControl, nil)
}

// onFlowControl handles the client's answer to a FlowControl Request.
func (c *Consumer) onFlowControl(subj string) {
	c.mu.Lock()
	n, ok := c.push.fcs[subj]
	if ok {
		// Answers confirm everything up to their request.
		for k, v := range c.push.fcs {
			if v <= n {
				delete(c.push.fcs, k)
			}
		}
		c.push.acked = max(c.push.acked, n)
	}
	c.mu.Unlock()
	if ok {
		c.kick()
	}
}

// checkInactiveLocked deletes a consumer that had no interest for its
// inactive threshold: no waiting pull request, no push subscriber.
func (c *Consumer) checkInactiveLocked(now time.Time) {
	t := c.cfg.InactiveThreshold
	if t <= 0 {
		return
	}
	active := len(c.waiting) > 0
	if c.cfg.IsPush() {
		active = c.push.bound
	}
	if active {
		c.activeAt = now
	}
	due := c.activeAt.Add(t)
	if now.Before(due) {
		c.setEventLocked(due)
		return
	}
	c.later(func() { go c.deleteSelf() })
}
