package plugins

import (
	"context"
	"fmt"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/plugins/adapter"
)

// BenchmarkTransport measures what the process boundary costs: the memory
// store called directly ("inproc"), through the gRPC adapters on a unix
// socket in this process ("grpc"), and served by a go-plugin child process
// ("plugin"). Ratios of the same operation across the three are the
// transport's price; the store's own work is the inproc figure.
//
//	go test -run - -bench Transport ./plugins/
func BenchmarkTransport(b *testing.B) {
	modes := []struct {
		name string
		open func(b *testing.B) store.Provider
	}{
		{"inproc", func(b *testing.B) store.Provider {
			p, _ := mem.New(store.ProviderConfig{})
			return p
		}},
		{"grpc", func(b *testing.B) store.Provider {
			p, _ := mem.New(store.ProviderConfig{})
			c, stop, err := adapter.Loopback(p)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(stop)
			return c
		}},
		{"plugin", func(b *testing.B) store.Provider {
			startHost(b, Config{Plugins: []PluginConfig{{Name: "bench", Path: binary(b, "storeplugin"), Args: []string{"store.memory"}}}})
			p, err := store.NewProvider("store.bench", store.ProviderConfig{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return p
		}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			p := m.open(b)
			b.Cleanup(func() { _ = p.Close(context.Background()) })
			b.Run("append/128B/single", func(b *testing.B) { benchAppend(b, p, 1) })
			b.Run("append/128B/batch256", func(b *testing.B) { benchAppend(b, p, 256) })
			b.Run("load/seq", func(b *testing.B) { benchLoad(b, p) })
		})
	}
}

var benchN int

func benchStream(b *testing.B, p store.Provider) store.StreamStore {
	benchN++
	s, err := p.Open(context.Background(), store.StreamConfig{Account: "B", Name: fmt.Sprintf("S%d", benchN), Storage: store.MemoryStorage})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Delete(context.Background()) })
	return s
}

// benchAppend appends 128-byte messages, batch at a time; the figure is
// per message.
func benchAppend(b *testing.B, p store.Provider, batch int) {
	ctx := context.Background()
	s := benchStream(b, p)
	data := make([]byte, 128)
	msgs := make([]store.NewMsg, batch)
	for i := range msgs {
		msgs[i] = store.NewMsg{Subject: fmt.Sprintf("bench.%d", i%16), Data: data}
	}
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		if i > 0 && i%(1<<20) < batch {
			// Keep the store small so the run measures appends, not growth.
			b.StopTimer()
			if _, err := s.Purge(ctx, store.PurgeRequest{}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if batch == 1 {
			if _, _, err := s.Store(ctx, msgs[0].Subject, nil, data, 0); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if _, err := s.StoreBatch(ctx, msgs[:min(batch, b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
}

// benchLoad loads 128-byte messages by sequence from a stream of 10,000.
func benchLoad(b *testing.B, p store.Provider) {
	ctx := context.Background()
	s := benchStream(b, p)
	const n = 10000
	msgs := make([]store.NewMsg, 250)
	for i := range msgs {
		msgs[i] = store.NewMsg{Subject: "bench.load", Data: make([]byte, 128)}
	}
	for i := 0; i < n; i += len(msgs) {
		if _, err := s.StoreBatch(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Load(ctx, uint64(i%n)+1); err != nil {
			b.Fatal(err)
		}
	}
}
