package jetstream

import (
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
)

// opKind names a stream state change. The values are append-only: a
// cluster will carry them in its log.
type opKind uint8

const (
	opPublish opKind = iota + 1
	opPurge
	opDeleteMsg
	opUpdateConfig
	opExpire
	opStoreRaw
	opSkip
	opRemoveSeqs
	// opBarrier changes nothing; its completion tells the proposer that
	// everything queued before it has been applied.
	opBarrier
	// opBatchTimeout abandons an idle atomic batch.
	opBatchTimeout
)

// streamOp is one change to a stream, applied in order by the stream's
// executor. Apply is deterministic given the op: the executor reads no
// clock for it (an op that needs "now" carries it).
type streamOp struct {
	kind  opKind
	msg   *inMsg
	purge store.PurgeRequest
	seq   uint64
	seqs  []uint64
	erase bool
	cfg   *jsapi.StreamConfig
	now   int64
	raw   *store.Msg
	batch string
	// done receives the op's result when it is not a publish (publishes
	// answer their reply subject instead).
	done chan opResult
}

type opResult struct {
	n   uint64
	err error
}

// Replicator is the replication seam of DESIGN.md: every change to a
// stream goes through Propose. On a single server (and for R1 streams in a
// cluster) the local replicator hands the op straight to the stream's
// executor; a cluster replicator would propose it to the stream's RAFT
// group and hand it to the executor once committed.
type Replicator interface {
	Propose(s *Stream, op *streamOp) error
}

type localReplicator struct{}

// Propose implements Replicator by applying directly.
func (localReplicator) Propose(s *Stream, op *streamOp) error { return s.enqueue(op) }

// propose sends op through the replicator and, for ops with a result,
// waits for it.
func (s *Stream) propose(op *streamOp) (uint64, error) {
	if op.kind != opPublish && op.done == nil {
		op.done = make(chan opResult, 1)
	}
	if err := s.rt.repl.Propose(s, op); err != nil {
		return 0, err
	}
	if op.done == nil {
		return 0, nil
	}
	select {
	case r := <-op.done:
		return r.n, r.err
	case <-s.rt.ctx.Done():
		return 0, errShutdown
	}
}
