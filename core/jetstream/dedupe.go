package jetstream

import (
	"encoding/json"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// dedupeEntry remembers a Nats-Msg-Id within the duplicate window.
type dedupeEntry struct {
	id  string
	seq uint64
	ts  int64
}

// isDuplicate reports whether id was stored within the window, and at
// which sequence. Executor only.
func (s *Stream) isDuplicate(id string) (uint64, bool) {
	s.pruneDedupe(time.Now().UnixNano())
	e, ok := s.dedupe[id]
	return e.seq, ok
}

func (s *Stream) recordMsgID(id string, seq uint64, ts int64) {
	e := dedupeEntry{id: id, seq: seq, ts: ts}
	s.dedupe[id] = e
	s.dedupeQ = append(s.dedupeQ, e)
}

// pruneDedupe forgets ids older than the duplicate window. Entries are
// appended in time order, so the oldest are at the front.
func (s *Stream) pruneDedupe(now int64) {
	s.mu.RLock()
	w := int64(s.cfg.Duplicates)
	s.mu.RUnlock()
	if w <= 0 {
		w = int64(defaultDuplicateWindow)
	}
	i := 0
	for ; i < len(s.dedupeQ); i++ {
		e := s.dedupeQ[i]
		if now-e.ts < w {
			break
		}
		if cur, ok := s.dedupe[e.id]; ok && cur.seq == e.seq {
			delete(s.dedupe, e.id)
		}
	}
	if i > 0 {
		s.dedupeQ = append(s.dedupeQ[:0], s.dedupeQ[i:]...)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// rebuildDedupe refills the msg id window from the messages stored within
// it, so a restart does not let a retried publish in twice. It runs before
// the executor starts.
func (s *Stream) rebuildDedupe(st store.StreamState) {
	w := s.cfg.Duplicates
	if w <= 0 {
		return
	}
	ctx := s.rt.ctx
	from, err := s.st.SeqFromTime(ctx, time.Now().Add(-w).UnixNano())
	if err != nil || from > st.LastSeq {
		return
	}
	for from <= st.LastSeq {
		msgs, err := s.st.LoadRange(ctx, store.RangeRequest{Start: from, MaxMsgs: 1024, MaxBytes: 16 << 20})
		if err != nil || len(msgs) == 0 {
			break
		}
		for i := range msgs {
			id, _ := getHeader(msgs[i].Header, hdrMsgID)
			if id != "" {
				s.recordMsgID(id, msgs[i].Seq, msgs[i].Time)
			}
			s.lastMsgID = id
		}
		from = msgs[len(msgs)-1].Seq + 1
	}
}
