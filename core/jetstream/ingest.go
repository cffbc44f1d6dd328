package jetstream

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
)

// inMsg is a published message on its way into a stream. Its byte slices
// point into buf, which is pooled.
type inMsg struct {
	subj  string
	reply string
	hdr   []byte
	data  []byte
	buf   []byte
	pc    *server.Client
	// ttl and rollup are filled by the checks.
	ttl    int64
	rollup string
	msgID  string
	// source is set for messages a source feed brings in: its header is
	// already final and it gets no PubAck.
	source bool
}

var inMsgPool = sync.Pool{New: func() any { return &inMsg{} }}

func newInMsg(subj, reply string, hdr, data []byte, pc *server.Client) *inMsg {
	m := inMsgPool.Get().(*inMsg)
	n := len(hdr) + len(data)
	if cap(m.buf) < n {
		m.buf = make([]byte, n, max(n, 256))
	}
	m.buf = m.buf[:n]
	copy(m.buf, hdr)
	copy(m.buf[len(hdr):], data)
	if len(hdr) > 0 {
		m.hdr = m.buf[:len(hdr):len(hdr)]
	} else {
		m.hdr = nil
	}
	m.data = m.buf[len(hdr):]
	m.subj, m.reply, m.pc = subj, reply, pc
	m.ttl, m.rollup, m.msgID, m.source = 0, "", "", false
	return m
}

func (m *inMsg) release() {
	if cap(m.buf) > 64<<10 {
		m.buf = nil
	}
	m.pc = nil
	m.hdr, m.data = nil, nil
	inMsgPool.Put(m)
}

// onMsg receives a publish on one of the stream's subjects. It runs on the
// publisher's goroutine: copy and queue, nothing more.
func (s *Stream) onMsg(_ *server.Subscription, pc *server.Client, subj, reply string, hdr, data []byte) {
	m := newInMsg(subj, reply, hdr, data, pc)
	if err := s.enqueue(&streamOp{kind: opPublish, msg: m}); err != nil {
		s.replyErr(m, err)
		m.release()
	}
}

var errTooManyRequests = jserr.NewStreamTooManyRequestsError()

// enqueue hands an op to the executor, refusing publishes past the
// configured buffer limits (the reference's 429 Too Many Requests).
func (s *Stream) enqueue(op *streamOp) error {
	s.qmu.Lock()
	select {
	case <-s.quit:
		s.qmu.Unlock()
		return errStreamClosed
	default:
	}
	if op.kind == opPublish {
		sz := int64(len(op.msg.buf))
		if s.qMsgs >= s.rt.cfg.MaxBufferedMsgs || s.qBytes+sz > s.rt.cfg.MaxBufferedSize {
			s.qmu.Unlock()
			return errTooManyRequests
		}
		s.qMsgs++
		s.qBytes += sz
	}
	s.q = append(s.q, op)
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// run is the stream's executor: it applies ops in arrival order.
func (s *Stream) run() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			s.qmu.Lock()
			ops := s.q
			s.q = nil
			s.qmu.Unlock()
			for _, op := range ops {
				s.fail(op, errStreamClosed)
			}
			return
		}
		s.qmu.Lock()
		ops := s.q
		s.q = s.spare[:0]
		s.qMsgs, s.qBytes = 0, 0
		s.qmu.Unlock()
		s.applyOps(ops)
		clear(ops)
		s.spare = ops
	}
}

func (s *Stream) fail(op *streamOp, err error) {
	if op.kind == opPublish {
		s.replyErr(op.msg, err)
		op.msg.release()
		return
	}
	if op.done != nil {
		op.done <- opResult{err: err}
	}
}

// applyOps applies a batch of ops. Consecutive plain publishes are stored
// with one StoreBatch, so under load many publishes share one sync.
func (s *Stream) applyOps(ops []*streamOp) {
	run := s.runBuf[:0]
	flush := func() {
		if len(run) > 0 {
			s.storeRun(run)
			run = run[:0]
		}
	}
	for _, op := range ops {
		if op.kind != opPublish {
			flush()
			s.applyControl(op)
			continue
		}
		m := op.msg
		if id, ok := getHeader(m.hdr, hdrBatchID); ok && !m.source {
			flush()
			s.handleAtomic(m, id)
			continue
		}
		if err := s.checkMsg(m); err != nil {
			s.replyErr(m, err)
			m.release()
			continue
		}
		if s.needsCommittedState(m) || s.idPending(run, m.msgID) {
			flush()
			if s.checkStateful(m) {
				run = append(run, m)
				flush()
			}
			continue
		}
		if m.msgID != "" {
			if seq, dup := s.isDuplicate(m.msgID); dup {
				s.replyDup(m, seq)
				m.release()
				continue
			}
		}
		run = append(run, m)
	}
	flush()
	s.runBuf = run[:0]
}

