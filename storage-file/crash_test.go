package storagefile

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// ledger records what a crash test's writers were told: appends and
// removals that returned without error are acknowledged; a removal in
// flight when the power went may or may not have happened.
type ledger struct {
	mu       sync.Mutex
	acked    map[uint64][]byte // seq → data of acknowledged appends
	removed  map[uint64]bool   // acknowledged removals
	inflight map[uint64]bool   // removals under way
	onPurged map[uint64]bool   // live messages of the purged subject
	purges   int
	consumer uint64 // the consumer's last acknowledged delivery
}

func newLedger() *ledger {
	return &ledger{acked: map[uint64][]byte{}, removed: map[uint64]bool{}, inflight: map[uint64]bool{}, onPurged: map[uint64]bool{}}
}

// frozen is a ledger's copy taken just before a crash.
type frozen struct {
	acked    map[uint64][]byte
	removed  map[uint64]bool
	inflight map[uint64]bool
	maxSeq   uint64
	consumer uint64
}

func (l *ledger) freeze() frozen {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := frozen{acked: map[uint64][]byte{}, removed: map[uint64]bool{}, inflight: map[uint64]bool{}, consumer: l.consumer}
	for q, d := range l.acked {
		f.acked[q] = d
		f.maxSeq = max(f.maxSeq, q)
	}
	for q := range l.removed {
		f.removed[q] = true
	}
	for q := range l.inflight {
		f.inflight[q] = true
	}
	return f
}

// pickLive returns an acknowledged, not removed sequence to remove.
func (l *ledger) pickLive(rng *rand.Rand) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for q := range l.acked {
		if !l.removed[q] && !l.inflight[q] && !l.onPurged[q] && rng.IntN(4) == 0 {
			l.inflight[q] = true
			return q, true
		}
	}
	return 0, false
}

// crashWorkload drives a stream with appenders, removers and subject
// purges until stop closes.
func crashWorkload(s store.StreamStore, l *ledger, stop <-chan struct{}, seed uint64, ids *atomic.Uint64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]store.NewMsg, 1+rng.IntN(6))
				for i := range batch {
					batch[i] = store.NewMsg{Subject: fmt.Sprintf("a.%d.%d", w, n%3), Data: payload(ids.Add(1), 16+rng.IntN(300))}
				}
				if len(batch) == 1 && rng.IntN(2) == 0 {
					seq, _, err := s.Store(bg, batch[0].Subject, nil, batch[0].Data, 0)
					if err == nil {
						l.mu.Lock()
						l.acked[seq] = batch[0].Data
						l.mu.Unlock()
					}
					continue
				}
				res, err := s.StoreBatch(bg, batch)
				if err != nil {
					continue
				}
				l.mu.Lock()
				for i, r := range res {
					if r.Err == nil {
						l.acked[r.Seq] = batch[i].Data
					}
				}
				l.mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		// A consumer records deliveries and acks as the runtime would.
		defer wg.Done()
		c, err := s.OpenConsumer(bg, "DUR", []byte("cfg"))
		if err != nil {
			return
		}
		defer c.Close(bg)
		st, err := c.State(bg)
		if err != nil {
			return
		}
		for d := st.Delivered.Consumer + 1; ; d++ {
			select {
			case <-stop:
				return
			default:
			}
			if c.UpdateDelivered(bg, d, d, 1, int64(d)) != nil {
				return
			}
			if d%3 == 0 && c.UpdateAcks(bg, d, d) != nil {
				return
			}
			l.mu.Lock()
			l.consumer = d
			l.mu.Unlock()
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 99))
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if n%7 == 6 {
				purgeSubject(s, l, ids)
				continue
			}
			q, ok := l.pickLive(rng)
			if !ok {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			err := s.Remove(bg, q)
			l.mu.Lock()
			delete(l.inflight, q)
			if err == nil {
				l.removed[q] = true
			} else if !store.IsMissing(err) {
				l.inflight[q] = true // failed: it stays uncertain
			}
			l.mu.Unlock()
		}
	}()
	return &wg
}

