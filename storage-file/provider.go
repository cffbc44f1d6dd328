package storagefile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

// ID is the registry ID of the file store.
const ID = "store.file"

// Version is the file store's version, reported by Describe.
const Version = "1.0.0"

// Defaults.
const (
	DefaultBlockSize     = 8 << 20
	DefaultCacheSize     = 256 << 20
	DefaultStateInterval = 30 * time.Second
)

func init() {
	store.Register(store.ProviderInfo{ID: ID, New: func(cfg store.ProviderConfig) (store.Provider, error) {
		return New(cfg)
	}})
}

// Params are the file store's settings in store.ProviderConfig.Params,
// decoded strictly. The runtime passes {"key", "prev_key", "cipher"} when
// the server's jetstream block configures encryption.
type Params struct {
	// Key turns on encryption at rest; PrevKey opens data written under the
	// key it replaces (rotation); Cipher is "chachapoly" (default) or "aes".
	Key     string `json:"key,omitempty"`
	PrevKey string `json:"prev_key,omitempty"`
	Cipher  string `json:"cipher,omitempty"`
	// BlockSize is the size at which a block is sealed (default 8 MiB, or
	// a quarter of max_bytes when that is smaller, at least 64 KiB).
	BlockSize int64 `json:"block_size,omitempty"`
	// CacheSize bounds the memory of loaded blocks (default 256 MiB).
	CacheSize int64 `json:"cache_size,omitempty"`
	// StateInterval is how often a changed stream rewrites its state file
	// (default 30s); recovery replays what followed the last one.
	StateInterval string `json:"state_interval,omitempty"`
	// Log sends the store's reports (damage found, tails cut, keys
	// rotated) to "stderr"; empty is silent unless a logger is given with
	// WithLogger.
	Log string `json:"log,omitempty"`
}

// Option configures a provider beyond what Params can say.
type Option func(*Provider)

// WithFS makes the provider use fs instead of the operating system's file
// system: tests use crash-cloning and fault-injecting file systems.
func WithFS(fs vfs.FS) Option { return func(p *Provider) { p.fs = fs } }

// WithLogger sends the provider's reports to l.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

type streamKey struct{ account, name string }

// Provider is the file store provider: one directory holding every stream
// of the server that uses it, <dir>/<account>/<stream>/ with escaped names.
type Provider struct {
	fs         vfs.FS
	root       string
	params     Params
	always     bool
	interval   time.Duration
	stateEvery time.Duration
	keys       *keyring
	log        *slog.Logger
	syncer     *syncer
	seals      *sealQueue
	bg         *background
	cache      *cache
	gen        atomic.Uint64
	lock       io.Closer

	mu      sync.Mutex // guards streams and closed; taken before fstream.mu
	streams map[streamKey]*fstream
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

// New returns a file store provider rooted at cfg.Dir. A SyncPolicy
// without Always and without an Interval means Always: an acknowledged write
// is on stable storage unless an interval is asked for.
func New(cfg store.ProviderConfig, opts ...Option) (*Provider, error) {
	p := &Provider{fs: vfs.Default, root: cfg.Dir, streams: make(map[streamKey]*fstream),
		syncer: newSyncer(), seals: newSealQueue(), stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	if err := decodeParams(cfg.Params, &p.params); err != nil {
		return nil, err
	}
	if p.root == "" {
		return nil, fmt.Errorf("%w: filestore: no directory", store.ErrInvalid)
	}
	if p.log == nil && p.params.Log == "stderr" {
		p.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	} else if p.params.Log != "" && p.params.Log != "stderr" {
		return nil, fmt.Errorf("%w: filestore: log %q (want stderr)", store.ErrInvalid, p.params.Log)
	}
	var err error
	if p.keys, err = newKeyring(p.params.Key, p.params.PrevKey, p.params.Cipher); err != nil {
		return nil, err
	}
	p.stateEvery = DefaultStateInterval
	if s := p.params.StateInterval; s != "" {
		if p.stateEvery, err = time.ParseDuration(s); err != nil || p.stateEvery <= 0 {
			return nil, fmt.Errorf("%w: filestore: state_interval %q", store.ErrInvalid, s)
		}
	}
	size := p.params.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	p.cache = newCache(size)
	p.always = cfg.Sync.Always || cfg.Sync.Interval <= 0
	if !p.always {
		p.interval = cfg.Sync.Interval
		p.bg = newBackground(p.interval)
	}
	if err := mkdirAllSync(p.fs, p.root); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if p.lock, err = p.fs.Lock(p.fs.PathJoin(p.root, "LOCK")); err != nil {
		return nil, fmt.Errorf("filestore: %s is in use: %w", p.root, err)
	}
	go p.housekeep()
	return p, nil
}

func decodeParams(raw json.RawMessage, out *Params) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%w: file store params: %w", store.ErrInvalid, err)
	}
	return nil
}

