package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/adapter"
)

// Host runs the external plugins of a Config: it registers their stores
// in the core/store registry, exposes their API families, and supervises
// their processes. Start it before the JetStream runtime opens its stores;
// Stop it after the runtime closed them.
type Host struct {
	cfg     Config
	apiHost atomic.Pointer[jsapi.Host]

	mu       sync.Mutex // guards the fields below
	started  bool
	plugins  []*hostedPlugin
	families []jsapi.Family
}

// hostedPlugin is one plugin the Host runs.
type hostedPlugin struct {
	pc     PluginConfig
	store  *storeBackend // nil unless it serves a store
	family *remoteFamily // nil unless it serves an API family
	famSup *supervisor   // the family's process
	err    error         // why it is not running, for listings
}

// NewHost returns a Host for cfg; nothing starts before Start.
func NewHost(cfg Config) *Host {
	cfg.setDefaults()
	h := &Host{cfg: cfg}
	if cfg.APIHost != nil {
		h.SetAPIHost(cfg.APIHost)
	}
	return h
}

// SetAPIHost sets what API family plugins call back: the JetStream
// runtime's jsapi.Host. Safe to call at any time.
func (h *Host) SetAPIHost(jh jsapi.Host) {
	if jh == nil {
		h.apiHost.Store(nil)
		return
	}
	h.apiHost.Store(&jh)
}

func (h *Host) currentAPIHost() jsapi.Host {
	if p := h.apiHost.Load(); p != nil {
		return *p
	}
	return nil
}

// Start launches every plugin once to check its handshake and learn what
// it serves, registers the stores ("store.<name>") and keeps the family
// processes running. A plugin that fails to start fails Start, which then
// stops what it started.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return errors.New("plugins: host already started")
	}
	pcs, err := h.cfg.resolve()
	if err != nil {
		return err
	}
	h.started = true
	for _, pc := range pcs {
		hp, err := h.startPlugin(ctx, pc)
		if err != nil {
			h.stopLocked(ctx)
			return err
		}
		h.plugins = append(h.plugins, hp)
		if hp.family != nil {
			h.families = append(h.families, hp.family)
		}
	}
	return nil
}

// startPlugin runs a first process of pc. A store plugin's first process
// only answers Describe, in a scratch directory: the runtime's providers
// get processes of their own. A family keeps it.
func (h *Host) startPlugin(ctx context.Context, pc PluginConfig) (*hostedPlugin, error) {
	scratch, err := os.MkdirTemp("", "hangar-plugin-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	l := &launcher{pc: pc, cfg: &h.cfg}
	p, err := l.launch(adapter.StoreEnv(store.ProviderConfig{Dir: scratch}))
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancel()
	sd, isFamily, err := p.kinds(dctx)
	if err == nil && sd == nil && !isFamily {
		err = fmt.Errorf("%w: plugin %q serves neither a store nor an API family", ErrIncompatible, pc.Name)
	}
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("plugins: plugin %q: %w", pc.Name, err)
	}
	hp := &hostedPlugin{pc: pc}
	if sd != nil {
		b := &storeBackend{pc: pc, cfg: &h.cfg, id: "store." + pc.Name, providers: make(map[*pluginProvider]struct{}),
			desc: store.ProviderDescription{ID: sd.GetId(), Version: sd.GetVersion()}}
		if c := sd.GetCapabilities(); c != nil {
			b.desc.Capabilities = store.Capabilities{Persistent: c.GetPersistent(), SecureErase: c.GetSecureErase(),
				Encryption: c.GetEncryption(), Compression: c.GetCompression()}
		}
		if err := bindStore(b.id, b); err != nil {
			p.kill()
			return nil, err
		}
		hp.store = b
		h.cfg.Logger.Noticef("plugin %s: store %s (%s %s) from %s", pc.Name, b.id, b.desc.ID, b.desc.Version, pc.Path)
	}
	if !isFamily {
		p.kill()
		return hp, nil
	}
	if err := h.startFamily(dctx, hp, p, l); err != nil {
		if hp.store != nil {
			unbindStore(hp.store.id, hp.store)
		}
		p.kill()
		return nil, fmt.Errorf("plugins: plugin %q: %w", pc.Name, err)
	}
	return hp, nil
}

func (h *Host) startFamily(ctx context.Context, hp *hostedPlugin, p *proc, l *launcher) error {
	fc, err := p.family()
	if err != nil {
		return err
	}
	d, err := fc.Setup(ctx, h.currentAPIHost)
	if err != nil {
		return err
	}
	f := newRemoteFamily(hp.pc.Name, d, h.cfg.CallTimeout)
	c := fc.Client()
	f.cur.Store(&c)
	// A restarted family process keeps its scratch-less environment: a
	// family has no store directory.
	launch := func() (*proc, error) { return l.launch(nil) }
	onDown := func(error) { f.cur.Store(nil) }
	onUp := func(ctx context.Context, np *proc) error {
		nd, err := f.attach(ctx, np, h.currentAPIHost)
		if err == nil && (nd.ID != f.id || len(nd.Endpoints) != len(f.eps)) {
			h.cfg.Logger.Warnf("plugin %s came back as %s with %d endpoints (was %s with %d); routes stay as they were until the server restarts",
				hp.pc.Name, nd.ID, len(nd.Endpoints), f.id, len(f.eps))
		}
		return err
	}
	sup := newSupervisor("plugin "+hp.pc.Name+" (API family "+f.id+")", &h.cfg, p, launch, onDown, onUp)
	f.sup.Store(sup)
	hp.family, hp.famSup = f, sup
	h.cfg.Logger.Noticef("plugin %s: API family %s %s with %d endpoints from %s", hp.pc.Name, f.id, f.version, len(f.eps), hp.pc.Path)
	return nil
}

// Families returns the API families the plugins serve, for the runtime to
// add (Runtime.AddFamily).
func (h *Host) Families() []jsapi.Family {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]jsapi.Family(nil), h.families...)
}

// StoreIDs returns the registry IDs of the stores the plugins serve.
func (h *Host) StoreIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, hp := range h.plugins {
		if hp.store != nil {
			out = append(out, hp.store.id)
		}
	}
	return out
}

// Stop closes the providers the plugins serve (flushing them), ends every
// process gracefully and unregisters the stores: a later store.NewProvider
// of their IDs fails with ErrPluginUnavailable.
func (h *Host) Stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopLocked(ctx)
	return nil
}

func (h *Host) stopLocked(ctx context.Context) {
	var wg sync.WaitGroup
	for _, hp := range h.plugins {
		if hp.store != nil {
			unbindStore(hp.store.id, hp.store)
			wg.Add(1)
			go func() {
				defer wg.Done()
				hp.store.stop(ctx)
			}()
		}
		if hp.famSup != nil {
			hp.family.cur.Store(nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				hp.famSup.stop()
			}()
		}
	}
	wg.Wait()
	h.plugins, h.families = nil, nil
	h.started = false
}
