package mem_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

func factory() storetest.Factory {
	return storetest.Factory{
		New: func(tb testing.TB, _ string) store.Provider {
			p, err := mem.New(store.ProviderConfig{})
			if err != nil {
				tb.Fatal(err)
			}
			return p
		},
		Storage: store.MemoryStorage,
	}
}

// TestConformance runs the kit here too, so `go test -race ./core/...`
// covers the memory store without the test module.
func TestConformance(t *testing.T) { storetest.Run(t, factory()) }

func BenchmarkMemory(b *testing.B) { storetest.Bench(b, factory()) }

func TestRegistered(t *testing.T) {
	info, ok := store.Lookup(mem.ID)
	if !ok {
		t.Fatal("store.memory is not registered")
	}
	p, err := info.New(store.ProviderConfig{Params: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Describe(context.Background())
	if err != nil || d.ID != mem.ID || d.Capabilities.Persistent {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	if _, err := mem.New(store.ProviderConfig{Params: []byte(`{"size":1}`)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown params accepted: %v", err)
	}
	_ = p.Close(context.Background())
	if _, err := p.List(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
}

// TestInternalCompaction drives the slot squeezing and block freeing paths
// with interleaved removals over several blocks.
func TestInternalCompaction(t *testing.T) {
	ctx := context.Background()
	p, _ := mem.New(store.ProviderConfig{})
	s, err := p.Open(ctx, store.StreamConfig{Name: "C", Storage: store.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		subj := "odd"
		if i%2 == 0 {
			subj = "even"
		}
		if _, _, err := s.Store(ctx, subj, nil, []byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Purge(ctx, store.PurgeRequest{Subject: "odd"}); err != nil || got != n/2 {
		t.Fatalf("purge odd = %d, %v", got, err)
	}
	for seq := uint64(1); seq <= 3001; seq += 2 {
		if err := s.Remove(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := s.State(ctx)
	if st.Msgs != n/2-1501 || st.FirstSeq != 3003 || st.LastSeq != n || st.NumDeleted != 999 || len(st.Deleted) != 999 {
		t.Fatalf("state: %d msgs, first %d, last %d, %d deleted", st.Msgs, st.FirstSeq, st.LastSeq, st.NumDeleted)
	}
	for seq := st.FirstSeq; seq <= st.LastSeq; seq++ {
		m, err := s.Load(ctx, seq)
		if seq%2 == 0 {
			if !errors.Is(err, store.ErrDeleted) {
				t.Fatalf("Load(%d) = %v", seq, err)
			}
			continue
		}
		if err != nil || m.Data[0] != byte(seq-1) {
			t.Fatalf("Load(%d) = %v, %v", seq, m, err)
		}
	}
	if m, err := s.LoadNext(ctx, []string{"even"}, 4000); err != nil || m.Seq != 4001 {
		t.Fatalf("LoadNext = %d, %v", m.Seq, err)
	}
}
