package storagepebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
)

var ctx = context.Background()

// memProvider opens a provider on an in-memory filesystem.
func memProvider(t testing.TB, fs vfs.FS, sync store.SyncPolicy) *Provider {
	t.Helper()
	p, err := newProvider(store.ProviderConfig{Dir: "db", Sync: sync}, fs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustOpen(t testing.TB, p *Provider, cfg store.StreamConfig) *stream {
	t.Helper()
	s, err := p.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Name, err)
	}
	return s.(*stream)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// smallChunks makes bulk removals commit in tiny chunks for the test.
func smallChunks(t *testing.T) {
	ops, limit := chunkOps, collectLimit
	chunkOps, collectLimit = 40, 7
	t.Cleanup(func() { chunkOps, collectLimit = ops, limit })
}

// TestIndexesAfterRandomOps drives every write path at random and checks
// after each step that the subject index, per-subject states, time and TTL
// indexes and counters agree with the messages, across reopens too. The
// conformance kit checks what the contract shows; this checks what it
// cannot see.
func TestIndexesAfterRandomOps(t *testing.T) {
	smallChunks(t)
	seeds, steps := 4, 1500
	if raceEnabled {
		seeds = 1
	}
	if testing.Short() {
		seeds, steps = 1, 300
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomOps(t, uint64(seed), steps) })
	}
}

