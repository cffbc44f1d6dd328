package storagefile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

func TestEscapeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ORDERS", "ORDERS"},
		{"$G", "%24G"},
		{"", "%"},
		{"..", "%2E%2E"},
		{"a/b", "a%2Fb"},
		{"a%b", "a%25b"},
		{"ünï", "%C3%BCn%C3%AF"},
	} {
		if got := escapeName(tc.in); got != tc.want {
			t.Errorf("escapeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, ok := unescapeName(escapeName(tc.in)); !ok || back != tc.in {
			t.Errorf("unescapeName(escapeName(%q)) = %q, %v", tc.in, back, ok)
		}
	}
	for _, bad := range []string{"%", "%4", "%ZZ", "a%2"} {
		if bad == "%" {
			continue
		}
		if _, ok := unescapeName(bad); ok {
			t.Errorf("unescapeName(%q) accepted", bad)
		}
	}
}

// TestSubjects checks the subject index against a map under random adds
// and removes, arena compaction and reslotting included.
func TestSubjects(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ss := newSubjects()
	type st struct{ seqs []uint64 }
	model := map[string]*st{}
	for seq := uint64(1); seq < 60_000; seq++ {
		name := fmt.Sprintf("subj.%d.%s", rng.IntN(3000), strings.Repeat("x", rng.IntN(20)))
		if rng.IntN(3) > 0 || len(model) == 0 {
			ss.add(name, seq)
			if model[name] == nil {
				model[name] = &st{}
			}
			model[name].seqs = append(model[name].seqs, seq)
			continue
		}
		for n, m := range model {
			q := m.seqs[rng.IntN(len(m.seqs))]
			gone := ss.remove(n, q)
			m.seqs = slices.DeleteFunc(m.seqs, func(x uint64) bool { return x == q })
			if gone != (len(m.seqs) == 0) {
				t.Fatalf("remove(%s, %d) = %v with %d left", n, q, gone, len(m.seqs))
			}
			if len(m.seqs) == 0 {
				delete(model, n)
			}
			break
		}
	}
	if ss.live != len(model) {
		t.Fatalf("live %d, model %d", ss.live, len(model))
	}
	ss.each(func(name string, e *subjEntry) bool {
		m := model[name]
		if m == nil || e.n != uint64(len(m.seqs)) {
			t.Fatalf("%s: n %d, model %v", name, e.n, m)
		}
		if e.first > m.seqs[0] || e.stale&staleFirst == 0 && e.first != m.seqs[0] {
			t.Fatalf("%s: first %d (stale %v), model %d", name, e.first, e.stale&staleFirst != 0, m.seqs[0])
		}
		if last := m.seqs[len(m.seqs)-1]; e.last < last || e.stale&staleLast == 0 && e.last != last {
			t.Fatalf("%s: last %d (stale %v), model %d", name, e.last, e.stale&staleLast != 0, last)
		}
		return true
	})
	for n := range model {
		if ss.get(n) == nil {
			t.Fatalf("%s missing", n)
		}
	}
}

func TestDmap(t *testing.T) {
	var d dmap
	set := map[uint64]bool{}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		i := uint64(rng.IntN(1000))
		if rng.IntN(10) == 0 {
			j := i + uint64(rng.IntN(200))
			d.setRange(i, j)
			for k := i; k <= j; k++ {
				set[k] = true
			}
		} else {
			d.set(i)
			set[i] = true
		}
	}
	if d.n != uint64(len(set)) {
		t.Fatalf("n = %d, want %d", d.n, len(set))
	}
	for i := uint64(0); i < 1300; i++ {
		if d.has(i) != set[i] {
			t.Fatalf("has(%d) = %v", i, d.has(i))
		}
		next := i
		for set[next] && next < 1300 {
			next++
		}
		if got := d.nextClear(i, 1300); got != next {
			t.Fatalf("nextClear(%d) = %d, want %d", i, got, next)
		}
		prev := int64(i)
		for prev >= 0 && set[uint64(prev)] {
			prev--
		}
		if got := d.prevClear(i); got != prev {
			t.Fatalf("prevClear(%d) = %d, want %d", i, got, prev)
		}
	}
}

// TestKeyRotation writes an encrypted stream, rotates its key with
// prev_key, then drops the old key, and checks that a wrong key is refused
// rather than read as garbage.
func TestKeyRotation(t *testing.T) {
	fs := vfs.NewCrashableMem()
	cfg := store.StreamConfig{Account: "A", Name: "KEYS"}
	open := func(p Params) (*Provider, store.StreamStore, error) {
		pr := openOn(t, fs, p, store.SyncPolicy{Always: true})
		s, err := pr.Open(bg, cfg)
		return pr, s, err
	}
	p, s, err := open(Params{Key: "old", Cipher: "aes"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, _, err := s.Store(bg, "k", nil, payload(uint64(i), 64), 0); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Close(bg))
	p, _, err = open(Params{Key: "new"})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("open with a wrong key: %v", err)
	}
	must(p.Close(bg))
	p, s, err = open(Params{Key: "new", PrevKey: "old"})
	must(err)
	if n := len(allMsgs(t, s)); n != 50 {
		t.Fatalf("%d messages after rotation", n)
	}
	must(p.Close(bg))
	p, s, err = open(Params{Key: "new"})
	must(err)
	if n := len(allMsgs(t, s)); n != 50 {
		t.Fatalf("%d messages with the new key alone", n)
	}
	if d, _ := p.Describe(bg); !d.Capabilities.Encryption {
		t.Fatal("Describe does not report encryption")
	}
	must(p.Close(bg))
	pr := openOn(t, fs, Params{}, store.SyncPolicy{Always: true})
	defer pr.Close(bg)
	if _, err := pr.Open(bg, cfg); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("open of an encrypted stream without a key: %v", err)
	}
	for _, f := range walkFiles(fs, "/data/A/KEYS/msgs") {
		// The 40-byte block header is in the clear by design: zero fields
		// beside a random salt can look like the pattern, so skip it.
		if b := fileBytes(t, fs, f); len(b) > 40 && strings.Contains(string(b[40:]), "\x00\x00\x00\x00k") {
			t.Fatalf("%s holds a subject in the clear", f)
		}
	}
}

// TestParams checks that params are decoded strictly.
func TestParams(t *testing.T) {
	for _, raw := range []string{`{"bogus": 1}`, `{"cipher": "rot13", "key": "k"}`, `{"prev_key": "p"}`, `{"log": "syslog"}`, `{"state_interval": "soon"}`} {
		_, err := New(store.ProviderConfig{Dir: "/x", Params: []byte(raw)}, WithFS(vfs.NewMem()))
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("params %s: %v", raw, err)
		}
	}
	if _, err := New(store.ProviderConfig{}, WithFS(vfs.NewMem())); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("no directory: %v", err)
	}
	p, err := store.NewProvider(ID, store.ProviderConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := p.Describe(bg); d.ID != ID || !d.Capabilities.Persistent {
		t.Fatalf("Describe = %+v", d)
	}
	_ = p.Close(bg)
}
