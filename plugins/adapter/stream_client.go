package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
)

// remoteStream is a store.StreamStore on the other side of a StoreClient.
// Its handle and binding change when the client reconnects; its holder
// never sees that.
type remoteStream struct {
	c             *StoreClient
	account, name string

	mu        sync.Mutex // guards the fields below; taken after StoreClient.mu
	b         *binding
	h         uint64
	closed    error // set once closed, deleted, or lost in a restart
	pipe      *pipeline
	consumers map[*remoteConsumer]struct{}
}

// bind returns what a call uses: the binding and the stream's handle.
func (s *remoteStream) bind() (*binding, uint64, error) {
	if _, err := s.c.current(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return nil, 0, s.closed
	}
	return s.b, s.h, nil
}

func (s *remoteStream) markClosed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = fmt.Errorf("%w: stream %s", store.ErrClosed, s.name)
	}
	if s.pipe != nil {
		s.pipe.close()
		s.pipe = nil
	}
	for rc := range s.consumers {
		rc.closed = true
	}
	clear(s.consumers)
}

// rebind moves the stream to a new connection (Reconnect holds c.mu).
func (s *remoteStream) rebind(b *binding, h uint64, cons map[*remoteConsumer]uint64, lost error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pipe != nil {
		s.pipe.close()
		s.pipe = nil
	}
	if s.closed != nil {
		// Closed while the plugin was down: release what Reconnect opened.
		if lost == nil {
			go func() {
				ctx, cancel := s.c.callCtx(context.Background())
				defer cancel()
				_, _ = b.ss.Close(ctx, &storev1.StreamCloseRequest{Stream: h})
			}()
		}
		return
	}
	if lost != nil {
		s.closed = lost
		delete(s.c.streams, s)
		return
	}
	s.b, s.h = b, h
	for rc := range s.consumers {
		if ch, ok := cons[rc]; ok {
			rc.h = ch
		} else {
			rc.closed = true
			delete(s.consumers, rc)
		}
	}
}

func (s *remoteStream) openConsumers() []*remoteConsumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*remoteConsumer, 0, len(s.consumers))
	for rc := range s.consumers {
		out = append(out, rc)
	}
	return out
}

// call runs one stream RPC under the call deadline.
func call[R errorer](s *remoteStream, ctx context.Context, what string, fn func(context.Context, *binding, uint64) (R, error)) (R, error) {
	var zero R
	b, h, err := s.bind()
	if err != nil {
		return zero, err
	}
	cctx, cancel := s.c.callCtx(ctx)
	defer cancel()
	r, err := fn(cctx, b, h)
	if err != nil {
		return zero, s.c.fail(cctx, what, err)
	}
	if e := r.GetError(); e != nil {
		return r, ProtoToErr(e)
	}
	return r, nil
}

// Store implements store.Writer as a batch of one on the pipelined
// StoreStream: a unary call opens an HTTP/2 stream per message, which
// measured about twice the latency (35 µs against 18 µs in-process, and
// 80-130 µs against 55 µs to a plugin process, on 2 vCPU). The unary Store
// RPC stays for other clients.
func (s *remoteStream) Store(ctx context.Context, subj string, hdr, data []byte, ttl int64) (uint64, int64, error) {
	res, err := s.StoreBatch(ctx, []store.NewMsg{{Subject: subj, Header: hdr, Data: data, TTL: ttl}})
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 1 {
		return 0, 0, fmt.Errorf("%s: Store: %d results for one message", s.c.opts.Name, len(res))
	}
	return res[0].Seq, res[0].Time, res[0].Err
}

// StoreBatch implements store.Writer over the pipelined StoreStream RPC:
// concurrent batches share one stream and none waits for another's round
// trip before being sent.
func (s *remoteStream) StoreBatch(ctx context.Context, msgs []store.NewMsg) ([]store.StoreResult, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	p, h, err := s.pipeline()
	if err != nil {
		return nil, err
	}
	cctx, cancel := s.c.callCtx(ctx)
	defer cancel()
	r, err := p.do(cctx, &storev1.StoreBatchRequest{Stream: h, Msgs: newMsgsToProto(msgs)})
	if err != nil {
		// The caller giving up says nothing about the stream, which other
		// batches may still be using; a broken stream or a plugin that
		// does not answer in time does.
		if cctx.Err() == nil || errors.Is(context.Cause(cctx), errDefaultDeadline) {
			s.dropPipe(p)
		}
		return nil, s.c.fail(cctx, "StoreBatch", err)
	}
	res := resultsFromProto(r.GetResults())
	if e := r.GetError(); e != nil {
		return res, ProtoToErr(e)
	}
	return res, nil
}

