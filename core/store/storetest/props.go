package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"pgregory.net/rapid"
)

func init() {
	register(kitCase{"properties/model", testProperties})
}

var (
	propSubjects = []string{"a", "a.b", "a.c", "b.c", "b.d.e", "c"}
	propFilters  = []string{"", ">", "a", "a.*", "a.>", "*.c", "b.>", "c", "x.y", "*"}
)

// testProperties runs random operation sequences against the backend and
// the model and compares them after every step.
func testProperties(t *testing.T, h *harness) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := h.cfg()
		drawLimits(rt, &cfg)
		cfg.MaxAge = rapid.SampledFrom([]time.Duration{0, time.Hour}).Draw(rt, "max_age")
		cfg.AllowMsgTTL = rapid.Bool().Draw(rt, "allow_ttl")
		cfg.FirstSeq = rapid.SampledFrom([]uint64{0, 0, 1, 40}).Draw(rt, "first_seq")
		s := h.open(cfg)
		defer func() { _ = s.Delete(h.ctx) }()
		m := newModel(cfg, h.f.Storage)
		ops := rapid.IntRange(1, 60).Draw(rt, "ops")
		for i := range ops {
			step(rt, h, s, m, i)
			compareModel(rt, s, m)
		}
		compareQueries(rt, h, s, m)
		if rapid.IntRange(0, 3).Draw(rt, "snapshot") == 0 {
			compareRestored(rt, h, s, m)
		}
	})
}

func errKind(err error) store.ErrorKind { return store.KindOf(err) }

// step applies one random operation to the backend and the model.
func step(rt *rapid.T, h *harness, s store.StreamStore, m *model, i int) {
	ctx := h.ctx
	seqIn := func(label string) uint64 {
		return rapid.Uint64Range(m.first-min(m.first, 2), m.last+2).Draw(rt, label)
	}
	switch op := rapid.IntRange(0, 13).Draw(rt, fmt.Sprintf("op%d", i)); op {
	case 13: // new limits, applied at once
		cfg := m.cfg
		drawLimits(rt, &cfg)
		if err := s.UpdateConfig(ctx, cfg); err != nil {
			rt.Fatalf("UpdateConfig: %v", err)
		}
		m.cfg = cfg
		m.enforce("")
	case 12: // a batch, with the same checks per message
		n := rapid.IntRange(1, 4).Draw(rt, "batch")
		batch := make([]store.NewMsg, n)
		for j := range batch {
			batch[j] = store.NewMsg{Subject: rapid.SampledFrom(propSubjects).Draw(rt, "subject"),
				Data: make([]byte, rapid.IntRange(0, 80).Draw(rt, "size"))}
		}
		res, err := s.StoreBatch(ctx, batch)
		if err != nil || len(res) != n {
			rt.Fatalf("StoreBatch: %d results, %v", len(res), err)
		}
		for j, r := range res {
			wseq, werr := m.store(store.Msg{Subject: batch[j].Subject, Data: batch[j].Data, Time: r.Time})
			if errKind(r.Err) != errKind(werr) || r.Seq != wseq {
				rt.Fatalf("StoreBatch[%d] = %+v; model %d, %v", j, r, wseq, werr)
			}
		}
	case 0, 1, 2, 3: // store, the common case
		subj := rapid.SampledFrom(propSubjects).Draw(rt, "subject")
		data := make([]byte, rapid.IntRange(0, 120).Draw(rt, "size"))
		var hdr []byte
		if rapid.IntRange(0, 3).Draw(rt, "hdr") == 0 {
			hdr = []byte("NATS/1.0\r\nK: v\r\n\r\n")
		}
		ttl := int64(0)
		if m.cfg.AllowMsgTTL {
			ttl = rapid.SampledFrom([]int64{0, 0, store.TTLNever, 1, 7200}).Draw(rt, "ttl")
		}
		seq, ts, err := s.Store(ctx, subj, hdr, data, ttl)
		wseq, werr := m.store(store.Msg{Subject: subj, Header: hdr, Data: data, TTL: ttl, Time: ts})
		if errKind(err) != errKind(werr) || seq != wseq {
			rt.Fatalf("Store(%s, %d bytes) = %d, %v; model %d, %v", subj, len(data), seq, err, wseq, werr)
		}
	case 4:
		seq := seqIn("remove")
		err, werr := s.Remove(ctx, seq), m.remove(seq)
		if errKind(err) != errKind(werr) {
			rt.Fatalf("Remove(%d) = %v, model %v", seq, err, werr)
		}
	case 5, 6:
		req := store.PurgeRequest{Subject: rapid.SampledFrom(propFilters).Draw(rt, "purge_subject")}
		if rapid.Bool().Draw(rt, "purge_seq") {
			req.Seq = seqIn("purge_seq_value")
		}
		if rapid.Bool().Draw(rt, "purge_keep") {
			req.Keep = rapid.Uint64Range(0, 5).Draw(rt, "keep")
		}
		n, err := s.Purge(ctx, req)
		if want := m.purge(req); err != nil || n != want {
			rt.Fatalf("Purge(%+v) = %d, %v; model %d", req, n, err, want)
		}
	case 7:
		seq := seqIn("compact")
		n, err := s.Compact(ctx, seq)
		if want := m.compact(seq); err != nil || n != want {
			rt.Fatalf("Compact(%d) = %d, %v; model %d", seq, n, err, want)
		}
	case 8:
		n := rapid.Uint64Range(1, 3).Draw(rt, "skip")
		if err := s.SkipMsgs(ctx, m.last+1, n); err != nil {
			rt.Fatalf("SkipMsgs(%d, %d): %v", m.last+1, n, err)
		}
		m.skip(n)
	case 9:
		seq := seqIn("truncate")
		if err := s.Truncate(ctx, seq); err != nil {
			rt.Fatalf("Truncate(%d): %v", seq, err)
		}
		m.truncate(seq)
	case 10, 11:
		if len(m.msgs) == 0 {
			return
		}
		base := rapid.SampledFrom(m.msgs).Draw(rt, "expire_base").Time
		now := base + rapid.SampledFrom([]int64{0, 1e9, 2e9, int64(time.Hour), 3 * int64(time.Hour)}).Draw(rt, "expire_delta")
		res, err := s.Expire(ctx, now)
		want := m.expire(now)
		if err != nil || res.Msgs != want.Msgs || res.Bytes != want.Bytes || res.Next != want.Next ||
			!slices.Equal(res.Emptied, want.Emptied) {
			rt.Fatalf("Expire(%d) = %+v, %v; model %+v", now, res, err, want)
		}
	}
}

