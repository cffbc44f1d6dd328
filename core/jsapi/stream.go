package jsapi

import (
	"encoding/json"
	"time"
)

// StreamConfig is a stream's configuration, as the API carries it.
type StreamConfig struct {
	Name                   string               `json:"name"`
	Description            string               `json:"description,omitempty"`
	Subjects               []string             `json:"subjects,omitempty"`
	Retention              RetentionPolicy      `json:"retention"`
	MaxConsumers           int                  `json:"max_consumers"`
	MaxMsgs                int64                `json:"max_msgs"`
	MaxBytes               int64                `json:"max_bytes"`
	MaxAge                 time.Duration        `json:"max_age"`
	MaxMsgsPerSubject      int64                `json:"max_msgs_per_subject"`
	MaxMsgSize             int32                `json:"max_msg_size"`
	Discard                DiscardPolicy        `json:"discard"`
	Storage                StorageType          `json:"storage"`
	Replicas               int                  `json:"num_replicas"`
	NoAck                  bool                 `json:"no_ack,omitempty"`
	Duplicates             time.Duration        `json:"duplicate_window,omitempty"`
	Placement              *Placement           `json:"placement,omitempty"`
	Mirror                 *StreamSource        `json:"mirror,omitempty"`
	Sources                []*StreamSource      `json:"sources,omitempty"`
	Compression            Compression          `json:"compression"`
	FirstSeq               uint64               `json:"first_seq,omitempty"`
	SubjectTransform       *SubjectTransform    `json:"subject_transform,omitempty"`
	RePublish              *RePublish           `json:"republish,omitempty"`
	AllowDirect            bool                 `json:"allow_direct"`
	MirrorDirect           bool                 `json:"mirror_direct"`
	DiscardNewPer          bool                 `json:"discard_new_per_subject,omitempty"`
	Sealed                 bool                 `json:"sealed"`
	DenyDelete             bool                 `json:"deny_delete"`
	DenyPurge              bool                 `json:"deny_purge"`
	AllowRollup            bool                 `json:"allow_rollup_hdrs"`
	ConsumerLimits         StreamConsumerLimits `json:"consumer_limits"`
	AllowMsgTTL            bool                 `json:"allow_msg_ttl"`
	SubjectDeleteMarkerTTL time.Duration        `json:"subject_delete_marker_ttl,omitempty"`
	AllowMsgCounter        bool                 `json:"allow_msg_counter,omitempty"`
	AllowAtomicPublish     bool                 `json:"allow_atomic,omitempty"`
	AllowMsgSchedules      bool                 `json:"allow_msg_schedules,omitempty"`
	PersistMode            PersistMode          `json:"persist_mode,omitempty"`
	AllowBatchPublish      bool                 `json:"allow_batched,omitempty"`
	Metadata               map[string]string    `json:"metadata,omitempty"`
	// TemplateOwner was removed in 2.14 but older clients still send it.
	TemplateOwner string `json:"template_owner,omitempty"`
}

