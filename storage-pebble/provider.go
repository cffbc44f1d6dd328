package storagepebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// ID is the registry ID of the Pebble store.
const ID = "store.pebble"

// Version is the Pebble store's version, reported by Describe.
const Version = "1.0.0"

// Defaults sized for a small (2-core) machine; see docs/pebble-store.md.
const (
	DefaultCacheSize             = 64 << 20
	DefaultMemTableSize          = 32 << 20
	DefaultCompactionConcurrency = 2
	// DefaultSyncInterval applies when the sync policy is neither Always
	// nor gives an interval.
	DefaultSyncInterval = time.Second
)

func init() {
	store.Register(store.ProviderInfo{ID: ID, New: func(cfg store.ProviderConfig) (store.Provider, error) {
		return New(cfg)
	}})
}

// Params are the backend settings carried in store.ProviderConfig.Params,
// as the runtime fills them from `jetstream { pebble { ... } }`. Zero values
// take the defaults.
type Params struct {
	// CacheSize is the block cache in bytes, shared by every stream.
	CacheSize int64 `json:"cache_size"`
	// MemTableSize is the size of one memtable in bytes; up to two are held
	// while one is flushed.
	MemTableSize int64 `json:"memtable_size"`
	// CompactionConcurrency is the most compactions run at once.
	CompactionConcurrency int `json:"compaction_concurrency"`
}

// ParseParams decodes raw strictly: an unknown key is store.ErrInvalid
// naming it; a negative size is ErrInvalid. Defaults fill zero values.
func ParseParams(raw json.RawMessage) (Params, error) {
	var p Params
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("%w: pebble store params: %w", store.ErrInvalid, err)
		}
		if dec.More() {
			return p, fmt.Errorf("%w: pebble store params: trailing data", store.ErrInvalid)
		}
	}
	if p.CacheSize < 0 || p.MemTableSize < 0 || p.CompactionConcurrency < 0 {
		return p, fmt.Errorf("%w: pebble store params: negative value in %s", store.ErrInvalid, raw)
	}
	if p.CacheSize == 0 {
		p.CacheSize = DefaultCacheSize
	}
	if p.MemTableSize == 0 {
		p.MemTableSize = DefaultMemTableSize
	}
	if p.CompactionConcurrency == 0 {
		p.CompactionConcurrency = DefaultCompactionConcurrency
	}
	return p, nil
}

type streamKey struct{ account, name string }

// Provider is a Pebble-backed store provider: one Pebble instance in
// ProviderConfig.Dir holds every stream, so all streams share one WAL (and
// its group commit), one block cache and one set of memtables.
type Provider struct {
	db         *pebble.DB
	cache      *pebble.Cache
	syncAlways bool

	mu     sync.Mutex // guards open, closed and nextID; taken before stream.mu
	open   map[streamKey]*stream
	closed bool
	nextID uint32

	// inflight counts commits still waiting for their WAL sync and
	// snapshots being read, so Close does not close the DB under them.
	inflight sync.WaitGroup
	dirty    atomic.Bool // a write since the last interval sync
	// cacheUsed counts the subject-state cache entries of all streams.
	cacheUsed atomic.Int64
	stop      chan struct{}
	done      chan struct{}
}

// New opens (creating when needed) a Pebble store in cfg.Dir.
func New(cfg store.ProviderConfig) (*Provider, error) { return newProvider(cfg, nil) }

// newProvider opens the store on fs (the OS when nil); tests pass a
// crashable in-memory filesystem.
func newProvider(cfg store.ProviderConfig, fs vfs.FS) (*Provider, error) {
	params, err := ParseParams(cfg.Params)
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: pebble store needs a directory", store.ErrInvalid)
	}
	p := &Provider{open: make(map[streamKey]*stream), syncAlways: cfg.Sync.Always}
	p.cache = pebble.NewCache(params.CacheSize)
	opts := &pebble.Options{
		FS:                          fs,
		Cache:                       p.cache,
		MemTableSize:                uint64(params.MemTableSize),
		MemTableStopWritesThreshold: 2,
		FormatMajorVersion:          pebble.FormatValueSeparation,
		Logger:                      quietLogger{},
		CompactionConcurrencyRange:  func() (int, int) { return 1, params.CompactionConcurrency },
	}
	// Point lookups (a subject's state, a message by sequence) use the bloom
	// filters; Pebble's default has none.
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	p.db, err = pebble.Open(cfg.Dir, opts)
	if err != nil {
		p.cache.Unref()
		return nil, fmt.Errorf("pebble: open %s: %w", cfg.Dir, err)
	}
	if err := p.load(); err != nil {
		_ = p.db.Close()
		p.cache.Unref()
		return nil, err
	}
	if !p.syncAlways {
		interval := cfg.Sync.Interval
		if interval <= 0 {
			interval = DefaultSyncInterval
		}
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.syncLoop(interval)
	}
	return p, nil
}

