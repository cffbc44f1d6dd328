package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
)

func init() {
	register(
		kitCase{"describe", testDescribe},
		kitCase{"provider/lifecycle", testProviderLifecycle},
		kitCase{"provider/closed", testClosed},
		kitCase{"seq/new-stream", testNewStream},
		kitCase{"seq/first-seq", testFirstSeq},
		kitCase{"seq/purge-continues", testPurgeContinues},
		kitCase{"seq/skip", testSkip},
		kitCase{"seq/store-raw", testStoreRaw},
		kitCase{"seq/batch", testBatch},
		kitCase{"load/errors", testLoadErrors},
		kitCase{"load/payloads", testPayloads},
		kitCase{"load/seq-from-time", testSeqFromTime},
		kitCase{"validation", testValidation},
		kitCase{"update-config", testUpdateConfig},
	)
}

func testDescribe(t *testing.T, h *harness) {
	d, err := h.p.Describe(h.ctx)
	must(t, err)
	if d.ID == "" || d.Version == "" {
		t.Fatalf("Describe = %+v, want an ID and a version", d)
	}
}

func testProviderLifecycle(t *testing.T, h *harness) {
	a := store.StreamConfig{Account: "B", Name: "ORDERS", Storage: h.f.Storage, Meta: []byte(`{"name":"ORDERS"}`)}
	b := store.StreamConfig{Account: "A", Name: "ORDERS", Storage: h.f.Storage, MaxMsgs: 10}
	sa, sb := h.open(a), h.open(b)
	put(t, sa, "x", "1")
	list, err := h.p.List(h.ctx)
	must(t, err)
	if len(list) != 2 || list[0].Account != "A" || list[1].Account != "B" {
		t.Fatalf("List = %+v, want A/ORDERS then B/ORDERS", list)
	}
	if !bytes.Equal(list[1].Meta, a.Meta) || list[0].MaxMsgs != 10 {
		t.Fatalf("List lost config: %+v", list)
	}
	_, err = h.p.Open(h.ctx, a)
	wantErr(t, "Open of an open stream", err, store.ErrExists)

	must(t, sa.Close(h.ctx))
	sa = h.open(a)
	wantSeqs(t, sa, 1, 1, 1)
	a.MaxMsgs = 5
	must(t, sa.Close(h.ctx))
	sa = h.open(a)
	if c, err := sa.Config(h.ctx); err != nil || c.MaxMsgs != 5 {
		t.Fatalf("Open did not apply the new config: %+v %v", c, err)
	}

	must(t, h.p.Delete(h.ctx, "A", "ORDERS"))
	wantErr(t, "use after provider Delete", sb.Close(h.ctx), store.ErrClosed)
	wantErr(t, "Delete of a missing stream", h.p.Delete(h.ctx, "A", "ORDERS"), store.ErrNotFound)
	if list, _ = h.p.List(h.ctx); len(list) != 1 {
		t.Fatalf("List after Delete = %+v", list)
	}
	sb = h.open(b)
	wantSeqs(t, sb, 0, 0, 0)
	must(t, sa.Delete(h.ctx))
	if list, _ = h.p.List(h.ctx); len(list) != 1 || list[0].Account != "A" {
		t.Fatalf("List after StreamStore.Delete = %+v", list)
	}
	_, err = h.p.Open(h.ctx, store.StreamConfig{Account: "A"})
	wantErr(t, "Open without a name", err, store.ErrInvalid)
}

func testClosed(t *testing.T, h *harness) {
	s := h.stream(nil)
	put(t, s, "a", "1")
	must(t, s.Close(h.ctx))
	_, _, err := s.Store(h.ctx, "a", nil, nil, 0)
	wantErr(t, "Store after Close", err, store.ErrClosed)
	_, err = s.Load(h.ctx, 1)
	wantErr(t, "Load after Close", err, store.ErrClosed)
	_, err = s.State(h.ctx)
	wantErr(t, "State after Close", err, store.ErrClosed)
	wantErr(t, "Close twice", s.Close(h.ctx), store.ErrClosed)

	s2 := h.stream(nil)
	must(t, s2.Delete(h.ctx))
	_, err = s2.FastState(h.ctx)
	wantErr(t, "FastState after Delete", err, store.ErrClosed)
}

