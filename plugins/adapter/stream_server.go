package adapter

import (
	"context"
	"errors"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc"
)

type streamServer struct {
	storev1.UnimplementedStreamStoreServer
	s *StoreServer
}

func (ss *streamServer) Store(ctx context.Context, req *storev1.StoreRequest) (*storev1.StoreResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.StoreResponse{Error: ErrToProto(err)}, nil
	}
	seq, ts, err := st.Store(ctx, req.GetSubject(), req.GetHeader(), req.GetData(), req.GetTtl())
	return &storev1.StoreResponse{Error: ErrToProto(err), Seq: seq, Time: ts}, nil
}

func (ss *streamServer) storeBatch(ctx context.Context, req *storev1.StoreBatchRequest) *storev1.StoreBatchResponse {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.StoreBatchResponse{Error: ErrToProto(err)}
	}
	res, err := st.StoreBatch(ctx, newMsgsFromProto(req.GetMsgs()))
	return &storev1.StoreBatchResponse{Error: ErrToProto(err), Results: resultsToProto(res)}
}

func (ss *streamServer) StoreBatch(ctx context.Context, req *storev1.StoreBatchRequest) (*storev1.StoreBatchResponse, error) {
	return ss.storeBatch(ctx, req), nil
}

// StoreStream answers each batch in order; a client keeps several in
// flight, so the plugin never waits for a round trip between batches.
func (ss *streamServer) StoreStream(bs grpc.BidiStreamingServer[storev1.StoreBatchRequest, storev1.StoreBatchResponse]) error {
	for {
		req, err := bs.Recv()
		if err != nil {
			return nil // the client closed its side, or went away
		}
		if err := bs.Send(ss.storeBatch(bs.Context(), req)); err != nil {
			return err
		}
	}
}

func (ss *streamServer) StoreRaw(ctx context.Context, req *storev1.StoreRawRequest) (*storev1.StoreRawResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.StoreRaw(ctx, msgFromProto(req.GetMsg()))
	}
	return &storev1.StoreRawResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Skip(ctx context.Context, req *storev1.SkipRequest) (*storev1.SkipResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var seq uint64
	if err == nil {
		seq, err = st.Skip(ctx, req.GetSeq())
	}
	return &storev1.SkipResponse{Error: ErrToProto(err), Seq: seq}, nil
}

func (ss *streamServer) SkipMsgs(ctx context.Context, req *storev1.SkipMsgsRequest) (*storev1.SkipMsgsResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.SkipMsgs(ctx, req.GetSeq(), req.GetN())
	}
	return &storev1.SkipMsgsResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Remove(ctx context.Context, req *storev1.RemoveRequest) (*storev1.RemoveResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Remove(ctx, req.GetSeq())
	}
	return &storev1.RemoveResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Erase(ctx context.Context, req *storev1.EraseRequest) (*storev1.EraseResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Erase(ctx, req.GetSeq())
	}
	return &storev1.EraseResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Purge(ctx context.Context, req *storev1.PurgeRequest) (*storev1.PurgeResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var n uint64
	if err == nil {
		n, err = st.Purge(ctx, store.PurgeRequest{Subject: req.GetSubject(), Seq: req.GetSeq(), Keep: req.GetKeep()})
	}
	return &storev1.PurgeResponse{Error: ErrToProto(err), Purged: n}, nil
}

func (ss *streamServer) Compact(ctx context.Context, req *storev1.CompactRequest) (*storev1.CompactResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var n uint64
	if err == nil {
		n, err = st.Compact(ctx, req.GetSeq())
	}
	return &storev1.CompactResponse{Error: ErrToProto(err), Purged: n}, nil
}

