package seg

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/sdk"
)

func factory(sync store.SyncPolicy) sdk.Factory {
	return sdk.Factory{Storage: store.FileStorage, New: func(tb testing.TB, dir string) store.Provider {
		p, err := Open(store.ProviderConfig{Dir: dir, Sync: sync})
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}}
}

// TestConformance runs the whole kit, in-process and over the plugin
// transport, with an fsync per write.
func TestConformance(t *testing.T) {
	sdk.RunConformance(t, factory(store.SyncPolicy{Always: true}))
}

// TestTornTail cuts the last record in half, as a crash during a write
// would, and checks that reopening keeps everything before it.
func TestTornTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := Open(store.ProviderConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, _, err := s.Store(ctx, "t", nil, []byte("0123456789"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "streams", "*", "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	fi, _ := os.Stat(segs[0])
	if err := os.Truncate(segs[0], fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	p, _ = Open(store.ProviderConfig{Dir: dir})
	defer p.Close(ctx)
	s, err = p.Open(ctx, store.StreamConfig{Account: "A", Name: "T"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.State(ctx)
	if st.Msgs != 9 || st.LastSeq != 9 {
		t.Fatalf("after a torn tail: %+v", st)
	}
	if seq, _, err := s.Store(ctx, "t", nil, []byte("x"), 0); err != nil || seq != 10 {
		t.Fatalf("store after recovery: %d %v", seq, err)
	}
}

// TestRewrite fills and empties a stream until the log is rewritten, and
// checks the result survives a reopen.
func TestRewrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*Provider, store.StreamStore) {
		p, err := Open(store.ProviderConfig{Dir: dir, Params: []byte(`{"segment_size": 65536}`)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "R", MaxMsgs: 100})
		if err != nil {
			t.Fatal(err)
		}
		return p, s
	}
	p, s := open()
	data := make([]byte, 1000)
	batch := make([]store.NewMsg, 50)
	for i := range batch {
		batch[i] = store.NewMsg{Subject: "r", Data: data}
	}
	for range 40 {
		if _, err := s.StoreBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// 2000 messages of 1 KB went in; 100 are live. Without rewrites the
	// log would hold all 2000.
	segs, _ := filepath.Glob(filepath.Join(dir, "streams", "*", "*.seg"))
	var total int64
	for _, f := range segs {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	if total > 600<<10 {
		t.Fatalf("the log was not rewritten: %d bytes in %v", total, segs)
	}
	before, _ := s.State(ctx)
	last, _ := s.LoadLast(ctx, "")
	p.Close(ctx)
	p, s = open()
	defer p.Close(ctx)
	after, _ := s.State(ctx)
	if before.Msgs != 100 || after.Msgs != before.Msgs || after.FirstSeq != before.FirstSeq || after.LastSeq != before.LastSeq {
		t.Fatalf("state before %+v, after %+v", before, after)
	}
	if m, err := s.LoadLast(ctx, ""); err != nil || m.Seq != last.Seq || m.Time != last.Time {
		t.Fatalf("last message after reopen: %+v %v", m, err)
	}
}
