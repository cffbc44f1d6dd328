package jetstream

import (
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// republishMsg sends a stored message on to the republish destination
// with the reference's headers. Executor only.
func (s *Stream) republishMsg(m *inMsg, seq uint64, ts int64) {
	s.mu.RLock()
	tr := s.republish
	rp := s.cfg.RePublish
	s.mu.RUnlock()
	if tr == nil || rp == nil {
		return
	}
	dest, ok := tr.Apply(m.subj)
	if !ok {
		return
	}
	// Nats-Last-Sequence is the previous message on the same subject.
	var last uint64
	if prev, err := s.st.LoadPrev(s.rt.ctx, []string{m.subj}, seq-1); err == nil && seq > 1 {
		last = prev.Seq
	}
	kv := []string{
		hdrStream, s.name,
		hdrSubject, m.subj,
		hdrSequence, strconv.FormatUint(seq, 10),
		hdrTimeStamp, time.Unix(0, ts).UTC().Format(time.RFC3339Nano),
		hdrLastSequence, strconv.FormatUint(last, 10),
	}
	data := m.data
	if rp.HeadersOnly {
		kv = append(kv, hdrMsgSize, strconv.Itoa(len(m.data)))
		data = nil
	}
	hdr := appendHeaders(m.hdr, kv...)
	s.acc.Publish(dest, "", hdr, data)
}

// onExpired runs after the expirer removed messages: it writes subject
// delete markers for subjects that max age emptied, when configured.
func (s *Stream) onExpired(r store.ExpireResult) {
	if st, err := s.st.FastState(s.rt.ctx); err == nil {
		s.trackUsage(int64(st.Bytes))
	}
	s.cons.expired()
	s.mu.RLock()
	sdm := s.cfg.SubjectDeleteMarkerTTL
	s.mu.RUnlock()
	if sdm <= 0 || len(r.Emptied) == 0 {
		return
	}
	ttl := strconv.FormatInt(int64(sdm/time.Second), 10) + "s"
	for _, subj := range r.Emptied {
		hdr := newHeader("").add(hdrMarkerReason, "MaxAge").add(hdrTTL, ttl).add(hdrRollup, rollupSubject).bytes()
		m := newInMsg(subj, "", hdr, nil, nil)
		m.source = true
		m.ttl = int64(sdm / time.Second)
		m.rollup = rollupSubject
		if err := s.enqueue(&streamOp{kind: opPublish, msg: m}); err != nil {
			m.release()
		}
	}
}
