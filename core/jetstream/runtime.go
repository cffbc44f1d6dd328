package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
)

// APILevel is the JetStream API level Hangar reports (ADR-44). Clients
// send the level a request needs (the nats CLI asks for 3 when it sets a
// snapshot window or allow_batched), so it is the reference 2.14 level
// minus durable sourcing consumers; features of those levels Hangar does
// not implement are refused by name at stream create.
const APILevel = 3

// Config is the runtime's configuration, derived from server options.
type Config struct {
	StoreDir  string
	MaxMemory int64
	MaxStore  int64
	Domain    string
	Sync      store.SyncPolicy
	// Backend is the default backend of `storage: file` streams: "file",
	// "pebble" or a plugin name.
	Backend           string
	Strict            bool
	MaxBufferedMsgs   int
	MaxBufferedSize   int64
	RequestQueueLimit int
	Limits            server.JetStreamServerLimits
	// ProviderParams are backend settings by backend name.
	ProviderParams map[string]json.RawMessage
}

// Defaults of the reference server.
const (
	defaultMaxBufferedMsgs   = 100_000
	defaultMaxBufferedSize   = 128 << 20
	defaultRequestQueueLimit = 10_000
	defaultMaxStore          = 1 << 40
	defaultDuplicateWindow   = 2 * time.Minute
	defaultMaxAckPending     = 1000
	defaultMaxRequestBatch   = 0
	apiWorkers               = 4
)

// ConfigFromOptions derives the runtime configuration from server options.
func ConfigFromOptions(o *server.Options) Config {
	c := Config{
		StoreDir:          o.StoreDir,
		MaxMemory:         o.JetStreamMaxMemory,
		MaxStore:          o.JetStreamMaxStore,
		Domain:            o.JetStreamDomain,
		Backend:           o.JetStreamBackend,
		Strict:            !o.JetStreamNonStrict,
		MaxBufferedMsgs:   o.JetStreamMaxBufferedMsgs,
		MaxBufferedSize:   o.JetStreamMaxBufferedSize,
		RequestQueueLimit: o.JetStreamRequestQueueLimit,
		Limits:            o.JetStreamLimits,
		ProviderParams:    map[string]json.RawMessage{},
	}
	switch {
	case o.JetStreamSyncAlways:
		c.Sync = store.SyncPolicy{Always: true}
	case o.JetStreamSyncInterval > 0:
		c.Sync = store.SyncPolicy{Interval: o.JetStreamSyncInterval}
	default:
		// Hangar's default: acknowledged means synced.
		c.Sync = store.SyncPolicy{Always: true}
	}
	if o.JetStreamKey != "" {
		p, _ := json.Marshal(map[string]string{"key": o.JetStreamKey, "prev_key": o.JetStreamPrevKey, "cipher": o.JetStreamCipher})
		c.ProviderParams["file"] = p
	}
	if o.Pebble != (server.PebbleOptions{}) {
		p, _ := json.Marshal(map[string]int64{"cache_size": o.Pebble.CacheSize, "memtable_size": o.Pebble.MemTableSize, "compaction_concurrency": int64(o.Pebble.CompactionConcurrency)})
		c.ProviderParams["pebble"] = p
	}
	return c
}

func (c *Config) setDefaults() {
	if c.Backend == "" {
		c.Backend = "file"
	}
	if c.MaxMemory <= 0 {
		c.MaxMemory = systemMemory() * 3 / 4
	}
	if c.MaxStore <= 0 {
		c.MaxStore = defaultMaxStore
	}
	if c.MaxBufferedMsgs <= 0 {
		c.MaxBufferedMsgs = defaultMaxBufferedMsgs
	}
	if c.MaxBufferedSize <= 0 {
		c.MaxBufferedSize = defaultMaxBufferedSize
	}
	if c.RequestQueueLimit <= 0 {
		c.RequestQueueLimit = defaultRequestQueueLimit
	}
	if c.Limits.MaxDuplicateWindow < 0 {
		c.Limits.MaxDuplicateWindow = 0
	}
}

func systemMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 4 << 30
}

// Runtime is JetStream on one server. It is a server.Extension.
type Runtime struct {
	srv *server.Server
	cfg Config
	log server.Logger

	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the maps below. Order: Runtime.mu, then jsAccount.mu, then
	// Stream.mu.
	mu        sync.RWMutex
	providers map[string]store.Provider
	accounts  map[string]*jsAccount
	families  []jsapi.Family
	router    *router
	extra     []jsapi.Family
	started   time.Time
	repl      Replicator

	apiTotal  atomic.Uint64
	apiErrors atomic.Uint64
	inflight  atomic.Int64
	memUsed   atomic.Int64
	storeUsed atomic.Int64
}

