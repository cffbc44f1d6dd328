package storagepebble

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

func long() bool { return os.Getenv("HANGAR_LONG") == "1" }

// crashParams keeps memtables small so crashes land across flushes and WAL
// rotations, not only inside one WAL.
var crashParams = []byte(`{"cache_size": 1048576, "memtable_size": 262144}`)

func crashProvider(t testing.TB, fs vfs.FS) *Provider {
	t.Helper()
	p, err := newProvider(store.ProviderConfig{Dir: "db", Sync: store.SyncPolicy{Always: true}, Params: crashParams}, fs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// acks records what the store acknowledged: a write is recorded after the
// call returned, so everything recorded before a crash clone was taken had
// returned before it.
type acks struct {
	mu sync.Mutex
	acked
}

type acked struct {
	log       map[uint64][]byte // LOG stream: seq → data
	kv        map[string]uint64 // KV stream: key → newest acknowledged seq
	delivered uint64            // consumer: highest acknowledged delivery
}

func (a *acks) copy() acked {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := acked{log: make(map[uint64][]byte, len(a.log)), kv: make(map[string]uint64, len(a.kv)), delivered: a.delivered}
	for k, v := range a.log {
		out.log[k] = v
	}
	for k, v := range a.kv {
		out.kv[k] = v
	}
	return out
}

// TestCrashKeepsAcknowledged appends from several goroutines to two streams
// (one append-only, one KV with one message per key) and updates a
// consumer, takes a crash clone of the filesystem at a random moment (with a
// random share of the unsynced writes surviving), reopens the clone and
// checks that every acknowledged write is there and every index agrees with
// the messages. It loops over many crash points.
func TestCrashKeepsAcknowledged(t *testing.T) {
	smallChunks(t)
	rounds := 40
	if long() {
		rounds = 1000
	}
	if testing.Short() {
		rounds = 4
	}
	for r := range rounds {
		t.Run(fmt.Sprint(r), func(t *testing.T) { crashRound(t, uint64(r)) })
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	fs := vfs.NewCrashableMem()
	p := crashProvider(t, fs)
	logS := mustOpen(t, p, store.StreamConfig{Name: "LOG"})
	kvS := mustOpen(t, p, store.StreamConfig{Name: "KV", MaxMsgsPerSubject: 1})
	bulk := mustOpen(t, p, store.StreamConfig{Name: "BULK", MaxMsgs: 500})
	cons, err := logS.OpenConsumer(ctx, "C", []byte("cfg"))
	must(t, err)
	a := &acks{acked: acked{log: map[uint64][]byte{}, kv: map[string]uint64{}}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for w := range 2 {
		run(func(i int) error {
			data := fmt.Appendf(nil, "w%d-%d-%s", w, i, bytes.Repeat([]byte{'x'}, i%300))
			seq, _, err := logS.Store(ctx, fmt.Sprintf("log.%d", i%17), nil, data, 0)
			if err == nil {
				a.mu.Lock()
				a.log[seq] = data
				a.mu.Unlock()
			}
			return err
		})
	}
	run(func(i int) error {
		batch := make([]store.NewMsg, 8)
		for j := range batch {
			batch[j] = store.NewMsg{Subject: "log.batch", Data: fmt.Appendf(nil, "b-%d-%d", i, j)}
		}
		res, err := logS.StoreBatch(ctx, batch)
		if err == nil {
			a.mu.Lock()
			for j, r := range res {
				a.log[r.Seq] = batch[j].Data
			}
			a.mu.Unlock()
		}
		return err
	})
	run(func(i int) error {
		key := fmt.Sprintf("$KV.b.k%d", i%97)
		seq, _, err := kvS.Store(ctx, key, nil, []byte(key), 0)
		if err == nil {
			a.mu.Lock()
			a.kv[key] = seq
			a.mu.Unlock()
		}
		return err
	})
	// Bulk removals commit in chunks (small here); a crash between two
	// must leave a consistent stream.
	run(func(i int) error {
		batch := make([]store.NewMsg, 100)
		for j := range batch {
			batch[j] = store.NewMsg{Subject: fmt.Sprintf("bulk.%d", j%5), Data: []byte("v")}
		}
		if _, err := bulk.StoreBatch(ctx, batch); err != nil {
			return err
		}
		var err error
		switch i % 3 {
		case 0:
			_, err = bulk.Purge(ctx, store.PurgeRequest{Subject: "bulk.*", Keep: 30})
		case 1:
			var st store.StreamState
			if st, err = bulk.FastState(ctx); err == nil {
				_, err = bulk.Compact(ctx, st.LastSeq-50)
			}
		case 2:
			_, err = bulk.Purge(ctx, store.PurgeRequest{Subject: "bulk.3"})
		}
		return err
	})
	run(func(i int) error {
		d := uint64(i + 1)
		err := cons.UpdateDelivered(ctx, d, d, 1, int64(d))
		if err == nil && d%2 == 0 {
			err = cons.UpdateAcks(ctx, d, d)
		}
		if err == nil {
			a.mu.Lock()
			a.delivered = d
			a.mu.Unlock()
		}
		return err
	})

	time.Sleep(time.Duration(2+rng.IntN(30)) * time.Millisecond)
	want := a.copy()
	clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(seed, 9))})
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	must(t, p.Close(ctx))

	p2 := crashProvider(t, clone)
	defer func() { _ = p2.Close(ctx) }()
	logS = mustOpen(t, p2, store.StreamConfig{Name: "LOG"})
	kvS = mustOpen(t, p2, store.StreamConfig{Name: "KV", MaxMsgsPerSubject: 1})
	var maxSeq uint64
	for seq, data := range want.log {
		m, err := logS.Load(ctx, seq)
		if err != nil || !bytes.Equal(m.Data, data) {
			t.Fatalf("acknowledged message %d lost: %v", seq, err)
		}
		maxSeq = max(maxSeq, seq)
	}
	for key, seq := range want.kv {
		m, err := kvS.LoadLast(ctx, key)
		if err != nil || m.Seq < seq {
			t.Fatalf("acknowledged KV update %s@%d lost: got %d, %v", key, seq, m.Seq, err)
		}
	}
	bulk = mustOpen(t, p2, store.StreamConfig{Name: "BULK", MaxMsgs: 500})
	for _, s := range []*stream{logS, kvS, bulk} {
		if err := checkStream(s); err != nil {
			t.Fatalf("%s after crash: %v", s.cfg.Name, err)
		}
	}
	infos, err := logS.Consumers(ctx)
	must(t, err)
	if len(infos) != 1 || infos[0].State.Delivered.Stream < want.delivered {
		t.Fatalf("consumer after crash %+v, acknowledged delivery %d", infos, want.delivered)
	}
	seq, _, err := logS.Store(ctx, "after", nil, nil, 0)
	must(t, err)
	if seq <= maxSeq {
		t.Fatalf("sequence %d reused after a crash (acknowledged up to %d)", seq, maxSeq)
	}
	t.Logf("%d log and %d KV acknowledgements survived", len(want.log), len(want.kv))
}

// crashAt is a reader that takes a crash clone once n bytes were read.
type crashAt struct {
	r     io.Reader
	n     int
	fs    *vfs.MemFS
	clone *vfs.MemFS
}

func (c *crashAt) Read(b []byte) (int, error) {
	if c.clone == nil && c.n <= 0 {
		c.clone = c.fs.CrashClone(vfs.CrashCloneCfg{})
	}
	if c.n > 0 && len(b) > c.n {
		b = b[:c.n]
	}
	k, err := c.r.Read(b)
	c.n -= k
	return k, err
}

// TestCrashDuringRestore crashes part-way through a Restore, whose writes
// skip the WAL sync until the end: the reopened provider must hold either
// no trace of the stream or none of it at all.
func TestCrashDuringRestore(t *testing.T) {
	src := crashProvider(t, vfs.NewMem())
	s := mustOpen(t, src, store.StreamConfig{Name: "SRC"})
	for i := range 3000 {
		_, _, err := s.Store(ctx, fmt.Sprintf("r.%d", i%13), nil, bytes.Repeat([]byte{byte(i)}, 200), 0)
		must(t, err)
	}
	var snap bytes.Buffer
	must(t, s.Snapshot(ctx, &snap, store.SnapshotOptions{ChunkSize: 8 << 10}))
	must(t, src.Close(ctx))

	for _, frac := range []int{5, 50, 95} {
		t.Run(fmt.Sprint(frac), func(t *testing.T) {
			fs := vfs.NewCrashableMem()
			p := crashProvider(t, fs)
			keep := mustOpen(t, p, store.StreamConfig{Name: "KEEP"})
			_, _, err := keep.Store(ctx, "k", nil, []byte("v"), 0)
			must(t, err)
			r := &crashAt{r: bytes.NewReader(snap.Bytes()), n: snap.Len() * frac / 100, fs: fs}
			_, err = p.Restore(ctx, store.StreamConfig{Name: "DST"}, r)
			must(t, err)
			must(t, p.Close(ctx))
			p2 := crashProvider(t, r.clone)
			defer func() { _ = p2.Close(ctx) }()
			list, err := p2.List(ctx)
			must(t, err)
			if len(list) != 1 || list[0].Name != "KEEP" {
				t.Fatalf("after a crash in Restore, List = %+v", list)
			}
			if _, ok, err := p2.lookup("", "DST"); err != nil || ok {
				t.Fatalf("a half-restored stream is left in the catalog (%v)", err)
			}
			must(t, checkStream(mustOpen(t, p2, store.StreamConfig{Name: "KEEP"})))
		})
	}
}
