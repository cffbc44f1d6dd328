package jsapi

import (
	"time"

	"github.com/hangar-mq/hangar/core/jserr"
)

// APIResponse is embedded in every JSON reply: its type string and, on
// failure, the error.
type APIResponse struct {
	Type  string          `json:"type"`
	Error *jserr.APIError `json:"error,omitempty"`
}

// SetType sets the reply's type string; the router calls it.
func (r *APIResponse) SetType(t string) { r.Type = t }

// SetError sets the reply's error; the router calls it when a handler
// returns both a reply and an error, to keep the reply's shape.
func (r *APIResponse) SetError(e *jserr.APIError) { r.Error = e }

// APIPaged are the paging fields of list replies.
type APIPaged struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// APIPagedRequest is the paging part of list requests.
type APIPagedRequest struct {
	Offset int `json:"offset"`
}

// Response type strings.
const (
	TypePrefix                 = "io.nats.jetstream.api.v1."
	AccountInfoResponseType    = TypePrefix + "account_info_response"
	AccountPurgeResponseType   = TypePrefix + "account_purge_response"
	StreamCreateResponseType   = TypePrefix + "stream_create_response"
	StreamUpdateResponseType   = TypePrefix + "stream_update_response"
	StreamDeleteResponseType   = TypePrefix + "stream_delete_response"
	StreamInfoResponseType     = TypePrefix + "stream_info_response"
	StreamNamesResponseType    = TypePrefix + "stream_names_response"
	StreamListResponseType     = TypePrefix + "stream_list_response"
	StreamPurgeResponseType    = TypePrefix + "stream_purge_response"
	MsgGetResponseType         = TypePrefix + "stream_msg_get_response"
	MsgDeleteResponseType      = TypePrefix + "stream_msg_delete_response"
	SnapshotResponseType       = TypePrefix + "stream_snapshot_response"
	RestoreResponseType        = TypePrefix + "stream_restore_response"
	StreamStepDownType         = TypePrefix + "stream_leader_stepdown_response"
	StreamRemovePeerType       = TypePrefix + "stream_remove_peer_response"
	ConsumerCreateResponseType = TypePrefix + "consumer_create_response"
	ConsumerDeleteResponseType = TypePrefix + "consumer_delete_response"
	ConsumerInfoResponseType   = TypePrefix + "consumer_info_response"
	ConsumerNamesResponseType  = TypePrefix + "consumer_names_response"
	ConsumerListResponseType   = TypePrefix + "consumer_list_response"
	ConsumerPauseResponseType  = TypePrefix + "consumer_pause_response"
	ConsumerUnpinResponseType  = TypePrefix + "consumer_unpin_response"
	ConsumerResetResponseType  = TypePrefix + "consumer_reset_response"
	ConsumerStepDownType       = TypePrefix + "consumer_leader_stepdown_response"
	MetaStepDownType           = TypePrefix + "meta_leader_stepdown_response"
	ServerRemoveType           = TypePrefix + "meta_server_remove_response"
	ErrorResponseType          = TypePrefix + "error_response"
)

// AccountLimits are an account's JetStream limits as reported.
type AccountLimits struct {
	MaxMemory            int64 `json:"max_memory"`
	MaxStore             int64 `json:"max_storage"`
	MaxStreams           int   `json:"max_streams"`
	MaxConsumers         int   `json:"max_consumers"`
	MaxAckPending        int   `json:"max_ack_pending"`
	MemoryMaxStreamBytes int64 `json:"memory_max_stream_bytes"`
	StoreMaxStreamBytes  int64 `json:"storage_max_stream_bytes"`
	MaxBytesRequired     bool  `json:"max_bytes_required"`
}

// APIStats are the API counters of an account.
type APIStats struct {
	Level    int    `json:"level"`
	Total    uint64 `json:"total"`
	Errors   uint64 `json:"errors"`
	Inflight uint64 `json:"inflight,omitempty"`
}

// AccountStats is an account's JetStream usage and limits.
type AccountStats struct {
	Memory         uint64                `json:"memory"`
	Store          uint64                `json:"storage"`
	ReservedMemory uint64                `json:"reserved_memory"`
	ReservedStore  uint64                `json:"reserved_storage"`
	Streams        int                   `json:"streams"`
	Consumers      int                   `json:"consumers"`
	Limits         AccountLimits         `json:"limits"`
	Domain         string                `json:"domain,omitempty"`
	API            APIStats              `json:"api"`
	Tiers          map[string]*TierStats `json:"tiers,omitempty"`
}

// TierStats are the usage and limits of one replica tier.
type TierStats struct {
	Memory         uint64        `json:"memory"`
	Store          uint64        `json:"storage"`
	ReservedMemory uint64        `json:"reserved_memory"`
	ReservedStore  uint64        `json:"reserved_storage"`
	Streams        int           `json:"streams"`
	Consumers      int           `json:"consumers"`
	Limits         AccountLimits `json:"limits"`
}

// AccountInfoResponse answers $JS.API.INFO.
type AccountInfoResponse struct {
	APIResponse
	*AccountStats
}

// AccountPurgeResponse answers ACCOUNT.PURGE.
type AccountPurgeResponse struct {
	APIResponse
	Initiated bool `json:"initiated,omitempty"`
}

