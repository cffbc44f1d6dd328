package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc"
)

// Default deadlines of a StoreClient's calls.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultBulkTimeout = 10 * time.Minute
)

// ClientOptions tunes a StoreClient. The zero value is usable.
type ClientOptions struct {
	// Name names the remote store in errors, e.g. the plugin's name.
	Name string
	// CallTimeout bounds every call (DefaultCallTimeout when 0), so a hung
	// plugin costs a caller at most this long even when its ctx has no
	// deadline. A call that runs out of it fails with
	// ErrPluginUnavailable.
	CallTimeout time.Duration
	// BulkTimeout bounds a Snapshot or Restore (DefaultBulkTimeout when 0).
	BulkTimeout time.Duration
	// OnUnavailable, when set, is called after a call failed with
	// ErrPluginUnavailable, so a supervisor can check the plugin at once.
	// It must not block.
	OnUnavailable func(error)
}

// StoreClient is a store.Provider whose backend lives on the other side of
// a gRPC connection (a plugin process, or a server in the same process).
// Writes that batch go over the pipelined StoreStream RPC; LoadRange,
// Snapshot and Restore move large data in bounded chunks.
//
// A supervisor can move a StoreClient to a new connection (Reconnect)
// after the plugin restarted: the streams and consumers that were open are
// opened again there, and their holders keep using the same handles. While
// the client is marked down (MarkDown) every call fails at once with
// ErrPluginUnavailable.
type StoreClient struct {
	opts ClientOptions

	mu      sync.RWMutex // guards the fields below; taken before remoteStream.mu
	b       *binding
	down    error
	closed  bool
	streams map[*remoteStream]struct{}
}

// binding is one connection's service clients.
type binding struct {
	prov storev1.StoreProviderClient
	ss   storev1.StreamStoreClient
	cs   storev1.ConsumerStoreClient
}

func newBinding(conn grpc.ClientConnInterface) *binding {
	return &binding{
		prov: storev1.NewStoreProviderClient(conn),
		ss:   storev1.NewStreamStoreClient(conn),
		cs:   storev1.NewConsumerStoreClient(conn),
	}
}

// NewGRPCClient returns a store.Provider served over conn (the other side
// runs NewGRPCServer). Closing the provider does not close conn.
func NewGRPCClient(conn grpc.ClientConnInterface) store.Provider {
	return NewStoreClient(conn, ClientOptions{})
}

// NewStoreClient is NewGRPCClient with options, returning the concrete type
// for a supervisor's use.
func NewStoreClient(conn grpc.ClientConnInterface, opts ClientOptions) *StoreClient {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.BulkTimeout <= 0 {
		opts.BulkTimeout = DefaultBulkTimeout
	}
	if opts.Name == "" {
		opts.Name = "remote store"
	}
	return &StoreClient{opts: opts, b: newBinding(conn), streams: make(map[*remoteStream]struct{})}
}

// MarkDown makes every call fail with ErrPluginUnavailable (wrapping
// cause) until Reconnect succeeds.
func (c *StoreClient) MarkDown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cause == nil {
		cause = errors.New("plugin process is down")
	}
	c.down = cause
}

// Down reports whether the client is marked down.
func (c *StoreClient) Down() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.down != nil
}

