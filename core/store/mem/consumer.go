package mem

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hangar-mq/hangar/core/store"
)

// consumerData is a consumer's state; it lives as long as its stream.
type consumerData struct {
	mu    sync.Mutex // guards the fields below; taken after data.mu
	name  string
	meta  []byte
	state store.ConsumerState
	gen   uint64 // generation of the open handle; 0 when none
	gone  bool
}

// consumer is an open handle on a consumer's state.
type consumer struct {
	c   *consumerData
	d   *data
	gen uint64
}

// OpenConsumer implements store.ConsumerStores.
func (s *stream) OpenConsumer(_ context.Context, name string, meta []byte) (store.ConsumerStore, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty consumer name", store.ErrInvalid)
	}
	d, err := s.lockW()
	if err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	c := d.consumers[name]
	if c == nil {
		c = &consumerData{name: name}
		d.consumers[name] = c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != 0 {
		return nil, fmt.Errorf("%w: consumer %s is open", store.ErrExists, name)
	}
	if meta != nil {
		c.meta = append([]byte(nil), meta...)
	}
	c.gen = s.p.nextGen.Add(1)
	return &consumer{c: c, d: d, gen: c.gen}, nil
}

// Consumers implements store.ConsumerStores.
func (s *stream) Consumers(context.Context) ([]store.ConsumerInfo, error) {
	d, err := s.lockR()
	if err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	out := make([]store.ConsumerInfo, 0, len(d.consumers))
	for _, c := range d.consumers {
		c.mu.Lock()
		out = append(out, store.ConsumerInfo{Name: c.name, Meta: c.meta, State: c.state.Clone()})
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteConsumer implements store.ConsumerStores.
func (s *stream) DeleteConsumer(_ context.Context, name string) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.deleteConsumer(name)
}

func (d *data) deleteConsumer(name string) error {
	c := d.consumers[name]
	if c == nil {
		return fmt.Errorf("%w: consumer %s", store.ErrNotFound, name)
	}
	delete(d.consumers, name)
	c.mu.Lock()
	c.gone, c.gen = true, 0
	c.mu.Unlock()
	return nil
}

// closeConsumers invalidates every consumer handle; with gone, for good.
func (d *data) closeConsumers(gone bool) {
	for _, c := range d.consumers {
		c.mu.Lock()
		c.gen = 0
		c.gone = c.gone || gone
		c.mu.Unlock()
	}
}

// lock locks the consumer when the handle is still open.
func (h *consumer) lock() (*consumerData, error) {
	c := h.c
	c.mu.Lock()
	if c.gone || c.gen != h.gen {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
	}
	return c, nil
}

// UpdateDelivered implements store.ConsumerStore.
func (h *consumer) UpdateDelivered(_ context.Context, dseq, sseq, dc uint64, ts int64) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.state.ApplyDelivered(dseq, sseq, dc, ts)
}

// UpdateAcks implements store.ConsumerStore.
func (h *consumer) UpdateAcks(_ context.Context, dseq, sseq uint64) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.state.ApplyAcks(dseq, sseq)
}

// Update implements store.ConsumerStore.
func (h *consumer) Update(_ context.Context, state store.ConsumerState) error {
	if err := state.Validate(); err != nil {
		return err
	}
	c, err := h.lock()
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	c.state = state.Clone()
	return nil
}

// State implements store.ConsumerStore.
func (h *consumer) State(context.Context) (store.ConsumerState, error) {
	c, err := h.lock()
	if err != nil {
		return store.ConsumerState{}, err
	}
	defer c.mu.Unlock()
	return c.state.Clone(), nil
}

// SetMeta implements store.ConsumerStore.
func (h *consumer) SetMeta(_ context.Context, meta []byte) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	defer c.mu.Unlock()
	c.meta = append([]byte(nil), meta...)
	return nil
}

// Meta implements store.ConsumerStore.
func (h *consumer) Meta(context.Context) ([]byte, error) {
	c, err := h.lock()
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return c.meta, nil
}

// Close implements store.ConsumerStore.
func (h *consumer) Close(context.Context) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	c.gen = 0
	c.mu.Unlock()
	return nil
}

// Delete implements store.ConsumerStore. It needs the stream's lock, which
// comes before the consumer's.
func (h *consumer) Delete(context.Context) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	c.mu.Unlock()
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur := d.consumers[c.name]; cur != c {
		return fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
	}
	return d.deleteConsumer(c.name)
}
