package store

import (
	"errors"
	"fmt"
)

// ErrorKind classifies a store error so it can cross a process boundary and
// come back as the same sentinel. The values match the ErrorKind enum of
// hangar.store.v1 and are frozen.
type ErrorKind int32

// Error kinds. KindUnknown is any error that is not one of the sentinels.
const (
	KindUnknown ErrorKind = iota
	KindNotFound
	KindDeleted
	KindSequenceMismatch
	KindMaxMsgs
	KindMaxBytes
	KindMaxMsgsPerSubject
	KindMaxMsgSize
	KindClosed
	KindCorrupt
	KindInvalid
	KindTooManyResults
	KindEOF
	KindExists
	KindUnsupported
	KindUnavailable
)

// The sentinels. Backends wrap them with %w and may add detail after a colon,
// e.g. fmt.Errorf("%w: seq %d", store.ErrDeleted, seq); callers test with
// errors.Is.
var (
	// ErrNotFound means there is no such message, subject, stream or consumer.
	// For a sequence it means the sequence is below the stream's first.
	ErrNotFound = errors.New("store: not found")
	// ErrDeleted means the sequence lies inside the stream's range but its
	// message was removed or skipped.
	ErrDeleted = errors.New("store: message deleted")
	// ErrSequenceMismatch means a raw store or skip named a sequence other
	// than the next one.
	ErrSequenceMismatch = errors.New("store: sequence mismatch")
	// ErrMaxMsgs means discard new rejected a message at max_msgs.
	ErrMaxMsgs = errors.New("store: maximum messages exceeded")
	// ErrMaxBytes means discard new rejected a message at max_bytes.
	ErrMaxBytes = errors.New("store: maximum bytes exceeded")
	// ErrMaxMsgsPerSubject means discard new per subject rejected a message
	// at max_msgs_per_subject.
	ErrMaxMsgsPerSubject = errors.New("store: maximum messages per subject exceeded")
	// ErrMaxMsgSize means a message's header plus data exceeds max_msg_size.
	ErrMaxMsgSize = errors.New("store: message size exceeds maximum")
	// ErrClosed means the store or provider was closed or deleted.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt means stored or snapshot data failed a checksum or could not
	// be decoded.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrInvalid means an argument or configuration is not acceptable.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrTooManyResults means a multi-subject query matched more than allowed.
	ErrTooManyResults = errors.New("store: too many results")
	// ErrEOF means no message lies beyond the point where a read started:
	// past the last sequence going forward, or before the first going back.
	ErrEOF = errors.New("store: end of stream")
	// ErrExists means a stream that should be new already exists.
	ErrExists = errors.New("store: already exists")
	// ErrUnsupported means the backend does not offer the requested feature.
	ErrUnsupported = errors.New("store: unsupported")
	// ErrUnavailable means the backend cannot be reached for now (an
	// out-of-process store whose process is down or restarting). Unlike
	// ErrClosed the handle stays valid: the same call may succeed later, so
	// the runtime answers with a temporary (503-class) error and keeps the
	// stream.
	ErrUnavailable = errors.New("store: unavailable")
)

var kindErrs = [...]error{
	KindNotFound:          ErrNotFound,
	KindDeleted:           ErrDeleted,
	KindSequenceMismatch:  ErrSequenceMismatch,
	KindMaxMsgs:           ErrMaxMsgs,
	KindMaxBytes:          ErrMaxBytes,
	KindMaxMsgsPerSubject: ErrMaxMsgsPerSubject,
	KindMaxMsgSize:        ErrMaxMsgSize,
	KindClosed:            ErrClosed,
	KindCorrupt:           ErrCorrupt,
	KindInvalid:           ErrInvalid,
	KindTooManyResults:    ErrTooManyResults,
	KindEOF:               ErrEOF,
	KindExists:            ErrExists,
	KindUnsupported:       ErrUnsupported,
	KindUnavailable:       ErrUnavailable,
}

// Kinds lists every error kind except KindUnknown, in enum order.
func Kinds() []ErrorKind {
	ks := make([]ErrorKind, 0, len(kindErrs)-1)
	for k := KindNotFound; int(k) < len(kindErrs); k++ {
		ks = append(ks, k)
	}
	return ks
}

// Sentinel returns the sentinel error of k, or nil for KindUnknown and
// unknown values.
func (k ErrorKind) Sentinel() error {
	if k <= KindUnknown || int(k) >= len(kindErrs) {
		return nil
	}
	return kindErrs[k]
}

// String returns the Go name of the kind without its prefix, e.g. "NotFound".
func (k ErrorKind) String() string {
	names := [...]string{"Unknown", "NotFound", "Deleted", "SequenceMismatch",
		"MaxMsgs", "MaxBytes", "MaxMsgsPerSubject", "MaxMsgSize", "Closed",
		"Corrupt", "Invalid", "TooManyResults", "EOF", "Exists", "Unsupported",
		"Unavailable"}
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("ErrorKind(%d)", int32(k))
	}
	return names[k]
}

// KindOf returns the kind of the first sentinel err wraps, or KindUnknown.
func KindOf(err error) ErrorKind {
	if err == nil {
		return KindUnknown
	}
	for k := KindNotFound; int(k) < len(kindErrs); k++ {
		if errors.Is(err, kindErrs[k]) {
			return k
		}
	}
	return KindUnknown
}

// remoteError is an error rebuilt from a kind and its text, so the text
// survives the trip while errors.Is still finds the sentinel.
type remoteError struct {
	kind ErrorKind
	text string
}

func (e *remoteError) Error() string { return e.text }
func (e *remoteError) Unwrap() error { return e.kind.Sentinel() }

// ErrorFromKind rebuilds an error received from another process: its text is
// text and errors.Is matches the sentinel of kind. It returns nil when kind
// is KindUnknown and text is empty.
func ErrorFromKind(kind ErrorKind, text string) error {
	if kind == KindUnknown && text == "" {
		return nil
	}
	if text == "" {
		if s := kind.Sentinel(); s != nil {
			return s
		}
	}
	return &remoteError{kind: kind, text: text}
}

// IsMissing reports whether err says a message is absent for any reason:
// ErrNotFound, ErrDeleted or ErrEOF. A JetStream "no message found" reply
// covers all three.
func IsMissing(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted) || errors.Is(err, ErrEOF)
}

// IsLimit reports whether err is a discard-new or size rejection: ErrMaxMsgs,
// ErrMaxBytes, ErrMaxMsgsPerSubject or ErrMaxMsgSize.
func IsLimit(err error) bool {
	return errors.Is(err, ErrMaxMsgs) || errors.Is(err, ErrMaxBytes) ||
		errors.Is(err, ErrMaxMsgsPerSubject) || errors.Is(err, ErrMaxMsgSize)
}
