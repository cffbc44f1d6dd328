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
		kitCase{"load/next-filters", testLoadNext},
		kitCase{"load/last-prev", testLoadLastPrev},
		kitCase{"load/range", testLoadRange},
		kitCase{"state/filtered", testFilteredState},
		kitCase{"state/subjects", testSubjectsState},
		kitCase{"state/num-pending", testNumPending},
		kitCase{"state/multi-last", testMultiLast},
	)
}

// filterStream holds, by sequence:
// 1 foo.a  2 foo.b  3 bar.a  4 foo.a  5 foo.a.x  6 bar.b  7 baz  8 foo.b
// with 4 removed.
func filterStream(t *testing.T, h *harness) store.StreamStore {
	s := h.stream(nil)
	putAll(t, s, "foo.a", "foo.b", "bar.a", "foo.a", "foo.a.x", "bar.b", "baz", "foo.b")
	must(t, s.Remove(h.ctx, 4))
	return s
}

func testLoadNext(t *testing.T, h *harness) {
	s := filterStream(t, h)
	cases := []struct {
		filters []string
		start   uint64
		want    uint64 // 0: ErrEOF
	}{
		{nil, 0, 1},
		{nil, 4, 5},
		{[]string{""}, 9, 0},
		{[]string{">"}, 2, 2},
		{[]string{"foo.a"}, 2, 0},
		{[]string{"foo.a"}, 1, 1},
		{[]string{"foo.b"}, 3, 8},
		{[]string{"foo.*"}, 3, 8},
		{[]string{"foo.>"}, 3, 5},
		{[]string{"*.a"}, 2, 3},
		{[]string{"*.*.x"}, 0, 5},
		{[]string{"bar.*", "baz"}, 4, 6},
		{[]string{"baz", "bar.*"}, 7, 7},
		{[]string{"foo.>", "foo.a.x"}, 5, 5},
		{[]string{"nope", "foo.b"}, 0, 2},
		{[]string{"nope"}, 0, 0},
		{[]string{"foo.b"}, 9, 0},
	}
	for _, tc := range cases {
		m, err := s.LoadNext(h.ctx, tc.filters, tc.start)
		if tc.want == 0 {
			if !errors.Is(err, store.ErrEOF) {
				t.Errorf("LoadNext(%q, %d) = seq %d, %v; want ErrEOF", tc.filters, tc.start, m.Seq, err)
			}
			continue
		}
		if err != nil || m.Seq != tc.want {
			t.Errorf("LoadNext(%q, %d) = seq %d, %v; want %d", tc.filters, tc.start, m.Seq, err, tc.want)
		}
	}
}

func testLoadLastPrev(t *testing.T, h *harness) {
	s := filterStream(t, h)
	last := []struct {
		subj string
		want uint64 // 0: ErrNotFound
	}{{"", 8}, {">", 8}, {"foo.a", 1}, {"foo.*", 8}, {"foo.>", 8}, {"bar.*", 6}, {"*.a", 3}, {"baz", 7}, {"nope", 0}, {"nope.*", 0}}
	for _, tc := range last {
		m, err := s.LoadLast(h.ctx, tc.subj)
		if tc.want == 0 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("LoadLast(%q) = %d, %v; want ErrNotFound", tc.subj, m.Seq, err)
			}
			continue
		}
		if err != nil || m.Seq != tc.want {
			t.Errorf("LoadLast(%q) = %d, %v; want %d", tc.subj, m.Seq, err, tc.want)
		}
	}
	prev := []struct {
		filters []string
		start   uint64
		want    uint64 // 0: ErrEOF
	}{
		{nil, 100, 8}, {nil, 4, 3}, {nil, 0, 0}, {[]string{"foo.a"}, 7, 1}, {[]string{"foo.*"}, 7, 2},
		{[]string{"bar.*", "baz"}, 8, 7}, {[]string{"foo.>"}, 5, 5}, {[]string{"bar.b"}, 5, 0},
	}
	for _, tc := range prev {
		m, err := s.LoadPrev(h.ctx, tc.filters, tc.start)
		if tc.want == 0 {
			if !errors.Is(err, store.ErrEOF) {
				t.Errorf("LoadPrev(%q, %d) = %d, %v; want ErrEOF", tc.filters, tc.start, m.Seq, err)
			}
			continue
		}
		if err != nil || m.Seq != tc.want {
			t.Errorf("LoadPrev(%q, %d) = %d, %v; want %d", tc.filters, tc.start, m.Seq, err, tc.want)
		}
	}
}