func (p *Provider) logf(format string, args ...any) {
	if p.log != nil {
		p.log.Warn(fmt.Sprintf("filestore: "+format, args...))
	}
}

// commitFile makes a file's appends durable under the sync policy.
func (p *Provider) commitFile(f syncable, pos int64) error {
	if p.always {
		return p.syncer.commit(f, pos)
	}
	if err := f.flush(); err != nil {
		return err
	}
	p.bg.mark(f)
	return nil
}

// housekeep rewrites the state files of changed streams now and then, so
// that recovery has little to replay.
func (p *Provider) housekeep() {
	defer close(p.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		var due []*fstream
		for _, st := range p.streams {
			if st.stateDue(p.stateEvery) {
				due = append(due, st)
			}
		}
		p.mu.Unlock()
		for _, st := range due {
			if err := st.writeState(); err != nil {
				st.logf("write state file: %v", err)
			}
		}
	}
}

// Describe implements store.Provider.
func (p *Provider) Describe(context.Context) (store.ProviderDescription, error) {
	return store.ProviderDescription{ID: ID, Version: Version, Capabilities: store.Capabilities{
		Persistent: true, SecureErase: true, Encryption: p.keys != nil, Compression: true}}, nil
}

func (p *Provider) streamDir(account, name string) string {
	return p.fs.PathJoin(p.root, escapeName(account), escapeName(name))
}

// Open implements store.Provider.
func (p *Provider) Open(_ context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: stream without a name", store.ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: file provider", store.ErrClosed)
	}
	k := streamKey{cfg.Account, cfg.Name}
	if p.streams[k] != nil {
		return nil, fmt.Errorf("%w: stream %s/%s is open", store.ErrExists, cfg.Account, cfg.Name)
	}
	st, err := p.openStream(cfg)
	if err != nil {
		return nil, err
	}
	p.streams[k] = st
	return st, nil
}

// openStream creates the stream of cfg or recovers it and applies cfg.
func (p *Provider) openStream(cfg store.StreamConfig) (*fstream, error) {
	dir := p.streamDir(cfg.Account, cfg.Name)
	_, statErr := p.fs.Stat(p.metaPath(dir))
	exists := statErr == nil
	if !exists {
		// A directory without meta.dat is a creation that did not finish.
		_ = p.fs.RemoveAll(dir)
		if err := mkdirAllSync(p.fs, dir); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
		}
	}
	aead, cid, err := p.streamKey(dir, cfg.Account, cfg.Name, !exists)
	if err != nil {
		return nil, err
	}
	st := &fstream{p: p, dir: dir, cfg: cfg, aead: aead, cipherID: cid, subjs: newSubjects(),
		cons: make(map[string]*consumer)}
	st.cfg.Meta = append([]byte(nil), cfg.Meta...)
	st.stateAt.Store(time.Now().UnixNano())
	if exists {
		stored, err := p.readMeta(dir, aead)
		switch {
		case errors.Is(err, store.ErrCorrupt):
			// The caller's configuration replaces the damaged one.
			p.logf("stream %s/%s: %v; using the configuration being opened", cfg.Account, cfg.Name, err)
			if err := p.writeMeta(dir, st.cfg, aead); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			st.cfg = stored
		}
	} else if err := p.writeMeta(dir, st.cfg, aead); err != nil {
		return nil, err
	}
	st.blockSize = p.blockSize(st.cfg)
	if err := st.recover(); err != nil {
		st.shutdown()
		return nil, err
	}
	if err := st.loadConsumers(); err != nil {
		st.shutdown()
		return nil, err
	}
	if exists {
		st.mu.Lock()
		err := st.updateConfig(cfg)
		var b *block
		var pos int64
		if err == nil {
			b, pos, err = st.endWrite()
		}
		st.mu.Unlock()
		if err == nil {
			err = st.commit(b, pos)
		}
		if err != nil {
			st.shutdown()
			return nil, err
		}
	}
	return st, nil
}