func (s *Stream) idPending(run []*inMsg, id string) bool {
	if id == "" {
		return false
	}
	for _, m := range run {
		if m.msgID == id {
			return true
		}
	}
	return false
}

// checkMsg runs the checks that need no stored state.
func (s *Stream) checkMsg(m *inMsg) error {
	s.mu.RLock()
	cfg := &s.cfg
	sealed, maxSize, allowTTL, allowRollup, denyPurge := cfg.Sealed, cfg.MaxMsgSize, cfg.AllowMsgTTL, cfg.AllowRollup, cfg.DenyPurge
	sdm := cfg.SubjectDeleteMarkerTTL
	softLimit := cfg.Discard == jsapi.DiscardOld && cfg.MaxBytes > 0
	tr := s.transform
	s.mu.RUnlock()
	if sealed {
		return jserr.NewStreamSealedError()
	}
	if len(m.hdr) > maxHeaderSize {
		return jserr.NewStreamHeaderExceedsMaximumError()
	}
	if maxSize > 0 && len(m.hdr)+len(m.data) > int(maxSize) {
		return jserr.NewStreamMessageExceedsMaximumError()
	}
	if tr != nil && !m.source {
		m.subj, _ = tr.Apply(m.subj)
	}
	if len(m.hdr) == 0 || m.source {
		return s.checkAccountLimits(m, softLimit)
	}
	if v, ok := getHeader(m.hdr, hdrExpStream); ok && v != s.name {
		return jserr.NewStreamNotMatchError()
	}
	if v, ok := getHeader(m.hdr, hdrMsgID); ok {
		m.msgID = v
	}
	if v, ok := getHeader(m.hdr, hdrTTL); ok {
		if !allowTTL {
			return jserr.NewMessageTTLDisabledError()
		}
		ttl, err := parseMsgTTL(v)
		if err != nil {
			return jserr.NewMessageTTLInvalidError()
		}
		if sdm > 0 && ttl > 0 && ttl < int64(sdm/time.Second) {
			ttl = int64(sdm / time.Second)
		}
		m.ttl = ttl
	}
	if v, ok := getHeader(m.hdr, hdrRollup); ok {
		if !allowRollup || denyPurge {
			return jserr.NewStreamRollupFailedError(errors.New("rollup not permitted"))
		}
		switch v {
		case rollupSubject, rollupAll:
			m.rollup = v
		default:
			return jserr.NewStreamRollupFailedError(fmt.Errorf("rollup value invalid: %q", v))
		}
	}
	if _, ok := getHeader(m.hdr, hdrIncr); ok {
		return jserr.NewMessageIncrDisabledError()
	}
	if _, ok := getHeader(m.hdr, hdrSchedule); ok {
		return jserr.NewMessageSchedulesDisabledError()
	}
	return s.checkAccountLimits(m, softLimit)
}

const maxHeaderSize = 64 * 1024

// parseMsgTTL parses a Nats-TTL value: a Go duration, integer seconds or
// "never"; at least one second.
func parseMsgTTL(v string) (int64, error) {
	if v == "never" {
		return store.TTLNever, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n == -1 {
			return store.TTLNever, nil
		}
		if n < 1 {
			return 0, errBadTTL
		}
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, errBadTTL
	}
	return int64(d / time.Second), nil
}

var errBadTTL = errors.New("invalid ttl")

// checkAccountLimits refuses a message that would take the account or
// server over its storage limit.
// softLimit is true when the stream's own discard-old max_bytes keeps it
// within its reservation, so the store makes room instead.
func (s *Stream) checkAccountLimits(m *inMsg, softLimit bool) error {
	if softLimit {
		return nil
	}
	size := int64(store.MsgSize(s.stype, m.subj, m.hdr, m.data))
	lim := s.ja.getLimits()
	if s.stype == store.MemoryStorage {
		if (lim.MaxMemory > 0 && s.ja.memUsed.Load()+size > lim.MaxMemory) || s.rt.memUsed.Load()+size > s.rt.cfg.MaxMemory {
			return jserr.NewMemoryResourcesExceededError()
		}
		return nil
	}
	if (lim.MaxStore > 0 && s.ja.storeUsed.Load()+size > lim.MaxStore) || s.rt.storeUsed.Load()+size > s.rt.cfg.MaxStore {
		return jserr.NewStorageResourcesExceededError()
	}
	return nil
}

// needsCommittedState reports whether m's checks read the stream's state
// (expected-* headers, rollups), so it must not share a batch.
func (s *Stream) needsCommittedState(m *inMsg) bool {
	if m.rollup != "" {
		return true
	}
	return len(m.hdr) > 0 && hasHeaderPrefix(m.hdr, "Nats-Expected-")
}