// pipeline returns the stream's batch pipeline, opening it on first use.
func (s *remoteStream) pipeline() (*pipeline, uint64, error) {
	b, h, err := s.bind()
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != b || s.closed != nil {
		return nil, 0, Unavailable(s.c.opts.Name+": restarted", nil)
	}
	if s.pipe == nil {
		p, err := openPipeline(b.ss)
		if err != nil {
			return nil, 0, s.c.fail(context.Background(), "StoreStream", err)
		}
		s.pipe = p
	}
	return s.pipe, h, nil
}

// dropPipe forgets a pipeline that failed, so the next batch opens anew.
func (s *remoteStream) dropPipe(p *pipeline) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pipe == p {
		p.close()
		s.pipe = nil
	}
}

// StoreRaw implements store.Writer.
func (s *remoteStream) StoreRaw(ctx context.Context, m store.Msg) error {
	_, err := call(s, ctx, "StoreRaw", func(ctx context.Context, b *binding, h uint64) (*storev1.StoreRawResponse, error) {
		return b.ss.StoreRaw(ctx, &storev1.StoreRawRequest{Stream: h, Msg: msgToProto(&m)})
	})
	return err
}

// Skip implements store.Writer.
func (s *remoteStream) Skip(ctx context.Context, seq uint64) (uint64, error) {
	r, err := call(s, ctx, "Skip", func(ctx context.Context, b *binding, h uint64) (*storev1.SkipResponse, error) {
		return b.ss.Skip(ctx, &storev1.SkipRequest{Stream: h, Seq: seq})
	})
	return r.GetSeq(), err
}

// SkipMsgs implements store.Writer.
func (s *remoteStream) SkipMsgs(ctx context.Context, seq, n uint64) error {
	_, err := call(s, ctx, "SkipMsgs", func(ctx context.Context, b *binding, h uint64) (*storev1.SkipMsgsResponse, error) {
		return b.ss.SkipMsgs(ctx, &storev1.SkipMsgsRequest{Stream: h, Seq: seq, N: n})
	})
	return err
}

// Remove implements store.Writer.
func (s *remoteStream) Remove(ctx context.Context, seq uint64) error {
	_, err := call(s, ctx, "Remove", func(ctx context.Context, b *binding, h uint64) (*storev1.RemoveResponse, error) {
		return b.ss.Remove(ctx, &storev1.RemoveRequest{Stream: h, Seq: seq})
	})
	return err
}

// Erase implements store.Writer.
func (s *remoteStream) Erase(ctx context.Context, seq uint64) error {
	_, err := call(s, ctx, "Erase", func(ctx context.Context, b *binding, h uint64) (*storev1.EraseResponse, error) {
		return b.ss.Erase(ctx, &storev1.EraseRequest{Stream: h, Seq: seq})
	})
	return err
}

// Purge implements store.Writer.
func (s *remoteStream) Purge(ctx context.Context, req store.PurgeRequest) (uint64, error) {
	r, err := call(s, ctx, "Purge", func(ctx context.Context, b *binding, h uint64) (*storev1.PurgeResponse, error) {
		return b.ss.Purge(ctx, &storev1.PurgeRequest{Stream: h, Subject: req.Subject, Seq: req.Seq, Keep: req.Keep})
	})
	return r.GetPurged(), err
}

// Compact implements store.Writer.
func (s *remoteStream) Compact(ctx context.Context, seq uint64) (uint64, error) {
	r, err := call(s, ctx, "Compact", func(ctx context.Context, b *binding, h uint64) (*storev1.CompactResponse, error) {
		return b.ss.Compact(ctx, &storev1.CompactRequest{Stream: h, Seq: seq})
	})
	return r.GetPurged(), err
}

