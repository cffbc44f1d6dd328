package adapter

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc"
)

// Transport limits. A response stays below a few MiB so that a large read
// never stalls the connection for other calls; the client continues where a
// short response stopped.
const (
	rangeMaxMsgs  = 8192
	rangeMaxBytes = 4 << 20
	snapChunk     = 256 << 10
)

// StoreServer serves a store.Provider over the hangar.store.v1 services.
// Open, Restore and OpenConsumer hand out handles that later requests name;
// handles start at a random base so that a handle of a previous process
// never names a stream of the next one.
type StoreServer struct {
	p store.Provider

	mu        sync.Mutex // guards the fields below
	next      uint64
	streams   map[uint64]store.StreamStore
	consumers map[uint64]consumerEntry
}

type consumerEntry struct {
	c      store.ConsumerStore
	stream uint64
}

// NewGRPCServer returns a server for p. Register it on a grpc.Server; p
// stays owned by the caller, who closes it after the server stops.
func NewGRPCServer(p store.Provider) *StoreServer {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &StoreServer{
		p:         p,
		next:      binary.LittleEndian.Uint64(b[:]) >> 2,
		streams:   make(map[uint64]store.StreamStore),
		consumers: make(map[uint64]consumerEntry),
	}
}

// Register registers the three store services on r.
func (s *StoreServer) Register(r grpc.ServiceRegistrar) {
	storev1.RegisterStoreProviderServer(r, &providerServer{s: s})
	storev1.RegisterStreamStoreServer(r, &streamServer{s: s})
	storev1.RegisterConsumerStoreServer(r, &consumerServer{s: s})
}

func (s *StoreServer) addStream(ss store.StreamStore) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.streams[s.next] = ss
	return s.next
}

func (s *StoreServer) stream(h uint64) (store.StreamStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.streams[h]; ss != nil {
		return ss, nil
	}
	return nil, fmt.Errorf("%w: unknown stream handle %d", store.ErrClosed, h)
}

// dropStream forgets a stream handle and its consumers' handles.
func (s *StoreServer) dropStream(h uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, h)
	for ch, e := range s.consumers {
		if e.stream == h {
			delete(s.consumers, ch)
		}
	}
}

func (s *StoreServer) consumer(h uint64) (store.ConsumerStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.consumers[h]; ok {
		return e.c, nil
	}
	return nil, fmt.Errorf("%w: unknown consumer handle %d", store.ErrClosed, h)
}

type providerServer struct {
	storev1.UnimplementedStoreProviderServer
	s *StoreServer
}