func (ss *streamServer) Truncate(ctx context.Context, req *storev1.TruncateRequest) (*storev1.TruncateResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Truncate(ctx, req.GetSeq())
	}
	return &storev1.TruncateResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) UpdateConfig(ctx context.Context, req *storev1.UpdateConfigRequest) (*storev1.UpdateConfigResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.UpdateConfig(ctx, cfgFromProto(req.GetConfig()))
	}
	return &storev1.UpdateConfigResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Expire(ctx context.Context, req *storev1.ExpireRequest) (*storev1.ExpireResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.ExpireResponse{Error: ErrToProto(err)}, nil
	}
	r, err := st.Expire(ctx, req.GetNow())
	if err != nil {
		return &storev1.ExpireResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.ExpireResponse{Result: expireToProto(r)}, nil
}

func (ss *streamServer) Sync(ctx context.Context, req *storev1.SyncRequest) (*storev1.SyncResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Sync(ctx)
	}
	return &storev1.SyncResponse{Error: ErrToProto(err)}, nil
}

func loadResp(m store.Msg, err error) (*storev1.LoadResponse, error) {
	if err != nil {
		return &storev1.LoadResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.LoadResponse{Msg: msgToProto(&m)}, nil
}

func (ss *streamServer) Load(ctx context.Context, req *storev1.LoadRequest) (*storev1.LoadResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return loadResp(store.Msg{}, err)
	}
	return loadResp(st.Load(ctx, req.GetSeq()))
}

func (ss *streamServer) LoadNext(ctx context.Context, req *storev1.LoadNextRequest) (*storev1.LoadResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return loadResp(store.Msg{}, err)
	}
	return loadResp(st.LoadNext(ctx, req.GetFilters(), req.GetStart()))
}

func (ss *streamServer) LoadLast(ctx context.Context, req *storev1.LoadLastRequest) (*storev1.LoadResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return loadResp(store.Msg{}, err)
	}
	return loadResp(st.LoadLast(ctx, req.GetSubject()))
}

func (ss *streamServer) LoadPrev(ctx context.Context, req *storev1.LoadPrevRequest) (*storev1.LoadResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return loadResp(store.Msg{}, err)
	}
	return loadResp(st.LoadPrev(ctx, req.GetFilters(), req.GetStart()))
}

// LoadRange caps what one response carries (rangeMaxMsgs, rangeMaxBytes)
// when the request asks for more, and sets More when it stopped at such a
// cap while matching messages remain within the request's bounds.
func (ss *streamServer) LoadRange(ctx context.Context, req *storev1.LoadRangeRequest) (*storev1.LoadRangeResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.LoadRangeResponse{Error: ErrToProto(err)}, nil
	}
	rr := store.RangeRequest{Start: req.GetStart(), End: req.GetEnd(), Filters: req.GetFilters(),
		MaxMsgs: int(req.GetMaxMsgs()), MaxBytes: int(req.GetMaxBytes())}
	capMsgs := rr.MaxMsgs <= 0 || rr.MaxMsgs > rangeMaxMsgs
	if capMsgs {
		rr.MaxMsgs = rangeMaxMsgs
	}
	capBytes := rr.MaxBytes <= 0 || rr.MaxBytes > rangeMaxBytes
	if capBytes {
		rr.MaxBytes = rangeMaxBytes
	}
	msgs, err := st.LoadRange(ctx, rr)
	if err != nil {
		return &storev1.LoadRangeResponse{Error: ErrToProto(err)}, nil
	}
	out := &storev1.LoadRangeResponse{Msgs: make([]*storev1.Msg, len(msgs))}
	for i := range msgs {
		out.Msgs[i] = msgToProto(&msgs[i])
	}
	last := msgs[len(msgs)-1].Seq
	switch {
	case rr.End > 0 && last >= rr.End:
	case len(msgs) == rr.MaxMsgs:
		out.More = capMsgs
	case capBytes:
		// The backend stopped at our byte cap only if another match follows.
		next, err := st.LoadNext(ctx, rr.Filters, last+1)
		out.More = err == nil && (rr.End == 0 || next.Seq <= rr.End)
	}
	return out, nil
}

func (ss *streamServer) SeqFromTime(ctx context.Context, req *storev1.SeqFromTimeRequest) (*storev1.SeqFromTimeResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var seq uint64
	if err == nil {
		seq, err = st.SeqFromTime(ctx, req.GetTime())
	}
	return &storev1.SeqFromTimeResponse{Error: ErrToProto(err), Seq: seq}, nil
}

