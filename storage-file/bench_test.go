package storagefile

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

var benchRecover = flag.Bool("bench-recover", false, "build a 1M-message stream for BenchmarkRecover (also HANGAR_LONG=1)")

// BenchmarkStore runs the kit's benchmarks on disk (the test's temporary
// directory) under both sync policies, and on the memory store for
// comparison in the same run.
func BenchmarkStore(b *testing.B) {
	b.Run("file-always", func(b *testing.B) { storetest.Bench(b, factory(Params{}, store.SyncPolicy{Always: true})) })
	b.Run("file-interval", func(b *testing.B) {
		storetest.Bench(b, factory(Params{}, store.SyncPolicy{Interval: time.Second}))
	})
	b.Run("memory", func(b *testing.B) {
		storetest.Bench(b, storetest.Factory{Storage: store.FileStorage, New: func(tb testing.TB, _ string) store.Provider {
			p, err := mem.New(store.ProviderConfig{})
			if err != nil {
				tb.Fatal(err)
			}
			return p
		}})
	})
}

// BenchmarkConcurrentStreams stores single 128-byte messages from many
// goroutines into several streams of one provider under the default policy:
// group commit makes the writers share fsyncs. It reports the fsyncs per
// message.
func BenchmarkConcurrentStreams(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			p := factory(Params{}, store.SyncPolicy{Always: true}).New(b, b.TempDir()).(*Provider)
			defer p.Close(bg)
			streams := make([]store.StreamStore, 4)
			for i := range streams {
				s, err := p.Open(bg, store.StreamConfig{Account: "B", Name: fmt.Sprintf("S%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				streams[i] = s
			}
			data := make([]byte, 128)
			b.SetBytes(128)
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / n
			for w := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := streams[w%len(streams)]
					for range per {
						if _, _, err := s.Store(bg, "c.x", nil, data, 0); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			p.syncer.mu.Lock()
			fsyncs := p.syncer.fsyncs
			p.syncer.mu.Unlock()
			b.ReportMetric(float64(fsyncs)/float64(max(per*n, 1)), "fsyncs/msg")
		})
	}
}

// BenchmarkRecover opens a stream of a million 128-byte messages over 10k
// subjects: after a clean close (the state file is current), without the
// state file (every block's summary is read), and with a tail to replay (the
// state file is older than the last 50k messages). It needs -bench-recover
// or HANGAR_LONG=1, as building the stream takes a while.
func BenchmarkRecover(b *testing.B) {
	if !*benchRecover && !long() {
		b.Skip("set -bench-recover or HANGAR_LONG=1")
	}
	dir := b.TempDir()
	const n = 1_000_000
	cfg := store.StreamConfig{Account: "B", Name: "BIG"}
	f := factory(Params{}, store.SyncPolicy{Interval: time.Minute})
	p := f.New(b, dir)
	s, err := p.Open(bg, cfg)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 128)
	batch := make([]store.NewMsg, 256)
	fill := func(from, to int) {
		for i := from; i < to; i += len(batch) {
			k := min(len(batch), to-i)
			for j := range k {
				batch[j] = store.NewMsg{Subject: fmt.Sprintf("big.%d", (i+j)%10_000), Data: data}
			}
			if _, err := s.StoreBatch(bg, batch[:k]); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill(0, n-50_000)
	if err := s.(*fstream).writeState(); err != nil {
		b.Fatal(err)
	}
	fill(n-50_000, n)
	if err := s.Sync(bg); err != nil {
		b.Fatal(err)
	}
	// Abandon the provider: the state file is 50k messages behind.
	statePath := s.(*fstream).statePath()
	stale := fileBytes(b, p.(*Provider).fs, statePath)
	if err := p.Close(bg); err != nil {
		b.Fatal(err)
	}
	current := fileBytes(b, p.(*Provider).fs, statePath)
	open := func(b *testing.B, state []byte) {
		for range b.N {
			b.StopTimer()
			q := f.New(b, dir).(*Provider)
			if state == nil {
				_ = q.fs.Remove(statePath)
			} else {
				putFile(b, q.fs, statePath, state)
			}
			b.StartTimer()
			st, err := q.Open(bg, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			fs, _ := st.FastState(bg)
			_ = q.Close(bg) // the next run puts its own state file back
			if fs.Msgs != n {
				b.Fatalf("recovered %d messages", fs.Msgs)
			}
			b.StartTimer()
		}
	}
	b.Run("clean", func(b *testing.B) { open(b, current) })
	b.Run("tail-50k", func(b *testing.B) { open(b, stale) })
	b.Run("no-state-file", func(b *testing.B) { open(b, nil) })
}

// BenchmarkManySubjects stores a million messages on a million subjects
// (a KV bucket with history 1) into a provider with a 32 MB cache, reports
// the heap it holds per subject, then measures LoadLast of random keys.
func BenchmarkManySubjects(b *testing.B) {
	p := factory(Params{CacheSize: 32 << 20}, store.SyncPolicy{Interval: time.Minute}).New(b, b.TempDir())
	defer p.Close(bg)
	s, err := p.Open(bg, store.StreamConfig{Account: "B", Name: "KV", MaxMsgsPerSubject: 1})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("$KV.bucket.key.%08d", i)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	batch := make([]store.NewMsg, 256)
	data := make([]byte, 64)
	for i := 0; i < n; i += len(batch) {
		for j := range batch {
			batch[j] = store.NewMsg{Subject: keys[i+j], Data: data}
		}
		if _, err := s.StoreBatch(bg, batch); err != nil {
			b.Fatal(err)
		}
	}
	s.(*fstream).sealing.Wait()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perSubject := float64(m1.HeapInuse-m0.HeapInuse) / n
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.LoadLast(bg, keys[(i*7919)&(n-1)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perSubject, "heap-B/subject")
}