// purgeSubject stores a few messages on a subject of its own and purges
// the subject.
func purgeSubject(s store.StreamStore, l *ledger, ids *atomic.Uint64) {
	var seqs []uint64
	for range 4 {
		data := payload(ids.Add(1), 40)
		seq, _, err := s.Store(bg, "a.purged", nil, data, 0)
		if err != nil {
			return
		}
		l.mu.Lock()
		l.acked[seq] = data
		l.onPurged[seq] = true
		l.mu.Unlock()
	}
	// The purge takes every message of the subject, earlier ones too.
	l.mu.Lock()
	for q := range l.onPurged {
		seqs = append(seqs, q)
		l.inflight[q] = true
	}
	l.mu.Unlock()
	_, err := s.Purge(bg, store.PurgeRequest{Subject: "a.purged"})
	l.mu.Lock()
	for _, q := range seqs {
		if err == nil {
			delete(l.inflight, q)
			delete(l.onPurged, q)
			l.removed[q] = true
		}
	}
	l.purges++
	l.mu.Unlock()
}

// verifyCrash checks a recovered stream against a frozen ledger: every
// acknowledged append that was not removed is there with its data, every
// acknowledged removal stays removed, every message present is intact, and
// the next sequence is past every acknowledged one.
func verifyCrash(t *testing.T, s store.StreamStore, f frozen) {
	t.Helper()
	for q, want := range f.acked {
		m, err := s.Load(bg, q)
		switch {
		case f.inflight[q]:
		case f.removed[q]:
			if err == nil {
				t.Fatalf("seq %d was removed (acknowledged) but is back (subject %s)", q, m.Subject)
			}
		case err != nil:
			t.Fatalf("acknowledged seq %d lost: %v", q, err)
		case string(m.Data) != string(want):
			t.Fatalf("acknowledged seq %d has other data", q)
		}
	}
	msgs := allMsgs(t, s)
	for _, m := range msgs {
		if _, err := checkPayload(m.Data); err != nil {
			t.Fatalf("seq %d: %v", m.Seq, err)
		}
		if want, ok := f.acked[m.Seq]; ok && string(want) != string(m.Data) {
			t.Fatalf("seq %d: data of another message", m.Seq)
		}
	}
	st, err := s.State(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Msgs != uint64(len(msgs)) {
		t.Fatalf("state counts %d messages, %d readable", st.Msgs, len(msgs))
	}
	if st.LastSeq < f.maxSeq {
		t.Fatalf("last seq went back: %d < acknowledged %d", st.LastSeq, f.maxSeq)
	}
	cons, err := s.Consumers(bg)
	if err != nil {
		t.Fatal(err)
	}
	if f.consumer > 0 && len(cons) != 1 {
		t.Fatalf("%d consumers after the crash, want 1", len(cons))
	}
	if f.consumer > 0 && (cons[0].State.Delivered.Consumer < f.consumer || string(cons[0].Meta) != "cfg") {
		t.Fatalf("consumer lost acknowledged deliveries up to %d: delivered %+v", f.consumer, cons[0].State.Delivered)
	}
}

// TestCrashPowerLoss cuts the power at random moments while writers append,
// remove and purge on a crash-cloning file system with the default policy,
// then recovers the clone, which keeps only what was synced (and random
// parts of what was not), and checks that nothing acknowledged is lost.
// Each round goes through several crashes in a row.
func TestCrashPowerLoss(t *testing.T) {
	rounds := 12
	if long() {
		rounds = 300
	}
	base := uint64(time.Now().UnixNano())
	for r := range rounds {
		seed := base + uint64(r)
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			t.Logf("seed %d", seed)
			crashRounds(t, seed, Params{BlockSize: 4096}, store.SyncPolicy{Always: true}, 3)
		})
	}
}

// TestCrashPowerLossEncrypted is the same on encrypted, compressed
// streams, with a cache too small for one block.
func TestCrashPowerLossEncrypted(t *testing.T) {
	rounds := 4
	if long() {
		rounds = 100
	}
	base := uint64(time.Now().UnixNano())
	for r := range rounds {
		seed := base + uint64(r)
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			t.Logf("seed %d", seed)
			crashRounds(t, seed, Params{BlockSize: 4096, Key: "k", Cipher: "chachapoly", CacheSize: 1}, store.SyncPolicy{Always: true}, 3)
		})
	}
}