// checkStateful runs the checks that read the stream's stored state. It
// replies and returns false when m is refused or a duplicate.
func (s *Stream) checkStateful(m *inMsg) bool {
	if m.msgID != "" {
		if seq, dup := s.isDuplicate(m.msgID); dup {
			s.replyDup(m, seq)
			m.release()
			return false
		}
	}
	if err := s.checkExpected(m); err != nil {
		s.replyErr(m, err)
		m.release()
		return false
	}
	return true
}

func (s *Stream) checkExpected(m *inMsg) error {
	hdr := m.hdr
	if v, ok := getHeader(hdr, hdrExpLastSeq); ok {
		want, err := strconv.ParseUint(v, 10, 64)
		last := s.lastSeq.Load()
		if err != nil || want != last {
			return jserr.NewStreamWrongLastSequenceError(last)
		}
	}
	if v, ok := getHeader(hdr, hdrExpLastMsgID); ok && v != s.lastMsgID {
		return jserr.NewStreamWrongLastMsgIDError(s.lastMsgID)
	}
	subjFilter, hasSubj := getHeader(hdr, hdrExpLastSubjSeqSubj)
	v, ok := getHeader(hdr, hdrExpLastSubjSeq)
	if hasSubj && !ok {
		return jserr.NewStreamExpectedLastSeqPerSubjectInvalidError()
	}
	if ok {
		want, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return jserr.NewStreamWrongLastSequenceError(0)
		}
		filter := m.subj
		if hasSubj && subjFilter != "" {
			filter = subjFilter
		}
		var last uint64
		lm, lerr := s.st.LoadLast(s.rt.ctx, filter)
		switch {
		case lerr == nil:
			last = lm.Seq
		case store.IsMissing(lerr):
		default:
			return jserr.NewStreamStoreFailedError(lerr)
		}
		if last != want {
			return jserr.NewStreamWrongLastSequenceError(last)
		}
	}
	return nil
}

// storeRun stores a run of checked messages with one StoreBatch and
// answers each publisher.
func (s *Stream) storeRun(run []*inMsg) {
	batch := s.newMsgs[:0]
	for _, m := range run {
		batch = append(batch, store.NewMsg{Subject: m.subj, Header: m.hdr, Data: m.data, TTL: m.ttl})
	}
	s.newMsgs = batch[:0]
	res, err := s.st.StoreBatch(s.rt.ctx, batch)
	stored := false
	var nextExpiry int64
	for i, m := range run {
		var r store.StoreResult
		switch {
		case i < len(res):
			r = res[i]
		case err != nil:
			r.Err = err
		default:
			r.Err = errors.New("store returned no result")
		}
		if r.Err != nil {
			s.replyErr(m, storeErr(r.Err))
			m.release()
			continue
		}
		stored = true
		s.lastSeq.Store(r.Seq)
		s.noteStored(r.Seq, m.subj)
		if exp := s.expiryOf(r.Time, m.ttl); exp > 0 && (nextExpiry == 0 || exp < nextExpiry) {
			nextExpiry = exp
		}
		if m.msgID != "" {
			s.recordMsgID(m.msgID, r.Seq, r.Time)
		}
		s.lastMsgID = m.msgID
		if m.rollup != "" {
			s.applyRollup(m, r.Seq)
		}
		if !m.source {
			s.replyAck(m, r.Seq)
		}
		s.republishMsg(m, r.Seq, r.Time)
		m.release()
	}
	clear(batch)
	s.dropNoInterest()
	if stored {
		s.afterStore()
		if nextExpiry > 0 {
			s.expirer.Schedule(nextExpiry)
		}
	}
}

// expiryOf is when a message stored at ts with ttl (seconds) expires, or 0.
func (s *Stream) expiryOf(ts, ttl int64) int64 {
	switch {
	case ttl > 0:
		return ts + ttl*int64(time.Second)
	case ttl < 0:
		return 0
	}
	if age := s.cfg.MaxAge; age > 0 {
		return ts + int64(age)
	}
	return 0
}

// afterStore updates accounting and wakes consumers and followers.
func (s *Stream) afterStore() {
	if st, err := s.st.FastState(s.rt.ctx); err == nil {
		s.trackUsage(int64(st.Bytes))
	}
	s.signal()
	s.cons.notify()
}

func (s *Stream) applyRollup(m *inMsg, seq uint64) {
	req := store.PurgeRequest{Seq: seq}
	if m.rollup == rollupSubject {
		req.Subject = m.subj
	}
	if _, err := s.st.Purge(s.rt.ctx, req); err != nil {
		s.rt.log.Warnf("JetStream: rollup on %q: %v", s.name, err)
	}
	s.cons.removed()
}

