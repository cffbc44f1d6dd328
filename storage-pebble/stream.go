package storagepebble

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
)

// stream is an open stream. Its messages, indexes and consumers live in
// Pebble; in memory it keeps only its configuration, its counters and its
// open consumer handles.
type stream struct {
	p    *Provider
	id   uint32
	bulk atomic.Bool // commits skip the WAL sync; Restore syncs once at the end
	// syncing is closed when the newest commit waiting for its WAL sync
	// has it; readers wait on it first (see lockR).
	syncing atomic.Pointer[chan struct{}]

	mu         sync.RWMutex // guards the fields below; taken after Provider.mu, before consumer.mu
	closed     bool
	restoring  bool // a Restore is filling it; its record says so until the end
	cfg        store.StreamConfig
	c          counters
	nConsumers int
	consumers  map[string]*consumer
	// subjCache holds committed per-subject states writers used lately, so
	// appends to hot subjects skip a Pebble lookup. Its size is bounded per
	// stream and, through Provider.cacheUsed, per provider.
	subjCache map[string]subjState
}

// Subject-state cache bounds: entries are about 150 bytes, so a provider
// holds at most about 10 MiB of them however many streams and subjects.
const (
	subjCacheSize     = 4096
	providerCacheSize = 65536
)

// cacheSubjects records committed subject states. A new entry takes a slot
// of the provider's budget, or else replaces an arbitrary entry of the
// stream's own.
func (s *stream) cacheSubjects(settled []settledSubj) {
	for _, x := range settled {
		_, cached := s.subjCache[x.subj]
		switch {
		case x.st.n == 0:
			if cached {
				delete(s.subjCache, x.subj)
				s.p.cacheUsed.Add(-1)
			}
			continue
		case cached:
		case len(s.subjCache) < subjCacheSize && s.p.reserveCacheSlot():
		case len(s.subjCache) > 0:
			for k := range s.subjCache {
				delete(s.subjCache, k)
				break
			}
		default:
			continue
		}
		s.subjCache[x.subj] = x.st
	}
}

// clearCache empties the stream's cache and returns its budget.
func (s *stream) clearCache() {
	s.p.cacheUsed.Add(-int64(len(s.subjCache)))
	clear(s.subjCache)
}

func newStream(p *Provider, id uint32, cfg store.StreamConfig) *stream {
	s := &stream{p: p, id: id, consumers: make(map[string]*consumer), subjCache: make(map[string]subjState)}
	s.setConfig(cfg)
	s.c = newCounters(&s.cfg)
	return s
}

func (s *stream) setConfig(cfg store.StreamConfig) {
	cfg.Meta = append([]byte(nil), cfg.Meta...)
	s.cfg = cfg
}

// newCounters returns the counters of a stream that never held a message.
func newCounters(cfg *store.StreamConfig) counters {
	var c counters
	if cfg.FirstSeq > 0 {
		c.first, c.last = cfg.FirstSeq, cfg.FirstSeq-1
	}
	return c
}

func (s *stream) errClosed() error {
	return fmt.Errorf("%w: stream %s", store.ErrClosed, s.cfg.Name)
}

// lockR read-locks s when it is open. It first waits for the WAL sync of
// the newest commit, if one is under way: a read then mostly observes
// durable writes, and readers that poll a stream leave the CPU to the WAL
// syncer instead of competing with it (on a small machine that competition
// costs each writer scheduling delays of milliseconds).
func (s *stream) lockR() error {
	if ch := s.syncing.Load(); ch != nil {
		<-*ch
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return s.errClosed()
	}
	return nil
}

// write runs fn in a transaction under the write lock and commits it; it
// waits for the WAL sync after releasing the lock, so that concurrent
// writers of this and other streams share syncs.
func (s *stream) write(fn func(t *txn) error) error { return s.writeTxn(false, fn) }

// appendTxn is write for plain appends; see newTxn.
func (s *stream) appendTxn(fn func(t *txn) error) error { return s.writeTxn(true, fn) }

func (s *stream) writeTxn(appendOnly bool, fn func(t *txn) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	t := s.newTxn(appendOnly)
	err := fn(t)
	var pending *pebble.Batch
	if err == nil {
		pending, err = t.commit()
	} else {
		t.abort()
	}
	return s.unlockWait(pending, err)
}

// unlockWait releases the write lock, then waits for pending's WAL sync;
// readers arriving meanwhile wait for it too. It returns err, or the
// sync's error.
func (s *stream) unlockWait(pending *pebble.Batch, err error) error {
	if pending == nil {
		s.mu.Unlock()
		return err
	}
	ch := make(chan struct{})
	s.syncing.Store(&ch)
	s.mu.Unlock()
	werr := s.p.wait(pending)
	close(ch)
	s.syncing.CompareAndSwap(&ch, nil)
	if err == nil {
		err = werr
	}
	return err
}

// missing returns the contract's error for a sequence without a message.
func (c *counters) missing(seq uint64) error {
	switch {
	case seq > c.last:
		return fmt.Errorf("%w: seq %d after last %d", store.ErrEOF, seq, c.last)
	case seq < c.first || c.msgs == 0:
		return fmt.Errorf("%w: seq %d before first %d", store.ErrNotFound, seq, c.first)
	default:
		return fmt.Errorf("%w: seq %d", store.ErrDeleted, seq)
	}
}

// Config implements store.StreamStore.
func (s *stream) Config(context.Context) (store.StreamConfig, error) {
	if err := s.lockR(); err != nil {
		return store.StreamConfig{}, err
	}
	defer s.mu.RUnlock()
	return s.cfg, nil
}

// Snapshot implements store.Snapshotter; see restore.go.
func (s *stream) Snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	return s.snapshot(ctx, w, opts)
}

// shut closes s and its consumers; the caller holds Provider.mu.
func (s *stream) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.clearCache()
	for _, c := range s.consumers {
		c.shut()
	}
	s.consumers = nil
}

// Close implements store.StreamStore.
func (s *stream) Close(context.Context) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := s.lockR(); err != nil {
		return err
	}
	s.mu.RUnlock()
	s.shut()
	k := streamKey{s.cfg.Account, s.cfg.Name}
	if p.open[k] == s {
		delete(p.open, k)
	}
	return nil
}

// Delete implements store.StreamStore.
func (s *stream) Delete(context.Context) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := s.lockR(); err != nil {
		return err
	}
	s.mu.RUnlock()
	s.shut()
	k := streamKey{s.cfg.Account, s.cfg.Name}
	if p.open[k] == s {
		delete(p.open, k)
	}
	return p.dropStream(s.cfg.Account, s.cfg.Name, s.id)
}
