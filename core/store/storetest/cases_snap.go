package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

func init() {
	register(
		kitCase{"snapshot/round-trip", testSnapshotRoundTrip},
		kitCase{"snapshot/cross-backend", testSnapshotCrossBackend},
		kitCase{"snapshot/empty", testSnapshotEmpty},
		kitCase{"snapshot/corrupt", testSnapshotCorrupt},
		kitCase{"reopen", testReopen},
		kitCase{"consumers/state", testConsumerState},
		kitCase{"consumers/lifecycle", testConsumerLifecycle},
	)
}

// richStream fills a stream with what a snapshot must carry: headers, TTLs,
// interior and trailing gaps, and consumers.
func richStream(t *testing.T, h *harness, s store.StreamStore) {
	ctx := h.ctx
	for i := range 300 {
		var hdr []byte
		if i%3 == 0 {
			hdr = []byte(fmt.Sprintf("NATS/1.0\r\nN: %d\r\n\r\n", i))
		}
		ttl := int64(0)
		if i%7 == 0 {
			ttl = int64(i + 60)
		}
		_, _, err := s.Store(ctx, fmt.Sprintf("rich.%d", i%11), hdr, bytes.Repeat([]byte{byte(i)}, i), ttl)
		must(t, err)
	}
	for _, seq := range []uint64{1, 2, 50, 51, 52, 299} {
		must(t, s.Remove(ctx, seq))
	}
	must(t, s.SkipMsgs(ctx, 301, 3))
	c, err := s.OpenConsumer(ctx, "dur", []byte(`{"durable_name":"dur"}`))
	must(t, err)
	must(t, c.UpdateDelivered(ctx, 1, 3, 1, 100))
	must(t, c.UpdateDelivered(ctx, 2, 4, 1, 200))
	must(t, c.UpdateDelivered(ctx, 3, 3, 2, 300))
	must(t, c.UpdateAcks(ctx, 2, 4))
	must(t, c.Close(ctx))
	c2, err := s.OpenConsumer(ctx, "eph", nil)
	must(t, err)
	must(t, c2.Update(ctx, store.ConsumerState{Delivered: store.SeqPair{Consumer: 9, Stream: 20}, AckFloor: store.SeqPair{Consumer: 9, Stream: 20}}))
	// c2 stays open: a snapshot must read consumers that are in use.
}

// sameStream checks that b holds exactly what a holds.
func sameStream(t *testing.T, a, b store.StreamStore) {
	t.Helper()
	ctx := context.Background()
	sa, sb := state(t, a), state(t, b)
	sa.Consumers, sb.Consumers = 0, 0
	sa.LastTime, sb.LastTime = 0, 0 // a trailing skip takes the restorer's clock
	if sa.Msgs != sb.Msgs || sa.Bytes != sb.Bytes || sa.FirstSeq != sb.FirstSeq || sa.LastSeq != sb.LastSeq ||
		sa.FirstTime != sb.FirstTime || sa.NumSubjects != sb.NumSubjects || sa.NumDeleted != sb.NumDeleted ||
		!slices.Equal(sa.Deleted, sb.Deleted) {
		t.Fatalf("restored state differs:\n src %+v\n dst %+v", sa, sb)
	}
	ma, err := a.LoadRange(ctx, store.RangeRequest{})
	if !errors.Is(err, store.ErrEOF) {
		must(t, err)
	}
	for _, x := range ma {
		y, err := b.Load(ctx, x.Seq)
		must(t, err)
		if x.Subject != y.Subject || !bytes.Equal(x.Header, y.Header) || !bytes.Equal(x.Data, y.Data) || x.Time != y.Time || x.TTL != y.TTL {
			t.Fatalf("message %d differs: %+v vs %+v", x.Seq, x, y)
		}
	}
	ca, err := a.Consumers(ctx)
	must(t, err)
	cb, err := b.Consumers(ctx)
	must(t, err)
	if len(ca) != len(cb) {
		t.Fatalf("consumers %d vs %d", len(ca), len(cb))
	}
	for i := range ca {
		if ca[i].Name != cb[i].Name || !bytes.Equal(ca[i].Meta, cb[i].Meta) || !sameConsumerState(ca[i].State, cb[i].State) {
			t.Fatalf("consumer %d differs: %+v vs %+v", i, ca[i], cb[i])
		}
	}
}

func sameConsumerState(a, b store.ConsumerState) bool {
	return a.Delivered == b.Delivered && a.AckFloor == b.AckFloor &&
		len(a.Pending) == len(b.Pending) && (len(a.Pending) == 0 || maps.Equal(a.Pending, b.Pending)) &&
		len(a.Redelivered) == len(b.Redelivered) && (len(a.Redelivered) == 0 || maps.Equal(a.Redelivered, b.Redelivered))
}

