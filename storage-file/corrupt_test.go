package storagefile

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// damageFixture is a stream on a crash-cloning file system, closed or
// abandoned, with the messages it holds.
type damageFixture struct {
	fs      *vfs.MemFS
	params  Params
	cfg     store.StreamConfig
	want    map[uint64][]byte // live messages
	all     map[uint64][]byte // every message stored
	blockOf map[uint64]string // seq → block file
	active  string            // the active block of an abandoned stream
}

// newDamageFixture writes a stream over several blocks, with removals,
// a subject purge and a consumer; closed writes the state file and leaves
// nothing to replay, else the provider is abandoned mid-stream.
func newDamageFixture(t *testing.T, params Params, compress, closed bool) *damageFixture {
	fs := vfs.NewCrashableMem()
	cfg := store.StreamConfig{Account: "A", Name: "DMG"}
	if compress {
		cfg.Compression = store.S2Compression
	}
	p := openOn(t, fs, params, store.SyncPolicy{Always: true})
	s := openStream(t, p, cfg)
	all := map[uint64][]byte{}
	for i := range 240 {
		subj := fmt.Sprintf("d.%d", i%5)
		data := payload(uint64(i), 40+i%90)
		seq, _, err := s.Store(bg, subj, nil, data, 0)
		if err != nil {
			t.Fatal(err)
		}
		all[seq] = data
		if i%9 == 8 {
			if err := s.Remove(bg, uint64(i-3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Purge(bg, store.PurgeRequest{Subject: "d.4", Keep: 10}); err != nil {
		t.Fatal(err)
	}
	c, err := s.OpenConsumer(bg, "C", []byte("cfg"))
	if err != nil {
		t.Fatal(err)
	}
	for q := uint64(1); q <= 30; q++ {
		if err := c.UpdateDelivered(bg, q, q, 1, int64(q)); err != nil {
			t.Fatal(err)
		}
	}
	f := &damageFixture{fs: fs, params: params, cfg: cfg, want: map[uint64][]byte{}, all: all, blockOf: map[uint64]string{}}
	for _, m := range allMsgs(t, s) {
		f.want[m.Seq] = m.Data
		b, _ := s.blockFor(m.Seq)
		f.blockOf[m.Seq] = b.path()
	}
	if len(s.blks) < 5 {
		t.Fatalf("fixture spans %d blocks", len(s.blks))
	}
	if closed {
		if err := p.Close(bg); err != nil {
			t.Fatal(err)
		}
	} else {
		// Power goes once the last sealed block has its summary (sealing
		// finishes in the background).
		s.sealing.Wait()
		f.active = s.active().path()
		f.fs = fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
		_ = p.Close(bg)
	}
	return f
}

// files lists the fixture's data files: blocks, summaries, the state file,
// the meta file and the consumer log.
func (f *damageFixture) files() []string {
	var out []string
	for _, p := range walkFiles(f.fs, "/data") {
		if !strings.HasSuffix(p, "LOCK") && !strings.HasSuffix(p, "meta.key") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// check opens a damaged copy and checks that nothing wrong is served, that
// loss is confined to the damaged file and reported, and that the stream
// still takes writes and reopens.
//
// Damage to the active block of a stream that was not closed looks like a
// torn tail, which recovery cuts as it must after a power loss: there
// messages may go unreported and removals may come undone (an unsynced tail
// holds nothing acknowledged), but nothing may be served wrong.
func (f *damageFixture) check(t *testing.T, fs vfs.FS, damaged string) {
	t.Helper()
	torn := damaged == f.active
	p := openOn(t, fs, f.params, store.SyncPolicy{Always: true})
	defer p.Close(bg)
	s := openStream(t, p, f.cfg)
	got := map[uint64]bool{}
	for _, m := range allMsgs(t, s) {
		want, ok := f.want[m.Seq]
		if !ok && torn {
			want, ok = f.all[m.Seq]
		}
		if !ok {
			t.Fatalf("seq %d served but was not live", m.Seq)
		}
		if string(want) != string(m.Data) {
			t.Fatalf("seq %d served with other data", m.Seq)
		}
		got[m.Seq] = true
	}
	missing := 0
	for q := range f.want {
		if got[q] {
			continue
		}
		missing++
		if f.blockOf[q] != damaged {
			t.Fatalf("seq %d lost though its block %s was not damaged", q, f.blockOf[q])
		}
		if _, err := s.Load(bg, q); !store.IsMissing(err) {
			t.Fatalf("Load(%d) of a lost message: %v", q, err)
		}
	}
	st, err := s.State(bg)
	if err != nil {
		t.Fatal(err)
	}
	if missing > 0 && st.Lost == nil && !torn {
		t.Fatalf("%d messages lost without a report", missing)
	}
	if st.Msgs != uint64(len(got)) {
		t.Fatalf("state counts %d messages, %d readable", st.Msgs, len(got))
	}
	if _, _, err := s.Store(bg, "after", nil, payload(1, 20), 0); err != nil {
		t.Fatalf("Store after recovery: %v", err)
	}
	if err := s.Close(bg); err != nil {
		t.Fatal(err)
	}
	s = openStream(t, p, f.cfg)
	if n := len(allMsgs(t, s)); n != len(got)+1 {
		t.Fatalf("reopened with %d messages, want %d", n, len(got)+1)
	}
}

// damageAt returns the positions a file is damaged at: its header, frame
// heads and a spread over the rest.
func damageAt(size int, rng *rand.Rand, n int) []int {
	pos := []int{0, 8, 13, 30, hdrLen, hdrLen + 1, hdrLen + 4, hdrLen + 9, size / 2, size - 1, size - 5}
	for range n {
		pos = append(pos, rng.IntN(max(size, 1)))
	}
	out := pos[:0]
	for _, p := range pos {
		if p >= 0 && p < size && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func testDamage(t *testing.T, params Params, compress, closed bool) {
	f := newDamageFixture(t, params, compress, closed)
	rng := rand.New(rand.NewPCG(7, uint64(len(params.Key))))
	spread := 6
	if long() {
		spread = 60
	}
	for _, path := range f.files() {
		orig := fileBytes(t, f.fs, path)
		name := path[strings.LastIndex(path, "/")+1:]
		for _, pos := range damageAt(len(orig), rng, spread) {
			t.Run(fmt.Sprintf("flip/%s@%d", name, pos), func(t *testing.T) {
				c := f.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rng})
				bad := slices.Clone(orig)
				bad[pos] ^= 1 << (pos % 8)
				putFile(t, c, path, bad)
				f.check(t, c, path)
			})
		}
		for _, cut := range []int{0, hdrLen / 2, hdrLen, len(orig) / 3, len(orig) - 1} {
			if cut < 0 || cut >= len(orig) {
				continue
			}
			t.Run(fmt.Sprintf("truncate/%s@%d", name, cut), func(t *testing.T) {
				c := f.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rng})
				putFile(t, c, path, orig[:cut])
				f.check(t, c, path)
			})
		}
	}
}

// TestDamageClosed flips bits in and truncates every file of a closed
// stream (blocks, summaries, state file, meta, consumer log), one damage
// at a time, and checks that nothing damaged is served, that loss stays in
// the damaged block and is reported, and that the rest stays readable.
func TestDamageClosed(t *testing.T) { testDamage(t, Params{BlockSize: 2048}, false, true) }

// TestDamageAbandoned does the same to a stream whose provider died
// without closing: no state file, an active block to scan.
func TestDamageAbandoned(t *testing.T) { testDamage(t, Params{BlockSize: 2048}, false, false) }

// TestDamageCompressedEncrypted does the same to encrypted streams with
// compressed blocks.
func TestDamageCompressedEncrypted(t *testing.T) {
	testDamage(t, Params{BlockSize: 2048, Key: "secret", Cipher: "aes"}, true, true)
}