func testNewStream(t *testing.T, h *harness) {
	s := h.stream(nil)
	st := wantSeqs(t, s, 0, 0, 0)
	if st.NumDeleted != 0 || st.FirstTime != 0 || st.LastTime != 0 || st.NumSubjects != 0 {
		t.Fatalf("new stream state %+v", st)
	}
	if seq := put(t, s, "a", "x"); seq != 1 {
		t.Fatalf("first seq = %d, want 1", seq)
	}
	st = wantSeqs(t, s, 1, 1, 1)
	if st.FirstTime == 0 || st.FirstTime != st.LastTime {
		t.Fatalf("times after one message: %+v", st)
	}
}

func testFirstSeq(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.FirstSeq = 100 })
	wantSeqs(t, s, 0, 100, 99)
	if seq := put(t, s, "a", "x"); seq != 100 {
		t.Fatalf("first seq = %d, want 100", seq)
	}
	put(t, s, "a", "y")
	wantSeqs(t, s, 2, 100, 101)
	// Truncate(0) returns to the state of a new stream.
	must(t, s.Truncate(h.ctx, 0))
	wantSeqs(t, s, 0, 100, 99)
}

func testPurgeContinues(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "a", "c", "a")
	n, err := s.Purge(h.ctx, store.PurgeRequest{})
	must(t, err)
	if n != 5 {
		t.Fatalf("purged %d, want 5", n)
	}
	st := wantSeqs(t, s, 0, 6, 5)
	if st.Bytes != 0 || st.NumSubjects != 0 || st.FirstTime != 0 || st.LastTime == 0 {
		t.Fatalf("state after purge %+v", st)
	}
	if seq := put(t, s, "a", "x"); seq != 6 {
		t.Fatalf("seq after purge = %d, want 6", seq)
	}
	wantSeqs(t, s, 1, 6, 6)
	// Purging a new stream also moves its first sequence past the last.
	s2 := h.stream(nil)
	_, err = s2.Purge(h.ctx, store.PurgeRequest{})
	must(t, err)
	wantSeqs(t, s2, 0, 1, 0)
}

func testSkip(t *testing.T, h *harness) {
	s := h.stream(nil)
	seq, err := s.Skip(h.ctx, 0)
	must(t, err)
	if seq != 1 {
		t.Fatalf("Skip on a new stream = %d, want 1", seq)
	}
	wantSeqs(t, s, 0, 2, 1)
	put(t, s, "a", "x") // 2
	_, err = s.Skip(h.ctx, 5)
	wantErr(t, "Skip of a later seq", err, store.ErrSequenceMismatch)
	seq, err = s.Skip(h.ctx, 3)
	must(t, err)
	if seq != 3 {
		t.Fatalf("Skip(3) = %d", seq)
	}
	st := wantSeqs(t, s, 1, 2, 3)
	if st.NumDeleted != 1 || !slices.Equal(st.Deleted, []store.Range{{First: 3, Last: 3}}) {
		t.Fatalf("deleted after skip: %d %v", st.NumDeleted, st.Deleted)
	}
	wantErr(t, "SkipMsgs of a wrong seq", s.SkipMsgs(h.ctx, 9, 2), store.ErrSequenceMismatch)
	must(t, s.SkipMsgs(h.ctx, 4, 10))
	if seq := put(t, s, "a", "y"); seq != 14 {
		t.Fatalf("seq after SkipMsgs = %d, want 14", seq)
	}
	st = wantSeqs(t, s, 2, 2, 14)
	if st.NumDeleted != 11 || !slices.Equal(st.Deleted, []store.Range{{First: 3, Last: 13}}) {
		t.Fatalf("deleted after SkipMsgs: %d %v", st.NumDeleted, st.Deleted)
	}
	_, err = s.Load(h.ctx, 7)
	wantErr(t, "Load of a skipped seq", err, store.ErrDeleted)
	// Skipping on an empty stream moves the first sequence along.
	_, err = s.Purge(h.ctx, store.PurgeRequest{})
	must(t, err)
	must(t, s.SkipMsgs(h.ctx, 15, 5))
	wantSeqs(t, s, 0, 20, 19)
}

