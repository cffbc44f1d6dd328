package storagepebble

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
)

// A consumer's state is stored as a head key (delivered, ack floor) and one
// key per pending and per redelivered stream sequence, so an update writes
// a few small keys whatever the number of pending messages.

// consumer is an open consumer store. Its state is kept in memory while
// open and written through to Pebble on every update.
type consumer struct {
	s    *stream
	name string

	mu     sync.Mutex // guards the fields below; taken after stream.mu
	closed bool
	meta   []byte
	state  store.ConsumerState
}

func appendHead(dst []byte, cs *store.ConsumerState) []byte {
	dst = binary.AppendUvarint(dst, cs.Delivered.Consumer)
	dst = binary.AppendUvarint(dst, cs.Delivered.Stream)
	dst = binary.AppendUvarint(dst, cs.AckFloor.Consumer)
	return binary.AppendUvarint(dst, cs.AckFloor.Stream)
}

// loadConsumer reads a consumer's meta and state; ok is false when it does
// not exist.
func loadConsumer(r pebble.Reader, id uint32, name string) (meta []byte, cs store.ConsumerState, ok bool, err error) {
	pfx := consPrefix(nil, id, name)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: prefixEnd(pfx)})
	if err != nil {
		return nil, cs, false, err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		rest := it.Key()[len(pfx):]
		if len(rest) == 0 {
			return nil, cs, false, errCorrupt("consumer key %x", it.Key())
		}
		v := it.Value()
		d := decoder{b: v}
		switch kind := rest[0]; {
		case kind == ckMeta:
			meta, ok = append([]byte{}, v...), true
			continue
		case kind == ckHead:
			cs.Delivered = store.SeqPair{Consumer: d.uvarint(), Stream: d.uvarint()}
			cs.AckFloor = store.SeqPair{Consumer: d.uvarint(), Stream: d.uvarint()}
		case kind == ckPending && len(rest) == 9:
			if cs.Pending == nil {
				cs.Pending = make(map[uint64]store.Pending)
			}
			cs.Pending[seqSuffix(rest)] = store.Pending{Sequence: d.uvarint(), Timestamp: d.varint()}
		case kind == ckRedeliv && len(rest) == 9:
			if cs.Redelivered == nil {
				cs.Redelivered = make(map[uint64]uint64)
			}
			cs.Redelivered[seqSuffix(rest)] = d.uvarint()
		default:
			return nil, cs, false, errCorrupt("consumer key %x", it.Key())
		}
		if err := d.err("consumer " + name); err != nil {
			return nil, cs, false, err
		}
	}
	return meta, cs, ok, it.Error()
}

// consumerNames lists a stream's consumers, sorted, with one seek each.
func consumerNames(r pebble.Reader, id uint32) ([]string, error) {
	lo := tableKey(nil, id, tCons)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: tableKey(nil, id, tCons+1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var names []string
	for valid := it.First(); valid; {
		name, _, ok := consName(it.Key())
		if !ok {
			return nil, errCorrupt("consumer key %x", it.Key())
		}
		names = append(names, name)
		valid = it.SeekGE(prefixEnd(consPrefix(nil, id, name)))
	}
	sort.Strings(names)
	return names, it.Error()
}

// OpenConsumer implements store.ConsumerStores.
func (s *stream) OpenConsumer(_ context.Context, name string, meta []byte) (store.ConsumerStore, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty consumer name", store.ErrInvalid)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, s.errClosed()
	}
	c, pending, err := s.openConsumer(name, meta)
	s.mu.Unlock()
	if werr := s.p.wait(pending); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s *stream) openConsumer(name string, meta []byte) (*consumer, *pebble.Batch, error) {
	if s.consumers[name] != nil {
		return nil, nil, fmt.Errorf("%w: consumer %s is open", store.ErrExists, name)
	}
	stored, cs, exists, err := loadConsumer(s.p.db, s.id, name)
	if err != nil {
		return nil, nil, err
	}
	c := &consumer{s: s, name: name, meta: stored, state: cs}
	b := s.p.db.NewBatch()
	if meta != nil || !exists {
		c.meta = append([]byte{}, meta...)
		_ = b.Set(consKey(nil, s.id, name, ckMeta), c.meta, nil)
	}
	if !exists {
		_ = b.Set(consKey(nil, s.id, name, ckHead), appendHead(nil, &c.state), nil)
	}
	if b.Empty() {
		_ = b.Close()
		s.consumers[name] = c
		return c, nil, nil
	}
	pending, err := s.p.apply(b, !s.bulk.Load())
	if err != nil {
		return nil, nil, err
	}
	if !exists {
		s.nConsumers++
	}
	s.consumers[name] = c
	return c, pending, nil
}

// Consumers implements store.ConsumerStores. Open consumers write through,
// so the stored state is current.
func (s *stream) Consumers(context.Context) (out []store.ConsumerInfo, err error) {
	err = s.read(func(v *view) error {
		out, err = v.consumers()
		return err
	})
	return out, err
}

func (v *view) consumers() ([]store.ConsumerInfo, error) {
	names, err := consumerNames(v.r, v.id)
	if err != nil {
		return nil, err
	}
	out := make([]store.ConsumerInfo, 0, len(names))
	for _, name := range names {
		meta, cs, _, err := loadConsumer(v.r, v.id, name)
		if err != nil {
			return nil, err
		}
		out = append(out, store.ConsumerInfo{Name: name, Meta: meta, State: cs})
	}
	return out, nil
}

// DeleteConsumer implements store.ConsumerStores.
func (s *stream) DeleteConsumer(_ context.Context, name string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	pending, err := s.deleteConsumer(name)
	s.mu.Unlock()
	if werr := s.p.wait(pending); err == nil {
		err = werr
	}
	return err
}