// load checks the layout version, reads the next stream id and deletes
// streams whose Restore a crash interrupted.
func (p *Provider) load() error {
	fk := tableKey(nil, 0, tFormat)
	v, ok, err := get(p.db, fk)
	switch {
	case err != nil:
		return err
	case !ok:
		b := p.db.NewBatch()
		_ = b.Set(fk, []byte(layoutVersion), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
	case string(v) != layoutVersion:
		return fmt.Errorf("%w: pebble store layout %q, want %q", store.ErrUnsupported, v, layoutVersion)
	}
	p.nextID = 1
	if v, ok, err := get(p.db, tableKey(nil, 0, tNextID)); err != nil {
		return err
	} else if ok && len(v) == 4 {
		p.nextID = binary.BigEndian.Uint32(v)
	}
	entries, err := p.catalog()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.restoring {
			if err := p.dropStream(e.cfg.Account, e.cfg.Name, e.id); err != nil {
				return err
			}
		}
	}
	return nil
}

type catalogEntry struct {
	id        uint32
	cfg       store.StreamConfig
	restoring bool
}

// catalog reads every stream's id and record.
func (p *Provider) catalog() ([]catalogEntry, error) {
	lo := tableKey(nil, 0, tCatalog)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []catalogEntry
	for it.First(); it.Valid(); it.Next() {
		if len(it.Value()) != 4 {
			return nil, errCorrupt("catalog entry %x", it.Key())
		}
		id := binary.BigEndian.Uint32(it.Value())
		v, ok, err := get(p.db, tableKey(nil, id, tConfig))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errCorrupt("stream %d has no record", id)
		}
		cfg, restoring, err := decodeRecord(v)
		if err != nil {
			return nil, err
		}
		out = append(out, catalogEntry{id: id, cfg: cfg, restoring: restoring})
	}
	return out, it.Error()
}

// lookup returns the id of stream (account, name).
func (p *Provider) lookup(account, name string) (uint32, bool, error) {
	v, ok, err := get(p.db, catalogKey(account, name))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 4 {
		return 0, false, errCorrupt("catalog entry of %s/%s", account, name)
	}
	return binary.BigEndian.Uint32(v), true, nil
}

// Describe implements store.Provider.
func (p *Provider) Describe(context.Context) (store.ProviderDescription, error) {
	return store.ProviderDescription{ID: ID, Version: Version, Capabilities: store.Capabilities{Persistent: true}}, nil
}

// Open implements store.Provider.
func (p *Provider) Open(ctx context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	return p.openStream(ctx, cfg, false)
}

func (p *Provider) openStream(_ context.Context, cfg store.StreamConfig, restoring bool) (*stream, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: stream without a name", store.ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: pebble provider", store.ErrClosed)
	}
	k := streamKey{cfg.Account, cfg.Name}
	if p.open[k] != nil {
		return nil, fmt.Errorf("%w: stream %s/%s is open", store.ErrExists, cfg.Account, cfg.Name)
	}
	id, ok, err := p.lookup(cfg.Account, cfg.Name)
	if err != nil {
		return nil, err
	}
	var s *stream
	if ok {
		if restoring {
			return nil, fmt.Errorf("%w: stream %s/%s", store.ErrExists, cfg.Account, cfg.Name)
		}
		if s, err = p.loadStream(id); err != nil {
			return nil, err
		}
	} else if s, err = p.createStream(cfg, restoring); err != nil {
		return nil, err
	}
	s.restoring = restoring
	s.mu.Lock()
	pending, err := s.updateConfig(cfg)
	s.mu.Unlock()
	if err == nil {
		err = p.wait(pending)
	}
	if err != nil {
		return nil, err
	}
	p.open[k] = s
	return s, nil
}

// createStream writes a new stream's catalog entry, record and state.
func (p *Provider) createStream(cfg store.StreamConfig, restoring bool) (*stream, error) {
	id := p.nextID
	if id == 0 || id == ^uint32(0) {
		return nil, fmt.Errorf("%w: pebble store ran out of stream ids", store.ErrUnsupported)
	}
	s := newStream(p, id, cfg)
	b := p.db.NewBatch()
	_ = b.Set(catalogKey(cfg.Account, cfg.Name), appendID(nil, id), nil)
	_ = b.Set(tableKey(nil, 0, tNextID), appendID(nil, id+1), nil)
	_ = b.Set(tableKey(nil, id, tConfig), encodeRecord(&s.cfg, restoring), nil)
	_ = b.Set(tableKey(nil, id, tState), appendCounters(nil, &s.c), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, err
	}
	p.nextID = id + 1
	return s, nil
}