func snapshot(t *testing.T, s store.StreamStore, opts store.SnapshotOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	must(t, s.Snapshot(context.Background(), &buf, opts))
	return buf.Bytes()
}

func testSnapshotRoundTrip(t *testing.T, h *harness) {
	src := h.stream(func(c *store.StreamConfig) { c.AllowMsgTTL = true; c.Meta = []byte("meta") })
	richStream(t, h, src)
	snap := snapshot(t, src, store.SnapshotOptions{ChunkSize: 4096})
	hdr, stats, err := snapfmt.Verify(bytes.NewReader(snap))
	must(t, err)
	if stats.Msgs != 294 || len(stats.Consumers) != 2 || hdr.State.LastSeq != 303 || string(hdr.Config.Meta) != "meta" {
		t.Fatalf("Verify = %+v %d msgs %d consumers", hdr, stats.Msgs, len(stats.Consumers))
	}
	dstCfg := h.cfg()
	dstCfg.AllowMsgTTL = true
	dst, err := h.p.Restore(h.ctx, dstCfg, bytes.NewReader(snap))
	must(t, err)
	sameStream(t, src, dst)
	_, err = h.p.Restore(h.ctx, dstCfg, bytes.NewReader(snap))
	wantErr(t, "Restore over an existing stream", err, store.ErrExists)

	noCons := snapshot(t, src, store.SnapshotOptions{NoConsumers: true})
	dst2, err := h.p.Restore(h.ctx, h.cfg(), bytes.NewReader(noCons))
	must(t, err)
	if st := state(t, dst2); st.Consumers != 0 || st.Msgs != 294 {
		t.Fatalf("restore without consumers: %+v", st)
	}
	if seq := put(t, dst2, "after", "x"); seq != 304 {
		t.Fatalf("seq after restore = %d, want 304", seq)
	}
}

func testSnapshotCrossBackend(t *testing.T, h *harness) {
	mp, err := mem.New(store.ProviderConfig{})
	must(t, err)
	defer mp.Close(h.ctx)
	// The factory's backend into the memory store...
	src := h.stream(func(c *store.StreamConfig) { c.AllowMsgTTL = true })
	richStream(t, h, src)
	cfg := h.cfg()
	cfg.AllowMsgTTL = true
	inMem, err := mp.Restore(h.ctx, cfg, bytes.NewReader(snapshot(t, src, store.SnapshotOptions{})))
	must(t, err)
	sameStream(t, src, inMem)
	// ...and from the memory store back into the factory's backend.
	back, err := h.p.Restore(h.ctx, h.cfg(), bytes.NewReader(snapshot(t, inMem, store.SnapshotOptions{})))
	must(t, err)
	sameStream(t, inMem, back)
}