// TestCrashProcessKillInterval kills the process (every write the OS took
// survives, nothing else is synced) under the interval policy: every
// acknowledged append must survive that too.
func TestCrashProcessKillInterval(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	crashRounds(t, seed, Params{BlockSize: 8192}, store.SyncPolicy{Interval: time.Hour}, 3)
}

func crashRounds(t *testing.T, seed uint64, params Params, sync store.SyncPolicy, crashes int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	fs := vfs.NewCrashableMem()
	l := newLedger()
	var ids atomic.Uint64
	cfg := store.StreamConfig{Account: "A", Name: "CRASH", Compression: store.S2Compression}
	for c := range crashes {
		p := openOn(t, fs, params, sync)
		s := openStream(t, p, cfg)
		if c > 0 {
			verifyCrash(t, s, l.freeze())
		}
		stop := make(chan struct{})
		wg := crashWorkload(s, l, stop, seed+uint64(c), &ids)
		time.Sleep(time.Duration(2+rng.IntN(25)) * time.Millisecond)
		f := l.freeze()
		pct := rng.IntN(101)
		if sync.Interval > 0 {
			pct = 100 // a process kill: the OS keeps what it was given
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
		// A removal begun between the freeze and the crash may be durable.
		after := l.freeze()
		for q := range after.inflight {
			f.inflight[q] = true
		}
		for q := range after.removed {
			if !f.removed[q] {
				f.inflight[q] = true
			}
		}
		close(stop)
		wg.Wait()
		fs = crashed
		compareRebuild(t, fs, params, sync, cfg)
		p = openOn(t, fs, params, sync)
		s = openStream(t, p, cfg)
		verifyCrash(t, s, f)
		// From here on the ledger is what this recovery kept: all of it is
		// on the clone's stable storage, and anything gone stays gone.
		present := map[uint64][]byte{}
		onPurged := map[uint64]bool{}
		for _, m := range allMsgs(t, s) {
			present[m.Seq] = m.Data
			if m.Subject == "a.purged" {
				onPurged[m.Seq] = true
			}
		}
		l.mu.Lock()
		// Only what was acknowledged before the crash counts: the old
		// provider went on after it, and its later sequences are reused.
		l.removed = map[uint64]bool{}
		for q := range f.acked {
			if _, ok := present[q]; !ok {
				l.removed[q] = true
			}
		}
		l.acked, l.inflight, l.onPurged = present, map[uint64]bool{}, onPurged
		l.consumer = 0
		if cons, err := s.Consumers(bg); err == nil && len(cons) == 1 {
			l.consumer = cons[0].State.Delivered.Consumer
		}
		l.mu.Unlock()
		if err := p.Close(bg); err != nil {
			t.Fatalf("Close after recovery: %v", err)
		}
	}
}

// compareRebuild recovers a copy of fs twice, with its state files and
// without them, and checks that both recoveries agree.
func compareRebuild(t *testing.T, fs *vfs.MemFS, params Params, sync store.SyncPolicy, cfg store.StreamConfig) {
	t.Helper()
	recoverCopy := func(dropState bool) []store.Msg {
		c := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 1))})
		if dropState {
			for _, f := range walkFiles(c, "/data") {
				if strings.HasSuffix(f, "state.dat") {
					_ = c.Remove(f)
				}
			}
		}
		p := openOn(t, c, params, sync)
		defer p.Close(bg)
		return allMsgs(t, openStream(t, p, cfg))
	}
	a, b := recoverCopy(false), recoverCopy(true)
	if len(a) != len(b) {
		seen := map[uint64]bool{}
		for _, m := range b {
			seen[m.Seq] = true
		}
		var only []uint64
		for _, m := range a {
			if !seen[m.Seq] {
				only = append(only, m.Seq)
			}
		}
		t.Fatalf("recovery with the state file finds %d messages, without it %d; only with: %v", len(a), len(b), only[:min(len(only), 20)])
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || string(a[i].Data) != string(b[i].Data) {
			t.Fatalf("recoveries differ at seq %d / %d", a[i].Seq, b[i].Seq)
		}
	}
}
