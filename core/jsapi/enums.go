package jsapi

import (
	"encoding/json"
	"fmt"
)

// enumJSON marshals an enum through its string table and rejects unknown
// strings the way the reference does (the error becomes 10025 invalid JSON).
func enumUnmarshal(data []byte, kind string, names []string) (int, error) {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return 0, err
	}
	for i, n := range names {
		if n == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("can not unmarshal %q", string(data))
}

func enumMarshal(v int, names []string) ([]byte, error) {
	if v < 0 || v >= len(names) {
		return nil, fmt.Errorf("can not marshal %v", v)
	}
	return json.Marshal(names[v])
}

// RetentionPolicy says when messages leave a stream.
type RetentionPolicy int

// Retention policies.
const (
	LimitsPolicy RetentionPolicy = iota
	InterestPolicy
	WorkQueuePolicy
)

var retentionNames = []string{"limits", "interest", "workqueue"}

func (p RetentionPolicy) String() string { return retentionNames[p] }

// MarshalJSON implements json.Marshaler.
func (p RetentionPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), retentionNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *RetentionPolicy) UnmarshalJSON(b []byte) error {
	v, err := enumUnmarshal(b, "retention", retentionNames)
	*p = RetentionPolicy(v)
	return err
}

// DiscardPolicy says what a full stream does with a new message.
type DiscardPolicy int

// Discard policies.
const (
	DiscardOld DiscardPolicy = iota
	DiscardNew
)

var discardNames = []string{"old", "new"}

func (p DiscardPolicy) String() string { return discardNames[p] }

// MarshalJSON implements json.Marshaler.
func (p DiscardPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), discardNames) }

// UnmarshalJSON implements json.Unmarshaler; the reference also accepts
// upper case here.
func (p *DiscardPolicy) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"OLD"`:
		*p = DiscardOld
		return nil
	case `"NEW"`:
		*p = DiscardNew
		return nil
	}
	v, err := enumUnmarshal(b, "discard", discardNames)
	*p = DiscardPolicy(v)
	return err
}

// StorageType is file or memory.
type StorageType int

// Storage types.
const (
	FileStorage StorageType = iota
	MemoryStorage
)

var storageNames = []string{"file", "memory"}

func (t StorageType) String() string { return storageNames[t] }

// MarshalJSON implements json.Marshaler.
func (t StorageType) MarshalJSON() ([]byte, error) { return enumMarshal(int(t), storageNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (t *StorageType) UnmarshalJSON(b []byte) error {
	v, err := enumUnmarshal(b, "storage", storageNames)
	*t = StorageType(v)
	return err
}

// Compression is none or s2.
type Compression int

// Compression algorithms.
const (
	NoCompression Compression = iota
	S2Compression
)

var compressionNames = []string{"none", "s2"}

func (c Compression) String() string { return compressionNames[c] }

// MarshalJSON implements json.Marshaler.
func (c Compression) MarshalJSON() ([]byte, error) { return enumMarshal(int(c), compressionNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *Compression) UnmarshalJSON(b []byte) error {
	if string(b) == `""` {
		*c = NoCompression
		return nil
	}
	v, err := enumUnmarshal(b, "compression", compressionNames)
	*c = Compression(v)
	return err
}

// PersistMode is default or async.
type PersistMode int

// Persist modes.
const (
	DefaultPersistMode PersistMode = iota
	AsyncPersistMode
)

var persistNames = []string{"default", "async"}

// MarshalJSON implements json.Marshaler.
func (m PersistMode) MarshalJSON() ([]byte, error) { return enumMarshal(int(m), persistNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (m *PersistMode) UnmarshalJSON(b []byte) error {
	if string(b) == `""` {
		*m = DefaultPersistMode
		return nil
	}
	v, err := enumUnmarshal(b, "persist_mode", persistNames)
	*m = PersistMode(v)
	return err
}

// DeliverPolicy is where a consumer starts.
type DeliverPolicy int

// Deliver policies.
const (
	DeliverAll DeliverPolicy = iota
	DeliverLast
	DeliverNew
	DeliverByStartSequence
	DeliverByStartTime
	DeliverLastPerSubject
)

var deliverNames = []string{"all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"}

func (p DeliverPolicy) String() string { return deliverNames[p] }

// MarshalJSON implements json.Marshaler.
func (p DeliverPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), deliverNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *DeliverPolicy) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"undefined"`, `""`:
		*p = DeliverAll
		return nil
	}
	v, err := enumUnmarshal(b, "deliver_policy", deliverNames)
	*p = DeliverPolicy(v)
	return err
}

// AckPolicy is how a consumer's messages are acknowledged.
type AckPolicy int

// Ack policies.
const (
	AckNone AckPolicy = iota
	AckAll
	AckExplicit
	AckFlowControl
)

var ackNames = []string{"none", "all", "explicit", "flow_control"}

func (p AckPolicy) String() string { return ackNames[p] }

// MarshalJSON implements json.Marshaler.
func (p AckPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), ackNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *AckPolicy) UnmarshalJSON(b []byte) error {
	v, err := enumUnmarshal(b, "ack_policy", ackNames)
	*p = AckPolicy(v)
	return err
}

// ReplayPolicy is instant or original.
type ReplayPolicy int

// Replay policies.
const (
	ReplayInstant ReplayPolicy = iota
	ReplayOriginal
)

var replayNames = []string{"instant", "original"}

// MarshalJSON implements json.Marshaler.
func (p ReplayPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), replayNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *ReplayPolicy) UnmarshalJSON(b []byte) error {
	v, err := enumUnmarshal(b, "replay_policy", replayNames)
	*p = ReplayPolicy(v)
	return err
}

// PriorityPolicy is how a pull consumer's priority groups share messages.
type PriorityPolicy int

// Priority policies.
const (
	PriorityNone PriorityPolicy = iota
	PriorityOverflow
	PriorityPinnedClient
	PriorityPrioritized
)

var priorityNames = []string{"none", "overflow", "pinned_client", "prioritized"}

func (p PriorityPolicy) String() string { return priorityNames[p] }

// MarshalJSON implements json.Marshaler.
func (p PriorityPolicy) MarshalJSON() ([]byte, error) { return enumMarshal(int(p), priorityNames) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *PriorityPolicy) UnmarshalJSON(b []byte) error {
	if string(b) == `""` {
		*p = PriorityNone
		return nil
	}
	v, err := enumUnmarshal(b, "priority_policy", priorityNames)
	*p = PriorityPolicy(v)
	return err
}