func randomOps(t *testing.T, seed uint64, steps int) {
	fs := vfs.NewMem()
	p := memProvider(t, fs, store.SyncPolicy{Always: true})
	defer func() { _ = p.Close(ctx) }()
	rng := rand.New(rand.NewPCG(seed, 2))
	cfg := store.StreamConfig{Account: "A", Name: "R", AllowMsgTTL: true, MaxAge: time.Hour}
	s := mustOpen(t, p, cfg)
	subjects := []string{"a", "a.b", "a.c", "b.c", "b.d.e", "c", "k\x00ey", "k"}
	now := time.Now().UnixNano()
	for i := range steps {
		op := rng.IntN(16)
		var err error
		switch op {
		case 0, 1, 2, 3, 4:
			ttl := []int64{0, 0, 0, store.TTLNever, 1, 3600}[rng.IntN(6)]
			_, _, err = s.Store(ctx, subjects[rng.IntN(len(subjects))], nil, make([]byte, rng.IntN(100)), ttl)
		case 5:
			batch := make([]store.NewMsg, 1+rng.IntN(30))
			for j := range batch {
				batch[j] = store.NewMsg{Subject: subjects[rng.IntN(len(subjects))], Data: []byte("x")}
			}
			_, err = s.StoreBatch(ctx, batch)
		case 6:
			err = s.Remove(ctx, s.c.first+uint64(rng.IntN(10)))
			if store.IsMissing(err) {
				err = nil
			}
		case 7:
			req := store.PurgeRequest{Subject: []string{"", "a", "a.*", "a.>", "*.c", "k\x00ey"}[rng.IntN(6)]}
			if rng.IntN(2) == 0 {
				req.Seq = s.c.first + uint64(rng.IntN(40))
			}
			if rng.IntN(2) == 0 {
				req.Keep = uint64(rng.IntN(5))
			}
			_, err = s.Purge(ctx, req)
		case 8:
			_, err = s.Compact(ctx, s.c.first+uint64(rng.IntN(20)))
		case 9:
			if s.c.last > 5 {
				err = s.Truncate(ctx, s.c.last-uint64(rng.IntN(5)))
			}
		case 10:
			now += int64(rng.IntN(3)) * int64(time.Second)
			_, err = s.Expire(ctx, now+int64(rng.IntN(2))*int64(time.Hour))
		case 11:
			err = s.SkipMsgs(ctx, s.c.last+1, uint64(1+rng.IntN(3)))
		case 12:
			c := s.cfg
			c.MaxMsgs = []int64{0, 0, 50, 200}[rng.IntN(4)]
			c.MaxBytes = []int64{0, 0, 5000}[rng.IntN(3)]
			c.MaxMsgsPerSubject = []int64{0, 0, 1, 4}[rng.IntN(4)]
			err = s.UpdateConfig(ctx, c)
		case 13:
			_, _, err = s.Store(ctx, "big", nil, bytes.Repeat([]byte{1}, 10_000), 0)
		case 14:
			must(t, p.Close(ctx))
			p = memProvider(t, fs, store.SyncPolicy{Always: true})
			s = mustOpen(t, p, s.cfg)
		case 15:
			for range 100 {
				if _, _, err = s.Store(ctx, fmt.Sprintf("many.%d", rng.IntN(500)), nil, nil, 0); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatalf("step %d op %d: %v", i, op, err)
		}
		if err := checkStream(s); err != nil {
			t.Fatalf("step %d op %d: %v", i, op, err)
		}
	}
	st, _ := s.FastState(ctx)
	t.Logf("ended with %d messages, %d subjects, seqs %d..%d", st.Msgs, st.NumSubjects, st.FirstSeq, st.LastSeq)
}

func TestParams(t *testing.T) {
	p, err := ParseParams(nil)
	if err != nil || p != (Params{DefaultCacheSize, DefaultMemTableSize, DefaultCompactionConcurrency}) {
		t.Fatalf("defaults = %+v, %v", p, err)
	}
	p, err = ParseParams([]byte(`{"cache_size": 1048576, "memtable_size": 4194304, "compaction_concurrency": 1}`))
	if err != nil || p != (Params{1 << 20, 4 << 20, 1}) {
		t.Fatalf("params = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"cache_sise": 1}`, `{"cache_size": -1}`, `{"cache_size": "big"}`, `[1]`, `{} {}`} {
		_, err := ParseParams([]byte(bad))
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseParams(%s) = %v, want ErrInvalid", bad, err)
		}
	}
	_, err = ParseParams([]byte(`{"cache_sise": 1}`))
	if err == nil || !strings.Contains(err.Error(), `"cache_sise"`) {
		t.Fatalf("an unknown key must be named: %v", err)
	}
	if _, err := New(store.ProviderConfig{Dir: t.TempDir(), Params: []byte(`{"nope":1}`)}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("New with a bad param: %v", err)
	}
	if _, err := New(store.ProviderConfig{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("New without a directory: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	info, ok := store.Lookup(ID)
	if !ok {
		t.Fatal("store.pebble is not registered")
	}
	p, err := info.New(store.ProviderConfig{Dir: t.TempDir(), Sync: store.SyncPolicy{Always: true},
		Params: []byte(`{"cache_size": 8388608}`)})
	must(t, err)
	d, err := p.Describe(ctx)
	if err != nil || d.ID != ID || !d.Capabilities.Persistent || d.Capabilities.SecureErase {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	must(t, p.Close(ctx))
	if _, err := p.List(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
}

// TestKV is a KV bucket's pattern: one message per key, updates replace.
func TestKV(t *testing.T) {
	p := memProvider(t, vfs.NewMem(), store.SyncPolicy{Always: true})
	defer func() { _ = p.Close(ctx) }()
	s := mustOpen(t, p, store.StreamConfig{Name: "KV_b", MaxMsgsPerSubject: 1})
	rng := rand.New(rand.NewPCG(3, 4))
	latest := map[string]uint64{}
	for range 3000 {
		key := fmt.Sprintf("$KV.b.k%d", rng.IntN(400))
		seq, _, err := s.Store(ctx, key, nil, []byte(key), 0)
		must(t, err)
		latest[key] = seq
	}
	must(t, checkStream(s))
	st, _ := s.FastState(ctx)
	if st.Msgs != uint64(len(latest)) || st.NumSubjects != uint64(len(latest)) {
		t.Fatalf("state %+v for %d keys", st, len(latest))
	}
	for key, seq := range latest {
		m, err := s.LoadLast(ctx, key)
		if err != nil || m.Seq != seq || string(m.Data) != key {
			t.Fatalf("LoadLast(%s) = %d %q, %v; want %d", key, m.Seq, m.Data, err, seq)
		}
	}
	n, _, err := s.NumPending(ctx, 0, []string{"$KV.b.>"}, true)
	if err != nil || n != uint64(len(latest)) {
		t.Fatalf("NumPending = %d, %v", n, err)
	}
	// A rollup: keep the newest of one key.
	_, err = s.Purge(ctx, store.PurgeRequest{Subject: "$KV.b.>", Keep: 1})
	must(t, err)
	if st, _ := s.FastState(ctx); st.Msgs != 1 {
		t.Fatalf("after rollup %d messages", st.Msgs)
	}
	must(t, checkStream(s))
}

// TestDeleteIsOneRange checks that deleting a stream leaves no key of it and
// does not touch its neighbours.
func TestDeleteIsOneRange(t *testing.T) {
	p := memProvider(t, vfs.NewMem(), store.SyncPolicy{Always: true})
	defer func() { _ = p.Close(ctx) }()
	a := mustOpen(t, p, store.StreamConfig{Name: "A"})
	b := mustOpen(t, p, store.StreamConfig{Name: "B"})
	for i := range 50 {
		for _, s := range []*stream{a, b} {
			_, _, err := s.Store(ctx, fmt.Sprintf("s.%d", i%5), nil, []byte("v"), 0)
			must(t, err)
		}
	}
	c, err := a.OpenConsumer(ctx, "c", []byte("m"))
	must(t, err)
	must(t, c.UpdateDelivered(ctx, 1, 1, 1, 1))
	id := a.id
	must(t, a.Delete(ctx))
	it, err := p.db.NewIter(nil)
	must(t, err)
	for ok := it.SeekGE(appendID(nil, id)); ok && bytes.Compare(it.Key(), streamEnd(id)) < 0; ok = it.Next() {
		t.Fatalf("key %x of the deleted stream is left", it.Key())
	}
	must(t, it.Close())
	must(t, checkStream(b))
	if st, _ := b.FastState(ctx); st.Msgs != 50 {
		t.Fatalf("neighbour has %d messages", st.Msgs)
	}
	a2 := mustOpen(t, p, store.StreamConfig{Name: "A"})
	if a2.id == id {
		t.Fatal("a stream id was reused")
	}
}

// TestSnapshotIsConsistent snapshots a stream while writers append and
// remove, and checks the restored copy is one state of the stream.
func TestSnapshotIsConsistent(t *testing.T) {
	p := memProvider(t, vfs.NewMem(), store.SyncPolicy{Always: true})
	defer func() { _ = p.Close(ctx) }()
	s := mustOpen(t, p, store.StreamConfig{Name: "S"})
	for i := range 2000 {
		_, _, err := s.Store(ctx, fmt.Sprintf("s.%d", i%9), nil, fmt.Appendf(nil, "%d", i+1), 0)
		must(t, err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			seq, _, err := s.Store(ctx, "s.x", nil, []byte("late"), 0)
			if err == nil {
				err = s.Remove(ctx, seq-1000)
			}
			if err != nil && !store.IsMissing(err) {
				done <- err
				return
			}
		}
	}()
	mp, _ := mem.New(store.ProviderConfig{})
	for i := range 5 {
		var buf bytes.Buffer
		must(t, s.Snapshot(ctx, &buf, store.SnapshotOptions{ChunkSize: 4096}))
		dst, err := mp.Restore(ctx, store.StreamConfig{Name: fmt.Sprintf("R%d", i)}, &buf)
		must(t, err)
		st, _ := dst.State(ctx)
		if st.Msgs+st.NumDeleted != st.LastSeq-st.FirstSeq+1 {
			t.Fatalf("restored state does not add up: %+v", st)
		}
		msgs, err := dst.LoadRange(ctx, store.RangeRequest{})
		must(t, err)
		if uint64(len(msgs)) != st.Msgs {
			t.Fatalf("restored %d messages, state says %d", len(msgs), st.Msgs)
		}
	}
	close(stop)
	must(t, <-done)
	must(t, checkStream(s))
}

// TestReadersSeeOwnCopies checks a loaded message's bytes survive later
// writes, removals and compactions.
func TestReadersSeeOwnCopies(t *testing.T) {
	p := memProvider(t, vfs.NewMem(), store.SyncPolicy{})
	defer func() { _ = p.Close(ctx) }()
	s := mustOpen(t, p, store.StreamConfig{Name: "C"})
	_, _, err := s.Store(ctx, "a", []byte("hdr"), []byte("data"), 0)
	must(t, err)
	m, err := s.Load(ctx, 1)
	must(t, err)
	_, err = s.Purge(ctx, store.PurgeRequest{})
	must(t, err)
	for i := range 1000 {
		_, _, err := s.Store(ctx, "a", nil, bytes.Repeat([]byte{byte(i)}, 100), 0)
		must(t, err)
	}
	must(t, p.db.Flush())
	if string(m.Header) != "hdr" || string(m.Data) != "data" {
		t.Fatalf("loaded message changed: %q %q", m.Header, m.Data)
	}
}

// TestSubjectCacheBudget checks the writers' subject-state cache stays
// within its per-stream and per-provider bounds and is returned on close.
func TestSubjectCacheBudget(t *testing.T) {
	p := memProvider(t, vfs.NewMem(), store.SyncPolicy{})
	defer func() { _ = p.Close(ctx) }()
	var streams []*stream
	for i := range 20 {
		s := mustOpen(t, p, store.StreamConfig{Name: fmt.Sprintf("S%d", i)})
		batch := make([]store.NewMsg, 5000)
		for j := range batch {
			batch[j] = store.NewMsg{Subject: fmt.Sprintf("k.%d", j)}
		}
		_, err := s.StoreBatch(ctx, batch)
		must(t, err)
		if len(s.subjCache) > subjCacheSize {
			t.Fatalf("stream cache holds %d entries", len(s.subjCache))
		}
		streams = append(streams, s)
	}
	if n := p.cacheUsed.Load(); n > providerCacheSize {
		t.Fatalf("provider cache holds %d entries", n)
	}
	_, err := streams[0].Purge(ctx, store.PurgeRequest{})
	must(t, err)
	for _, s := range streams[1:] {
		must(t, s.Close(ctx))
	}
	var held int
	for _, s := range streams {
		held += len(s.subjCache)
	}
	if n := p.cacheUsed.Load(); n != int64(held) || n != 0 {
		t.Fatalf("provider counts %d cache entries, streams hold %d", n, held)
	}
}