func (ss *streamServer) SubjectForSeq(ctx context.Context, req *storev1.SubjectForSeqRequest) (*storev1.SubjectForSeqResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var subj string
	if err == nil {
		subj, err = st.SubjectForSeq(ctx, req.GetSeq())
	}
	return &storev1.SubjectForSeqResponse{Error: ErrToProto(err), Subject: subj}, nil
}

func (ss *streamServer) state(ctx context.Context, h uint64, fast bool) (*storev1.StateResponse, error) {
	st, err := ss.s.stream(h)
	if err != nil {
		return &storev1.StateResponse{Error: ErrToProto(err)}, nil
	}
	var s store.StreamState
	if fast {
		s, err = st.FastState(ctx)
	} else {
		s, err = st.State(ctx)
	}
	if err != nil {
		return &storev1.StateResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.StateResponse{State: stateToProto(s)}, nil
}

func (ss *streamServer) State(ctx context.Context, req *storev1.StateRequest) (*storev1.StateResponse, error) {
	return ss.state(ctx, req.GetStream(), false)
}

func (ss *streamServer) FastState(ctx context.Context, req *storev1.StateRequest) (*storev1.StateResponse, error) {
	return ss.state(ctx, req.GetStream(), true)
}

func (ss *streamServer) FilteredState(ctx context.Context, req *storev1.FilteredStateRequest) (*storev1.FilteredStateResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.FilteredStateResponse{Error: ErrToProto(err)}, nil
	}
	s, err := st.FilteredState(ctx, req.GetStart(), req.GetFilter())
	if err != nil {
		return &storev1.FilteredStateResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.FilteredStateResponse{State: simpleToProto(s)}, nil
}

func (ss *streamServer) SubjectsState(ctx context.Context, req *storev1.SubjectsStateRequest) (*storev1.SubjectsStateResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.SubjectsStateResponse{Error: ErrToProto(err)}, nil
	}
	m, err := st.SubjectsState(ctx, req.GetFilter())
	if err != nil {
		return &storev1.SubjectsStateResponse{Error: ErrToProto(err)}, nil
	}
	out := make(map[string]*storev1.SimpleState, len(m))
	for k, v := range m {
		out[k] = simpleToProto(v)
	}
	return &storev1.SubjectsStateResponse{Subjects: out}, nil
}

func (ss *streamServer) SubjectsTotals(ctx context.Context, req *storev1.SubjectsTotalsRequest) (*storev1.SubjectsTotalsResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.SubjectsTotalsResponse{Error: ErrToProto(err)}, nil
	}
	m, err := st.SubjectsTotals(ctx, req.GetFilter())
	if err != nil {
		return &storev1.SubjectsTotalsResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.SubjectsTotalsResponse{Totals: m}, nil
}

func (ss *streamServer) NumPending(ctx context.Context, req *storev1.NumPendingRequest) (*storev1.NumPendingResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var n, vt uint64
	if err == nil {
		n, vt, err = st.NumPending(ctx, req.GetStart(), req.GetFilters(), req.GetLastPerSubject())
	}
	return &storev1.NumPendingResponse{Error: ErrToProto(err), Pending: n, ValidThrough: vt}, nil
}

func (ss *streamServer) MultiLastSeqs(ctx context.Context, req *storev1.MultiLastSeqsRequest) (*storev1.MultiLastSeqsResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	var seqs []uint64
	if err == nil {
		seqs, err = st.MultiLastSeqs(ctx, req.GetFilters(), req.GetMaxSeq(), int(req.GetMaxAllowed()))
	}
	return &storev1.MultiLastSeqsResponse{Error: ErrToProto(err), Seqs: seqs}, nil
}