func testStoreRaw(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.AllowMsgTTL = true })
	must(t, s.StoreRaw(h.ctx, store.Msg{Subject: "a", Data: []byte("x"), Seq: 1, Time: 1000, TTL: 60}))
	wantErr(t, "StoreRaw of a gap", s.StoreRaw(h.ctx, store.Msg{Subject: "a", Seq: 5, Time: 2000}), store.ErrSequenceMismatch)
	wantErr(t, "StoreRaw of an old seq", s.StoreRaw(h.ctx, store.Msg{Subject: "a", Seq: 1, Time: 2000}), store.ErrSequenceMismatch)
	must(t, s.StoreRaw(h.ctx, store.Msg{Subject: "b", Header: []byte("NATS/1.0\r\nA: b\r\n\r\n"), Seq: 0, Time: 3000}))
	m, err := s.Load(h.ctx, 1)
	must(t, err)
	if m.Time != 1000 || m.TTL != 60 || m.Subject != "a" || string(m.Data) != "x" {
		t.Fatalf("raw message 1 = %+v", m)
	}
	m, err = s.Load(h.ctx, 2)
	must(t, err)
	if m.Seq != 2 || m.Time != 3000 || len(m.Data) != 0 || len(m.Header) == 0 {
		t.Fatalf("raw message 2 = %+v", m)
	}
	st := wantSeqs(t, s, 2, 1, 2)
	if st.FirstTime != 1000 || st.LastTime != 3000 {
		t.Fatalf("times %d/%d", st.FirstTime, st.LastTime)
	}
}

func testBatch(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.MaxMsgSize = 8 })
	res, err := s.StoreBatch(h.ctx, []store.NewMsg{
		{Subject: "a", Data: []byte("1")},
		{Subject: "b", Data: []byte("too large for the limit")},
		{Subject: "bad subject", Data: []byte("3")},
		{Subject: "c", Header: []byte("h"), Data: []byte("4")},
	})
	must(t, err)
	if len(res) != 4 {
		t.Fatalf("%d results for 4 messages", len(res))
	}
	if res[0].Err != nil || res[0].Seq != 1 || res[0].Time == 0 {
		t.Fatalf("result 0 = %+v", res[0])
	}
	wantErr(t, "batch message over max_msg_size", res[1].Err, store.ErrMaxMsgSize)
	wantErr(t, "batch message with a bad subject", res[2].Err, store.ErrInvalid)
	if res[1].Seq != 0 || res[2].Seq != 0 || res[3].Seq != 2 || res[3].Err != nil {
		t.Fatalf("results %+v", res)
	}
	wantSeqs(t, s, 2, 1, 2)
	res, err = s.StoreBatch(h.ctx, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("empty batch = %v, %v", res, err)
	}
}

func testLoadErrors(t *testing.T, h *harness) {
	s := h.stream(nil)
	_, err := s.Load(h.ctx, 1)
	wantErr(t, "Load on an empty stream", err, store.ErrEOF)
	putAll(t, s, "a", "b", "c", "d", "e")
	must(t, s.Remove(h.ctx, 1))
	must(t, s.Remove(h.ctx, 3))
	for _, tc := range []struct {
		seq  uint64
		want error
	}{{0, store.ErrNotFound}, {1, store.ErrNotFound}, {3, store.ErrDeleted}, {6, store.ErrEOF}, {1 << 40, store.ErrEOF}} {
		_, err := s.Load(h.ctx, tc.seq)
		wantErr(t, "Load", err, tc.want)
		_, err = s.SubjectForSeq(h.ctx, tc.seq)
		wantErr(t, "SubjectForSeq", err, tc.want)
		wantErr(t, "Remove", s.Remove(h.ctx, tc.seq), tc.want)
		if !store.IsMissing(err) {
			t.Fatalf("IsMissing(%v) = false", err)
		}
	}
	if subj, err := s.SubjectForSeq(h.ctx, 4); err != nil || subj != "d" {
		t.Fatalf("SubjectForSeq(4) = %q, %v", subj, err)
	}
}

