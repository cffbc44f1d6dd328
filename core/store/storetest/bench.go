package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
)

// Bench measures a backend's hot paths: appends of 128 B and 4 KB messages
// alone and in batches of 16 and 256, loads by sequence, last by subject and
// next matching a filter, and purges by subject.
func Bench(b *testing.B, f Factory) {
	sizes := []struct {
		name string
		n    int
	}{{"128B", 128}, {"4KB", 4096}}
	for _, sz := range sizes {
		b.Run("append/"+sz.name+"/single", func(b *testing.B) { benchAppend(b, f, sz.n, 1) })
		for _, batch := range []int{16, 256} {
			b.Run(fmt.Sprintf("append/%s/batch%d", sz.name, batch), func(b *testing.B) { benchAppend(b, f, sz.n, batch) })
		}
	}
	b.Run("load/seq", func(b *testing.B) { benchLoad(b, f) })
	b.Run("load/last-by-subject", func(b *testing.B) { benchLoadLast(b, f) })
	b.Run("load/next-filtered/literal", func(b *testing.B) { benchLoadNext(b, f, false) })
	b.Run("load/next-filtered/wildcard", func(b *testing.B) { benchLoadNext(b, f, true) })
	b.Run("purge/subject", func(b *testing.B) { benchPurge(b, f) })
}

func benchStream(b *testing.B, f Factory) (store.StreamStore, context.Context) {
	b.Helper()
	ctx := context.Background()
	p := f.New(b, b.TempDir())
	b.Cleanup(func() { _ = p.Close(ctx) })
	s, err := p.Open(ctx, store.StreamConfig{Account: "B", Name: "BENCH", Storage: f.Storage})
	if err != nil {
		b.Fatal(err)
	}
	return s, ctx
}

func benchSubjects(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// fill stores n messages of 128 bytes round-robin over subjs.
func fill(b *testing.B, s store.StreamStore, subjs []string, n int) {
	b.Helper()
	data := make([]byte, 128)
	batch := make([]store.NewMsg, 0, 256)
	for i := 0; i < n; {
		batch = batch[:0]
		for ; len(batch) < cap(batch) && i < n; i++ {
			batch = append(batch, store.NewMsg{Subject: subjs[i%len(subjs)], Data: data})
		}
		if _, err := s.StoreBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAppend(b *testing.B, f Factory, size, batch int) {
	s, ctx := benchStream(b, f)
	subjs := benchSubjects(16, "bench.append.%d")
	data := make([]byte, size)
	msgs := make([]store.NewMsg, batch)
	// Purge every 256 MB so a long run does not measure memory growth.
	resetEvery := max(256<<20/size, 1024)
	stored := 0
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	if batch == 1 {
		for i := range b.N {
			if _, _, err := s.Store(ctx, subjs[i&15], nil, data, 0); err != nil {
				b.Fatal(err)
			}
			if stored++; stored == resetEvery {
				b.StopTimer()
				_, _ = s.Purge(ctx, store.PurgeRequest{})
				stored = 0
				b.StartTimer()
			}
		}
		return
	}
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		for j := range n {
			msgs[j] = store.NewMsg{Subject: subjs[(i+j)&15], Data: data}
		}
		if _, err := s.StoreBatch(ctx, msgs[:n]); err != nil {
			b.Fatal(err)
		}
		if stored += n; stored >= resetEvery {
			b.StopTimer()
			_, _ = s.Purge(ctx, store.PurgeRequest{})
			stored = 0
			b.StartTimer()
		}
	}
}

func benchLoad(b *testing.B, f Factory) {
	s, ctx := benchStream(b, f)
	const n = 100_000
	fill(b, s, benchSubjects(16, "bench.load.%d"), n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Load(ctx, uint64(i%n)+1); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLoadLast(b *testing.B, f Factory) {
	s, ctx := benchStream(b, f)
	subjs := benchSubjects(1000, "kv.bucket.key%d")
	fill(b, s, subjs, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.LoadLast(ctx, subjs[i%len(subjs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLoadNext(b *testing.B, f Factory, wildcard bool) {
	s, ctx := benchStream(b, f)
	subjs := benchSubjects(100, "orders.%d.new")
	const n = 100_000
	fill(b, s, subjs, n)
	filters := make([][]string, len(subjs))
	for i := range filters {
		filters[i] = []string{subjs[i]}
		if wildcard {
			filters[i] = []string{fmt.Sprintf("orders.%d.*", i)}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := uint64(i*7919%n) + 1
		if _, err := s.LoadNext(ctx, filters[i%len(filters)], start); err != nil && !store.IsMissing(err) {
			b.Fatal(err)
		}
	}
}

func benchPurge(b *testing.B, f Factory) {
	s, ctx := benchStream(b, f)
	subjs := benchSubjects(1000, "purge.%d")
	fill(b, s, subjs, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		subj := subjs[i%len(subjs)]
		if i > 0 && i%len(subjs) == 0 {
			b.StopTimer()
			fill(b, s, subjs, 100_000)
			b.StartTimer()
		}
		if _, err := s.Purge(ctx, store.PurgeRequest{Subject: subj}); err != nil {
			b.Fatal(err)
		}
	}
}
