package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/plugins"
)

// CheckOptions tunes Check. The zero value checks the binary as is.
type CheckOptions struct {
	// Args and Env are passed to the plugin as its configuration would.
	Args []string
	Env  map[string]string
	// Checksum, "sha256:<hex>", is verified first when set.
	Checksum string
	// Logger receives the plugin's logs (discarded when nil).
	Logger plugins.Logger
}

// checkName is the plugin name Check registers: not a valid backend name
// of a real configuration, so it cannot clash.
const checkName = "plugins-check"

// Check runs `hangar plugins check PATH`: the handshake (magic cookie,
// protocol version, AutoMTLS, checksum), what the binary serves, and for a
// store a short conformance smoke in a scratch directory (appends single
// and batched, loads, state, purge, consumers, snapshot and restore both
// ways, and persistence across a restart when the store claims it). Each
// step is a line on w; the first failure is returned.
func Check(ctx context.Context, w io.Writer, path string, opts CheckOptions) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	c := &checker{w: w}
	h := plugins.NewHost(plugins.Config{
		Plugins: []plugins.PluginConfig{{Name: checkName, Path: abs, Args: opts.Args, Env: opts.Env, Checksum: opts.Checksum}},
		Logger:  opts.Logger,
	})
	if err := c.step("handshake (protocol version "+fmt.Sprint(plugins.ProtocolVersion)+", magic cookie, AutoMTLS)", func() error {
		return h.Start(ctx)
	}); err != nil {
		return err
	}
	defer h.Stop(ctx)
	var kinds []string
	for _, e := range plugins.Inventory(ctx, h, nil) {
		if !strings.HasPrefix(e.Source, "plugin ") {
			continue
		}
		if e.Kind == "store" {
			kinds = append(kinds, "a store")
			fmt.Fprintf(w, "serves a store: %s [%s]\n", e.Version, strings.Join(e.Capabilities, ","))
		} else {
			kinds = append(kinds, "an API family")
			fmt.Fprintf(w, "serves an API family: %s %s: %s\n", e.ID, e.Version, strings.Join(e.Endpoints, " "))
		}
	}
	for _, id := range h.StoreIDs() {
		if err := c.storeSmoke(ctx, id); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "ok: %s is a Hangar plugin serving %s\n", path, strings.Join(kinds, " and "))
	return nil
}

type checker struct {
	w io.Writer
}

// step runs fn and reports it.
func (c *checker) step(what string, fn func() error) error {
	start := time.Now()
	err := fn()
	d := time.Since(start).Round(time.Millisecond)
	if err != nil {
		fmt.Fprintf(c.w, "FAIL %s (%v): %v\n", what, d, err)
		return fmt.Errorf("plugins check: %s: %w", what, err)
	}
	fmt.Fprintf(c.w, "ok   %s (%v)\n", what, d)
	return nil
}