// StreamCreateRequest is STREAM.CREATE/UPDATE's body.
type StreamCreateRequest struct {
	StreamConfig
	Pedantic bool `json:"pedantic,omitempty"`
}

// StreamCreateResponse answers STREAM.CREATE and STREAM.UPDATE.
type StreamCreateResponse struct {
	APIResponse
	*StreamInfo
	DidCreate bool `json:"did_create,omitempty"`
}

// StreamInfoRequest is STREAM.INFO's optional body.
type StreamInfoRequest struct {
	APIPagedRequest
	DeletedDetails bool   `json:"deleted_details,omitempty"`
	SubjectsFilter string `json:"subjects_filter,omitempty"`
}

// StreamInfoResponse answers STREAM.INFO.
type StreamInfoResponse struct {
	APIResponse
	APIPaged
	*StreamInfo
}

// StreamNamesRequest is STREAM.NAMES's body.
type StreamNamesRequest struct {
	APIPagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamNamesResponse answers STREAM.NAMES.
type StreamNamesResponse struct {
	APIResponse
	APIPaged
	Streams []string `json:"streams"`
}

// StreamListRequest is STREAM.LIST's body.
type StreamListRequest struct {
	APIPagedRequest
	Subject string `json:"subject,omitempty"`
}

// StreamListResponse answers STREAM.LIST.
type StreamListResponse struct {
	APIResponse
	APIPaged
	Streams []*StreamInfo     `json:"streams"`
	Missing []string          `json:"missing,omitempty"`
	Offline map[string]string `json:"offline,omitempty"`
}

// SuccessResponse answers deletes and stepdowns.
type SuccessResponse struct {
	APIResponse
	Success bool `json:"success,omitempty"`
}

// StreamPurgeRequest is STREAM.PURGE's optional body.
type StreamPurgeRequest struct {
	Subject  string `json:"filter,omitempty"`
	Sequence uint64 `json:"seq,omitempty"`
	Keep     uint64 `json:"keep,omitempty"`
}

// StreamPurgeResponse answers STREAM.PURGE.
type StreamPurgeResponse struct {
	APIResponse
	Success bool   `json:"success,omitempty"`
	Purged  uint64 `json:"purged"`
}

// MsgGetRequest is STREAM.MSG.GET's and DIRECT.GET's body.
type MsgGetRequest struct {
	Seq          uint64     `json:"seq,omitempty"`
	LastFor      string     `json:"last_by_subj,omitempty"`
	NextFor      string     `json:"next_by_subj,omitempty"`
	Batch        int        `json:"batch,omitempty"`
	MaxBytes     int        `json:"max_bytes,omitempty"`
	StartTime    *time.Time `json:"start_time,omitempty"`
	MultiLastFor []string   `json:"multi_last,omitempty"`
	UpToSeq      uint64     `json:"up_to_seq,omitempty"`
	UpToTime     *time.Time `json:"up_to_time,omitempty"`
	NoHeaders    bool       `json:"no_hdr,omitempty"`
}

// MsgGetResponse answers STREAM.MSG.GET.
type MsgGetResponse struct {
	APIResponse
	Message *StoredMsg `json:"message,omitempty"`
}

// MsgDeleteRequest is STREAM.MSG.DELETE's body.
type MsgDeleteRequest struct {
	Seq     uint64 `json:"seq"`
	NoErase bool   `json:"no_erase,omitempty"`
}

// SnapshotRequest is STREAM.SNAPSHOT's body.
type SnapshotRequest struct {
	DeliverSubject string `json:"deliver_subject"`
	NoConsumers    bool   `json:"no_consumers,omitempty"`
	ChunkSize      int    `json:"chunk_size,omitempty"`
	WindowSize     int    `json:"window_size,omitempty"`
	CheckMsgs      bool   `json:"jsck,omitempty"`
}

// SnapshotResponse answers STREAM.SNAPSHOT before the chunks flow.
type SnapshotResponse struct {
	APIResponse
	Config *StreamConfig `json:"config,omitempty"`
	State  *StreamState  `json:"state,omitempty"`
}

// RestoreRequest is STREAM.RESTORE's body.
type RestoreRequest struct {
	Config StreamConfig `json:"config"`
	State  StreamState  `json:"state"`
}

// RestoreResponse answers STREAM.RESTORE with where to send chunks.
type RestoreResponse struct {
	APIResponse
	DeliverSubject string `json:"deliver_subject"`
}

// LeaderStepdownRequest is the optional body of stepdown requests.
type LeaderStepdownRequest struct {
	Placement *Placement `json:"placement,omitempty"`
}

// ClientInfo describes the requesting client (for audit advisories).
type ClientInfo struct {
	Start   *time.Time    `json:"start,omitempty"`
	Host    string        `json:"host,omitempty"`
	ID      uint64        `json:"id,omitempty"`
	Account string        `json:"acc,omitempty"`
	User    string        `json:"user,omitempty"`
	Name    string        `json:"name,omitempty"`
	Lang    string        `json:"lang,omitempty"`
	Version string        `json:"ver,omitempty"`
	RTT     time.Duration `json:"rtt,omitempty"`
	Server  string        `json:"server,omitempty"`
	Kind    string        `json:"kind,omitempty"`
	Type    string        `json:"client_type,omitempty"`
}