func (ps *providerServer) Describe(ctx context.Context, _ *storev1.DescribeRequest) (*storev1.DescribeResponse, error) {
	d, err := ps.s.p.Describe(ctx)
	if err != nil {
		return &storev1.DescribeResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.DescribeResponse{Description: &storev1.ProviderDescription{
		Id: d.ID, Version: d.Version, Capabilities: capsToProto(d.Capabilities)}}, nil
}

func (ps *providerServer) Open(ctx context.Context, req *storev1.OpenRequest) (*storev1.OpenResponse, error) {
	ss, err := ps.s.p.Open(ctx, cfgFromProto(req.GetConfig()))
	if err != nil {
		return &storev1.OpenResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.OpenResponse{Stream: ps.s.addStream(ss)}, nil
}

func (ps *providerServer) Restore(rs grpc.ClientStreamingServer[storev1.RestoreRequest, storev1.RestoreResponse]) error {
	first, err := rs.Recv()
	if err != nil {
		return err
	}
	cfg := first.GetConfig()
	if cfg == nil {
		return rs.SendAndClose(&storev1.RestoreResponse{Error: ErrToProto(fmt.Errorf("%w: restore without a config first", store.ErrInvalid))})
	}
	r := &chunkReader{recv: func() ([]byte, error) {
		m, err := rs.Recv()
		if err != nil {
			return nil, err
		}
		return m.GetChunk(), nil
	}}
	ss, err := ps.s.p.Restore(rs.Context(), cfgFromProto(cfg), r)
	if err != nil {
		// Drain so the client's CloseAndRecv sees our answer, not a reset.
		_, _ = io.Copy(io.Discard, r)
		return rs.SendAndClose(&storev1.RestoreResponse{Error: ErrToProto(err)})
	}
	return rs.SendAndClose(&storev1.RestoreResponse{Stream: ps.s.addStream(ss)})
}

// chunkReader reads a stream of byte chunks as one io.Reader.
type chunkReader struct {
	recv func() ([]byte, error)
	buf  []byte
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.err = r.recv()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (ps *providerServer) Delete(ctx context.Context, req *storev1.ProviderDeleteRequest) (*storev1.ProviderDeleteResponse, error) {
	return &storev1.ProviderDeleteResponse{Error: ErrToProto(ps.s.p.Delete(ctx, req.GetAccount(), req.GetName()))}, nil
}

func (ps *providerServer) List(ctx context.Context, _ *storev1.ListRequest) (*storev1.ListResponse, error) {
	cfgs, err := ps.s.p.List(ctx)
	if err != nil {
		return &storev1.ListResponse{Error: ErrToProto(err)}, nil
	}
	out := make([]*storev1.StreamConfig, len(cfgs))
	for i, c := range cfgs {
		out[i] = cfgToProto(c)
	}
	return &storev1.ListResponse{Streams: out}, nil
}

func (ps *providerServer) Close(ctx context.Context, _ *storev1.ProviderCloseRequest) (*storev1.ProviderCloseResponse, error) {
	err := ps.s.p.Close(ctx)
	ps.s.mu.Lock()
	clear(ps.s.streams)
	clear(ps.s.consumers)
	ps.s.mu.Unlock()
	return &storev1.ProviderCloseResponse{Error: ErrToProto(err)}, nil
}

type consumerServer struct {
	storev1.UnimplementedConsumerStoreServer
	s *StoreServer
}

func (cs *consumerServer) UpdateDelivered(ctx context.Context, req *storev1.UpdateDeliveredRequest) (*storev1.UpdateDeliveredResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.UpdateDelivered(ctx, req.GetDseq(), req.GetSseq(), req.GetDc(), req.GetTs())
	}
	return &storev1.UpdateDeliveredResponse{Error: ErrToProto(err)}, nil
}

func (cs *consumerServer) UpdateAcks(ctx context.Context, req *storev1.UpdateAcksRequest) (*storev1.UpdateAcksResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.UpdateAcks(ctx, req.GetDseq(), req.GetSseq())
	}
	return &storev1.UpdateAcksResponse{Error: ErrToProto(err)}, nil
}

func (cs *consumerServer) Update(ctx context.Context, req *storev1.ConsumerUpdateRequest) (*storev1.ConsumerUpdateResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.Update(ctx, consumerStateFromProto(req.GetState()))
	}
	return &storev1.ConsumerUpdateResponse{Error: ErrToProto(err)}, nil
}

func (cs *consumerServer) State(ctx context.Context, req *storev1.ConsumerStateRequest) (*storev1.ConsumerStateResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err != nil {
		return &storev1.ConsumerStateResponse{Error: ErrToProto(err)}, nil
	}
	st, err := c.State(ctx)
	if err != nil {
		return &storev1.ConsumerStateResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.ConsumerStateResponse{State: consumerStateToProto(st)}, nil
}

func (cs *consumerServer) SetMeta(ctx context.Context, req *storev1.SetMetaRequest) (*storev1.SetMetaResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.SetMeta(ctx, req.GetMeta())
	}
	return &storev1.SetMetaResponse{Error: ErrToProto(err)}, nil
}

func (cs *consumerServer) Meta(ctx context.Context, req *storev1.MetaRequest) (*storev1.MetaResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err != nil {
		return &storev1.MetaResponse{Error: ErrToProto(err)}, nil
	}
	m, err := c.Meta(ctx)
	if err != nil {
		return &storev1.MetaResponse{Error: ErrToProto(err)}, nil
	}
	return &storev1.MetaResponse{Meta: m}, nil
}

func (cs *consumerServer) Delete(ctx context.Context, req *storev1.ConsumerDeleteRequest) (*storev1.ConsumerDeleteResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.Delete(ctx)
		cs.s.dropConsumer(req.GetConsumer())
	}
	return &storev1.ConsumerDeleteResponse{Error: ErrToProto(err)}, nil
}

func (cs *consumerServer) Close(ctx context.Context, req *storev1.ConsumerCloseRequest) (*storev1.ConsumerCloseResponse, error) {
	c, err := cs.s.consumer(req.GetConsumer())
	if err == nil {
		err = c.Close(ctx)
		cs.s.dropConsumer(req.GetConsumer())
	}
	return &storev1.ConsumerCloseResponse{Error: ErrToProto(err)}, nil
}

func (s *StoreServer) dropConsumer(h uint64) {
	s.mu.Lock()
	delete(s.consumers, h)
	s.mu.Unlock()
}

// Interface guards.
var (
	_ storev1.StoreProviderServer = (*providerServer)(nil)
	_ storev1.StreamStoreServer   = (*streamServer)(nil)
	_ storev1.ConsumerStoreServer = (*consumerServer)(nil)
)
