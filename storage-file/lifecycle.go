package storagefile

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

// Config implements store.StreamStore.
func (st *fstream) Config(context.Context) (store.StreamConfig, error) {
	if err := st.lockR(); err != nil {
		return store.StreamConfig{}, err
	}
	defer st.mu.RUnlock()
	return st.cfg, nil
}

// Snapshot implements store.Snapshotter with the backend-neutral writer:
// it reads through the contract in batches, so writers are never blocked
// for long.
func (st *fstream) Snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	return snapfmt.Write(ctx, w, st, opts)
}

// Close implements store.StreamStore: the stream's state file is written
// and its files closed; it stays in the provider.
func (st *fstream) Close(context.Context) error {
	err := st.close()
	st.p.forget(st)
	return err
}

// close writes the state file and closes everything.
func (st *fstream) close() error {
	st.stateBusy.Lock()
	defer st.stateBusy.Unlock()
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return fmt.Errorf("%w: stream %s", store.ErrClosed, st.cfg.Name)
	}
	st.closed = true
	var data []byte
	if st.failure() == nil && !st.hasBad.Load() {
		data = st.encodeState()
	}
	b := st.active()
	changes := st.changes.Load()
	cons := st.consumerList()
	st.mu.Unlock()
	for _, c := range cons {
		c.shut(false)
	}
	st.sealing.Wait() // summaries and compression of the last sealed blocks
	var err error
	if data != nil {
		err = st.persistState(data, b, changes)
	}
	st.shutdown()
	return err
}

func (st *fstream) consumerList() []*consumer {
	out := make([]*consumer, 0, len(st.cons))
	for _, c := range st.cons {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// shutdown closes the block files and leaves the cache.
func (st *fstream) shutdown() {
	for _, b := range st.blks {
		_ = b.closeFiles()
		b.release()
	}
}

// kill closes a stream that is being deleted: handles fail with
// ErrClosed from now on.
func (st *fstream) kill() {
	st.mu.Lock()
	st.closed = true
	cons := st.consumerList()
	st.mu.Unlock()
	for _, c := range cons {
		c.shut(true)
	}
	for _, b := range st.blks {
		b.release()
	}
}

// Delete implements store.StreamStore.
func (st *fstream) Delete(context.Context) error {
	p := st.p
	p.mu.Lock()
	defer p.mu.Unlock()
	st.mu.RLock()
	closed := st.closed
	st.mu.RUnlock()
	if closed {
		return fmt.Errorf("%w: stream %s", store.ErrClosed, st.cfg.Name)
	}
	st.kill()
	k := streamKey{st.cfg.Account, st.cfg.Name}
	if p.streams[k] == st {
		delete(p.streams, k)
	}
	return p.removeDir(st.dir)
}
