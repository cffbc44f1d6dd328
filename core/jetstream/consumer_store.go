package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hangar-mq/hangar/core/store"
)

// memConsumerStore keeps the state of a mem_storage consumer of a
// persistent stream: in memory, gone at restart, as the reference keeps
// it. It follows the store's update rules.
type memConsumerStore struct {
	mu     sync.Mutex
	meta   []byte
	state  store.ConsumerState
	closed bool
}

func newMemConsumerStore(meta []byte) *memConsumerStore {
	return &memConsumerStore{meta: append([]byte(nil), meta...)}
}

func (m *memConsumerStore) lock() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fmt.Errorf("%w: consumer state", store.ErrClosed)
	}
	return nil
}

// UpdateDelivered implements store.ConsumerStore.
func (m *memConsumerStore) UpdateDelivered(_ context.Context, dseq, sseq, dc uint64, ts int64) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	return m.state.ApplyDelivered(dseq, sseq, dc, ts)
}

// UpdateAcks implements store.ConsumerStore.
func (m *memConsumerStore) UpdateAcks(_ context.Context, dseq, sseq uint64) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	return m.state.ApplyAcks(dseq, sseq)
}

// Update implements store.ConsumerStore.
func (m *memConsumerStore) Update(_ context.Context, st store.ConsumerState) error {
	if err := st.Validate(); err != nil {
		return err
	}
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.state = st.Clone()
	return nil
}

// State implements store.ConsumerStore.
func (m *memConsumerStore) State(context.Context) (store.ConsumerState, error) {
	if err := m.lock(); err != nil {
		return store.ConsumerState{}, err
	}
	defer m.mu.Unlock()
	return m.state.Clone(), nil
}

// SetMeta implements store.ConsumerStore.
func (m *memConsumerStore) SetMeta(_ context.Context, meta []byte) error {
	if err := m.lock(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.meta = append([]byte(nil), meta...)
	return nil
}

// Meta implements store.ConsumerStore.
func (m *memConsumerStore) Meta(context.Context) ([]byte, error) {
	if err := m.lock(); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	return m.meta, nil
}

// Delete implements store.ConsumerStore.
func (m *memConsumerStore) Delete(ctx context.Context) error { return m.Close(ctx) }

// Close implements store.ConsumerStore.
func (m *memConsumerStore) Close(context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

// recoverConsumers reopens the consumers the stream's store holds: their
// configuration from the meta, their position from the state.
func (s *Stream) recoverConsumers() error {
	infos, err := s.st.Consumers(s.rt.ctx)
	if err != nil {
		return err
	}
	for i := range infos {
		ci := &infos[i]
		var meta consumerMeta
		if err := json.Unmarshal(ci.Meta, &meta); err != nil {
			s.rt.log.Errorf("JetStream: consumer %q of %q: bad metadata: %v", ci.Name, s.name, err)
			continue
		}
		c, err := s.newConsumer(ci.Name, meta.Config, meta.Created, ci)
		if err != nil {
			s.rt.log.Errorf("JetStream: recovering consumer %q of %q: %v", ci.Name, s.name, err)
			continue
		}
		s.cons.add(c)
		if err := c.start(); err != nil {
			s.rt.log.Errorf("JetStream: starting consumer %q of %q: %v", ci.Name, s.name, err)
		}
	}
	return nil
}

// stopConsumers stops every consumer; with del the stream is being
// deleted, and its store takes the consumers' state with it.
func (s *Stream) stopConsumers(del bool) {
	// Hold off creates, which check that the stream is still open.
	s.cons.createMu.Lock()
	defer s.cons.createMu.Unlock()
	s.cons.mu.Lock()
	cs := make([]*Consumer, 0, len(s.cons.m))
	for _, c := range s.cons.m {
		cs = append(cs, c)
	}
	if del {
		s.cons.m = map[string]*Consumer{}
	}
	s.cons.mu.Unlock()
	for _, c := range cs {
		c.stop(del, true)
	}
}

// Interface guards
var _ store.ConsumerStore = (*memConsumerStore)(nil)