func testPayloads(t *testing.T, h *harness) {
	s := h.stream(nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	hdr := []byte("NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n")
	cases := []struct {
		name      string
		hdr, data []byte
	}{
		{"empty", nil, nil},
		{"one-byte", nil, []byte{7}},
		{"header-only", hdr, nil},
		{"header-and-data", hdr, []byte("payload")},
		{"8MB", nil, big},
	}
	var bytesWant uint64
	for _, tc := range cases {
		data := slices.Clone(tc.data)
		seq, _, err := s.Store(h.ctx, "p."+tc.name, tc.hdr, data, 0)
		must(t, err)
		bytesWant += h.size("p."+tc.name, tc.hdr, tc.data)
		if len(data) > 0 {
			data[0] ^= 0xff // the store must have copied
		}
		m, err := s.Load(h.ctx, seq)
		must(t, err)
		if !bytes.Equal(m.Header, tc.hdr) || !bytes.Equal(m.Data, tc.data) || m.Subject != "p."+tc.name {
			t.Fatalf("%s: loaded %d/%d bytes, want %d/%d", tc.name, len(m.Header), len(m.Data), len(tc.hdr), len(tc.data))
		}
	}
	if st := state(t, s); st.Bytes != bytesWant {
		t.Fatalf("Bytes = %d, want %d (%s accounting)", st.Bytes, bytesWant, h.f.Storage)
	}
}

func testSeqFromTime(t *testing.T, h *harness) {
	s := h.stream(nil)
	for i, ts := range []int64{100, 200, 300, 400} {
		must(t, s.StoreRaw(h.ctx, store.Msg{Subject: "a", Seq: uint64(i + 1), Time: ts}))
	}
	must(t, s.Remove(h.ctx, 2))
	for _, tc := range []struct {
		ts   int64
		want uint64
	}{{0, 1}, {100, 1}, {101, 3}, {200, 3}, {400, 4}, {401, 5}} {
		got, err := s.SeqFromTime(h.ctx, tc.ts)
		must(t, err)
		if got != tc.want {
			t.Errorf("SeqFromTime(%d) = %d, want %d", tc.ts, got, tc.want)
		}
	}
}

func testValidation(t *testing.T, h *harness) {
	s := h.stream(nil)
	for _, subj := range []string{"", "a.*", "a.>", "a..b", "a b"} {
		_, _, err := s.Store(h.ctx, subj, nil, nil, 0)
		wantErr(t, "Store("+subj+")", err, store.ErrInvalid)
	}
	_, _, err := s.Store(h.ctx, "a", nil, nil, 5)
	wantErr(t, "TTL without allow_msg_ttl", err, store.ErrInvalid)
	_, err = s.LoadNext(h.ctx, []string{"a..b"}, 0)
	wantErr(t, "LoadNext with a bad filter", err, store.ErrInvalid)
	_, err = s.Purge(h.ctx, store.PurgeRequest{Subject: "a.>.b"})
	wantErr(t, "Purge with a bad filter", err, store.ErrInvalid)
	wantSeqs(t, s, 0, 0, 0)
}

func testUpdateConfig(t *testing.T, h *harness) {
	s := h.stream(nil)
	c, err := s.Config(h.ctx)
	must(t, err)
	bad := c
	bad.Name = "OTHER"
	wantErr(t, "UpdateConfig renaming", s.UpdateConfig(h.ctx, bad), store.ErrInvalid)
	c.Meta = []byte("v2")
	c.FirstSeq = 50
	must(t, s.UpdateConfig(h.ctx, c))
	got, err := s.Config(h.ctx)
	must(t, err)
	if string(got.Meta) != "v2" {
		t.Fatalf("Meta = %q", got.Meta)
	}
	// A new stream takes a new first sequence.
	wantSeqs(t, s, 0, 50, 49)
	if list, _ := h.p.List(h.ctx); len(list) != 1 || string(list[0].Meta) != "v2" {
		t.Fatalf("List after UpdateConfig = %+v", list)
	}
}