// New returns a runtime for the server with cfg; Start brings it up.
func New(cfg Config) *Runtime {
	cfg.setDefaults()
	rt := &Runtime{cfg: cfg, providers: map[string]store.Provider{}, accounts: map[string]*jsAccount{}}
	rt.repl = localReplicator{}
	return rt
}

// Name implements server.Extension.
func (rt *Runtime) Name() string { return "jetstream" }

// Config returns the effective configuration.
func (rt *Runtime) Config() Config { return rt.cfg }

// Server returns the server the runtime runs on.
func (rt *Runtime) Server() *server.Server { return rt.srv }

// Logger returns the server logger.
func (rt *Runtime) Logger() server.Logger { return rt.log }

// Context is canceled when the runtime shuts down.
func (rt *Runtime) Context() context.Context { return rt.ctx }

// Start implements server.Extension: it opens stores, recovers streams,
// enables accounts and starts serving the API.
func (rt *Runtime) Start(s *server.Server) error {
	rt.srv = s
	rt.log = s.Logger()
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	rt.started = time.Now().UTC()
	c := &rt.cfg
	if c.StoreDir == "" {
		return errors.New("jetstream: no store directory")
	}
	abs, err := filepath.Abs(c.StoreDir)
	if err == nil {
		c.StoreDir = abs
	}
	if err := os.MkdirAll(rt.jsDir(), 0o750); err != nil {
		return fmt.Errorf("jetstream: store directory: %w", err)
	}
	rt.log.Noticef("Starting JetStream")
	rt.log.Noticef("  Max Memory:      %s", friendlyBytes(c.MaxMemory))
	rt.log.Noticef("  Max Storage:     %s", friendlyBytes(c.MaxStore))
	rt.log.Noticef("  Store Directory: %q", c.StoreDir)
	rt.log.Noticef("  File Backend:    %s", c.Backend)
	if c.Sync.Always {
		rt.log.Noticef("  Sync:            before every acknowledgement")
	} else {
		rt.log.Noticef("  Sync:            every %v", c.Sync.Interval)
	}
	if c.Domain != "" {
		rt.log.Noticef("  Domain:          %s", c.Domain)
	}
	fams, err := newFamilies(rt)
	if err != nil {
		return err
	}
	rt.families = fams
	rt.router = newRouter(rt, fams)
	for _, a := range s.Accounts() {
		if rt.accountEnabled(a) {
			rt.enableAccount(a)
		}
	}
	if err := rt.recover(); err != nil {
		return err
	}
	for _, a := range s.Accounts() {
		if err := rt.router.serveAccount(a); err != nil {
			return err
		}
	}
	rt.router.start()
	s.SetJetStreamInfo(true, APILevel, c.Domain)
	rt.registerMonitoring()
	rt.log.Noticef("JetStream started with %d stream(s)", rt.numStreams())
	return nil
}

// accountEnabled reports whether a has JetStream. The server decides (the
// reference's rule, applied when accounts are configured): an account has
// JetStream exactly when it has limits.
func (rt *Runtime) accountEnabled(a *server.Account) bool {
	return a != rt.srv.SystemAccount() && a.JetStreamLimits() != nil
}

func (rt *Runtime) jsDir() string { return filepath.Join(rt.cfg.StoreDir, "jetstream") }

// provider returns (opening on first use) the provider of a backend name:
// "memory", "file", "pebble" or a plugin name.
func (rt *Runtime) provider(backend string) (store.Provider, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if p, ok := rt.providers[backend]; ok {
		return p, nil
	}
	id := "store." + backend
	cfg := store.ProviderConfig{Sync: rt.cfg.Sync, Params: rt.cfg.ProviderParams[backend]}
	if backend != "memory" {
		cfg.Dir = filepath.Join(rt.jsDir(), backend)
	}
	p, err := store.NewProvider(id, cfg)
	if err != nil {
		return nil, fmt.Errorf("jetstream: backend %q: %w", backend, err)
	}
	rt.providers[backend] = p
	return p, nil
}