// Placement directs where a stream's replicas go (cluster only).
type Placement struct {
	Cluster   string   `json:"cluster,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Preferred string   `json:"preferred,omitempty"`
}

// StreamSource is a mirror or one source of a stream.
type StreamSource struct {
	Name              string                `json:"name"`
	OptStartSeq       uint64                `json:"opt_start_seq,omitempty"`
	OptStartTime      *time.Time            `json:"opt_start_time,omitempty"`
	FilterSubject     string                `json:"filter_subject,omitempty"`
	SubjectTransforms []SubjectTransform    `json:"subject_transforms,omitempty"`
	External          *ExternalStream       `json:"external,omitempty"`
	Consumer          *StreamConsumerSource `json:"consumer,omitempty"`
}

// StreamConsumerSource names a durable sourcing consumer [2.14].
type StreamConsumerSource struct {
	Name           string `json:"name,omitempty"`
	DeliverSubject string `json:"deliver_subject,omitempty"`
}

// ExternalStream gives the API and delivery prefixes of a stream in
// another account or domain.
type ExternalStream struct {
	APIPrefix     string `json:"api"`
	DeliverPrefix string `json:"deliver"`
}

// SubjectTransform rewrites subjects from Source to Destination.
type SubjectTransform struct {
	Source      string `json:"src"`
	Destination string `json:"dest"`
}

// RePublish republishes stored messages to Destination.
type RePublish struct {
	Source      string `json:"src,omitempty"`
	Destination string `json:"dest"`
	HeadersOnly bool   `json:"headers_only,omitempty"`
}

// StreamConsumerLimits are default and maximum consumer settings.
type StreamConsumerLimits struct {
	InactiveThreshold time.Duration `json:"inactive_threshold,omitempty"`
	MaxAckPending     int           `json:"max_ack_pending,omitempty"`
}

// StreamInfo is what STREAM.INFO and friends return.
type StreamInfo struct {
	Config     StreamConfig        `json:"config"`
	Created    time.Time           `json:"created"`
	State      StreamState         `json:"state"`
	Domain     string              `json:"domain,omitempty"`
	Cluster    *ClusterInfo        `json:"cluster,omitempty"`
	Mirror     *StreamSourceInfo   `json:"mirror,omitempty"`
	Sources    []*StreamSourceInfo `json:"sources,omitempty"`
	Alternates []StreamAlternate   `json:"alternates,omitempty"`
	TimeStamp  time.Time           `json:"ts"`
}

// StreamAlternate is a mirror that can serve a stream's reads.
type StreamAlternate struct {
	Name    string `json:"name"`
	Domain  string `json:"domain,omitempty"`
	Cluster string `json:"cluster"`
}

// StreamState is a stream's message state.
type StreamState struct {
	Msgs        uint64            `json:"messages"`
	Bytes       uint64            `json:"bytes"`
	FirstSeq    uint64            `json:"first_seq"`
	FirstTime   time.Time         `json:"first_ts"`
	LastSeq     uint64            `json:"last_seq"`
	LastTime    time.Time         `json:"last_ts"`
	NumSubjects int               `json:"num_subjects,omitempty"`
	Subjects    map[string]uint64 `json:"subjects,omitempty"`
	NumDeleted  int               `json:"num_deleted,omitempty"`
	Deleted     []uint64          `json:"deleted,omitempty"`
	Lost        *LostStreamData   `json:"lost,omitempty"`
	Consumers   int               `json:"consumer_count"`
}

// LostStreamData is data a store could not recover.
type LostStreamData struct {
	Msgs  []uint64 `json:"msgs"`
	Bytes uint64   `json:"bytes"`
}

// ClusterInfo describes the (single-server) group of an asset.
type ClusterInfo struct {
	Name        string      `json:"name,omitempty"`
	RaftGroup   string      `json:"raft_group,omitempty"`
	Leader      string      `json:"leader,omitempty"`
	LeaderSince *time.Time  `json:"leader_since,omitempty"`
	Replicas    []*PeerInfo `json:"replicas,omitempty"`
}

// PeerInfo is one replica of an asset.
type PeerInfo struct {
	Name    string        `json:"name"`
	Current bool          `json:"current"`
	Offline bool          `json:"offline,omitempty"`
	Active  time.Duration `json:"active"`
	Lag     uint64        `json:"lag,omitempty"`
}

// StreamSourceInfo reports on a mirror or source.
type StreamSourceInfo struct {
	Name              string             `json:"name"`
	External          *ExternalStream    `json:"external,omitempty"`
	Lag               uint64             `json:"lag"`
	Active            time.Duration      `json:"active"`
	Error             *APIErrorJSON      `json:"error,omitempty"`
	FilterSubject     string             `json:"filter_subject,omitempty"`
	SubjectTransforms []SubjectTransform `json:"subject_transforms,omitempty"`
}

// APIErrorJSON is the wire form of an API error, kept here so that jsapi
// types do not force importers to use jserr.
type APIErrorJSON struct {
	Code        int    `json:"code"`
	ErrCode     uint16 `json:"err_code,omitempty"`
	Description string `json:"description,omitempty"`
}

// PubAck acknowledges a stored message.
type PubAck struct {
	Stream    string        `json:"stream"`
	Sequence  uint64        `json:"seq"`
	Domain    string        `json:"domain,omitempty"`
	Duplicate bool          `json:"duplicate,omitempty"`
	Value     string        `json:"val,omitempty"`
	BatchId   string        `json:"batch,omitempty"`
	BatchSize int           `json:"count,omitempty"`
	Error     *APIErrorJSON `json:"error,omitempty"`
}

// StoredMsg is a message in STREAM.MSG.GET replies.
type StoredMsg struct {
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"seq"`
	Header   []byte    `json:"hdrs,omitempty"`
	Data     []byte    `json:"data,omitempty"`
	Time     time.Time `json:"time"`
}

// Clone returns a deep copy of c.
func (c *StreamConfig) Clone() StreamConfig {
	b, _ := json.Marshal(c)
	var out StreamConfig
	json.Unmarshal(b, &out)
	return out
}
