package snapfmt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

func testStream(t *testing.T, n int) (store.Provider, store.StreamStore) {
	t.Helper()
	ctx := context.Background()
	p, err := mem.New(store.ProviderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(ctx) })
	s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "SRC", Storage: store.MemoryStorage, AllowMsgTTL: true,
		MaxAge: time.Hour, Meta: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, _, err := s.Store(ctx, fmt.Sprintf("s.%d", i%3), []byte("h"), []byte(fmt.Sprintf("data %d", i)), int64(i%2)); err != nil {
			t.Fatal(err)
		}
	}
	if n > 3 {
		if err := s.Remove(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.OpenConsumer(ctx, "C", []byte("cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateDelivered(ctx, 1, 1, 1, 5); err != nil {
		t.Fatal(err)
	}
	return p, s
}

func write(t *testing.T, s store.StreamStore, opts store.SnapshotOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := snapfmt.Write(context.Background(), &buf, s, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	p, s := testStream(t, 50)
	snap := write(t, s, store.SnapshotOptions{ChunkSize: 100})
	hdr, stats, err := snapfmt.Verify(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.Config(ctx)
	if got := hdr.Config.StreamConfig(); !reflect.DeepEqual(got, cfg) {
		t.Fatalf("config round trip:\n got %+v\nwant %+v", got, cfg)
	}
	if stats.Msgs != 49 || len(stats.Deleted) != 1 || len(stats.Consumers) != 1 || hdr.State.LastSeq != 50 {
		t.Fatalf("stats %+v header %+v", stats, hdr)
	}
	// An empty name takes the snapshot's own configuration.
	if err := p.Delete(ctx, "A", "SRC"); err != nil {
		t.Fatal(err)
	}
	dst, err := snapfmt.RestoreStream(ctx, bytes.NewReader(snap), store.StreamConfig{}, p)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := dst.State(ctx)
	if st.Msgs != 49 || st.LastSeq != 50 || st.Consumers != 1 {
		t.Fatalf("restored state %+v", st)
	}
	if c, _ := dst.Config(ctx); c.Name != "SRC" || string(c.Meta) != `{"x":1}` {
		t.Fatalf("restored config %+v", c)
	}
}

// TestCorruptionAnywhere flips every byte and cuts at every length: each
// damaged snapshot must fail with a typed error, never restore.
func TestCorruptionAnywhere(t *testing.T) {
	_, s := testStream(t, 12)
	snap := write(t, s, store.SnapshotOptions{ChunkSize: 64})
	for i := range snap {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x01
		_, _, err := snapfmt.Verify(bytes.NewReader(bad))
		if !errors.Is(err, store.ErrCorrupt) && !(i == len(snapfmt.Magic) && errors.Is(err, store.ErrUnsupported)) {
			t.Fatalf("flipping byte %d of %d: %v", i, len(snap), err)
		}
	}
	for n := range len(snap) {
		if _, _, err := snapfmt.Verify(bytes.NewReader(snap[:n])); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", n, len(snap), err)
		}
	}
	extra := append(bytes.Clone(snap), 0)
	if _, _, err := snapfmt.Verify(bytes.NewReader(extra)); err != nil {
		t.Fatalf("trailing bytes after the end frame are ignored, got %v", err)
	}
}

func TestVersion(t *testing.T) {
	_, s := testStream(t, 1)
	snap := write(t, s, store.SnapshotOptions{})
	snap[len(snapfmt.Magic)] = snapfmt.Version + 1
	if _, err := snapfmt.NewReader(bytes.NewReader(snap)); !errors.Is(err, store.ErrUnsupported) {
		t.Fatalf("future version: %v", err)
	}
}

func TestRestoreIntoNonEmpty(t *testing.T) {
	ctx := context.Background()
	p, s := testStream(t, 5)
	snap := write(t, s, store.SnapshotOptions{})
	target, err := p.Open(ctx, store.StreamConfig{Name: "T", Storage: store.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := target.Store(ctx, "x", nil, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := snapfmt.Restore(ctx, bytes.NewReader(snap), target); !errors.Is(err, store.ErrSequenceMismatch) {
		t.Fatalf("restore over messages: %v", err)
	}
}