// backendDirs lists the backends that have data under the store directory.
func (rt *Runtime) backendDirs() []string {
	ents, err := os.ReadDir(rt.jsDir())
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(e.Name(), "_") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Shutdown implements server.Extension: it stops streams (flushing their
// stores) and closes providers.
func (rt *Runtime) Shutdown() {
	if rt.cancel == nil {
		return
	}
	rt.cancel()
	if rt.router != nil {
		rt.router.stop()
	}
	rt.mu.Lock()
	accs := make([]*jsAccount, 0, len(rt.accounts))
	for _, ja := range rt.accounts {
		accs = append(accs, ja)
	}
	rt.mu.Unlock()
	for _, ja := range accs {
		for _, s := range ja.streamList() {
			s.stop(false)
		}
	}
	rt.mu.Lock()
	provs := rt.providers
	rt.providers = map[string]store.Provider{}
	rt.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, p := range provs {
		if err := p.Close(ctx); err != nil {
			rt.log.Errorf("JetStream: closing backend %s: %v", name, err)
		}
	}
}

func (rt *Runtime) numStreams() int {
	n := 0
	for _, ja := range rt.accountList() {
		n += ja.numStreams()
	}
	return n
}

func (rt *Runtime) accountList() []*jsAccount {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	out := make([]*jsAccount, 0, len(rt.accounts))
	for _, ja := range rt.accounts {
		out = append(out, ja)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// lookupAccount returns the JetStream state of an account, or nil. An
// account that gained JetStream limits since start (a config reload) is
// enabled on first use.
func (rt *Runtime) lookupAccount(name string) *jsAccount {
	rt.mu.RLock()
	ja := rt.accounts[name]
	rt.mu.RUnlock()
	if ja != nil || rt.srv == nil {
		return ja
	}
	if a, ok := rt.srv.LookupAccount(name); ok && rt.accountEnabled(a) {
		ja = rt.enableAccount(a)
		if rt.router != nil {
			rt.router.serveAccount(a)
		}
	}
	return ja
}

// recover reopens every stream the persistent backends hold.
func (rt *Runtime) recover() error {
	for _, b := range rt.backendDirs() {
		if _, ok := store.Lookup("store." + b); !ok {
			rt.log.Warnf("JetStream: data for backend %q found but the backend is not available; its streams stay offline", b)
			continue
		}
		p, err := rt.provider(b)
		if err != nil {
			return err
		}
		cfgs, err := p.List(rt.ctx)
		if err != nil {
			return fmt.Errorf("jetstream: list streams of %s: %w", b, err)
		}
		for _, sc := range cfgs {
			if err := rt.recoverStream(b, p, sc); err != nil {
				rt.log.Errorf("JetStream: recovering stream %q in account %q: %v", sc.Name, sc.Account, err)
			}
		}
	}
	return nil
}

func (rt *Runtime) recoverStream(backend string, p store.Provider, sc store.StreamConfig) error {
	var meta streamMeta
	if err := json.Unmarshal(sc.Meta, &meta); err != nil {
		return fmt.Errorf("bad stream metadata: %w", err)
	}
	acc := rt.srv.RegisterAccount(sc.Account)
	ja := rt.lookupAccount(sc.Account)
	if ja == nil {
		ja = rt.enableAccount(acc)
	}
	st, err := p.Open(rt.ctx, sc)
	if err != nil {
		return err
	}
	s, err := newStream(ja, meta.Config, meta.Created, backend, st)
	if err != nil {
		st.Close(rt.ctx)
		return err
	}
	if err := s.start(); err != nil {
		return err
	}
	ja.addStream(s)
	rt.log.Noticef("  Restored stream '%s > %s' (%s)", sc.Account, sc.Name, backend)
	return nil
}

func friendlyBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}

// FamilyInfo registers an API family with every runtime.
type FamilyInfo struct {
	// ID is dotted and lowercase, e.g. "api.stream".
	ID string
	// New creates the family for a runtime.
	New func(rt *Runtime) (jsapi.Family, error)
}

var families struct {
	mu sync.Mutex
	m  map[string]FamilyInfo
}

// RegisterFamily makes a family available. It is meant for init functions
// and panics on a duplicate ID.
func RegisterFamily(info FamilyInfo) {
	families.mu.Lock()
	defer families.mu.Unlock()
	if info.ID == "" || info.New == nil {
		panic("jetstream: RegisterFamily needs an ID and New")
	}
	if _, dup := families.m[info.ID]; dup {
		panic("jetstream: family registered twice: " + info.ID)
	}
	if families.m == nil {
		families.m = map[string]FamilyInfo{}
	}
	families.m[info.ID] = info
}

// RegisteredFamilies returns the IDs of the registered families, sorted.
func RegisteredFamilies() []string {
	families.mu.Lock()
	defer families.mu.Unlock()
	ids := make([]string, 0, len(families.m))
	for id := range families.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// extraFamilies are families added to one runtime (plugins).
func newFamilies(rt *Runtime) ([]jsapi.Family, error) {
	var out []jsapi.Family
	for _, id := range RegisteredFamilies() {
		families.mu.Lock()
		info := families.m[id]
		families.mu.Unlock()
		f, err := info.New(rt)
		if err != nil {
			return nil, fmt.Errorf("jetstream: family %s: %w", id, err)
		}
		out = append(out, f)
	}
	out = append(out, rt.extra...)
	return out, nil
}

// AddFamily adds a family to this runtime only (an out-of-process plugin);
// call before Start.
func (rt *Runtime) AddFamily(f jsapi.Family) { rt.extra = append(rt.extra, f) }