// compareQueries checks every read query the model can answer.
func compareQueries(rt *rapid.T, h *harness, s store.StreamStore, m *model) {
	ctx := h.ctx
	for _, f := range propFilters {
		start := rapid.Uint64Range(0, m.last+1).Draw(rt, "start")
		fs := []string{f}
		got, err := s.FilteredState(ctx, start, f)
		if want := m.filtered(start, fs); err != nil || got != want {
			rt.Fatalf("FilteredState(%d, %q) = %+v, %v; model %+v", start, f, got, err, want)
		}
		tot, err := s.SubjectsTotals(ctx, f)
		if want := m.totals(f); err != nil || len(tot) != len(want) || len(want) > 0 && !maps.Equal(tot, want) {
			rt.Fatalf("SubjectsTotals(%q) = %v, %v; model %v", f, tot, err, want)
		}
		multi := []string{f, rapid.SampledFrom(propFilters).Draw(rt, "second_filter")}
		n, _, err := s.NumPending(ctx, start, multi, false)
		if want := m.filtered(start, multi).Msgs; err != nil || n != want {
			rt.Fatalf("NumPending(%d, %q) = %d, %v; model %d", start, multi, n, err, want)
		}
		lps := 0
		for _, seq := range m.lastPerSubject(multi, m.last) {
			if seq >= start {
				lps++
			}
		}
		if n, _, err := s.NumPending(ctx, start, multi, true); err != nil || n != uint64(lps) {
			rt.Fatalf("NumPending(%d, %q, last per subject) = %d, %v; model %d", start, multi, n, err, lps)
		}
		next, err := s.LoadNext(ctx, multi, start)
		if want := m.filtered(start, multi); want.Msgs == 0 && !errors.Is(err, store.ErrEOF) || want.Msgs > 0 && (err != nil || next.Seq != want.First) {
			rt.Fatalf("LoadNext(%q, %d) = %d, %v; model %+v", multi, start, next.Seq, err, want)
		}
		last, err := s.LoadLast(ctx, f)
		if want := m.filtered(0, fs); want.Msgs == 0 && !errors.Is(err, store.ErrNotFound) || want.Msgs > 0 && (err != nil || last.Seq != want.Last) {
			rt.Fatalf("LoadLast(%q) = %d, %v; model %+v", f, last.Seq, err, want)
		}
		maxSeq := rapid.Uint64Range(0, m.last+1).Draw(rt, "max_seq")
		eff := maxSeq
		if eff == 0 || eff > m.last {
			eff = m.last
		}
		var want []uint64
		for _, seq := range m.lastPerSubject(multi, eff) {
			want = append(want, seq)
		}
		slices.Sort(want)
		got2, err := s.MultiLastSeqs(ctx, multi, maxSeq, 0)
		if err != nil || !slices.Equal(got2, want) {
			rt.Fatalf("MultiLastSeqs(%q, %d) = %v, %v; model %v", multi, maxSeq, got2, err, want)
		}
	}
}

// compareRestored snapshots the backend, restores it into a memory store
// and compares that with the model.
func compareRestored(rt *rapid.T, h *harness, s store.StreamStore, m *model) {
	var buf bytes.Buffer
	if err := s.Snapshot(h.ctx, &buf, store.SnapshotOptions{ChunkSize: 256}); err != nil {
		rt.Fatalf("Snapshot: %v", err)
	}
	mp, _ := mem.New(store.ProviderConfig{})
	defer mp.Close(h.ctx)
	cfg := m.cfg
	cfg.Name += "-restored"
	dst, err := mp.Restore(h.ctx, cfg, &buf)
	if err != nil {
		rt.Fatalf("Restore: %v", err)
	}
	known := m.timeKnown
	m.timeKnown = false // a trailing gap takes the restorer's clock
	defer func() { m.timeKnown = known }()
	compareModel(rt, dst, m)
}

// drawLimits draws retention limits and a discard policy into cfg.
func drawLimits(rt *rapid.T, cfg *store.StreamConfig) {
	cfg.MaxMsgs = rapid.SampledFrom([]int64{0, 0, 3, 12}).Draw(rt, "max_msgs")
	cfg.MaxBytes = rapid.SampledFrom([]int64{0, 0, 400, 1500}).Draw(rt, "max_bytes")
	cfg.MaxMsgsPerSubject = rapid.SampledFrom([]int64{0, 0, 1, 3}).Draw(rt, "max_per_subject")
	cfg.Discard, cfg.DiscardNewPerSubject = store.DiscardOld, false
	if rapid.Bool().Draw(rt, "discard_new") {
		cfg.Discard = store.DiscardNew
		cfg.DiscardNewPerSubject = cfg.MaxMsgsPerSubject > 0 && rapid.Bool().Draw(rt, "new_per_subject")
	}
}
