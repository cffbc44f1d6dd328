package jetstream

import (
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
)

// Retention by consumers: a work-queue stream drops a message once its
// consumer acknowledged it; an interest stream once every consumer whose
// filter matches it did, and does not keep messages nobody is interested
// in. Removals go through the stream's executor (opRemoveSeqs).

func (s *Stream) retention() jsapi.RetentionPolicy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Retention
}

// ackedForRetention removes what acks by c made unneeded.
func (s *Stream) ackedForRetention(c *Consumer, seqs []uint64) {
	switch s.retention() {
	case jsapi.WorkQueuePolicy:
		s.removeSeqs(seqs)
	case jsapi.InterestPolicy:
		others := s.cons.list()
		filtered := false
		for _, o := range others {
			if o != c && len(o.filterList()) > 0 {
				filtered = true
			}
		}
		var drop []uint64
		for _, seq := range seqs {
			subj := ""
			if filtered {
				var err error
				if subj, err = s.st.SubjectForSeq(s.rt.ctx, seq); err != nil {
					continue
				}
			}
			if !s.neededByAny(others, c, seq, subj) {
				drop = append(drop, seq)
			}
		}
		s.removeSeqs(drop)
	}
}

// neededByAny reports whether a consumer other than except still needs
// message seq with subject subj.
func (s *Stream) neededByAny(cs []*Consumer, except *Consumer, seq uint64, subj string) bool {
	for _, o := range cs {
		if o != except && o.needs(seq, subj) {
			return true
		}
	}
	return false
}

// needs reports whether the consumer has yet to deliver or to see acked
// message seq (subject subj, or "" when the caller knows it matches).
func (c *Consumer) needs(seq uint64, subj string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if subj != "" && len(c.filters) > 0 && !store.MatchAny(subj, c.filters) {
		return false
	}
	if len(c.lss) > 0 {
		for _, q := range c.lss {
			if q == seq {
				return true
			}
		}
		return seq > c.lss[len(c.lss)-1]
	}
	if seq >= c.sseq {
		return true
	}
	if c.cfg.AckPolicy == jsapi.AckNone || seq <= c.asflr {
		return false
	}
	return c.unackedLocked(seq)
}

// deliveredNoAckLocked treats a delivery by an ack-none consumer as its
// ack, for interest retention.
func (c *Consumer) deliveredNoAckLocked(seq uint64) {
	if c.s.retention() != jsapi.InterestPolicy {
		return
	}
	c.later(func() { c.s.ackedForRetention(c, []uint64{seq}) })
}

// removeSeqs asks the executor to remove messages; nobody waits for it.
func (s *Stream) removeSeqs(seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	op := &streamOp{kind: opRemoveSeqs, seqs: seqs, done: make(chan opResult, 1)}
	if err := s.rt.repl.Propose(s, op); err != nil && err != errStreamClosed {
		s.rt.log.Warnf("JetStream: removing acknowledged messages of %q: %v", s.name, err)
	}
}

// afterConsumerGone drops, on an interest stream, the messages only the
// departed consumer was holding on to.
func (s *Stream) afterConsumerGone() {
	if s.retention() != jsapi.InterestPolicy {
		return
	}
	go func() {
		ctx := s.rt.ctx
		cs := s.cons.list()
		var drop []uint64
		for seq := uint64(0); ; {
			m, err := s.st.LoadNext(ctx, nil, seq)
			if err != nil {
				break
			}
			if !s.neededByAny(cs, nil, m.Seq, m.Subject) {
				drop = append(drop, m.Seq)
			}
			seq = m.Seq + 1
		}
		s.removeSeqs(drop)
	}()
}

// interestIn reports whether any consumer's filter matches subj; the
// executor calls it for every message an interest stream stores.
func (cs *consumerSet) interestIn(subj string) bool {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	for _, c := range cs.m {
		if c.matches(subj) {
			return true
		}
	}
	return false
}

// matches reports whether subj passes the consumer's filters.
func (c *Consumer) matches(subj string) bool {
	f := c.filterList()
	return len(f) == 0 || store.MatchAny(subj, f)
}

// dropNoInterest removes the messages of the store run just made that no
// consumer is interested in. It runs on the executor.
func (s *Stream) dropNoInterest() {
	seqs := s.cons.noInterest
	if len(seqs) == 0 {
		return
	}
	s.cons.noInterest = seqs[:0]
	for _, seq := range seqs {
		if err := s.st.Remove(s.rt.ctx, seq); err != nil && !store.IsMissing(err) {
			s.rt.log.Warnf("JetStream: dropping uninterested message %d of %q: %v", seq, s.name, err)
		}
	}
}

// noteStored is the executor's hook for each stored message: on an
// interest stream a message without interest is marked for removal.
func (s *Stream) noteStored(seq uint64, subj string) {
	if s.cfg.Retention == jsapi.InterestPolicy && !s.cons.interestIn(subj) {
		s.cons.noInterest = append(s.cons.noInterest, seq)
	}
}
