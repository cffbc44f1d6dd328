package jetstream

import (
	"errors"
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/store"
)

// Atomic batch publish (ADR-50): messages carrying Nats-Batch-Id are staged
// by the executor and stored together when the batch commits, or not at
// all. Limits follow the reference's defaults.
const (
	hdrBatchSeq         = "Nats-Batch-Sequence"
	hdrBatchCommit      = "Nats-Batch-Commit"
	maxBatchIDLen       = 64
	maxAtomicBatchSize  = 1000
	maxInflightBatches  = 50
	atomicBatchIdleTime = 10 * time.Second
)

type atomicBatch struct {
	id    string
	msgs  []*inMsg
	last  time.Time
	timer *time.Timer
}

// handleAtomic stages or commits one message of an atomic batch. Executor
// only. It takes ownership of m.
func (s *Stream) handleAtomic(m *inMsg, id string) {
	s.mu.RLock()
	allowed := s.cfg.AllowAtomicPublish
	s.mu.RUnlock()
	if !allowed {
		s.replyErr(m, jserr.NewAtomicPublishDisabledError())
		m.release()
		return
	}
	if id == "" || len(id) > maxBatchIDLen {
		s.replyErr(m, jserr.NewAtomicPublishInvalidBatchIDError())
		m.release()
		return
	}
	seqStr, ok := getHeader(m.hdr, hdrBatchSeq)
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if !ok || err != nil || seq == 0 {
		s.abandonBatch(id, "incomplete")
		s.replyErr(m, jserr.NewAtomicPublishMissingSeqError())
		m.release()
		return
	}
	if _, ok := getHeader(m.hdr, hdrExpLastMsgID); ok {
		s.abandonBatch(id, "incomplete")
		s.replyErr(m, jserr.NewAtomicPublishUnsupportedHeaderBatchError(hdrExpLastMsgID))
		m.release()
		return
	}
	if s.batches == nil {
		s.batches = map[string]*atomicBatch{}
	}
	b := s.batches[id]
	if seq == 1 {
		if b != nil {
			s.dropBatch(b)
		}
		if len(s.batches) >= maxInflightBatches {
			s.replyErr(m, jserr.NewAtomicPublishTooManyInflightError())
			m.release()
			return
		}
		b = &atomicBatch{id: id}
		s.batches[id] = b
		b.timer = time.AfterFunc(atomicBatchIdleTime, func() { s.enqueue(&streamOp{kind: opBatchTimeout, batch: id}) })
	}
	if b == nil || uint64(len(b.msgs))+1 != seq {
		if b != nil {
			s.abandonBatch(id, "incomplete")
		}
		s.replyErr(m, jserr.NewAtomicPublishIncompleteBatchError())
		m.release()
		return
	}
	b.last = time.Now()
	b.timer.Reset(atomicBatchIdleTime)
	commit, _ := getHeader(m.hdr, hdrBatchCommit)
	switch commit {
	case "":
		if len(b.msgs) >= maxAtomicBatchSize {
			s.abandonBatch(id, "large")
			s.replyErr(m, jserr.NewAtomicPublishTooLargeBatchError(maxAtomicBatchSize))
			m.release()
			return
		}
		if err := s.checkMsg(m); err != nil {
			s.abandonBatch(id, "incomplete")
			s.replyErr(m, err)
			m.release()
			return
		}
		b.msgs = append(b.msgs, m)
		// A staged message with a reply is answered with an empty body.
		if m.reply != "" {
			s.acc.PublishAs(m.pc, m.reply, "", nil, nil)
		}
		m.reply = ""
		return
	case "1":
		if err := s.checkMsg(m); err != nil {
			s.abandonBatch(id, "incomplete")
			s.replyErr(m, err)
			m.release()
			return
		}
		b.msgs = append(b.msgs, m)
		s.commitBatch(b, m)
	case "eob":
		s.commitBatch(b, m)
		m.release()
	default:
		s.abandonBatch(id, "incomplete")
		s.replyErr(m, jserr.NewAtomicPublishInvalidBatchCommitError())
		m.release()
	}
}

func (s *Stream) dropBatch(b *atomicBatch) {
	b.timer.Stop()
	for _, m := range b.msgs {
		m.release()
	}
	delete(s.batches, b.id)
}

// abandonBatch drops a batch and tells advisory listeners why.
func (s *Stream) abandonBatch(id, reason string) {
	b := s.batches[id]
	if b == nil {
		return
	}
	s.dropBatch(b)
	s.rt.publishAdvisory(s.acc, jsapi.AdvisoryPrefix+"STREAM.BATCH_ABANDONED."+s.name, batchAbandonedAdvisory{
		typedEvent: newEvent(advTypePrefix + "stream_batch_abandoned"), Stream: s.name, Batch: id, Reason: reason, Domain: s.rt.cfg.Domain})
}

type batchAbandonedAdvisory struct {
	typedEvent
	Stream string `json:"stream"`
	Batch  string `json:"batch"`
	Reason string `json:"reason"`
	Domain string `json:"domain,omitempty"`
}