// Reconnect moves the client to conn, a new connection to a restarted
// plugin over the same data, opens again every stream and consumer that was
// open, and clears the down mark. A stream the new process cannot open
// fails its later calls with store.ErrClosed. A transport failure leaves
// the client down and is returned: the supervisor tries again.
func (c *StoreClient) Reconnect(ctx context.Context, conn grpc.ClientConnInterface) error {
	nb := newBinding(conn)
	c.mu.RLock()
	streams := make([]*remoteStream, 0, len(c.streams))
	for s := range c.streams {
		streams = append(streams, s)
	}
	c.mu.RUnlock()

	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	lr, err := nb.prov.List(cctx, &storev1.ListRequest{})
	if err != nil {
		return transportErr(cctx, c.opts.Name+": List", err)
	}
	if e := lr.GetError(); e != nil {
		return ProtoToErr(e)
	}
	cfgs := make(map[[2]string]*storev1.StreamConfig, len(lr.GetStreams()))
	for _, sc := range lr.GetStreams() {
		cfgs[[2]string{sc.GetAccount(), sc.GetName()}] = sc
	}
	type reopened struct {
		s    *remoteStream
		h    uint64
		cons map[*remoteConsumer]uint64
		err  error
	}
	var done []reopened
	for _, s := range streams {
		r := reopened{s: s, cons: make(map[*remoteConsumer]uint64)}
		sc := cfgs[[2]string{s.account, s.name}]
		if sc == nil {
			r.err = fmt.Errorf("%w: stream %s/%s is gone after the plugin restarted", store.ErrClosed, s.account, s.name)
			done = append(done, r)
			continue
		}
		or, err := nb.prov.Open(cctx, &storev1.OpenRequest{Config: sc})
		if err != nil {
			return transportErr(cctx, c.opts.Name+": reopen", err)
		}
		if e := or.GetError(); e != nil {
			r.err = fmt.Errorf("%w: reopening %s/%s after the plugin restarted: %w", store.ErrClosed, s.account, s.name, ProtoToErr(e))
			done = append(done, r)
			continue
		}
		r.h = or.GetStream()
		for _, rc := range s.openConsumers() {
			ocr, err := nb.ss.OpenConsumer(cctx, &storev1.OpenConsumerRequest{Stream: r.h, Name: rc.name})
			if err != nil {
				return transportErr(cctx, c.opts.Name+": reopen consumer", err)
			}
			if e := ocr.GetError(); e == nil {
				r.cons[rc] = ocr.GetConsumer()
			}
		}
		done = append(done, r)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range done {
		r.s.rebind(nb, r.h, r.cons, r.err)
	}
	c.b, c.down = nb, nil
	return nil
}

func (c *StoreClient) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.opts.CallTimeout, errDefaultDeadline)
}

func (c *StoreClient) bulkCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.opts.BulkTimeout, errDefaultDeadline)
}

// current returns the binding to call on, or ErrPluginUnavailable.
func (c *StoreClient) current() (*binding, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.down != nil {
		return nil, Unavailable(c.opts.Name, c.down)
	}
	if c.closed {
		return nil, fmt.Errorf("%w: %s provider", store.ErrClosed, c.opts.Name)
	}
	return c.b, nil
}

// fail classifies a transport error and tells the supervisor.
func (c *StoreClient) fail(ctx context.Context, what string, err error) error {
	e := transportErr(ctx, c.opts.Name+": "+what, err)
	if c.opts.OnUnavailable != nil && errors.Is(e, ErrPluginUnavailable) {
		c.opts.OnUnavailable(e)
	}
	return e
}

// errorer is every response: each carries the store error in field 1.
type errorer interface{ GetError() *storev1.Error }

// provCall runs one provider RPC under the call deadline.
func provCall[R errorer](c *StoreClient, ctx context.Context, what string, fn func(context.Context, *binding) (R, error)) (R, error) {
	var zero R
	b, err := c.current()
	if err != nil {
		return zero, err
	}
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	r, err := fn(cctx, b)
	if err != nil {
		return zero, c.fail(cctx, what, err)
	}
	if e := r.GetError(); e != nil {
		return r, ProtoToErr(e)
	}
	return r, nil
}

// Describe implements store.Provider.
func (c *StoreClient) Describe(ctx context.Context) (store.ProviderDescription, error) {
	r, err := provCall(c, ctx, "Describe", func(ctx context.Context, b *binding) (*storev1.DescribeResponse, error) {
		return b.prov.Describe(ctx, &storev1.DescribeRequest{})
	})
	if err != nil {
		return store.ProviderDescription{}, err
	}
	d := r.GetDescription()
	return store.ProviderDescription{ID: d.GetId(), Version: d.GetVersion(), Capabilities: capsFromProto(d.GetCapabilities())}, nil
}

// Open implements store.Provider.
func (c *StoreClient) Open(ctx context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	var used *binding
	r, err := provCall(c, ctx, "Open", func(ctx context.Context, b *binding) (*storev1.OpenResponse, error) {
		used = b
		return b.prov.Open(ctx, &storev1.OpenRequest{Config: cfgToProto(cfg)})
	})
	if err != nil {
		return nil, err
	}
	return c.track(used, cfg.Account, cfg.Name, r.GetStream())
}

