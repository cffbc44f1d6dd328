package store

import (
	"context"
	"io"
)

// Conventions for every interface in this file:
//
//   - Concurrency: every method is safe for concurrent use. Writes to one
//     stream are applied in some serial order; a read sees a state that some
//     prefix of that order produced.
//   - Ownership: a backend copies what it keeps from the byte slices it is
//     given before returning. Byte slices it returns (Msg.Header, Msg.Data,
//     StreamConfig.Meta...) may alias its internal memory: callers treat them
//     as read-only and must not keep them past the message's removal if they
//     need the bytes to stay valid (copy them instead).
//   - Errors: failures wrap the sentinels of errors.go with %w. After Close or
//     Delete every method returns ErrClosed.
//   - ctx: a backend may ignore ctx for in-memory work but honours
//     cancellation for I/O and remote calls.

// Provider is a storage backend: it creates, opens, lists and deletes the
// stores of streams, keyed by (account, name).
type Provider interface {
	// Describe returns the backend's identity and capabilities.
	Describe(ctx context.Context) (ProviderDescription, error)
	// Open creates the stream of cfg, or opens it when it exists, and then
	// applies cfg as UpdateConfig would. A stream is open at most once per
	// provider: opening an open stream is ErrExists.
	Open(ctx context.Context, cfg StreamConfig) (StreamStore, error)
	// Restore creates a stream from a snapshot written by Snapshot (by any
	// backend). cfg names the new stream; its limits apply after the
	// snapshot's messages are stored. An existing stream is ErrExists; a
	// damaged snapshot is ErrCorrupt and leaves no stream behind.
	Restore(ctx context.Context, cfg StreamConfig, r io.Reader) (StreamStore, error)
	// Delete removes a stream, open or not, with its consumers. A missing
	// stream is ErrNotFound.
	Delete(ctx context.Context, account, name string) error
	// List returns the configuration of every stream the provider holds,
	// open or not, so the runtime can reopen them at start.
	List(ctx context.Context) ([]StreamConfig, error)
	// Close closes every open stream and releases the provider.
	Close(ctx context.Context) error
}

// StreamStore is the store of one stream.
type StreamStore interface {
	Writer
	Reader
	Stater
	Snapshotter
	ConsumerStores
	// Config returns the stream's current configuration.
	Config(ctx context.Context) (StreamConfig, error)
	// Close flushes and closes the store; the stream stays in the provider.
	Close(ctx context.Context) error
	// Delete removes the stream, its messages and consumers, and closes it.
	Delete(ctx context.Context) error
}

// Writer changes a stream.
//
// Durability: a call that changes the stream returns only when the change is
// durable under the provider's sync policy; concurrent calls may share one
// sync (group commit).
//
// Limits: after every append the store applies the discard-old limits
// (max_msgs, max_bytes, max_msgs_per_subject), removing the oldest messages
// (per subject for the per-subject limit). Under discard new, Store and
// StoreBatch reject a message that would break max_msgs or max_bytes
// (ErrMaxMsgs, ErrMaxBytes), and with DiscardNewPerSubject one that would
// break max_msgs_per_subject (ErrMaxMsgsPerSubject), before anything is
// written. Max age and TTL are applied only by Expire.
type Writer interface {
	// Store appends one message and returns its sequence and time (Unix
	// ns, the wall clock). ttl is in seconds (see NewMsg). Errors:
	// ErrMaxMsgSize, the discard-new errors, ErrInvalid for a bad subject
	// or a TTL on a stream without AllowMsgTTL.
	Store(ctx context.Context, subject string, hdr, data []byte, ttl int64) (seq uint64, ts int64, err error)
	// StoreBatch appends msgs in order, as one durable write. A message a
	// limit or validation rejects gets the error in its StoreResult and no
	// sequence; the others are stored. Any other failure stops the batch:
	// the error is returned with the results of the messages before it.
	StoreBatch(ctx context.Context, msgs []NewMsg) ([]StoreResult, error)
	// StoreRaw stores m at m.Seq with m.Time (now when 0), for replication
	// and restore. m.Seq must be the next sequence (0 means next), else
	// ErrSequenceMismatch. Discard-old limits apply; discard-new checks and
	// max_msg_size do not, the writer having decided already.
	StoreRaw(ctx context.Context, m Msg) error
	// Skip uses up sequence seq without storing a message and returns it.
	// seq must be the next sequence (0 means next), else
	// ErrSequenceMismatch. LastTime becomes now.
	Skip(ctx context.Context, seq uint64) (uint64, error)
	// SkipMsgs uses up n sequences starting at seq, which must be the next
	// one, else ErrSequenceMismatch.
	SkipMsgs(ctx context.Context, seq, n uint64) error
	// Remove deletes one message. A sequence without a message returns the
	// error Load would.
	Remove(ctx context.Context, seq uint64) error
	// Erase deletes one message and, when Capabilities.SecureErase, also
	// overwrites its bytes on the medium.
	Erase(ctx context.Context, seq uint64) error
	// Purge removes the messages req selects and returns how many. Sequences
	// never go back: purging everything leaves FirstSeq = LastSeq+1.
	Purge(ctx context.Context, req PurgeRequest) (purged uint64, err error)
	// Compact removes every message below seq and returns how many. When seq
	// is beyond LastSeq+1 the stream becomes empty with FirstSeq = seq.
	Compact(ctx context.Context, seq uint64) (purged uint64, err error)
	// Truncate removes every message above seq and sets LastSeq to seq
	// (raft rollback). seq at or above LastSeq is a no-op; seq 0 empties the
	// stream back to the state of a new stream.
	Truncate(ctx context.Context, seq uint64) error
	// UpdateConfig replaces the configuration (not Account or Name, else
	// ErrInvalid) and applies lowered discard-old limits at once.
	UpdateConfig(ctx context.Context, cfg StreamConfig) error
	// Expire removes every message expired at now (Unix ns): a message with
	// TTL > 0 at Time+TTL, one with TTL 0 at Time+MaxAge when MaxAge > 0,
	// one with TTLNever never. The store runs no timer of its own; see
	// Expirer. Age expiry may stop at the first unexpired message without
	// TTL, so it assumes such messages are stored in time order.
	Expire(ctx context.Context, now int64) (ExpireResult, error)
	// Sync makes every completed write durable, whatever the sync policy.
	Sync(ctx context.Context) error
}

