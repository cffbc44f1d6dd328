package seg

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
)

// consumerData is a consumer's durable state, guarded by its stream's mu.
type consumerData struct {
	meta  []byte
	state store.ConsumerState
	gen   uint64 // generation of the open handle; 0 when closed
}

func (st *state) setConsumer(name string, meta []byte, cs store.ConsumerState) {
	c := st.cons[name]
	if c == nil {
		c = &consumerData{}
		st.cons[name] = c
	}
	c.meta, c.state = meta, cs
}

func consumerRecord(name string, c *consumerData) []byte {
	return newRec(recConsumer).str(name).bytes(c.meta).json(c.state).done()
}

// consumer is an open consumer handle.
type consumer struct {
	s    *stream
	name string
	gen  uint64
}

// OpenConsumer implements store.ConsumerStores.
func (s *stream) OpenConsumer(_ context.Context, name string, meta []byte) (store.ConsumerStore, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty consumer name", store.ErrInvalid)
	}
	if err := s.lockW(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c := s.st.cons[name]
	if c != nil && c.gen != 0 {
		return nil, fmt.Errorf("%w: consumer %s is open", store.ErrExists, name)
	}
	if c == nil || meta != nil {
		next := consumerData{}
		if c != nil {
			next = *c
		}
		if meta != nil {
			next.meta = bytes.Clone(meta)
		}
		if _, _, err := s.write(consumerRecord(name, &next)); err != nil {
			return nil, err
		}
		s.st.setConsumer(name, next.meta, next.state)
		c = s.st.cons[name]
	}
	s.cgen++
	c.gen = s.cgen
	return &consumer{s: s, name: name, gen: c.gen}, nil
}

// Consumers implements store.ConsumerStores.
func (s *stream) Consumers(context.Context) ([]store.ConsumerInfo, error) {
	if err := s.lockR(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make([]store.ConsumerInfo, 0, len(s.st.cons))
	for name, c := range s.st.cons {
		out = append(out, store.ConsumerInfo{Name: name, Meta: c.meta, State: c.state.Clone()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteConsumer implements store.ConsumerStores.
func (s *stream) DeleteConsumer(_ context.Context, name string) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.deleteConsumer(name)
}

func (s *stream) deleteConsumer(name string) error {
	c := s.st.cons[name]
	if c == nil {
		return fmt.Errorf("%w: consumer %s", store.ErrNotFound, name)
	}
	if _, _, err := s.write(newRec(recDelCons).str(name).done()); err != nil {
		return err
	}
	c.gen = 0
	delete(s.st.cons, name)
	return nil
}

// locked runs fn on the consumer's data with the stream locked, if the
// handle is still open.
func (h *consumer) locked(write bool, fn func(c *consumerData) error) error {
	s := h.s
	var err error
	if write {
		err = s.lockW()
	} else {
		err = s.lockR()
	}
	if err != nil {
		return fmt.Errorf("%w: consumer %s", store.ErrClosed, h.name)
	}
	if write {
		defer s.mu.Unlock()
	} else {
		defer s.mu.RUnlock()
	}
	c := s.st.cons[h.name]
	if c == nil || c.gen != h.gen {
		return fmt.Errorf("%w: consumer %s", store.ErrClosed, h.name)
	}
	return fn(c)
}

// change applies a state change to a copy, logs the result, then keeps it.
func (h *consumer) change(fn func(next *consumerData) error) error {
	return h.locked(true, func(c *consumerData) error {
		next := consumerData{meta: c.meta, state: c.state.Clone(), gen: c.gen}
		if err := fn(&next); err != nil {
			return err
		}
		if _, _, err := h.s.write(consumerRecord(h.name, &next)); err != nil {
			return err
		}
		*c = next
		return nil
	})
}

// UpdateDelivered implements store.ConsumerStore.
func (h *consumer) UpdateDelivered(_ context.Context, dseq, sseq, dc uint64, ts int64) error {
	return h.change(func(n *consumerData) error { return n.state.ApplyDelivered(dseq, sseq, dc, ts) })
}

// UpdateAcks implements store.ConsumerStore.
func (h *consumer) UpdateAcks(_ context.Context, dseq, sseq uint64) error {
	return h.change(func(n *consumerData) error { return n.state.ApplyAcks(dseq, sseq) })
}

// Update implements store.ConsumerStore.
func (h *consumer) Update(_ context.Context, state store.ConsumerState) error {
	if err := state.Validate(); err != nil {
		return err
	}
	return h.change(func(n *consumerData) error { n.state = state.Clone(); return nil })
}

// State implements store.ConsumerStore.
func (h *consumer) State(context.Context) (store.ConsumerState, error) {
	var out store.ConsumerState
	err := h.locked(false, func(c *consumerData) error { out = c.state.Clone(); return nil })
	return out, err
}

// SetMeta implements store.ConsumerStore.
func (h *consumer) SetMeta(_ context.Context, meta []byte) error {
	return h.change(func(n *consumerData) error { n.meta = bytes.Clone(meta); return nil })
}

// Meta implements store.ConsumerStore.
func (h *consumer) Meta(context.Context) ([]byte, error) {
	var out []byte
	err := h.locked(false, func(c *consumerData) error { out = c.meta; return nil })
	return out, err
}

// Delete implements store.ConsumerStore.
func (h *consumer) Delete(context.Context) error {
	return h.locked(true, func(*consumerData) error { return h.s.deleteConsumer(h.name) })
}

// Close implements store.ConsumerStore.
func (h *consumer) Close(context.Context) error {
	return h.locked(true, func(c *consumerData) error { c.gen = 0; return nil })
}

// Interface guard.
var _ store.ConsumerStore = (*consumer)(nil)
