package storagefile

import (
	"sync"
	"time"
)

// syncable is a file with appends that the syncer makes durable.
type syncable interface {
	// flush writes what was appended in memory to the OS.
	flush() error
	// fsync makes everything written durable.
	fsync() error
	// durable reports whether everything up to pos is durable, or the
	// error that stopped it.
	durable(pos int64) (bool, error)
}

// syncer is the provider's group commit. A writer that needs its append
// durable calls commit: when no sync is running it becomes the leader and
// flushes and syncs at once, so a lone writer waits for one fsync and no
// timer; writers arriving meanwhile queue their files, and the next leader
// flushes and syncs all of them in one round, each distinct file once and the
// files in parallel. Appends of any stream of the provider share rounds.
type syncer struct {
	mu      sync.Mutex // guards the fields below; taken before no other lock
	cond    sync.Cond
	dirty   map[syncable]struct{}
	spare   map[syncable]struct{} // the other map, reused round after round
	leading bool
	rounds  uint64 // completed rounds, for tests and stats
	fsyncs  uint64
}

func newSyncer() *syncer {
	s := &syncer{dirty: make(map[syncable]struct{}), spare: make(map[syncable]struct{})}
	s.cond.L = &s.mu
	return s
}

// commit returns once f is durable up to pos, or with the error that
// prevented it.
func (s *syncer) commit(f syncable, pos int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if ok, err := f.durable(pos); ok || err != nil {
			return err
		}
		s.dirty[f] = struct{}{}
		if s.leading {
			s.cond.Wait()
			continue
		}
		s.leading = true
		batch := s.dirty
		s.dirty, s.spare = s.spare, nil
		s.mu.Unlock()
		syncAll(batch)
		s.mu.Lock()
		s.leading = false
		s.rounds++
		s.fsyncs += uint64(len(batch))
		clear(batch)
		s.spare = batch
		s.cond.Broadcast()
	}
}

// syncAll flushes and syncs every file of batch, in parallel when there
// are several. Errors stay with each file (durable reports them).
func syncAll(batch map[syncable]struct{}) {
	if len(batch) == 1 {
		for f := range batch {
			flushSync(f)
		}
		return
	}
	var wg sync.WaitGroup
	for f := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			flushSync(f)
		}()
	}
	wg.Wait()
}

func flushSync(f syncable) {
	if f.flush() == nil {
		_ = f.fsync()
	}
}

// background runs the interval policy: every period it syncs the files
// marked dirty since the last run, until stop closes.
type background struct {
	mu    sync.Mutex // guards dirty
	dirty map[syncable]struct{}
	stop  chan struct{}
	done  chan struct{}
}

func newBackground(period time.Duration) *background {
	b := &background{dirty: make(map[syncable]struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(period)
	return b
}

func (b *background) mark(f syncable) {
	b.mu.Lock()
	b.dirty[f] = struct{}{}
	b.mu.Unlock()
}

func (b *background) loop(period time.Duration) {
	defer close(b.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			b.run()
			return
		case <-t.C:
			b.run()
		}
	}
}

func (b *background) run() {
	b.mu.Lock()
	batch := b.dirty
	b.dirty = make(map[syncable]struct{})
	b.mu.Unlock()
	if len(batch) > 0 {
		syncAll(batch)
	}
}

func (b *background) close() {
	close(b.stop)
	<-b.done
}