// Reader loads messages. Filters are NATS subjects, wildcards allowed; an
// empty filter list matches every message.
//
// A sequence without a message gives ErrNotFound below FirstSeq, ErrDeleted
// between FirstSeq and LastSeq, and ErrEOF above LastSeq.
type Reader interface {
	// Load returns the message at seq.
	Load(ctx context.Context, seq uint64) (Msg, error)
	// LoadNext returns the first message at or after start that matches any
	// of filters, or ErrEOF. It is the consumer's building block.
	LoadNext(ctx context.Context, filters []string, start uint64) (Msg, error)
	// LoadLast returns the newest message matching subject (wildcards
	// allowed, empty for any), or ErrNotFound.
	LoadLast(ctx context.Context, subject string) (Msg, error)
	// LoadPrev returns the last message at or before start that matches any
	// of filters, or ErrEOF.
	LoadPrev(ctx context.Context, filters []string, start uint64) (Msg, error)
	// LoadRange returns, in order, the matching messages of req, stopping at
	// req.MaxMsgs or req.MaxBytes. No match is ErrEOF.
	LoadRange(ctx context.Context, req RangeRequest) ([]Msg, error)
	// SeqFromTime returns the first sequence stored at or after ts (Unix
	// ns), or LastSeq+1 when there is none.
	SeqFromTime(ctx context.Context, ts int64) (uint64, error)
	// SubjectForSeq returns the subject of the message at seq, with Load's
	// errors.
	SubjectForSeq(ctx context.Context, seq uint64) (string, error)
}

// Stater reports on a stream. Filters as in Reader; a single filter string
// that is empty matches all.
type Stater interface {
	// State returns the full state, with the deleted ranges.
	State(ctx context.Context) (StreamState, error)
	// FastState returns the state without the deleted ranges, cheaply.
	FastState(ctx context.Context) (StreamState, error)
	// FilteredState counts the messages at or after start matching filter.
	FilteredState(ctx context.Context, start uint64, filter string) (SimpleState, error)
	// SubjectsState returns per-subject state for subjects matching filter.
	SubjectsState(ctx context.Context, filter string) (map[string]SimpleState, error)
	// SubjectsTotals returns per-subject message counts for subjects matching
	// filter.
	SubjectsTotals(ctx context.Context, filter string) (map[string]uint64, error)
	// NumPending counts the messages at or after start matching any of
	// filters; with lastPerSubject it counts the matching subjects whose last
	// message is at or after start. validThrough is the LastSeq the count is
	// valid through.
	NumPending(ctx context.Context, start uint64, filters []string, lastPerSubject bool) (pending, validThrough uint64, err error)
	// MultiLastSeqs returns, ascending, the last sequence at or below maxSeq
	// (0 for LastSeq) of every subject matching any of filters. More than
	// maxAllowed results (when > 0) is ErrTooManyResults.
	MultiLastSeqs(ctx context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error)
}

// Snapshotter writes a backend-neutral snapshot (see core/store/snapfmt).
type Snapshotter interface {
	// Snapshot writes the stream to w in the snapfmt format: the
	// configuration, the messages up to the LastSeq at the call's start, the
	// deleted ranges and, unless opts.NoConsumers, the consumer states. It
	// does not block writers for its whole duration.
	Snapshot(ctx context.Context, w io.Writer, opts SnapshotOptions) error
}

// ConsumerStores keeps the durable state of a stream's consumers.
type ConsumerStores interface {
	// OpenConsumer creates or opens the consumer store name. meta is the
	// runtime's consumer configuration: when not nil it replaces the stored
	// one. A consumer store is open at most once: opening an open one is
	// ErrExists.
	OpenConsumer(ctx context.Context, name string, meta []byte) (ConsumerStore, error)
	// Consumers lists every consumer of the stream, open or not, sorted by
	// name, with its meta and a copy of its state.
	Consumers(ctx context.Context) ([]ConsumerInfo, error)
	// DeleteConsumer removes a consumer store; a missing one is ErrNotFound.
	DeleteConsumer(ctx context.Context, name string) error
}