// storeErr maps a store error to the API error a publisher sees.
func storeErr(err error) error {
	var ae *jserr.APIError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, store.ErrUnavailable):
		// The backend (a plugin being restarted) is down for now.
		return jserr.NewClusterNotAvailError()
	case errors.Is(err, store.ErrMaxMsgSize):
		return jserr.NewStreamMessageExceedsMaximumError()
	case errors.Is(err, store.ErrMaxMsgs):
		return jserr.NewStreamStoreFailedError(errors.New("maximum messages exceeded"))
	case errors.Is(err, store.ErrMaxBytes):
		return jserr.NewStreamStoreFailedError(errors.New("maximum bytes exceeded"))
	case errors.Is(err, store.ErrMaxMsgsPerSubject):
		return jserr.NewStreamStoreFailedError(errors.New("maximum messages per subject exceeded"))
	}
	return jserr.NewStreamStoreFailedError(err)
}

// applyControl applies a non-publish op.
func (s *Stream) applyControl(op *streamOp) {
	var r opResult
	ctx := s.rt.ctx
	switch op.kind {
	case opPurge:
		r.n, r.err = s.st.Purge(ctx, op.purge)
		if r.err == nil {
			s.cons.purged(op.purge)
		}
	case opDeleteMsg:
		if op.erase {
			r.err = s.st.Erase(ctx, op.seq)
		} else {
			r.err = s.st.Remove(ctx, op.seq)
		}
		if r.err == nil {
			s.cons.removed()
		}
	case opRemoveSeqs:
		for _, q := range op.seqs {
			if err := s.st.Remove(ctx, q); err != nil && !store.IsMissing(err) {
				r.err = err
			}
		}
	case opUpdateConfig:
		r.err = s.applyConfig(op.cfg)
	case opStoreRaw:
		// A mirror keeps its origin's sequences: fill any gap first.
		if next := s.lastSeq.Load() + 1; op.raw.Seq > next {
			if r.err = s.st.SkipMsgs(ctx, next, op.raw.Seq-next); r.err != nil {
				break
			}
		}
		r.err = s.st.StoreRaw(ctx, *op.raw)
		if r.err == nil {
			s.lastSeq.Store(op.raw.Seq)
			s.signal()
			s.cons.notify()
			if exp := s.expiryOf(op.raw.Time, op.raw.TTL); exp > 0 {
				s.expirer.Schedule(exp)
			}
		}
	case opSkip:
		if op.seq > 0 {
			r.err = s.st.SkipMsgs(ctx, s.lastSeq.Load()+1, op.seq)
		}
	case opBarrier:
	case opBatchTimeout:
		s.batchTimedOut(op.batch)
	case opExpire:
		_, r.err = s.st.Expire(ctx, op.now)
	}
	if st, err := s.st.FastState(ctx); err == nil {
		s.trackUsage(int64(st.Bytes))
		s.lastSeq.Store(st.LastSeq)
	}
	if op.done != nil {
		op.done <- r
	}
}

// replyAck sends the PubAck.
func (s *Stream) replyAck(m *inMsg, seq uint64) { s.sendAck(m, seq, false) }

// replyDup answers a duplicate with the original's sequence.
func (s *Stream) replyDup(m *inMsg, seq uint64) { s.sendAck(m, seq, true) }

// sendAck builds the PubAck by hand: it is on the publish path of every
// message and json.Marshal would allocate and reflect for each.
func (s *Stream) sendAck(m *inMsg, seq uint64, dup bool) {
	if m.reply == "" || s.cfg.NoAck {
		return
	}
	b := make([]byte, 0, 80+len(s.name))
	b = append(b, `{"stream":"`...)
	b = append(b, s.name...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if d := s.rt.cfg.Domain; d != "" {
		b = append(b, `,"domain":"`...)
		b = append(b, d...)
		b = append(b, '"')
	}
	if dup {
		b = append(b, `,"duplicate":true`...)
	}
	b = append(b, '}')
	s.acc.PublishAs(m.pc, m.reply, "", nil, b)
}

// replyErr answers a refused publish with a PubAck carrying the error.
func (s *Stream) replyErr(m *inMsg, err error) {
	if m.reply == "" || m.source {
		if m.source {
			s.rt.log.Debugf("JetStream: stream %q refused a sourced message: %v", s.name, err)
		}
		return
	}
	if errors.Is(err, errTooManyRequests) {
		// Ingest overflow is answered with a 429 status.
		s.acc.PublishAs(m.pc, m.reply, "", []byte("NATS/1.0 429 Too Many Requests\r\n\r\n"), nil)
		return
	}
	if s.cfg.NoAck {
		return
	}
	ae := jserr.From(err)
	ack := pubAckError{Error: ae, Stream: s.name}
	b, _ := jsonMarshal(ack)
	s.acc.PublishAs(m.pc, m.reply, "", nil, b)
}

type pubAckError struct {
	Error  *jserr.APIError `json:"error"`
	Stream string          `json:"stream"`
	Seq    uint64          `json:"seq"`
}
