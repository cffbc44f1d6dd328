package mem

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

// ID is the registry ID of the memory store.
const ID = "store.memory"

// Version is the memory store's version, reported by Describe.
const Version = "1.0.0"

func init() {
	store.Register(store.ProviderInfo{ID: ID, New: func(cfg store.ProviderConfig) (store.Provider, error) {
		return New(cfg)
	}})
}

type streamKey struct{ account, name string }

// Provider is the memory store provider. Streams live until deleted or until
// the provider is closed; closing a stream keeps its data for a later Open.
type Provider struct {
	mu      sync.Mutex // guards streams and closed; taken before data.mu
	streams map[streamKey]*data
	closed  bool
	nextGen atomic.Uint64
}

// New returns a memory provider. It takes no parameters: Params must be
// empty or an empty JSON object.
func New(cfg store.ProviderConfig) (*Provider, error) {
	if p := bytes.TrimSpace(cfg.Params); len(p) > 0 && string(p) != "null" {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.DisallowUnknownFields()
		var none struct{}
		if err := dec.Decode(&none); err != nil {
			return nil, fmt.Errorf("%w: memory store params: %w", store.ErrInvalid, err)
		}
	}
	return &Provider{streams: make(map[streamKey]*data)}, nil
}

// Describe implements store.Provider.
func (p *Provider) Describe(context.Context) (store.ProviderDescription, error) {
	return store.ProviderDescription{ID: ID, Version: Version}, nil
}

// Open implements store.Provider.
func (p *Provider) Open(_ context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: stream without a name", store.ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: memory provider", store.ErrClosed)
	}
	k := streamKey{cfg.Account, cfg.Name}
	d := p.streams[k]
	if d == nil {
		d = newData(cfg)
		p.streams[k] = d
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != 0 {
		return nil, fmt.Errorf("%w: stream %s/%s is open", store.ErrExists, cfg.Account, cfg.Name)
	}
	if err := d.updateConfig(cfg); err != nil {
		return nil, err
	}
	d.gen = p.nextGen.Add(1)
	return &stream{p: p, d: d, gen: d.gen}, nil
}

// Restore implements store.Provider.
func (p *Provider) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	return snapfmt.RestoreStream(ctx, r, cfg, p)
}

// Delete implements store.Provider.
func (p *Provider) Delete(_ context.Context, account, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w: memory provider", store.ErrClosed)
	}
	k := streamKey{account, name}
	d := p.streams[k]
	if d == nil {
		return fmt.Errorf("%w: stream %s/%s", store.ErrNotFound, account, name)
	}
	delete(p.streams, k)
	d.drop()
	return nil
}

// drop releases a deleted stream's memory and invalidates its handles.
func (d *data) drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	d.removeAll()
	d.closeConsumers(true)
	d.consumers = nil
}

// List implements store.Provider.
func (p *Provider) List(context.Context) ([]store.StreamConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: memory provider", store.ErrClosed)
	}
	out := make([]store.StreamConfig, 0, len(p.streams))
	for _, d := range p.streams {
		d.mu.RLock()
		out = append(out, d.cfg)
		d.mu.RUnlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Close implements store.Provider: every stream is dropped.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	for _, d := range p.streams {
		d.drop()
	}
	p.streams = nil
	return nil
}

// Config implements store.StreamStore.
func (s *stream) Config(context.Context) (store.StreamConfig, error) {
	d, err := s.lockR()
	if err != nil {
		return store.StreamConfig{}, err
	}
	defer d.mu.RUnlock()
	return d.cfg, nil
}

// Snapshot implements store.Snapshotter with the generic writer.
func (s *stream) Snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	return snapfmt.Write(ctx, w, s, opts)
}

// Close implements store.StreamStore.
func (s *stream) Close(context.Context) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	d.gen = 0
	d.closeConsumers(false)
	return nil
}

// Delete implements store.StreamStore.
func (s *stream) Delete(ctx context.Context) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := s.lockR()
	if err != nil {
		return err
	}
	d.mu.RUnlock()
	k := streamKey{d.cfg.Account, d.cfg.Name}
	if p.streams[k] == d {
		delete(p.streams, k)
	}
	d.drop()
	return nil
}

// Interface guards.
var (
	_ store.Provider      = (*Provider)(nil)
	_ store.StreamStore   = (*stream)(nil)
	_ store.ConsumerStore = (*consumer)(nil)
)