func testSnapshotEmpty(t *testing.T, h *harness) {
	for _, tc := range []struct {
		name string
		prep func(s store.StreamStore)
	}{
		{"new", func(store.StreamStore) {}},
		{"purged", func(s store.StreamStore) {
			putAll(t, s, "a", "b", "c")
			_, err := s.Purge(h.ctx, store.PurgeRequest{})
			must(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := h.stream(nil)
			tc.prep(src)
			dst, err := h.p.Restore(h.ctx, h.cfg(), bytes.NewReader(snapshot(t, src, store.SnapshotOptions{})))
			must(t, err)
			a, b := state(t, src), state(t, dst)
			if a.Msgs != b.Msgs || a.FirstSeq != b.FirstSeq || a.LastSeq != b.LastSeq {
				t.Fatalf("restored %+v from %+v", b, a)
			}
		})
	}
}

func testSnapshotCorrupt(t *testing.T, h *harness) {
	src := h.stream(nil)
	for i := range 200 {
		put(t, src, fmt.Sprintf("c.%d", i%5), fmt.Sprintf("payload %d payload", i))
	}
	snap := snapshot(t, src, store.SnapshotOptions{ChunkSize: 1024})
	damage := map[string][]byte{
		"flipped-middle": flip(snap, len(snap)/2),
		"flipped-end":    flip(snap, len(snap)-3),
		"truncated":      snap[:len(snap)*2/3],
		"no-end-frame":   snap[:len(snap)-50],
		"bad-magic":      flip(snap, 1),
		"empty":          nil,
	}
	for name, bad := range damage {
		t.Run(name, func(t *testing.T) {
			cfg := h.cfg()
			_, err := h.p.Restore(h.ctx, cfg, bytes.NewReader(bad))
			wantErr(t, "Restore of a damaged snapshot", err, store.ErrCorrupt)
			list, err := h.p.List(h.ctx)
			must(t, err)
			for _, c := range list {
				if c.Name == cfg.Name {
					t.Fatalf("a failed restore left stream %s behind", c.Name)
				}
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0x5a
	return out
}

func testReopen(t *testing.T, h *harness) {
	if !h.persistent() {
		t.Skip("backend is not persistent")
	}
	cfg := h.cfg()
	cfg.AllowMsgTTL = true
	cfg.Meta = []byte(`{"stream":"config"}`)
	s := h.open(cfg)
	richStream(t, h, s)
	before := state(t, s)
	want, err := s.LoadRange(h.ctx, store.RangeRequest{})
	must(t, err)
	cons, err := s.Consumers(h.ctx)
	must(t, err)
	h.reopen()
	list, err := h.p.List(h.ctx)
	must(t, err)
	if len(list) != 1 || !bytes.Equal(list[0].Meta, cfg.Meta) {
		t.Fatalf("List after reopen = %+v", list)
	}
	s = h.open(list[0])
	after := state(t, s)
	before.LastTime, after.LastTime = 0, 0
	if before.Msgs != after.Msgs || before.Bytes != after.Bytes || before.FirstSeq != after.FirstSeq ||
		before.LastSeq != after.LastSeq || !slices.Equal(before.Deleted, after.Deleted) || after.Consumers != 2 {
		t.Fatalf("state after reopen:\n got %+v\nwant %+v", after, before)
	}
	for _, x := range want {
		y, err := s.Load(h.ctx, x.Seq)
		must(t, err)
		if !bytes.Equal(x.Data, y.Data) || !bytes.Equal(x.Header, y.Header) || x.Time != y.Time || x.TTL != y.TTL {
			t.Fatalf("message %d changed across reopen", x.Seq)
		}
	}
	got, err := s.Consumers(h.ctx)
	must(t, err)
	for i := range cons {
		if got[i].Name != cons[i].Name || !sameConsumerState(got[i].State, cons[i].State) {
			t.Fatalf("consumer %s changed across reopen: %+v", cons[i].Name, got[i])
		}
	}
	if seq := put(t, s, "x", "y"); seq != before.LastSeq+1 {
		t.Fatalf("seq after reopen = %d", seq)
	}
}

func testConsumerState(t *testing.T, h *harness) {
	s := h.stream(nil)
	c, err := s.OpenConsumer(h.ctx, "C", []byte("cfg"))
	must(t, err)
	steps := []struct {
		name string
		do   func() error
		want store.ConsumerState
	}{
		{"deliver 1", func() error { return c.UpdateDelivered(h.ctx, 1, 10, 1, 1000) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 1, Stream: 10}, Pending: map[uint64]store.Pending{10: pend(1, 1000)}}},
		{"deliver 2", func() error { return c.UpdateDelivered(h.ctx, 2, 12, 1, 2000) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 2, Stream: 12}, Pending: map[uint64]store.Pending{10: pend(1, 1000), 12: pend(2, 2000)}}},
		{"redeliver 10", func() error { return c.UpdateDelivered(h.ctx, 3, 10, 2, 3000) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 3, Stream: 12}, Pending: map[uint64]store.Pending{10: pend(3, 3000), 12: pend(2, 2000)},
			Redelivered: map[uint64]uint64{10: 1}}},
		{"ack 12", func() error { return c.UpdateAcks(h.ctx, 2, 12) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 3, Stream: 12}, AckFloor: store.SeqPair{Consumer: 2, Stream: 9},
			Pending: map[uint64]store.Pending{10: pend(3, 3000)}, Redelivered: map[uint64]uint64{10: 1}}},
		{"ack 10", func() error { return c.UpdateAcks(h.ctx, 3, 10) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 3, Stream: 12}, AckFloor: store.SeqPair{Consumer: 3, Stream: 12}}},
		{"ack again", func() error { return c.UpdateAcks(h.ctx, 3, 10) }, store.ConsumerState{
			Delivered: store.SeqPair{Consumer: 3, Stream: 12}, AckFloor: store.SeqPair{Consumer: 3, Stream: 12}}},
	}
	for _, st := range steps {
		must(t, st.do())
		got, err := c.State(h.ctx)
		must(t, err)
		if !sameConsumerState(got, st.want) {
			t.Fatalf("%s: state %+v, want %+v", st.name, got, st.want)
		}
	}
	wantErr(t, "ack beyond delivered", c.UpdateAcks(h.ctx, 9, 99), store.ErrInvalid)
	wantErr(t, "zero delivery", c.UpdateDelivered(h.ctx, 0, 1, 1, 0), store.ErrInvalid)
	bad := store.ConsumerState{Delivered: store.SeqPair{Consumer: 1, Stream: 1}, AckFloor: store.SeqPair{Consumer: 2, Stream: 2}}
	wantErr(t, "Update with the ack floor above delivered", c.Update(h.ctx, bad), store.ErrInvalid)
	full := store.ConsumerState{
		Delivered: store.SeqPair{Consumer: 50, Stream: 70}, AckFloor: store.SeqPair{Consumer: 40, Stream: 60},
		Pending: map[uint64]store.Pending{65: pend(45, 5), 70: pend(50, 6)}, Redelivered: map[uint64]uint64{65: 3},
	}
	must(t, c.Update(h.ctx, full))
	full.Pending[99] = store.Pending{} // the store must have copied
	got, err := c.State(h.ctx)
	must(t, err)
	delete(full.Pending, 99)
	if !sameConsumerState(got, full) {
		t.Fatalf("after Update: %+v", got)
	}
	got.Redelivered[65] = 100 // and State must return a copy
	if again, _ := c.State(h.ctx); again.Redelivered[65] != 3 {
		t.Fatal("State returned the store's own map")
	}
}