// blockSize picks a stream's block size: the configured one, else 8 MiB or
// a quarter of max_bytes when that is smaller (a small stream should not
// keep a large block of removed messages), at least 64 KiB.
func (p *Provider) blockSize(cfg store.StreamConfig) int64 {
	if p.params.BlockSize > 0 {
		return max(p.params.BlockSize, 1024)
	}
	n := int64(DefaultBlockSize)
	if cfg.MaxBytes > 0 {
		n = min(n, max(cfg.MaxBytes/4, 64<<10))
	}
	return n
}

// Restore implements store.Provider. The snapshot's messages are stored
// without waiting for a sync each; one sync at the end makes them durable
// before Restore returns.
func (p *Provider) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	s, err := snapfmt.RestoreStream(ctx, r, cfg, bulkOpener{p})
	if err != nil {
		return nil, err
	}
	st := s.(*fstream)
	st.bulk.Store(false)
	if err := st.Sync(ctx); err != nil {
		_ = st.Delete(ctx)
		return nil, err
	}
	return st, nil
}

// bulkOpener opens streams whose writes skip the per-write sync, for a
// restore that syncs once at the end.
type bulkOpener struct{ *Provider }

func (b bulkOpener) Open(ctx context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	s, err := b.Provider.Open(ctx, cfg)
	if err == nil {
		s.(*fstream).bulk.Store(true)
	}
	return s, err
}

// Delete implements store.Provider.
func (p *Provider) Delete(_ context.Context, account, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w: file provider", store.ErrClosed)
	}
	k := streamKey{account, name}
	dir := p.streamDir(account, name)
	if st := p.streams[k]; st != nil {
		delete(p.streams, k)
		st.mu.Lock()
		st.closed = true
		st.mu.Unlock()
		st.shutdown()
	} else if _, err := p.fs.Stat(p.metaPath(dir)); err != nil {
		return fmt.Errorf("%w: stream %s/%s", store.ErrNotFound, account, name)
	}
	return p.removeDir(dir)
}

// removeDir deletes a stream directory durably.
func (p *Provider) removeDir(dir string) error {
	if err := p.fs.RemoveAll(dir); err != nil {
		return fmt.Errorf("filestore: delete %s: %w", dir, err)
	}
	return syncDir(p.fs, p.fs.PathDir(dir))
}

// List implements store.Provider.
func (p *Provider) List(context.Context) ([]store.StreamConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: file provider", store.ErrClosed)
	}
	var out []store.StreamConfig
	accts, _ := p.fs.List(p.root)
	for _, a := range accts {
		acct, ok := unescapeName(a)
		if !ok {
			continue
		}
		names, _ := p.fs.List(p.fs.PathJoin(p.root, a))
		for _, n := range names {
			name, ok := unescapeName(n)
			if !ok {
				continue
			}
			if st := p.streams[streamKey{acct, name}]; st != nil {
				st.mu.RLock()
				out = append(out, st.cfg)
				st.mu.RUnlock()
				continue
			}
			dir := p.streamDir(acct, name)
			if _, err := p.fs.Stat(p.metaPath(dir)); err != nil {
				continue
			}
			aead, _, err := p.streamKey(dir, acct, name, false)
			if err != nil {
				return nil, err
			}
			cfg, err := p.readMeta(dir, aead)
			if errors.Is(err, store.ErrCorrupt) {
				// Still list the stream, so that it is not silently
				// forgotten: its name is all that is left.
				p.logf("stream %s/%s: %v", acct, name, err)
				cfg, err = store.StreamConfig{Account: acct, Name: name}, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, cfg)
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

// Close implements store.Provider: every stream is closed with its state
// file written, so the next start replays nothing.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	streams := p.streams
	p.streams = nil
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	var err error
	for _, st := range streams {
		if cerr := st.close(); err == nil {
			err = cerr
		}
	}
	p.seals.close()
	if p.bg != nil {
		p.bg.close()
	}
	if p.lock != nil {
		_ = p.lock.Close()
	}
	return err
}

// forget drops a closed stream from the provider.
func (p *Provider) forget(st *fstream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := streamKey{st.cfg.Account, st.cfg.Name}
	if p.streams[k] == st {
		delete(p.streams, k)
	}
}

// Interface guards.
var (
	_ store.Provider      = (*Provider)(nil)
	_ store.StreamStore   = (*fstream)(nil)
	_ store.ConsumerStore = (*handle)(nil)
	_ syncable            = (*block)(nil)
	_ syncable            = (*consumer)(nil)
)
