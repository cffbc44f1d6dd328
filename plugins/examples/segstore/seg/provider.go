package seg

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

// ID and Version identify the store in Describe.
const (
	ID      = "store.segstore"
	Version = "0.1.0"
)

// Params are the backend settings (ProviderConfig.Params, JSON).
type Params struct {
	// SegmentSize is the size at which a new segment starts (default
	// 16 MiB).
	SegmentSize int64 `json:"segment_size"`
}

type streamKey struct{ account, name string }

// Provider keeps streams under a directory, one subdirectory each.
type Provider struct {
	dir      string
	syncEach bool // fsync every change; else a syncer runs at the interval
	segSize  int64

	mu     sync.Mutex // guards open and closed; taken before stream.mu
	open   map[streamKey]*stream
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// Open returns a provider rooted at cfg.Dir, which it creates.
func Open(cfg store.ProviderConfig) (*Provider, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: segstore needs a directory", store.ErrInvalid)
	}
	var params Params
	if p := bytes.TrimSpace(cfg.Params); len(p) > 0 && string(p) != "null" {
		d := json.NewDecoder(bytes.NewReader(p))
		d.DisallowUnknownFields()
		if err := d.Decode(&params); err != nil {
			return nil, fmt.Errorf("%w: segstore params: %w", store.ErrInvalid, err)
		}
	}
	if params.SegmentSize <= 0 {
		params.SegmentSize = segMaxSize
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "streams"), 0o750); err != nil {
		return nil, err
	}
	p := &Provider{dir: cfg.Dir, segSize: params.SegmentSize, open: make(map[streamKey]*stream),
		syncEach: cfg.Sync.Always || cfg.Sync.Interval <= 0}
	if !p.syncEach {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.syncer(cfg.Sync.Interval)
	}
	return p, nil
}

// syncer flushes every open stream at the sync interval (group commit).
func (p *Provider) syncer(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		open := make([]*stream, 0, len(p.open))
		for _, s := range p.open {
			open = append(open, s)
		}
		p.mu.Unlock()
		for _, s := range open {
			s.mu.Lock()
			if s.closed == nil {
				if err := s.sync(); err != nil {
					s.fail(err)
				}
			}
			s.mu.Unlock()
		}
	}
}

func (p *Provider) log(format string, v ...any) { fmt.Fprintf(os.Stderr, format+"\n", v...) }

// streamDir names a stream's directory: hex keeps any account or stream
// name a valid file name.
func (p *Provider) streamDir(k streamKey) string {
	return filepath.Join(p.dir, "streams", hex.EncodeToString([]byte(k.account))+"."+hex.EncodeToString([]byte(k.name)))
}

// Describe implements store.Provider.
func (p *Provider) Describe(context.Context) (store.ProviderDescription, error) {
	return store.ProviderDescription{ID: ID, Version: Version, Capabilities: store.Capabilities{Persistent: true}}, nil
}

// Open implements store.Provider.
func (p *Provider) Open(_ context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: stream without a name", store.ErrInvalid)
	}
	cfg.Meta = bytes.Clone(cfg.Meta)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: segstore provider", store.ErrClosed)
	}
	k := streamKey{cfg.Account, cfg.Name}
	if p.open[k] != nil {
		return nil, fmt.Errorf("%w: stream %s/%s is open", store.ErrExists, cfg.Account, cfg.Name)
	}
	dir := p.streamDir(k)
	_, statErr := os.Stat(dir)
	existed := statErr == nil
	if !existed {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		if err := writeMeta(dir, cfg); err != nil {
			return nil, err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	s, err := openStream(p, k, dir, cfg)
	if err != nil {
		return nil, err
	}
	if existed {
		s.mu.Lock()
		err = s.updateConfig(cfg)
		s.mu.Unlock()
		if err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	p.open[k] = s
	return s, nil
}

// forget drops a closed stream from the open set.
func (p *Provider) forget(s *stream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[s.key] == s {
		delete(p.open, s.key)
	}
}

// Restore implements store.Provider with the SDK's generic restore.
func (p *Provider) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	return snapfmt.RestoreStream(ctx, r, cfg, p)
}

// Delete implements store.Provider.
func (p *Provider) Delete(_ context.Context, account, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w: segstore provider", store.ErrClosed)
	}
	k := streamKey{account, name}
	dir := p.streamDir(k)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: stream %s/%s", store.ErrNotFound, account, name)
	}
	if s := p.open[k]; s != nil {
		s.mu.Lock()
		if s.closed == nil {
			s.shut(fmt.Errorf("%w: stream %s was deleted", store.ErrClosed, name))
		}
		s.mu.Unlock()
		delete(p.open, k)
	}
	// Rename first, so a crash midway never leaves half a stream.
	gone := dir + ".deleted"
	if err := os.Rename(dir, gone); err != nil {
		return err
	}
	_ = syncDir(filepath.Dir(dir))
	return os.RemoveAll(gone)
}

// List implements store.Provider.
func (p *Provider) List(context.Context) ([]store.StreamConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("%w: segstore provider", store.ErrClosed)
	}
	ents, err := os.ReadDir(filepath.Join(p.dir, "streams"))
	if err != nil {
		return nil, err
	}
	var out []store.StreamConfig
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".deleted") {
			if strings.HasSuffix(e.Name(), ".deleted") {
				_ = os.RemoveAll(filepath.Join(p.dir, "streams", e.Name()))
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.dir, "streams", e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var cfg store.StreamConfig
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, e.Name(), err)
		}
		out = append(out, cfg)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Close implements store.Provider: every open stream is synced and closed.
func (p *Provider) Close(context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	open := p.open
	p.open = nil
	p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
	var first error
	for _, s := range open {
		s.mu.Lock()
		if s.closed == nil {
			if err := s.sync(); err != nil && first == nil {
				first = err
			}
			s.shut(fmt.Errorf("%w: segstore provider closed", store.ErrClosed))
		}
		s.mu.Unlock()
	}
	return first
}

// writeMeta records cfg for List, atomically.
func writeMeta(dir string, cfg store.StreamConfig) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "meta.json.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, "meta.json"))
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// Interface guards.
var (
	_ store.Provider    = (*Provider)(nil)
	_ store.StreamStore = (*stream)(nil)
)
