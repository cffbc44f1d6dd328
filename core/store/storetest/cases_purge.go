package storetest

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
)

func init() {
	register(
		kitCase{"purge/variants", testPurgeVariants},
		kitCase{"purge/compact", testCompact},
		kitCase{"purge/truncate", testTruncate},
		kitCase{"deleted/accounting", testDeletedAccounting},
		kitCase{"deleted/erase", testErase},
	)
}

// purgeSubjects is the stream every purge case starts from, seqs 1..12.
var purgeSubjects = []string{"a.1", "b.1", "a.2", "a.1", "c", "b.2", "a.1", "c", "a.2", "b.1", "a.1", "c"}

func testPurgeVariants(t *testing.T, h *harness) {
	cases := []struct {
		name string
		req  store.PurgeRequest
	}{
		{"all", store.PurgeRequest{}},
		{"all-fwc", store.PurgeRequest{Subject: ">"}},
		{"subject", store.PurgeRequest{Subject: "a.1"}},
		{"wildcard", store.PurgeRequest{Subject: "a.*"}},
		{"wildcard-fwc", store.PurgeRequest{Subject: "b.>"}},
		{"no-match", store.PurgeRequest{Subject: "zzz"}},
		{"seq", store.PurgeRequest{Seq: 6}},
		{"seq-beyond", store.PurgeRequest{Seq: 100}},
		{"keep", store.PurgeRequest{Keep: 4}},
		{"keep-all", store.PurgeRequest{Keep: 12}},
		{"keep-more", store.PurgeRequest{Keep: 50}},
		{"subject-keep", store.PurgeRequest{Subject: "a.1", Keep: 1}},
		{"wildcard-keep", store.PurgeRequest{Subject: "a.*", Keep: 2}},
		{"subject-seq", store.PurgeRequest{Subject: "c", Seq: 9}},
		{"wildcard-seq", store.PurgeRequest{Subject: "*.1", Seq: 8}},
		{"seq-keep", store.PurgeRequest{Seq: 10, Keep: 5}},
		{"subject-seq-keep", store.PurgeRequest{Subject: "a.>", Seq: 10, Keep: 2}},
		{"subject-seq-keep-wide", store.PurgeRequest{Subject: "a.>", Seq: 12, Keep: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := h.stream(nil)
			m := newModel(h.cfg(), h.f.Storage)
			for _, subj := range purgeSubjects {
				seq, ts, err := s.Store(h.ctx, subj, nil, []byte("data-"+subj), 0)
				must(t, err)
				m.add(store.Msg{Subject: subj, Data: []byte("data-" + subj), Seq: seq, Time: ts})
			}
			must(t, s.Remove(h.ctx, 5)) // an interior gap the purge must step over
			m.remove(5)
			want := m.purge(tc.req)
			got, err := s.Purge(h.ctx, tc.req)
			must(t, err)
			if got != want {
				t.Fatalf("Purge(%+v) = %d, want %d", tc.req, got, want)
			}
			compareModel(t, s, m)
			// Sequences continue after any purge.
			if seq := put(t, s, "after", "x"); seq != 13 {
				t.Fatalf("seq after purge = %d, want 13", seq)
			}
		})
	}
}

func testCompact(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "a", "b", "a", "b")
	must(t, s.Remove(h.ctx, 3))
	n, err := s.Compact(h.ctx, 5)
	must(t, err)
	if n != 3 {
		t.Fatalf("Compact(5) purged %d, want 3", n)
	}
	st := wantSeqs(t, s, 2, 5, 6)
	if st.NumDeleted != 0 {
		t.Fatalf("NumDeleted = %d", st.NumDeleted)
	}
	if n, _ := s.Compact(h.ctx, 2); n != 0 {
		t.Fatalf("Compact below first purged %d", n)
	}
	wantSeqs(t, s, 2, 5, 6)
	n, err = s.Compact(h.ctx, 7)
	must(t, err)
	if n != 2 {
		t.Fatalf("Compact(last+1) purged %d", n)
	}
	wantSeqs(t, s, 0, 7, 6)
	// Beyond the last sequence the stream jumps ahead.
	_, err = s.Compact(h.ctx, 100)
	must(t, err)
	wantSeqs(t, s, 0, 100, 99)
	if seq := put(t, s, "a", "x"); seq != 100 {
		t.Fatalf("seq after Compact(100) = %d", seq)
	}
	if tot, _ := s.SubjectsTotals(h.ctx, ""); !maps.Equal(tot, map[string]uint64{"a": 1}) {
		t.Fatalf("totals after compact %v", tot)
	}
}