// loadStream reads an existing stream's record, counters and consumers.
func (p *Provider) loadStream(id uint32) (*stream, error) {
	v, ok, err := get(p.db, tableKey(nil, id, tConfig))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errCorrupt("stream %d has no record", id)
	}
	cfg, _, err := decodeRecord(v)
	if err != nil {
		return nil, err
	}
	s := newStream(p, id, cfg)
	v, ok, err = get(p.db, tableKey(nil, id, tState))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errCorrupt("stream %d has no state", id)
	}
	if s.c, err = decodeCounters(v); err != nil {
		return nil, err
	}
	names, err := consumerNames(p.db, id)
	if err != nil {
		return nil, err
	}
	s.nConsumers = len(names)
	return s, nil
}

// Restore implements store.Provider; see restore.go.
func (p *Provider) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	return p.restore(ctx, cfg, r)
}

// Delete implements store.Provider.
func (p *Provider) Delete(_ context.Context, account, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w: pebble provider", store.ErrClosed)
	}
	id, ok, err := p.lookup(account, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: stream %s/%s", store.ErrNotFound, account, name)
	}
	k := streamKey{account, name}
	if s := p.open[k]; s != nil {
		s.shut()
		delete(p.open, k)
	}
	return p.dropStream(account, name, id)
}

// dropStream deletes every key of stream id with one range deletion, and
// its catalog entry.
func (p *Provider) dropStream(account, name string, id uint32) error {
	b := p.db.NewBatch()
	_ = b.DeleteRange(appendID(nil, id), streamEnd(id), nil)
	_ = b.Delete(catalogKey(account, name), nil)
	return b.Commit(pebble.Sync)
}

// List implements store.Provider. Streams whose Restore has not finished
// are left out.
func (p *Provider) List(context.Context) ([]store.StreamConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: pebble provider", store.ErrClosed)
	}
	entries, err := p.catalog()
	if err != nil {
		return nil, err
	}
	out := make([]store.StreamConfig, 0, len(entries))
	for _, e := range entries {
		if !e.restoring {
			out = append(out, e.cfg)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Close implements store.Provider. It closes every stream, waits for
// commits still syncing, syncs once more and closes Pebble.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	for k, s := range p.open {
		s.shut()
		delete(p.open, k)
	}
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
	p.inflight.Wait()
	var err error
	if !p.syncAlways {
		err = p.db.LogData(nil, pebble.Sync)
	}
	if cerr := p.db.Close(); err == nil {
		err = cerr
	}
	p.cache.Unref()
	return err
}

// syncLoop makes interval-mode writes durable every interval.
func (p *Provider) syncLoop(interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if p.dirty.Swap(false) {
				if err := p.db.LogData(nil, pebble.Sync); err != nil {
					log.Printf("pebble store: interval sync: %v", err)
					p.dirty.Store(true)
				}
			}
		}
	}
}

// apply commits b. When durable is set and the policy is Always it returns
// once the batch is visible, and the caller passes the returned batch to
// wait, after releasing its locks, so that concurrent commits share WAL
// syncs. Otherwise it returns nil and the interval loop syncs later.
func (p *Provider) apply(b *pebble.Batch, durable bool) (*pebble.Batch, error) {
	if durable && p.syncAlways {
		if err := p.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
			_ = b.Close()
			return nil, err
		}
		p.inflight.Add(1)
		return b, nil
	}
	err := p.db.Apply(b, pebble.NoSync)
	_ = b.Close()
	if err == nil {
		p.dirty.Store(true)
	}
	return nil, err
}

// wait waits for the WAL sync of a batch apply returned.
func (p *Provider) wait(b *pebble.Batch) error {
	if b == nil {
		return nil
	}
	err := b.SyncWait()
	_ = b.Close()
	p.inflight.Done()
	return err
}

// reserveCacheSlot takes one entry of the provider's subject-state cache
// budget, if any is left.
func (p *Provider) reserveCacheSlot() bool {
	for {
		n := p.cacheUsed.Load()
		if n >= providerCacheSize {
			return false
		}
		if p.cacheUsed.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// syncNow makes every completed write durable.
func (p *Provider) syncNow() error {
	p.dirty.Store(false)
	return p.db.LogData(nil, pebble.Sync)
}

// get reads a key into a copy; ok is false when it is absent.
func get(r pebble.Reader, k []byte) ([]byte, bool, error) {
	v, closer, err := r.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	_ = closer.Close()
	return out, true, nil
}

// quietLogger drops Pebble's informational messages (one per flush and
// compaction) and keeps its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	log.Printf("pebble: "+format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	log.Fatalf("pebble: "+format, args...)
}

// Interface guards.
var (
	_ store.Provider      = (*Provider)(nil)
	_ store.StreamStore   = (*stream)(nil)
	_ store.ConsumerStore = (*consumer)(nil)
	_ pebble.Logger       = quietLogger{}
)