// deleteConsumer removes consumer name with one range deletion; the caller
// holds s.mu.
func (s *stream) deleteConsumer(name string) (*pebble.Batch, error) {
	_, ok, err := get(s.p.db, consKey(nil, s.id, name, ckMeta))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: consumer %s", store.ErrNotFound, name)
	}
	if c := s.consumers[name]; c != nil {
		c.shut()
		delete(s.consumers, name)
	}
	pfx := consPrefix(nil, s.id, name)
	b := s.p.db.NewBatch()
	_ = b.DeleteRange(pfx, prefixEnd(pfx), nil)
	pending, err := s.p.apply(b, !s.bulk.Load())
	if err == nil {
		s.nConsumers--
	}
	return pending, err
}

// shut closes c; the caller holds the stream's lock.
func (c *consumer) shut() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

func (c *consumer) errClosed() error {
	return fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
}

// update runs fn on the state under c.mu, writes the head and the keys of
// the stream sequences fn names, and waits for the sync after unlocking.
func (c *consumer) update(fn func(cs *store.ConsumerState, b *pebble.Batch) ([]uint64, error)) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.errClosed()
	}
	s := c.s
	b := s.p.db.NewBatch()
	touched, err := fn(&c.state, b)
	if err != nil {
		_ = b.Close()
		c.mu.Unlock()
		return err
	}
	_ = b.Set(consKey(nil, s.id, c.name, ckHead), appendHead(nil, &c.state), nil)
	for _, sseq := range touched {
		pk := consSeqKey(nil, s.id, c.name, ckPending, sseq)
		if p, ok := c.state.Pending[sseq]; ok {
			v := binary.AppendUvarint(nil, p.Sequence)
			_ = b.Set(pk, binary.AppendVarint(v, p.Timestamp), nil)
		} else {
			_ = b.Delete(pk, nil)
		}
		rk := consSeqKey(nil, s.id, c.name, ckRedeliv, sseq)
		if n, ok := c.state.Redelivered[sseq]; ok {
			_ = b.Set(rk, binary.AppendUvarint(nil, n), nil)
		} else {
			_ = b.Delete(rk, nil)
		}
	}
	pending, err := s.p.apply(b, !s.bulk.Load())
	if err != nil {
		// The memory state is ahead of the stored one: make the caller
		// reopen, which reloads what is stored.
		c.closed = true
	}
	c.mu.Unlock()
	if werr := s.p.wait(pending); err == nil {
		err = werr
	}
	return err
}

// UpdateDelivered implements store.ConsumerStore.
func (c *consumer) UpdateDelivered(_ context.Context, dseq, sseq, dc uint64, ts int64) error {
	return c.update(func(cs *store.ConsumerState, _ *pebble.Batch) ([]uint64, error) {
		return []uint64{sseq}, cs.ApplyDelivered(dseq, sseq, dc, ts)
	})
}

// UpdateAcks implements store.ConsumerStore.
func (c *consumer) UpdateAcks(_ context.Context, dseq, sseq uint64) error {
	return c.update(func(cs *store.ConsumerState, _ *pebble.Batch) ([]uint64, error) {
		return []uint64{sseq}, cs.ApplyAcks(dseq, sseq)
	})
}

// Update implements store.ConsumerStore.
func (c *consumer) Update(_ context.Context, state store.ConsumerState) error {
	if err := state.Validate(); err != nil {
		return err
	}
	return c.update(func(cs *store.ConsumerState, b *pebble.Batch) ([]uint64, error) {
		for _, kind := range []byte{ckPending, ckRedeliv} {
			pfx := consKey(nil, c.s.id, c.name, kind)
			_ = b.DeleteRange(pfx, prefixEnd(pfx), nil)
		}
		*cs = state.Clone()
		touched := make([]uint64, 0, len(cs.Pending)+len(cs.Redelivered))
		for sseq := range cs.Pending {
			touched = append(touched, sseq)
		}
		for sseq := range cs.Redelivered {
			if _, dup := cs.Pending[sseq]; !dup {
				touched = append(touched, sseq)
			}
		}
		return touched, nil
	})
}

// State implements store.ConsumerStore.
func (c *consumer) State(context.Context) (store.ConsumerState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.ConsumerState{}, c.errClosed()
	}
	return c.state.Clone(), nil
}

// SetMeta implements store.ConsumerStore.
func (c *consumer) SetMeta(_ context.Context, meta []byte) error {
	meta = append([]byte{}, meta...)
	return c.update(func(_ *store.ConsumerState, b *pebble.Batch) ([]uint64, error) {
		_ = b.Set(consKey(nil, c.s.id, c.name, ckMeta), meta, nil)
		c.meta = meta
		return nil, nil
	})
}

// Meta implements store.ConsumerStore.
func (c *consumer) Meta(context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, c.errClosed()
	}
	return c.meta, nil
}

// Close implements store.ConsumerStore: the state is already stored.
func (c *consumer) Close(context.Context) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.errClosed()
	}
	c.closed = true
	if s.consumers[c.name] == c {
		delete(s.consumers, c.name)
	}
	return nil
}

// Delete implements store.ConsumerStore.
func (c *consumer) Delete(context.Context) error {
	s := c.s
	s.mu.Lock()
	if s.closed || s.consumers[c.name] != c {
		s.mu.Unlock()
		return c.errClosed()
	}
	pending, err := s.deleteConsumer(c.name)
	s.mu.Unlock()
	if werr := s.p.wait(pending); err == nil {
		err = werr
	}
	return err
}