// Truncate implements store.Writer.
func (s *remoteStream) Truncate(ctx context.Context, seq uint64) error {
	_, err := call(s, ctx, "Truncate", func(ctx context.Context, b *binding, h uint64) (*storev1.TruncateResponse, error) {
		return b.ss.Truncate(ctx, &storev1.TruncateRequest{Stream: h, Seq: seq})
	})
	return err
}

// UpdateConfig implements store.Writer.
func (s *remoteStream) UpdateConfig(ctx context.Context, cfg store.StreamConfig) error {
	_, err := call(s, ctx, "UpdateConfig", func(ctx context.Context, b *binding, h uint64) (*storev1.UpdateConfigResponse, error) {
		return b.ss.UpdateConfig(ctx, &storev1.UpdateConfigRequest{Stream: h, Config: cfgToProto(cfg)})
	})
	return err
}

// Expire implements store.Writer.
func (s *remoteStream) Expire(ctx context.Context, now int64) (store.ExpireResult, error) {
	r, err := call(s, ctx, "Expire", func(ctx context.Context, b *binding, h uint64) (*storev1.ExpireResponse, error) {
		return b.ss.Expire(ctx, &storev1.ExpireRequest{Stream: h, Now: now})
	})
	if err != nil {
		return store.ExpireResult{}, err
	}
	return expireFromProto(r.GetResult()), nil
}

// Sync implements store.Writer.
func (s *remoteStream) Sync(ctx context.Context) error {
	_, err := call(s, ctx, "Sync", func(ctx context.Context, b *binding, h uint64) (*storev1.SyncResponse, error) {
		return b.ss.Sync(ctx, &storev1.SyncRequest{Stream: h})
	})
	return err
}

func loaded(r *storev1.LoadResponse, err error) (store.Msg, error) {
	if err != nil {
		return store.Msg{}, err
	}
	return msgFromProto(r.GetMsg()), nil
}

// Load implements store.Reader.
func (s *remoteStream) Load(ctx context.Context, seq uint64) (store.Msg, error) {
	return loaded(call(s, ctx, "Load", func(ctx context.Context, b *binding, h uint64) (*storev1.LoadResponse, error) {
		return b.ss.Load(ctx, &storev1.LoadRequest{Stream: h, Seq: seq})
	}))
}

// LoadNext implements store.Reader.
func (s *remoteStream) LoadNext(ctx context.Context, filters []string, start uint64) (store.Msg, error) {
	return loaded(call(s, ctx, "LoadNext", func(ctx context.Context, b *binding, h uint64) (*storev1.LoadResponse, error) {
		return b.ss.LoadNext(ctx, &storev1.LoadNextRequest{Stream: h, Filters: filters, Start: start})
	}))
}

// LoadLast implements store.Reader.
func (s *remoteStream) LoadLast(ctx context.Context, subj string) (store.Msg, error) {
	return loaded(call(s, ctx, "LoadLast", func(ctx context.Context, b *binding, h uint64) (*storev1.LoadResponse, error) {
		return b.ss.LoadLast(ctx, &storev1.LoadLastRequest{Stream: h, Subject: subj})
	}))
}

// LoadPrev implements store.Reader.
func (s *remoteStream) LoadPrev(ctx context.Context, filters []string, start uint64) (store.Msg, error) {
	return loaded(call(s, ctx, "LoadPrev", func(ctx context.Context, b *binding, h uint64) (*storev1.LoadResponse, error) {
		return b.ss.LoadPrev(ctx, &storev1.LoadPrevRequest{Stream: h, Filters: filters, Start: start})
	}))
}