func testConsumerLifecycle(t *testing.T, h *harness) {
	s := h.stream(nil)
	c, err := s.OpenConsumer(h.ctx, "B", []byte("v1"))
	must(t, err)
	_, err = s.OpenConsumer(h.ctx, "B", nil)
	wantErr(t, "OpenConsumer of an open consumer", err, store.ErrExists)
	_, err = s.OpenConsumer(h.ctx, "", nil)
	wantErr(t, "OpenConsumer without a name", err, store.ErrInvalid)
	a, err := s.OpenConsumer(h.ctx, "A", nil)
	must(t, err)
	must(t, c.UpdateDelivered(h.ctx, 1, 1, 1, 1))
	must(t, c.SetMeta(h.ctx, []byte("v2")))
	if m, err := c.Meta(h.ctx); err != nil || string(m) != "v2" {
		t.Fatalf("Meta = %q, %v", m, err)
	}
	if st := state(t, s); st.Consumers != 2 {
		t.Fatalf("Consumers count %d", st.Consumers)
	}
	list, err := s.Consumers(h.ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "A" || list[1].Name != "B" || string(list[1].Meta) != "v2" || list[1].State.Delivered.Stream != 1 {
		t.Fatalf("Consumers = %+v", list)
	}
	must(t, c.Close(h.ctx))
	wantErr(t, "use after Close", c.UpdateAcks(h.ctx, 1, 1), store.ErrClosed)
	c, err = s.OpenConsumer(h.ctx, "B", nil) // nil meta keeps the stored one
	must(t, err)
	if m, _ := c.Meta(h.ctx); string(m) != "v2" {
		t.Fatalf("Meta after reopen = %q", m)
	}
	if st, _ := c.State(h.ctx); st.Delivered.Stream != 1 {
		t.Fatalf("state after reopen %+v", st)
	}
	must(t, c.Delete(h.ctx))
	wantErr(t, "use after Delete", c.SetMeta(h.ctx, nil), store.ErrClosed)
	must(t, s.DeleteConsumer(h.ctx, "A"))
	wantErr(t, "use after DeleteConsumer", a.UpdateAcks(h.ctx, 1, 1), store.ErrClosed)
	wantErr(t, "DeleteConsumer of a missing one", s.DeleteConsumer(h.ctx, "A"), store.ErrNotFound)
	if list, _ := s.Consumers(h.ctx); len(list) != 0 {
		t.Fatalf("Consumers after deletes = %+v", list)
	}
	// A fresh consumer of a deleted name starts empty.
	c, err = s.OpenConsumer(h.ctx, "B", nil)
	must(t, err)
	if st, _ := c.State(h.ctx); st.Delivered.Stream != 0 {
		t.Fatalf("recreated consumer has state %+v", st)
	}
	// Closing the stream closes its consumers.
	must(t, s.Close(h.ctx))
	wantErr(t, "consumer use after stream Close", c.UpdateAcks(h.ctx, 1, 1), store.ErrClosed)
}

func pend(seq uint64, ts int64) store.Pending { return store.Pending{Sequence: seq, Timestamp: ts} }