// commitBatch checks every staged message against the stream as if the
// earlier ones were stored, then stores them with one StoreBatch. Any
// failure rejects the whole batch. trigger is the message whose reply gets
// the PubAck.
func (s *Stream) commitBatch(b *atomicBatch, trigger *inMsg) {
	defer s.dropBatch(b)
	reply := func(err error, seq uint64) {
		if trigger.reply == "" {
			return
		}
		if err != nil {
			s.replyErr(trigger, err)
			return
		}
		ack := jsapi.PubAck{Stream: s.name, Sequence: seq, Domain: s.rt.cfg.Domain, BatchId: b.id, BatchSize: len(b.msgs)}
		out, _ := jsonMarshal(ack)
		s.acc.PublishAs(trigger.pc, trigger.reply, "", nil, out)
	}
	if len(b.msgs) == 0 {
		reply(jserr.NewAtomicPublishIncompleteBatchError(), 0)
		return
	}
	if err := s.precheckBatch(b.msgs); err != nil {
		reply(err, 0)
		return
	}
	batch := make([]store.NewMsg, len(b.msgs))
	for i, m := range b.msgs {
		batch[i] = store.NewMsg{Subject: m.subj, Header: m.hdr, Data: m.data, TTL: m.ttl}
	}
	res, err := s.st.StoreBatch(s.rt.ctx, batch)
	var last uint64
	for i := range res {
		if res[i].Err != nil && err == nil {
			err = res[i].Err
		}
		if res[i].Seq > last {
			last = res[i].Seq
		}
	}
	if err != nil {
		// The prechecks make this unreachable short of an I/O failure;
		// undo what was stored so the batch stays all-or-nothing.
		for i := range res {
			if res[i].Err == nil && res[i].Seq > 0 {
				s.st.Remove(s.rt.ctx, res[i].Seq)
			}
		}
		reply(storeErr(err), 0)
		s.afterStore()
		return
	}
	for i, m := range b.msgs {
		if m.msgID != "" {
			s.recordMsgID(m.msgID, res[i].Seq, res[i].Time)
		}
		s.lastMsgID = m.msgID
		if m.rollup != "" {
			s.applyRollup(m, res[i].Seq)
		}
		s.republishMsg(m, res[i].Seq, res[i].Time)
		s.noteStored(res[i].Seq, m.subj)
	}
	s.lastSeq.Store(last)
	s.dropNoInterest()
	reply(nil, last)
	s.afterStore()
	s.expirer.Schedule(time.Now().UnixNano())
}

// precheckBatch runs the stateful checks for a batch in order, tracking
// what the earlier messages would change, and the discard-new limits for
// the batch as a whole.
func (s *Stream) precheckBatch(msgs []*inMsg) error {
	last := s.lastSeq.Load()
	subjLast := map[string]uint64{}
	ids := map[string]bool{}
	for i, m := range msgs {
		next := last + uint64(i) + 1
		if m.msgID != "" {
			if _, dup := s.isDuplicate(m.msgID); dup || ids[m.msgID] {
				return jserr.NewAtomicPublishDuplicateError()
			}
			ids[m.msgID] = true
		}
		if v, ok := getHeader(m.hdr, hdrExpLastSeq); ok {
			want, err := strconv.ParseUint(v, 10, 64)
			if err != nil || want != next-1 {
				return jserr.NewStreamWrongLastSequenceError(next - 1)
			}
		}
		if v, ok := getHeader(m.hdr, hdrExpLastSubjSeq); ok {
			want, err := strconv.ParseUint(v, 10, 64)
			filter := m.subj
			if f, ok := getHeader(m.hdr, hdrExpLastSubjSeqSubj); ok && f != "" {
				filter = f
			}
			got, seen := subjLast[filter]
			if !seen {
				if lm, lerr := s.st.LoadLast(s.rt.ctx, filter); lerr == nil {
					got = lm.Seq
				} else if !store.IsMissing(lerr) {
					return jserr.NewStreamStoreFailedError(lerr)
				}
			}
			if err != nil || want != got {
				return jserr.NewStreamWrongLastSequenceError(got)
			}
		}
		subjLast[m.subj] = next
	}
	s.mu.RLock()
	cfg := s.cfg
	s.mu.RUnlock()
	if cfg.Discard != jsapi.DiscardNew {
		return nil
	}
	st, err := s.st.FastState(s.rt.ctx)
	if err != nil {
		return jserr.NewStreamStoreFailedError(err)
	}
	if cfg.MaxMsgs > 0 && st.Msgs+uint64(len(msgs)) > uint64(cfg.MaxMsgs) {
		return storeErr(store.ErrMaxMsgs)
	}
	if cfg.MaxBytes > 0 {
		var add uint64
		for _, m := range msgs {
			add += store.MsgSize(s.stype, m.subj, m.hdr, m.data)
		}
		if st.Bytes+add > uint64(cfg.MaxBytes) {
			return storeErr(store.ErrMaxBytes)
		}
	}
	if cfg.DiscardNewPer && cfg.MaxMsgsPerSubject > 0 {
		per := map[string]uint64{}
		for _, m := range msgs {
			per[m.subj]++
		}
		for subj, n := range per {
			ss, err := s.st.FilteredState(s.rt.ctx, 0, subj)
			if err != nil {
				return jserr.NewStreamStoreFailedError(err)
			}
			if ss.Msgs+n > uint64(cfg.MaxMsgsPerSubject) {
				return storeErr(store.ErrMaxMsgsPerSubject)
			}
		}
	}
	return nil
}

// batchTimedOut abandons a batch that went quiet.
func (s *Stream) batchTimedOut(id string) {
	if b := s.batches[id]; b != nil && time.Since(b.last) >= atomicBatchIdleTime {
		s.abandonBatch(id, "timeout")
	}
}

var errNoBatch = errors.New("no such batch")
