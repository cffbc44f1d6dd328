package storagepebble

import (
	"context"
	"fmt"
	"io"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
)

// snapView is the stream as a Pebble snapshot saw it: snapfmt.Write reads
// the configuration, state, messages and consumers through it, so the
// backend-neutral snapshot is consistent to one instant while writers go on.
// Methods snapfmt does not use fall through to the live stream.
type snapView struct {
	store.StreamStore
	v         *view
	cfg       store.StreamConfig
	consumers int
}

func (sv *snapView) Config(context.Context) (store.StreamConfig, error) { return sv.cfg, nil }

func (sv *snapView) State(context.Context) (store.StreamState, error) {
	st := sv.v.fastState(sv.consumers)
	var err error
	st.Deleted, err = sv.v.deleted()
	return st, err
}

func (sv *snapView) FastState(context.Context) (store.StreamState, error) {
	return sv.v.fastState(sv.consumers), nil
}

func (sv *snapView) LoadRange(_ context.Context, req store.RangeRequest) ([]store.Msg, error) {
	fs, err := newFilterSet(req.Filters)
	if err != nil {
		return nil, err
	}
	return sv.v.loadRange(&fs, req)
}

func (sv *snapView) Consumers(context.Context) ([]store.ConsumerInfo, error) {
	return sv.v.consumers()
}

// snapshot writes the neutral snapshot of a Pebble snapshot of the stream.
func (s *stream) snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	if err := s.lockR(); err != nil {
		return err
	}
	snap := s.p.db.NewSnapshot()
	s.p.inflight.Add(1)
	sv := &snapView{StreamStore: s, cfg: s.cfg, consumers: s.nConsumers,
		v: &view{r: snap, id: s.id, c: s.c}}
	sv.v.cfg = &sv.cfg
	s.mu.RUnlock()
	defer func() {
		sv.v.close()
		_ = snap.Close()
		s.p.inflight.Done()
	}()
	return snapfmt.Write(ctx, w, sv, opts)
}

// restore is Provider.Restore: snapfmt.RestoreStream's steps, with the new
// stream marked as restoring in its record (a crash leaves no half-restored
// stream: the provider deletes it at open) and its writes committed without
// a WAL sync until the last one, which syncs them all.
func (p *Provider) restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	rd, err := snapfmt.NewReader(r)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg = rd.Header().Config.StreamConfig()
	}
	relaxed := cfg
	relaxed.MaxMsgs, relaxed.MaxBytes, relaxed.MaxMsgsPerSubject, relaxed.MaxMsgSize = 0, 0, 0, 0
	relaxed.Discard, relaxed.DiscardNewPerSubject, relaxed.FirstSeq = store.DiscardOld, false, 0
	s, err := p.openStream(ctx, relaxed, true)
	if err != nil {
		return nil, err
	}
	s.bulk.Store(true)
	_, err = rd.RestoreInto(ctx, s)
	s.bulk.Store(false)
	if err == nil {
		err = s.finishRestore(cfg)
	}
	if err != nil {
		if derr := s.Delete(ctx); derr != nil {
			err = fmt.Errorf("%w (and deleting the partial stream: %w)", err, derr)
		}
		return nil, err
	}
	return s, nil
}

// finishRestore applies the stream's real configuration and clears the
// restoring mark with a synced commit, which makes the unsynced restore
// writes before it durable too.
func (s *stream) finishRestore(cfg store.StreamConfig) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	s.restoring = false
	pending, err := s.updateConfig(cfg)
	return s.unlockWait(pending, err)
}
