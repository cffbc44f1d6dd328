package store

import "time"

// StorageType is the storage a stream asked for. It decides the byte
// accounting (see MsgSize), not which backend holds the stream.
type StorageType int32

// Storage types, numbered as in hangar.store.v1.
const (
	FileStorage   StorageType = 0
	MemoryStorage StorageType = 1
)

// String returns "file" or "memory", the JetStream JSON spelling.
func (t StorageType) String() string {
	if t == MemoryStorage {
		return "memory"
	}
	return "file"
}

// DiscardPolicy says what a full stream does with a new message.
type DiscardPolicy int32

// Discard policies, numbered as in hangar.store.v1.
const (
	// DiscardOld removes the oldest messages to make room.
	DiscardOld DiscardPolicy = 0
	// DiscardNew rejects the new message.
	DiscardNew DiscardPolicy = 1
)

// Compression is the at-rest compression a stream asked for. Backends that
// do not compress may ignore it.
type Compression int32

// Compression algorithms, numbered as in hangar.store.v1.
const (
	NoCompression Compression = 0
	S2Compression Compression = 1
)

// TTLNever is the per-message TTL meaning "never expires", not even by the
// stream's max age.
const TTLNever int64 = -1

// StreamConfig is what a store needs to know about a stream. Limits of zero
// or less are unlimited.
type StreamConfig struct {
	// Account and Name identify the stream within the provider.
	Account string
	Name    string
	// Storage decides byte accounting; see MsgSize.
	Storage StorageType
	// MaxMsgs, MaxBytes and MaxMsgsPerSubject are the retention limits.
	MaxMsgs           int64
	MaxBytes          int64
	MaxMsgsPerSubject int64
	// MaxAge is the age past which Expire removes a message without TTL.
	MaxAge time.Duration
	// MaxMsgSize caps len(header)+len(data) of one message.
	MaxMsgSize int32
	// Discard is the policy at MaxMsgs and MaxBytes.
	Discard DiscardPolicy
	// DiscardNewPerSubject rejects a message on a subject already at
	// MaxMsgsPerSubject instead of removing that subject's oldest. It needs
	// Discard == DiscardNew.
	DiscardNewPerSubject bool
	// FirstSeq is the sequence the first message gets; 0 means 1.
	FirstSeq uint64
	// AllowMsgTTL permits a per-message TTL; without it a non-zero TTL is
	// ErrInvalid.
	AllowMsgTTL bool
	// Compression is the requested at-rest compression.
	Compression Compression
	// Meta is opaque to the store: the runtime's full stream configuration.
	// It is persisted with the stream and returned by Provider.List.
	Meta []byte
}

// NewMsg is a message to append: the store assigns its sequence and time.
type NewMsg struct {
	Subject string
	Header  []byte
	Data    []byte
	// TTL is in seconds: 0 none (max age applies), TTLNever, or > 0.
	TTL int64
}

// Msg is a stored message.
type Msg struct {
	Subject string
	Header  []byte
	Data    []byte
	Seq     uint64
	// Time is when it was stored, in Unix nanoseconds.
	Time int64
	// TTL is the per-message TTL in seconds (0 none, TTLNever, or > 0).
	TTL int64
}

// StoreResult is the outcome of one message of a StoreBatch.
type StoreResult struct {
	Seq  uint64
	Time int64
	// Err is set when this message was rejected (a limit or ErrInvalid);
	// Seq and Time are then zero.
	Err error
}

// PurgeRequest selects what Purge removes: the messages that match Subject
// (all when empty or ">"), have a sequence below Seq (any when 0), and are not
// among the Keep newest matching messages (none kept when 0). The conditions
// combine with AND.
type PurgeRequest struct {
	Subject string
	Seq     uint64
	Keep    uint64
}

// RangeRequest selects a batch for LoadRange.
type RangeRequest struct {
	// Start is the first sequence to consider.
	Start uint64
	// End is the last sequence to consider; 0 means the stream's last.
	End uint64
	// Filters select subjects (wildcards allowed); empty matches all.
	Filters []string
	// MaxMsgs caps the number of messages; 0 means no cap.
	MaxMsgs int
	// MaxBytes caps the sum of len(Header)+len(Data); 0 means no cap. The
	// first message is returned even when it alone is larger, so the caller
	// always makes progress.
	MaxBytes int
}

// ExpireResult reports what Expire removed.
type ExpireResult struct {
	// Msgs and Bytes are the messages removed and their accounted bytes.
	Msgs  uint64
	Bytes uint64
	// Emptied lists, sorted, the subjects left with no message after Expire
	// removed at least one of their messages because of the stream's max age
	// (not a per-message TTL). The runtime writes subject delete markers for
	// them.
	Emptied []string
	// Next is when the earliest remaining message expires, in Unix
	// nanoseconds, or 0 when none can expire.
	Next int64
}

// Range is an inclusive range of sequences.
type Range struct {
	First, Last uint64
}

// Len returns the number of sequences in r.
func (r Range) Len() uint64 { return r.Last - r.First + 1 }

// LostData reports messages a backend could not recover.
type LostData struct {
	Msgs  []uint64
	Bytes uint64
}

// StreamState summarises a stream.
//
// A stream that never held a message reports FirstSeq 0 and LastSeq 0, or,
// with a configured FirstSeq N, FirstSeq N and LastSeq N-1. Once it has held
// messages, an empty stream reports FirstSeq = LastSeq+1: sequences never go
// back.
type StreamState struct {
	Msgs      uint64
	Bytes     uint64
	FirstSeq  uint64
	FirstTime int64
	LastSeq   uint64
	LastTime  int64
	// NumSubjects counts subjects with at least one message.
	NumSubjects uint64
	// NumDeleted counts sequences between FirstSeq and LastSeq without a
	// message.
	NumDeleted uint64
	// Deleted lists those sequences as ascending ranges. Only State fills
	// it; FastState leaves it nil.
	Deleted []Range
	// Lost is data a backend lost in recovery (nil when none).
	Lost *LostData
	// Consumers counts the consumer stores of the stream.
	Consumers int
}

// DeletedSeqs expands Deleted into single sequences.
func (s *StreamState) DeletedSeqs() []uint64 {
	var out []uint64
	for _, r := range s.Deleted {
		for q := r.First; q <= r.Last && q >= r.First; q++ {
			out = append(out, q)
		}
	}
	return out
}

// SimpleState counts the messages matching a filter.
type SimpleState struct {
	Msgs  uint64
	First uint64
	Last  uint64
}

// SnapshotOptions tunes Snapshot.
type SnapshotOptions struct {
	// NoConsumers leaves consumer states out.
	NoConsumers bool
	// ChunkSize is the target uncompressed size of one message frame; 0
	// means the format's default.
	ChunkSize int
}

// Capabilities says what a backend offers.
type Capabilities struct {
	// Persistent means data survives closing and reopening the provider on
	// the same directory.
	Persistent bool
	// SecureErase means Erase overwrites the message's bytes on the medium.
	SecureErase bool
	// Encryption means data is encrypted at rest.
	Encryption bool
	// Compression means Compression in StreamConfig is honoured.
	Compression bool
}

// ProviderDescription identifies a backend.
type ProviderDescription struct {
	ID           string
	Version      string
	Capabilities Capabilities
}
