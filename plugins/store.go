package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/adapter"
)

// The store registry of core/store has no way to unregister, and a process
// may run several Hosts one after the other (tests, a config reload): an
// ID is registered once, and its New follows whichever Host serves it now.
var registry struct {
	mu    sync.Mutex
	bound map[string]*storeBackend // nil value: registered, no Host now
}

// bindStore makes id create providers of b.
func bindStore(id string, b *storeBackend) error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.bound == nil {
		registry.bound = make(map[string]*storeBackend)
	}
	cur, ours := registry.bound[id]
	switch {
	case ours && cur != nil:
		return fmt.Errorf("plugins: store %q is already served by another running plugin host", id)
	case ours:
		registry.bound[id] = b
		return nil
	}
	if _, taken := store.Lookup(id); taken {
		return fmt.Errorf("plugins: plugin %q clashes with the built-in store %q: rename the plugin", b.pc.Name, id)
	}
	store.Register(store.ProviderInfo{ID: id, New: func(cfg store.ProviderConfig) (store.Provider, error) {
		registry.mu.Lock()
		b := registry.bound[id]
		registry.mu.Unlock()
		if b == nil {
			return nil, adapter.Unavailable(id+": the plugin host is stopped", nil)
		}
		return b.newProvider(cfg)
	}})
	registry.bound[id] = b
	return nil
}

// pluginStoreID reports whether id was registered for a plugin.
func pluginStoreID(id string) bool {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	_, ok := registry.bound[id]
	return ok
}

func unbindStore(id string, b *storeBackend) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.bound[id] == b {
		registry.bound[id] = nil
	}
}

// storeBackend is one store plugin: it creates providers, each served by a
// process of its own.
type storeBackend struct {
	pc   PluginConfig
	cfg  *Config
	id   string
	desc store.ProviderDescription

	mu        sync.Mutex // guards providers and stopped
	providers map[*pluginProvider]struct{}
	stopped   bool
}

// newProvider starts a process configured with cfg and returns the
// supervised provider it serves.
func (b *storeBackend) newProvider(cfg store.ProviderConfig) (store.Provider, error) {
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("plugins: %s: %w", b.id, err)
		}
	}
	l := &launcher{pc: b.pc, cfg: b.cfg}
	env := adapter.StoreEnv(cfg)
	launch := func() (*proc, error) { return l.launch(env) }
	p, err := launch()
	if err != nil {
		return nil, err
	}
	pp := &pluginProvider{b: b}
	pp.StoreClient = adapter.NewStoreClient(p.conn, adapter.ClientOptions{
		Name:        "plugin " + b.pc.Name,
		CallTimeout: b.cfg.CallTimeout,
		OnUnavailable: func(err error) {
			if s := pp.sup.Load(); s != nil {
				s.check(err)
			}
		},
	})
	sup := newSupervisor(fmt.Sprintf("plugin %s (store in %s)", b.pc.Name, cfg.Dir), b.cfg, p, launch,
		pp.StoreClient.MarkDown,
		func(ctx context.Context, np *proc) error { return pp.StoreClient.Reconnect(ctx, np.conn) })
	pp.sup.Store(sup)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		go sup.stop()
		return nil, adapter.Unavailable(b.id+": the plugin host is stopping", nil)
	}
	b.providers[pp] = struct{}{}
	return pp, nil
}

// stop closes every provider (the runtime should have closed them).
func (b *storeBackend) stop(ctx context.Context) {
	b.mu.Lock()
	b.stopped = true
	pps := make([]*pluginProvider, 0, len(b.providers))
	for pp := range b.providers {
		pps = append(pps, pp)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, pp := range pps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = pp.Close(ctx)
		}()
	}
	wg.Wait()
}

// pluginProvider is a store.Provider served by a supervised plugin
// process.
type pluginProvider struct {
	*adapter.StoreClient
	b    *storeBackend
	sup  atomic.Pointer[supervisor]
	once sync.Once
}

// Close closes the provider in the plugin (flushing it), then ends the
// process gracefully.
func (pp *pluginProvider) Close(ctx context.Context) error {
	var err error
	pp.once.Do(func() {
		err = pp.StoreClient.Close(ctx)
		if errors.Is(err, adapter.ErrPluginUnavailable) {
			// Nothing is open in a process that is down.
			err = nil
		}
		if s := pp.sup.Load(); s != nil {
			s.stop()
		}
		pp.b.mu.Lock()
		delete(pp.b.providers, pp)
		pp.b.mu.Unlock()
	})
	return err
}

// restarts counts the restarts of the provider's process.
func (pp *pluginProvider) restarts() int64 {
	if s := pp.sup.Load(); s != nil {
		return s.restarts.Load()
	}
	return 0
}

// Interface guard.
var _ store.Provider = (*pluginProvider)(nil)