// track registers a stream opened on b. Should the client have moved to
// another connection meanwhile, the handle belongs to a dead process and
// the stream is opened again by the next Reconnect's caller instead.
func (c *StoreClient) track(b *binding, account, name string, h uint64) (store.StreamStore, error) {
	s := &remoteStream{c: c, account: account, name: name, b: b, h: h, consumers: make(map[*remoteConsumer]struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: %s provider", store.ErrClosed, c.opts.Name)
	}
	if c.b != b || c.down != nil {
		return nil, Unavailable(c.opts.Name+": restarted while opening "+name, nil)
	}
	c.streams[s] = struct{}{}
	return s, nil
}

func (c *StoreClient) untrack(s *remoteStream) {
	c.mu.Lock()
	delete(c.streams, s)
	c.mu.Unlock()
}

// Restore implements store.Provider: the snapshot goes in chunks over a
// client stream.
func (c *StoreClient) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	b, err := c.current()
	if err != nil {
		return nil, err
	}
	cctx, cancel := c.bulkCtx(ctx)
	defer cancel()
	rs, err := b.prov.Restore(cctx)
	if err != nil {
		return nil, c.fail(cctx, "Restore", err)
	}
	if err := rs.Send(&storev1.RestoreRequest{Part: &storev1.RestoreRequest_Config{Config: cfgToProto(cfg)}}); err != nil && err != io.EOF {
		return nil, c.fail(cctx, "Restore", err)
	}
	buf := make([]byte, snapChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if err := rs.Send(&storev1.RestoreRequest{Part: &storev1.RestoreRequest_Chunk{Chunk: chunk}}); err != nil {
				// io.EOF: the server answered early (a damaged snapshot);
				// CloseAndRecv below returns its answer.
				if err != io.EOF {
					return nil, c.fail(cctx, "Restore", err)
				}
				break
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%s: Restore: reading the snapshot: %w", c.opts.Name, rerr)
		}
	}
	resp, err := rs.CloseAndRecv()
	if err != nil {
		return nil, c.fail(cctx, "Restore", err)
	}
	if e := resp.GetError(); e != nil {
		return nil, ProtoToErr(e)
	}
	name, account := cfg.Name, cfg.Account
	if name == "" {
		// The snapshot named the stream: ask what it became.
		cr, err := b.ss.Config(cctx, &storev1.ConfigRequest{Stream: resp.GetStream()})
		if err != nil {
			return nil, c.fail(cctx, "Restore", err)
		}
		name, account = cr.GetConfig().GetName(), cr.GetConfig().GetAccount()
	}
	return c.track(b, account, name, resp.GetStream())
}

// Delete implements store.Provider.
func (c *StoreClient) Delete(ctx context.Context, account, name string) error {
	_, err := provCall(c, ctx, "Delete", func(ctx context.Context, b *binding) (*storev1.ProviderDeleteResponse, error) {
		return b.prov.Delete(ctx, &storev1.ProviderDeleteRequest{Account: account, Name: name})
	})
	if err == nil {
		c.mu.Lock()
		for s := range c.streams {
			if s.account == account && s.name == name {
				s.markClosed()
				delete(c.streams, s)
			}
		}
		c.mu.Unlock()
	}
	return err
}

// List implements store.Provider.
func (c *StoreClient) List(ctx context.Context) ([]store.StreamConfig, error) {
	r, err := provCall(c, ctx, "List", func(ctx context.Context, b *binding) (*storev1.ListResponse, error) {
		return b.prov.List(ctx, &storev1.ListRequest{})
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.StreamConfig, len(r.GetStreams()))
	for i, sc := range r.GetStreams() {
		out[i] = cfgFromProto(sc)
	}
	return out, nil
}

// Close implements store.Provider. The streams are closed whether or not
// the remote side answers: a plugin that is down holds nothing open.
func (c *StoreClient) Close(ctx context.Context) error {
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return nil
	}
	_, err := provCall(c, ctx, "Close", func(ctx context.Context, b *binding) (*storev1.ProviderCloseResponse, error) {
		return b.prov.Close(ctx, &storev1.ProviderCloseRequest{})
	})
	c.mu.Lock()
	c.closed = true
	for s := range c.streams {
		s.markClosed()
	}
	clear(c.streams)
	c.mu.Unlock()
	return err
}

// Interface guards.
var _ store.Provider = (*StoreClient)(nil)
