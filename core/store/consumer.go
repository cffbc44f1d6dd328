package store

import (
	"context"
	"fmt"
	"maps"
)

// ConsumerStore keeps one consumer's durable state. The store does not know
// the consumer's policies: the runtime decides what to record (an ack-none
// consumer, say, would move its ack floor with Update). The update rules are
// those of ConsumerState.ApplyDelivered and ApplyAcks, which backends call so
// that every backend behaves the same.
type ConsumerStore interface {
	// UpdateDelivered records delivery number dc (1 for the first) of stream
	// sequence sseq as consumer sequence dseq at ts (Unix ns).
	UpdateDelivered(ctx context.Context, dseq, sseq, dc uint64, ts int64) error
	// UpdateAcks records the ack of stream sequence sseq delivered as dseq.
	UpdateAcks(ctx context.Context, dseq, sseq uint64) error
	// Update replaces the whole state (recovery, replication, reset).
	Update(ctx context.Context, state ConsumerState) error
	// State returns a copy of the state.
	State(ctx context.Context) (ConsumerState, error)
	// SetMeta replaces the consumer's opaque configuration bytes.
	SetMeta(ctx context.Context, meta []byte) error
	// Meta returns the consumer's configuration bytes.
	Meta(ctx context.Context) ([]byte, error)
	// Delete removes the consumer store and closes it.
	Delete(ctx context.Context) error
	// Close flushes and closes the consumer store; its state stays.
	Close(ctx context.Context) error
}

// ConsumerInfo is one consumer of a stream, as Consumers lists it: enough
// to recover it at start and to snapshot it while it is open.
type ConsumerInfo struct {
	Name  string
	Meta  []byte
	State ConsumerState
}

// SeqPair is a consumer sequence with the stream sequence it delivered.
type SeqPair struct {
	Consumer uint64
	Stream   uint64
}

// Pending is an unacknowledged delivery: the consumer sequence of its latest
// delivery and when that was (Unix ns).
type Pending struct {
	Sequence  uint64
	Timestamp int64
}

// ConsumerState is a consumer's durable state.
type ConsumerState struct {
	// Delivered is the highest delivery so far.
	Delivered SeqPair
	// AckFloor is the highest point below which everything is acked.
	AckFloor SeqPair
	// Pending maps stream sequence to its unacked delivery.
	Pending map[uint64]Pending
	// Redelivered maps stream sequence to its number of redeliveries.
	Redelivered map[uint64]uint64
}

// Clone returns a deep copy of cs.
func (cs *ConsumerState) Clone() ConsumerState {
	out := *cs
	out.Pending = maps.Clone(cs.Pending)
	out.Redelivered = maps.Clone(cs.Redelivered)
	return out
}

// Validate reports ErrInvalid when the ack floor is above what was delivered
// or a pending sequence is at or below the ack floor.
func (cs *ConsumerState) Validate() error {
	if cs.AckFloor.Stream > cs.Delivered.Stream || cs.AckFloor.Consumer > cs.Delivered.Consumer {
		return fmt.Errorf("%w: ack floor %+v above delivered %+v", ErrInvalid, cs.AckFloor, cs.Delivered)
	}
	for sseq := range cs.Pending {
		if sseq <= cs.AckFloor.Stream {
			return fmt.Errorf("%w: pending %d at or below ack floor %d", ErrInvalid, sseq, cs.AckFloor.Stream)
		}
	}
	return nil
}

// ApplyDelivered applies the UpdateDelivered rule: Delivered moves up to
// (dseq, sseq); sseq becomes pending as dseq at ts; a redelivery (dc > 1)
// sets its redelivery count to dc-1. Zero sequences or dc are ErrInvalid.
func (cs *ConsumerState) ApplyDelivered(dseq, sseq, dc uint64, ts int64) error {
	if dseq == 0 || sseq == 0 || dc == 0 {
		return fmt.Errorf("%w: delivered dseq=%d sseq=%d dc=%d", ErrInvalid, dseq, sseq, dc)
	}
	if dseq > cs.Delivered.Consumer {
		cs.Delivered.Consumer = dseq
	}
	if sseq > cs.Delivered.Stream {
		cs.Delivered.Stream = sseq
	}
	if sseq <= cs.AckFloor.Stream {
		// Already acked: a late redelivery record changes nothing else.
		return nil
	}
	if cs.Pending == nil {
		cs.Pending = make(map[uint64]Pending)
	}
	cs.Pending[sseq] = Pending{Sequence: dseq, Timestamp: ts}
	if dc > 1 {
		if cs.Redelivered == nil {
			cs.Redelivered = make(map[uint64]uint64)
		}
		cs.Redelivered[sseq] = dc - 1
	} else {
		delete(cs.Redelivered, sseq)
	}
	return nil
}

// ApplyAcks applies the UpdateAcks rule: sseq leaves Pending and
// Redelivered, and the ack floor rises to just below the oldest pending
// delivery (to Delivered when nothing is pending). Acking at or below the
// floor is a no-op; beyond Delivered is ErrInvalid.
func (cs *ConsumerState) ApplyAcks(dseq, sseq uint64) error {
	if sseq > cs.Delivered.Stream || dseq > cs.Delivered.Consumer {
		return fmt.Errorf("%w: ack %d/%d beyond delivered %+v", ErrInvalid, dseq, sseq, cs.Delivered)
	}
	if sseq <= cs.AckFloor.Stream {
		return nil
	}
	delete(cs.Pending, sseq)
	delete(cs.Redelivered, sseq)
	if len(cs.Pending) == 0 {
		cs.AckFloor = cs.Delivered
		return nil
	}
	// The floor rises to just below the oldest pending. Acks mostly arrive
	// in order, so the oldest is found by probing the sequences just above
	// the floor rather than walking the whole map; the walk remains for
	// when the range to probe is larger than the map.
	if sseq-cs.AckFloor.Stream-1 <= uint64(len(cs.Pending)) {
		for s := cs.AckFloor.Stream + 1; s < sseq; s++ {
			if p, older := cs.Pending[s]; older {
				cs.raiseFloor(s, p)
				return nil
			}
		}
		for s := sseq + 1; s <= cs.Delivered.Stream && s-sseq <= uint64(len(cs.Pending))+1; s++ {
			if p, ok := cs.Pending[s]; ok {
				cs.raiseFloor(s, p)
				return nil
			}
		}
	}
	var low uint64
	for s := range cs.Pending {
		if low == 0 || s < low {
			low = s
		}
	}
	cs.raiseFloor(low, cs.Pending[low])
	return nil
}

// raiseFloor sets the ack floor just below the oldest pending delivery.
func (cs *ConsumerState) raiseFloor(low uint64, p Pending) {
	floor := SeqPair{Stream: low - 1, Consumer: p.Sequence - 1}
	if floor.Stream > cs.AckFloor.Stream {
		cs.AckFloor.Stream = floor.Stream
	}
	if floor.Consumer > cs.AckFloor.Consumer {
		cs.AckFloor.Consumer = floor.Consumer
	}
}