func testLoadRange(t *testing.T, h *harness) {
	s := filterStream(t, h)
	// Data of message i is "<subject>-<i-1>", so len(Data) is known.
	cases := []struct {
		name string
		req  store.RangeRequest
		want []uint64
	}{
		{"all", store.RangeRequest{}, []uint64{1, 2, 3, 5, 6, 7, 8}},
		{"from-4", store.RangeRequest{Start: 4}, []uint64{5, 6, 7, 8}},
		{"to-5", store.RangeRequest{Start: 2, End: 5}, []uint64{2, 3, 5}},
		{"max-msgs", store.RangeRequest{MaxMsgs: 2}, []uint64{1, 2}},
		{"filter", store.RangeRequest{Filters: []string{"foo.*"}}, []uint64{1, 2, 8}},
		{"filters", store.RangeRequest{Filters: []string{"bar.>", "foo.a.x"}}, []uint64{3, 5, 6}},
		{"filter-max", store.RangeRequest{Filters: []string{"foo.>"}, Start: 2, MaxMsgs: 2}, []uint64{2, 5}},
		// Each message's data is 7 bytes; 15 bytes fit two.
		{"max-bytes", store.RangeRequest{Filters: []string{"foo.b", "bar.a"}, MaxBytes: 15}, []uint64{2, 3}},
		// The first message is returned even when it alone is too large.
		{"max-bytes-first", store.RangeRequest{MaxBytes: 1}, []uint64{1}},
	}
	for _, tc := range cases {
		msgs, err := s.LoadRange(h.ctx, tc.req)
		must(t, err)
		var got []uint64
		for _, m := range msgs {
			got = append(got, m.Seq)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: LoadRange = %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, req := range []store.RangeRequest{{Start: 9}, {Filters: []string{"nope"}}, {Start: 6, End: 7, Filters: []string{"foo.b"}}} {
		_, err := s.LoadRange(h.ctx, req)
		wantErr(t, "LoadRange with no match", err, store.ErrEOF)
	}
}

func testFilteredState(t *testing.T, h *harness) {
	s := filterStream(t, h)
	cases := []struct {
		start  uint64
		filter string
		want   store.SimpleState
	}{
		{0, "", store.SimpleState{Msgs: 7, First: 1, Last: 8}},
		{4, ">", store.SimpleState{Msgs: 4, First: 5, Last: 8}},
		{2, "", store.SimpleState{Msgs: 6, First: 2, Last: 8}},
		{0, "foo.a", store.SimpleState{Msgs: 1, First: 1, Last: 1}},
		{0, "foo.*", store.SimpleState{Msgs: 3, First: 1, Last: 8}},
		{2, "foo.*", store.SimpleState{Msgs: 2, First: 2, Last: 8}},
		{0, "foo.>", store.SimpleState{Msgs: 4, First: 1, Last: 8}},
		{0, "*.b", store.SimpleState{Msgs: 3, First: 2, Last: 8}},
		{7, "bar.*", store.SimpleState{}},
		{0, "nope", store.SimpleState{}},
		{9, "", store.SimpleState{}},
	}
	for _, tc := range cases {
		got, err := s.FilteredState(h.ctx, tc.start, tc.filter)
		must(t, err)
		if got != tc.want {
			t.Errorf("FilteredState(%d, %q) = %+v, want %+v", tc.start, tc.filter, got, tc.want)
		}
	}
}

func testSubjectsState(t *testing.T, h *harness) {
	s := filterStream(t, h)
	if st := state(t, s); st.NumSubjects != 6 {
		t.Fatalf("NumSubjects = %d, want 6", st.NumSubjects)
	}
	ss, err := s.SubjectsState(h.ctx, "foo.>")
	must(t, err)
	want := map[string]store.SimpleState{
		"foo.a": {Msgs: 1, First: 1, Last: 1}, "foo.b": {Msgs: 2, First: 2, Last: 8}, "foo.a.x": {Msgs: 1, First: 5, Last: 5},
	}
	if !maps.Equal(ss, want) {
		t.Fatalf("SubjectsState(foo.>) = %v, want %v", ss, want)
	}
	totals := []struct {
		filter string
		want   map[string]uint64
	}{
		{"", map[string]uint64{"foo.a": 1, "foo.b": 2, "bar.a": 1, "foo.a.x": 1, "bar.b": 1, "baz": 1}},
		{"*.b", map[string]uint64{"foo.b": 2, "bar.b": 1}},
		{"baz", map[string]uint64{"baz": 1}},
		{"nope", map[string]uint64{}},
	}
	for _, tc := range totals {
		got, err := s.SubjectsTotals(h.ctx, tc.filter)
		must(t, err)
		if len(got) != len(tc.want) || (len(got) > 0 && !maps.Equal(got, tc.want)) {
			t.Errorf("SubjectsTotals(%q) = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func testNumPending(t *testing.T, h *harness) {
	s := filterStream(t, h)
	cases := []struct {
		start   uint64
		filters []string
		lps     bool
		want    uint64
	}{
		{0, nil, false, 7},
		{5, nil, false, 4},
		{0, []string{"foo.*"}, false, 3},
		{0, []string{"foo.*", "foo.b"}, false, 3},
		{0, []string{"foo.*", "bar.*"}, false, 5},
		{3, []string{"foo.b", "baz"}, false, 2},
		{0, nil, true, 6},
		{0, []string{"foo.>"}, true, 3},
		{3, []string{"foo.>"}, true, 2},
		{9, nil, false, 0},
	}
	for _, tc := range cases {
		n, through, err := s.NumPending(h.ctx, tc.start, tc.filters, tc.lps)
		must(t, err)
		if n != tc.want || through != 8 {
			t.Errorf("NumPending(%d, %q, %v) = %d through %d, want %d through 8", tc.start, tc.filters, tc.lps, n, through, tc.want)
		}
	}
}

func testMultiLast(t *testing.T, h *harness) {
	s := filterStream(t, h)
	cases := []struct {
		filters []string
		maxSeq  uint64
		want    []uint64
	}{
		{nil, 0, []uint64{1, 3, 5, 6, 7, 8}},
		{[]string{"foo.*"}, 0, []uint64{1, 8}},
		{[]string{"foo.*"}, 7, []uint64{1, 2}},
		{[]string{"foo.a", "bar.>"}, 5, []uint64{1, 3}},
		{[]string{"nope"}, 0, nil},
	}
	for _, tc := range cases {
		got, err := s.MultiLastSeqs(h.ctx, tc.filters, tc.maxSeq, 0)
		must(t, err)
		if !slices.Equal(got, tc.want) {
			t.Errorf("MultiLastSeqs(%q, %d) = %v, want %v", tc.filters, tc.maxSeq, got, tc.want)
		}
	}
	_, err := s.MultiLastSeqs(h.ctx, nil, 0, 5)
	wantErr(t, "MultiLastSeqs over maxAllowed", err, store.ErrTooManyResults)
	got, err := s.MultiLastSeqs(h.ctx, nil, 0, 6)
	if err != nil || len(got) != 6 {
		t.Fatalf("MultiLastSeqs at maxAllowed = %v, %v", got, err)
	}
}