// LoadRange implements store.Reader. The server answers in bounded pieces
// (LoadRangeResponse.more); this gathers them into one result that obeys
// the request's own limits.
func (s *remoteStream) LoadRange(ctx context.Context, req store.RangeRequest) ([]store.Msg, error) {
	var out []store.Msg
	size := 0
	next := &storev1.LoadRangeRequest{Start: req.Start, End: req.End, Filters: req.Filters,
		MaxMsgs: int64(req.MaxMsgs), MaxBytes: int64(req.MaxBytes)}
	for {
		r, err := call(s, ctx, "LoadRange", func(ctx context.Context, b *binding, h uint64) (*storev1.LoadRangeResponse, error) {
			next.Stream = h
			return b.ss.LoadRange(ctx, next)
		})
		if err != nil {
			if len(out) > 0 && errors.Is(err, store.ErrEOF) {
				return out, nil
			}
			return nil, err
		}
		for _, pm := range r.GetMsgs() {
			n := len(pm.GetHeader()) + len(pm.GetData())
			// A later piece's first message is not exempt from MaxBytes.
			if req.MaxBytes > 0 && len(out) > 0 && size+n > req.MaxBytes {
				return out, nil
			}
			out = append(out, msgFromProto(pm))
			size += n
			if req.MaxMsgs > 0 && len(out) >= req.MaxMsgs {
				return out, nil
			}
		}
		if !r.GetMore() || len(out) == 0 {
			return out, nil
		}
		next.Start = out[len(out)-1].Seq + 1
		if req.MaxMsgs > 0 {
			next.MaxMsgs = int64(req.MaxMsgs - len(out))
		}
		if req.MaxBytes > 0 {
			if size >= req.MaxBytes {
				return out, nil
			}
			next.MaxBytes = int64(req.MaxBytes - size)
		}
	}
}

// SeqFromTime implements store.Reader.
func (s *remoteStream) SeqFromTime(ctx context.Context, ts int64) (uint64, error) {
	r, err := call(s, ctx, "SeqFromTime", func(ctx context.Context, b *binding, h uint64) (*storev1.SeqFromTimeResponse, error) {
		return b.ss.SeqFromTime(ctx, &storev1.SeqFromTimeRequest{Stream: h, Time: ts})
	})
	return r.GetSeq(), err
}

// SubjectForSeq implements store.Reader.
func (s *remoteStream) SubjectForSeq(ctx context.Context, seq uint64) (string, error) {
	r, err := call(s, ctx, "SubjectForSeq", func(ctx context.Context, b *binding, h uint64) (*storev1.SubjectForSeqResponse, error) {
		return b.ss.SubjectForSeq(ctx, &storev1.SubjectForSeqRequest{Stream: h, Seq: seq})
	})
	return r.GetSubject(), err
}

// State implements store.Stater.
func (s *remoteStream) State(ctx context.Context) (store.StreamState, error) {
	r, err := call(s, ctx, "State", func(ctx context.Context, b *binding, h uint64) (*storev1.StateResponse, error) {
		return b.ss.State(ctx, &storev1.StateRequest{Stream: h})
	})
	if err != nil {
		return store.StreamState{}, err
	}
	return stateFromProto(r.GetState()), nil
}

// FastState implements store.Stater.
func (s *remoteStream) FastState(ctx context.Context) (store.StreamState, error) {
	r, err := call(s, ctx, "FastState", func(ctx context.Context, b *binding, h uint64) (*storev1.StateResponse, error) {
		return b.ss.FastState(ctx, &storev1.StateRequest{Stream: h})
	})
	if err != nil {
		return store.StreamState{}, err
	}
	return stateFromProto(r.GetState()), nil
}

// FilteredState implements store.Stater.
func (s *remoteStream) FilteredState(ctx context.Context, start uint64, filter string) (store.SimpleState, error) {
	r, err := call(s, ctx, "FilteredState", func(ctx context.Context, b *binding, h uint64) (*storev1.FilteredStateResponse, error) {
		return b.ss.FilteredState(ctx, &storev1.FilteredStateRequest{Stream: h, Start: start, Filter: filter})
	})
	if err != nil {
		return store.SimpleState{}, err
	}
	return simpleFromProto(r.GetState()), nil
}

