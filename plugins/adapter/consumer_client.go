package adapter

import (
	"context"
	"fmt"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
)

// remoteConsumer is a store.ConsumerStore on the other side of a
// StoreClient. Its fields are guarded by its stream's mu.
type remoteConsumer struct {
	s      *remoteStream
	name   string
	h      uint64
	closed bool
}

// OpenConsumer implements store.ConsumerStores.
func (s *remoteStream) OpenConsumer(ctx context.Context, name string, meta []byte) (store.ConsumerStore, error) {
	var used *binding
	r, err := call(s, ctx, "OpenConsumer", func(ctx context.Context, b *binding, h uint64) (*storev1.OpenConsumerResponse, error) {
		used = b
		return b.ss.OpenConsumer(ctx, &storev1.OpenConsumerRequest{Stream: h, Name: name, Meta: meta, HasMeta: meta != nil})
	})
	if err != nil {
		return nil, err
	}
	rc := &remoteConsumer{s: s, name: name, h: r.GetConsumer()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return nil, s.closed
	}
	if s.b != used {
		return nil, Unavailable(s.c.opts.Name+": restarted while opening consumer "+name, nil)
	}
	s.consumers[rc] = struct{}{}
	return rc, nil
}

// Consumers implements store.ConsumerStores.
func (s *remoteStream) Consumers(ctx context.Context) ([]store.ConsumerInfo, error) {
	r, err := call(s, ctx, "Consumers", func(ctx context.Context, b *binding, h uint64) (*storev1.ConsumersResponse, error) {
		return b.ss.Consumers(ctx, &storev1.ConsumersRequest{Stream: h})
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.ConsumerInfo, len(r.GetConsumers()))
	for i, ci := range r.GetConsumers() {
		out[i] = store.ConsumerInfo{Name: ci.GetName(), Meta: ci.GetMeta(), State: consumerStateFromProto(ci.GetState())}
	}
	return out, nil
}

// DeleteConsumer implements store.ConsumerStores.
func (s *remoteStream) DeleteConsumer(ctx context.Context, name string) error {
	_, err := call(s, ctx, "DeleteConsumer", func(ctx context.Context, b *binding, h uint64) (*storev1.DeleteConsumerResponse, error) {
		return b.ss.DeleteConsumer(ctx, &storev1.DeleteConsumerRequest{Stream: h, Name: name})
	})
	if err == nil {
		s.mu.Lock()
		for rc := range s.consumers {
			if rc.name == name {
				rc.closed = true
				delete(s.consumers, rc)
			}
		}
		s.mu.Unlock()
	}
	return err
}

func (rc *remoteConsumer) bind() (*binding, uint64, error) {
	b, _, err := rc.s.bind()
	if err != nil {
		return nil, 0, err
	}
	rc.s.mu.Lock()
	defer rc.s.mu.Unlock()
	if rc.closed {
		return nil, 0, fmt.Errorf("%w: consumer %s", store.ErrClosed, rc.name)
	}
	return b, rc.h, nil
}

func (rc *remoteConsumer) forget() {
	rc.s.mu.Lock()
	rc.closed = true
	delete(rc.s.consumers, rc)
	rc.s.mu.Unlock()
}

func ccall[R errorer](rc *remoteConsumer, ctx context.Context, what string, fn func(context.Context, *binding, uint64) (R, error)) (R, error) {
	var zero R
	b, h, err := rc.bind()
	if err != nil {
		return zero, err
	}
	c := rc.s.c
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	r, err := fn(cctx, b, h)
	if err != nil {
		return zero, c.fail(cctx, what, err)
	}
	if e := r.GetError(); e != nil {
		return r, ProtoToErr(e)
	}
	return r, nil
}

// UpdateDelivered implements store.ConsumerStore.
func (rc *remoteConsumer) UpdateDelivered(ctx context.Context, dseq, sseq, dc uint64, ts int64) error {
	_, err := ccall(rc, ctx, "UpdateDelivered", func(ctx context.Context, b *binding, h uint64) (*storev1.UpdateDeliveredResponse, error) {
		return b.cs.UpdateDelivered(ctx, &storev1.UpdateDeliveredRequest{Consumer: h, Dseq: dseq, Sseq: sseq, Dc: dc, Ts: ts})
	})
	return err
}

// UpdateAcks implements store.ConsumerStore.
func (rc *remoteConsumer) UpdateAcks(ctx context.Context, dseq, sseq uint64) error {
	_, err := ccall(rc, ctx, "UpdateAcks", func(ctx context.Context, b *binding, h uint64) (*storev1.UpdateAcksResponse, error) {
		return b.cs.UpdateAcks(ctx, &storev1.UpdateAcksRequest{Consumer: h, Dseq: dseq, Sseq: sseq})
	})
	return err
}

// Update implements store.ConsumerStore.
func (rc *remoteConsumer) Update(ctx context.Context, state store.ConsumerState) error {
	_, err := ccall(rc, ctx, "Update", func(ctx context.Context, b *binding, h uint64) (*storev1.ConsumerUpdateResponse, error) {
		return b.cs.Update(ctx, &storev1.ConsumerUpdateRequest{Consumer: h, State: consumerStateToProto(state)})
	})
	return err
}

// State implements store.ConsumerStore.
func (rc *remoteConsumer) State(ctx context.Context) (store.ConsumerState, error) {
	r, err := ccall(rc, ctx, "State", func(ctx context.Context, b *binding, h uint64) (*storev1.ConsumerStateResponse, error) {
		return b.cs.State(ctx, &storev1.ConsumerStateRequest{Consumer: h})
	})
	if err != nil {
		return store.ConsumerState{}, err
	}
	return consumerStateFromProto(r.GetState()), nil
}

// SetMeta implements store.ConsumerStore.
func (rc *remoteConsumer) SetMeta(ctx context.Context, meta []byte) error {
	_, err := ccall(rc, ctx, "SetMeta", func(ctx context.Context, b *binding, h uint64) (*storev1.SetMetaResponse, error) {
		return b.cs.SetMeta(ctx, &storev1.SetMetaRequest{Consumer: h, Meta: meta})
	})
	return err
}

// Meta implements store.ConsumerStore.
func (rc *remoteConsumer) Meta(ctx context.Context) ([]byte, error) {
	r, err := ccall(rc, ctx, "Meta", func(ctx context.Context, b *binding, h uint64) (*storev1.MetaResponse, error) {
		return b.cs.Meta(ctx, &storev1.MetaRequest{Consumer: h})
	})
	if err != nil {
		return nil, err
	}
	return r.GetMeta(), nil
}

// Delete implements store.ConsumerStore.
func (rc *remoteConsumer) Delete(ctx context.Context) error {
	_, err := ccall(rc, ctx, "Delete", func(ctx context.Context, b *binding, h uint64) (*storev1.ConsumerDeleteResponse, error) {
		return b.cs.Delete(ctx, &storev1.ConsumerDeleteRequest{Consumer: h})
	})
	if err == nil {
		rc.forget()
	}
	return err
}

// Close implements store.ConsumerStore.
func (rc *remoteConsumer) Close(ctx context.Context) error {
	_, err := ccall(rc, ctx, "Close", func(ctx context.Context, b *binding, h uint64) (*storev1.ConsumerCloseResponse, error) {
		return b.cs.Close(ctx, &storev1.ConsumerCloseRequest{Consumer: h})
	})
	rc.forget()
	return err
}

// Interface guard.
var _ store.ConsumerStore = (*remoteConsumer)(nil)
