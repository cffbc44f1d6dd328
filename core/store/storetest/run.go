package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
)

// Factory makes the providers under test.
type Factory struct {
	// New opens a provider rooted at dir, a fresh temporary directory. The
	// kit calls it again with the same dir after closing the first provider
	// to test persistence when Describe reports Capabilities.Persistent.
	New func(tb testing.TB, dir string) store.Provider
	// Storage is the storage type of the kit's streams; it selects the byte
	// accounting the kit expects (store.MsgSize).
	Storage store.StorageType
}

// Long reports whether the long cases run (HANGAR_LONG=1).
func Long() bool { return os.Getenv("HANGAR_LONG") == "1" }

type kitCase struct {
	name string
	fn   func(t *testing.T, h *harness)
}

var cases []kitCase

// register adds cases to the kit; each case file calls it from init.
func register(cs ...kitCase) { cases = append(cases, cs...) }

// Run runs every conformance case against providers made by f, each case
// on a fresh provider in its own directory.
func Run(t *testing.T, f Factory) {
	if f.New == nil {
		t.Fatal("storetest: Factory.New is nil")
	}
	ordered := slices.Clone(cases)
	slices.SortStableFunc(ordered, func(a, b kitCase) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	for _, c := range ordered {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, f)
			c.fn(t, h)
		})
	}
}

// harness is one case's provider and helpers.
type harness struct {
	t   *testing.T
	f   Factory
	dir string
	ctx context.Context
	p   store.Provider
	n   int
}

func newHarness(t *testing.T, f Factory) *harness {
	h := &harness{t: t, f: f, dir: t.TempDir(), ctx: context.Background()}
	h.p = f.New(t, h.dir)
	t.Cleanup(func() {
		if h.p != nil {
			_ = h.p.Close(h.ctx)
		}
	})
	return h
}

// cfg returns a stream config with a fresh name and the factory's storage.
func (h *harness) cfg() store.StreamConfig {
	h.n++
	return store.StreamConfig{Account: "ACC", Name: fmt.Sprintf("S%d", h.n), Storage: h.f.Storage}
}

// open opens a stream of cfg or fails the test.
func (h *harness) open(cfg store.StreamConfig) store.StreamStore {
	h.t.Helper()
	s, err := h.p.Open(h.ctx, cfg)
	if err != nil {
		h.t.Fatalf("Open(%s): %v", cfg.Name, err)
	}
	return s
}

// stream opens a fresh stream with default limits, changed by mod.
func (h *harness) stream(mod func(*store.StreamConfig)) store.StreamStore {
	h.t.Helper()
	c := h.cfg()
	if mod != nil {
		mod(&c)
	}
	return h.open(c)
}

// reopen closes the provider and opens a new one on the same directory.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.p.Close(h.ctx); err != nil {
		h.t.Fatalf("provider Close: %v", err)
	}
	h.p = h.f.New(h.t, h.dir)
}

func (h *harness) size(subj string, hdr, data []byte) uint64 {
	return store.MsgSize(h.f.Storage, subj, hdr, data)
}

func (h *harness) persistent() bool {
	d, err := h.p.Describe(h.ctx)
	if err != nil {
		h.t.Fatalf("Describe: %v", err)
	}
	return d.Capabilities.Persistent
}

// put stores one message or fails.
func put(t failer, s store.StreamStore, subj string, data string) uint64 {
	t.Helper()
	seq, _, err := s.Store(context.Background(), subj, nil, []byte(data), 0)
	if err != nil {
		t.Fatalf("Store(%s): %v", subj, err)
	}
	return seq
}

// putAll stores one message per subject, with the subject and index as data.
func putAll(t failer, s store.StreamStore, subjs ...string) []uint64 {
	t.Helper()
	seqs := make([]uint64, len(subjs))
	for i, subj := range subjs {
		seqs[i] = put(t, s, subj, fmt.Sprintf("%s-%d", subj, i))
	}
	return seqs
}

func must(t failer, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t failer, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func state(t failer, s store.StreamStore) store.StreamState {
	t.Helper()
	st, err := s.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st
}

// wantSeqs checks the stream's message count and first/last sequences.
func wantSeqs(t failer, s store.StreamStore, msgs, first, last uint64) store.StreamState {
	t.Helper()
	st := state(t, s)
	if st.Msgs != msgs || st.FirstSeq != first || st.LastSeq != last {
		t.Fatalf("state msgs/first/last = %d/%d/%d, want %d/%d/%d", st.Msgs, st.FirstSeq, st.LastSeq, msgs, first, last)
	}
	return st
}

// liveSeqs returns the sequences of every message, in order.
func liveSeqs(t failer, s store.StreamStore) []uint64 {
	t.Helper()
	var out []uint64
	for next := uint64(0); ; {
		msgs, err := s.LoadRange(context.Background(), store.RangeRequest{Start: next})
		if errors.Is(err, store.ErrEOF) {
			return out
		}
		must(t, err)
		for _, m := range msgs {
			out = append(out, m.Seq)
		}
		next = msgs[len(msgs)-1].Seq + 1
	}
}

// failer is what the helpers need of a test: testing.TB and *rapid.T both
// satisfy it.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