// SubjectsState implements store.Stater.
func (s *remoteStream) SubjectsState(ctx context.Context, filter string) (map[string]store.SimpleState, error) {
	r, err := call(s, ctx, "SubjectsState", func(ctx context.Context, b *binding, h uint64) (*storev1.SubjectsStateResponse, error) {
		return b.ss.SubjectsState(ctx, &storev1.SubjectsStateRequest{Stream: h, Filter: filter})
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.SimpleState, len(r.GetSubjects()))
	for k, v := range r.GetSubjects() {
		out[k] = simpleFromProto(v)
	}
	return out, nil
}

// SubjectsTotals implements store.Stater.
func (s *remoteStream) SubjectsTotals(ctx context.Context, filter string) (map[string]uint64, error) {
	r, err := call(s, ctx, "SubjectsTotals", func(ctx context.Context, b *binding, h uint64) (*storev1.SubjectsTotalsResponse, error) {
		return b.ss.SubjectsTotals(ctx, &storev1.SubjectsTotalsRequest{Stream: h, Filter: filter})
	})
	if err != nil {
		return nil, err
	}
	out := r.GetTotals()
	if out == nil {
		out = map[string]uint64{}
	}
	return out, nil
}

// NumPending implements store.Stater.
func (s *remoteStream) NumPending(ctx context.Context, start uint64, filters []string, lastPerSubject bool) (uint64, uint64, error) {
	r, err := call(s, ctx, "NumPending", func(ctx context.Context, b *binding, h uint64) (*storev1.NumPendingResponse, error) {
		return b.ss.NumPending(ctx, &storev1.NumPendingRequest{Stream: h, Start: start, Filters: filters, LastPerSubject: lastPerSubject})
	})
	return r.GetPending(), r.GetValidThrough(), err
}

// MultiLastSeqs implements store.Stater.
func (s *remoteStream) MultiLastSeqs(ctx context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	r, err := call(s, ctx, "MultiLastSeqs", func(ctx context.Context, b *binding, h uint64) (*storev1.MultiLastSeqsResponse, error) {
		return b.ss.MultiLastSeqs(ctx, &storev1.MultiLastSeqsRequest{Stream: h, Filters: filters, MaxSeq: maxSeq, MaxAllowed: int64(maxAllowed)})
	})
	if err != nil {
		return nil, err
	}
	return r.GetSeqs(), nil
}

// Snapshot implements store.Snapshotter: the server streams the snapshot
// in chunks, which go to w as they come.
func (s *remoteStream) Snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	b, h, err := s.bind()
	if err != nil {
		return err
	}
	cctx, cancel := s.c.bulkCtx(ctx)
	defer cancel()
	st, err := b.ss.Snapshot(cctx, &storev1.SnapshotRequest{Stream: h, NoConsumers: opts.NoConsumers, ChunkSize: int64(opts.ChunkSize)})
	if err != nil {
		return s.c.fail(cctx, "Snapshot", err)
	}
	for {
		chunk, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.c.fail(cctx, "Snapshot", err)
		}
		if e := chunk.GetError(); e != nil {
			return ProtoToErr(e)
		}
		if _, err := w.Write(chunk.GetData()); err != nil {
			return fmt.Errorf("%s: Snapshot: writing: %w", s.c.opts.Name, err)
		}
	}
}

// Config implements store.StreamStore.
func (s *remoteStream) Config(ctx context.Context) (store.StreamConfig, error) {
	r, err := call(s, ctx, "Config", func(ctx context.Context, b *binding, h uint64) (*storev1.ConfigResponse, error) {
		return b.ss.Config(ctx, &storev1.ConfigRequest{Stream: h})
	})
	if err != nil {
		return store.StreamConfig{}, err
	}
	return cfgFromProto(r.GetConfig()), nil
}

// Close implements store.StreamStore. The stream counts as closed whatever
// the answer: a plugin that is down holds nothing open, and the restarted
// one is not asked to open it again.
func (s *remoteStream) Close(ctx context.Context) error {
	_, err := call(s, ctx, "Close", func(ctx context.Context, b *binding, h uint64) (*storev1.StreamCloseResponse, error) {
		return b.ss.Close(ctx, &storev1.StreamCloseRequest{Stream: h})
	})
	s.markClosed()
	s.c.untrack(s)
	return err
}

// Delete implements store.StreamStore.
func (s *remoteStream) Delete(ctx context.Context) error {
	_, err := call(s, ctx, "Delete", func(ctx context.Context, b *binding, h uint64) (*storev1.StreamDeleteResponse, error) {
		return b.ss.Delete(ctx, &storev1.StreamDeleteRequest{Stream: h})
	})
	if err == nil {
		s.markClosed()
		s.c.untrack(s)
	}
	return err
}

// Interface guards.
var _ store.StreamStore = (*remoteStream)(nil)