func testTruncate(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "a", "b", "a", "b")
	must(t, s.Remove(h.ctx, 4))
	must(t, s.Truncate(h.ctx, 10)) // beyond last: no-op
	wantSeqs(t, s, 5, 1, 6)
	must(t, s.Truncate(h.ctx, 4))
	st := wantSeqs(t, s, 3, 1, 4)
	m3, err := s.Load(h.ctx, 3)
	must(t, err)
	if st.LastTime != m3.Time || st.NumDeleted != 1 {
		t.Fatalf("after Truncate(4): LastTime %d (msg 3 at %d), NumDeleted %d", st.LastTime, m3.Time, st.NumDeleted)
	}
	if tot, _ := s.SubjectsTotals(h.ctx, ""); !maps.Equal(tot, map[string]uint64{"a": 2, "b": 1}) {
		t.Fatalf("totals after truncate %v", tot)
	}
	if seq := put(t, s, "c", "x"); seq != 5 {
		t.Fatalf("seq after Truncate(4) = %d, want 5", seq)
	}
	must(t, s.Truncate(h.ctx, 0))
	wantSeqs(t, s, 0, 0, 0)
	if seq := put(t, s, "c", "x"); seq != 1 {
		t.Fatalf("seq after Truncate(0) = %d, want 1", seq)
	}
}

func testDeletedAccounting(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "c", "d", "e", "f", "g", "h")
	for _, seq := range []uint64{3, 5, 6} {
		must(t, s.Remove(h.ctx, seq))
	}
	st := wantSeqs(t, s, 5, 1, 8)
	wantDeleted := []store.Range{{First: 3, Last: 3}, {First: 5, Last: 6}}
	if st.NumDeleted != 3 || !slices.Equal(st.Deleted, wantDeleted) {
		t.Fatalf("deleted %d %v, want 3 %v", st.NumDeleted, st.Deleted, wantDeleted)
	}
	if got := st.DeletedSeqs(); !slices.Equal(got, []uint64{3, 5, 6}) {
		t.Fatalf("DeletedSeqs = %v", got)
	}
	fs, err := s.FastState(h.ctx)
	must(t, err)
	if fs.Deleted != nil || fs.NumDeleted != 3 || fs.Msgs != 5 {
		t.Fatalf("FastState = %+v", fs)
	}
	// Removing the first messages pulls the first sequence past the gap.
	must(t, s.Remove(h.ctx, 1))
	must(t, s.Remove(h.ctx, 2))
	st = wantSeqs(t, s, 3, 4, 8)
	if st.NumDeleted != 2 || !slices.Equal(st.Deleted, []store.Range{{First: 5, Last: 6}}) {
		t.Fatalf("deleted after removing the head: %d %v", st.NumDeleted, st.Deleted)
	}
	// Removing the last message leaves the last sequence where it was.
	must(t, s.Remove(h.ctx, 8))
	st = wantSeqs(t, s, 2, 4, 8)
	if st.NumDeleted != 3 || !slices.Equal(st.Deleted, []store.Range{{First: 5, Last: 6}, {First: 8, Last: 8}}) {
		t.Fatalf("deleted after removing the tail: %d %v", st.NumDeleted, st.Deleted)
	}
	if st.Bytes != h.size("d", nil, []byte("d-3"))+h.size("g", nil, []byte("g-6")) {
		t.Fatalf("Bytes = %d", st.Bytes)
	}
	if seq := put(t, s, "z", "z"); seq != 9 {
		t.Fatalf("next seq %d", seq)
	}
}

func testErase(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "c")
	must(t, s.Erase(h.ctx, 2))
	_, err := s.Load(h.ctx, 2)
	wantErr(t, "Load after Erase", err, store.ErrDeleted)
	wantErr(t, "Erase twice", s.Erase(h.ctx, 2), store.ErrDeleted)
	st := wantSeqs(t, s, 2, 1, 3)
	if st.NumDeleted != 1 || st.NumSubjects != 2 {
		t.Fatalf("state after Erase %+v", st)
	}
	if m, err := s.LoadNext(h.ctx, nil, 2); err != nil || m.Seq != 3 {
		t.Fatalf("LoadNext over an erased message = %d, %v", m.Seq, err)
	}
	if !errors.Is(s.Erase(h.ctx, 9), store.ErrEOF) {
		t.Fatal("Erase past the end is not ErrEOF")
	}
}