// Snapshot streams the snapshot in chunks; a failure ends the stream with a
// chunk that carries the error, so the client tells it from a cut
// connection.
func (ss *streamServer) Snapshot(req *storev1.SnapshotRequest, out grpc.ServerStreamingServer[storev1.SnapshotChunk]) error {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return out.Send(&storev1.SnapshotChunk{Error: ErrToProto(err)})
	}
	w := &chunkWriter{send: func(b []byte) error { return out.Send(&storev1.SnapshotChunk{Data: b}) }}
	err = st.Snapshot(out.Context(), w, store.SnapshotOptions{NoConsumers: req.GetNoConsumers(), ChunkSize: int(req.GetChunkSize())})
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		if errors.Is(err, errSend) {
			return err
		}
		return out.Send(&storev1.SnapshotChunk{Error: ErrToProto(err)})
	}
	return nil
}

var errSend = errors.New("adapter: send failed")

// chunkWriter gathers writes into chunks of snapChunk bytes.
type chunkWriter struct {
	send func([]byte) error
	buf  []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, snapChunk)
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	// The chunk is handed to gRPC, which may keep it until sent: start a
	// fresh buffer rather than reuse it.
	b := w.buf
	w.buf = nil
	if err := w.send(b); err != nil {
		return errors.Join(errSend, err)
	}
	return nil
}

func (ss *streamServer) OpenConsumer(ctx context.Context, req *storev1.OpenConsumerRequest) (*storev1.OpenConsumerResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.OpenConsumerResponse{Error: ErrToProto(err)}, nil
	}
	var meta []byte
	if req.GetHasMeta() {
		meta = req.GetMeta()
		if meta == nil {
			meta = []byte{}
		}
	}
	c, err := st.OpenConsumer(ctx, req.GetName(), meta)
	if err != nil {
		return &storev1.OpenConsumerResponse{Error: ErrToProto(err)}, nil
	}
	s := ss.s
	s.mu.Lock()
	s.next++
	h := s.next
	s.consumers[h] = consumerEntry{c: c, stream: req.GetStream()}
	s.mu.Unlock()
	return &storev1.OpenConsumerResponse{Consumer: h}, nil
}

func (ss *streamServer) Consumers(ctx context.Context, req *storev1.ConsumersRequest) (*storev1.ConsumersResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.ConsumersResponse{Error: ErrToProto(err)}, nil
	}
	cs, err := st.Consumers(ctx)
	if err != nil {
		return &storev1.ConsumersResponse{Error: ErrToProto(err)}, nil
	}
	out := make([]*storev1.ConsumerInfo, len(cs))
	for i, c := range cs {
		out[i] = &storev1.ConsumerInfo{Name: c.Name, Meta: c.Meta, State: consumerStateToProto(c.State)}
	}
	return &storev1.ConsumersResponse{Consumers: out}, nil
}

func (ss *streamServer) DeleteConsumer(ctx context.Context, req *storev1.DeleteConsumerRequest) (*storev1.DeleteConsumerResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.DeleteConsumer(ctx, req.GetName())
	}
	return &storev1.DeleteConsumerResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Config(ctx context.Context, req *storev1.ConfigRequest) (*storev1.ConfigResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err != nil {
		return &storev1.ConfigResponse{Error: ErrToProto(err)}, nil
	}
	c, err := st.Config(ctx)
	if err != nil {
		return &storev1.ConfigResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.ConfigResponse{Config: cfgToProto(c)}, nil
}

func (ss *streamServer) Close(ctx context.Context, req *storev1.StreamCloseRequest) (*storev1.StreamCloseResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Close(ctx)
		ss.s.dropStream(req.GetStream())
	}
	return &storev1.StreamCloseResponse{Error: ErrToProto(err)}, nil
}

func (ss *streamServer) Delete(ctx context.Context, req *storev1.StreamDeleteRequest) (*storev1.StreamDeleteResponse, error) {
	st, err := ss.s.stream(req.GetStream())
	if err == nil {
		err = st.Delete(ctx)
		ss.s.dropStream(req.GetStream())
	}
	return &storev1.StreamDeleteResponse{Error: ErrToProto(err)}, nil
}