// storeSmoke exercises the store id serves in a scratch directory.
func (c *checker) storeSmoke(ctx context.Context, id string) error {
	dir, err := os.MkdirTemp("", "hangar-plugin-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pcfg := store.ProviderConfig{Dir: dir, Sync: store.SyncPolicy{Always: true}}
	var p store.Provider
	if err := c.step("start a store provider", func() (err error) {
		p, err = store.NewProvider(id, pcfg)
		return err
	}); err != nil {
		return err
	}
	defer func() { _ = p.Close(ctx) }()
	var desc store.ProviderDescription
	if err := c.step("describe", func() (err error) { desc, err = p.Describe(ctx); return err }); err != nil {
		return err
	}
	cfg := store.StreamConfig{Account: "CHECK", Name: "SMOKE", Storage: store.FileStorage, Meta: []byte(`{"name":"SMOKE"}`)}
	var s store.StreamStore
	steps := []struct {
		what string
		fn   func() error
	}{
		{"open a stream", func() (err error) { s, err = p.Open(ctx, cfg); return err }},
		{"append 10 single messages", func() error {
			for i := 1; i <= 10; i++ {
				seq, _, err := s.Store(ctx, fmt.Sprintf("smoke.%d", i%3), nil, []byte(fmt.Sprintf("m%d", i)), 0)
				if err != nil {
					return err
				}
				if seq != uint64(i) {
					return fmt.Errorf("message %d got sequence %d", i, seq)
				}
			}
			return nil
		}},
		{"append a batch of 256 x 128 B", func() error {
			batch := make([]store.NewMsg, 256)
			for i := range batch {
				batch[i] = store.NewMsg{Subject: "smoke.batch", Header: []byte("NATS/1.0\r\n\r\n"), Data: bytes.Repeat([]byte{byte(i)}, 128)}
			}
			res, err := s.StoreBatch(ctx, batch)
			if err != nil {
				return err
			}
			for i, r := range res {
				if r.Err != nil || r.Seq != uint64(11+i) {
					return fmt.Errorf("batch message %d: seq %d, %v", i, r.Seq, r.Err)
				}
			}
			return nil
		}},
		{"load by sequence, last by subject, next by filter, a range", func() error {
			if m, err := s.Load(ctx, 3); err != nil || string(m.Data) != "m3" {
				return fmt.Errorf("Load(3) = %q, %v", m.Data, err)
			}
			if m, err := s.LoadLast(ctx, "smoke.batch"); err != nil || m.Seq != 266 || len(m.Data) != 128 {
				return fmt.Errorf("LoadLast = seq %d, %v", m.Seq, err)
			}
			if m, err := s.LoadNext(ctx, []string{"smoke.2"}, 1); err != nil || m.Seq != 2 {
				return fmt.Errorf("LoadNext = seq %d, %v", m.Seq, err)
			}
			msgs, err := s.LoadRange(ctx, store.RangeRequest{Start: 1})
			if err != nil || len(msgs) != 266 {
				return fmt.Errorf("LoadRange = %d messages, %v", len(msgs), err)
			}
			if _, err := s.Load(ctx, 999); !errors.Is(err, store.ErrEOF) {
				return fmt.Errorf("Load beyond the end = %v, want store.ErrEOF", err)
			}
			return nil
		}},
		{"state", func() error { return wantState(ctx, s, 266, 1, 266) }},
		{"purge a subject, remove a message", func() error {
			n, err := s.Purge(ctx, store.PurgeRequest{Subject: "smoke.0"})
			if err != nil || n != 3 {
				return fmt.Errorf("Purge = %d, %v", n, err)
			}
			if err := s.Remove(ctx, 1); err != nil {
				return err
			}
			return wantState(ctx, s, 262, 2, 266)
		}},
		{"consumer state", func() error {
			cs, err := s.OpenConsumer(ctx, "C", []byte(`{"durable_name":"C"}`))
			if err != nil {
				return err
			}
			if err := cs.UpdateDelivered(ctx, 1, 2, 1, time.Now().UnixNano()); err != nil {
				return err
			}
			if err := cs.UpdateAcks(ctx, 1, 2); err != nil {
				return err
			}
			st, err := cs.State(ctx)
			if err != nil || st.AckFloor.Stream != 2 {
				return fmt.Errorf("consumer state %+v, %v", st, err)
			}
			return cs.Close(ctx)
		}},
		{"snapshot, restore into the memory store and back into the plugin", func() error {
			var snap bytes.Buffer
			if err := s.Snapshot(ctx, &snap, store.SnapshotOptions{}); err != nil {
				return err
			}
			mp, _ := mem.New(store.ProviderConfig{})
			defer mp.Close(ctx)
			ms, err := mp.Restore(ctx, cfg, bytes.NewReader(snap.Bytes()))
			if err != nil {
				return fmt.Errorf("restoring into memory: %w", err)
			}
			if err := wantState(ctx, ms, 262, 2, 266); err != nil {
				return fmt.Errorf("restored into memory: %w", err)
			}
			back := cfg
			back.Name = "SMOKE2"
			rs, err := p.Restore(ctx, back, bytes.NewReader(snap.Bytes()))
			if err != nil {
				return fmt.Errorf("restoring into the plugin: %w", err)
			}
			return wantState(ctx, rs, 262, 2, 266)
		}},
	}
	for _, st := range steps {
		if err := c.step(st.what, st.fn); err != nil {
			return err
		}
	}
	if !desc.Capabilities.Persistent {
		fmt.Fprintln(c.w, "skip persistence: the store does not claim it")
		return nil
	}
	return c.step("data survives a restart of the plugin", func() error {
		if err := p.Close(ctx); err != nil {
			return err
		}
		var err error
		if p, err = store.NewProvider(id, pcfg); err != nil {
			return err
		}
		list, err := p.List(ctx)
		if err != nil || len(list) != 2 {
			return fmt.Errorf("List after restart: %d streams, %v", len(list), err)
		}
		if s, err = p.Open(ctx, list[0]); err != nil {
			return err
		}
		if err := wantState(ctx, s, 262, 2, 266); err != nil {
			return err
		}
		cons, err := s.Consumers(ctx)
		if err != nil || len(cons) != 1 || cons[0].State.AckFloor.Stream != 2 {
			return fmt.Errorf("consumers after restart: %+v, %v", cons, err)
		}
		return s.Delete(ctx)
	})
}

func wantState(ctx context.Context, s store.StreamStore, msgs, first, last uint64) error {
	st, err := s.State(ctx)
	if err != nil {
		return err
	}
	if st.Msgs != msgs || st.FirstSeq != first || st.LastSeq != last {
		return fmt.Errorf("state has %d messages %d..%d, want %d %d..%d", st.Msgs, st.FirstSeq, st.LastSeq, msgs, first, last)
	}
	return nil
}
