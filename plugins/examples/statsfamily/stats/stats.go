package stats

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

// Reply types of the family's endpoints.
const (
	StreamStatsType = "io.hangar.api.v1.stream_store_stats_response"
	AllStatsType    = "io.hangar.api.v1.store_stats_response"
)

// BackendKey is the stream metadata key that names a stream's store.
const BackendKey = "hangar.backend"

// Stats are a stream's store statistics.
type Stats struct {
	Stream  string `json:"stream"`
	Backend string `json:"backend"`
	Storage string `json:"storage"`
	// Messages and Bytes as the store accounts them.
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Deleted counts the sequences between first and last without a
	// message; DeletedRatio is their share of that range.
	Deleted      int     `json:"deleted"`
	DeletedRatio float64 `json:"deleted_ratio"`
	AvgMsgBytes  float64 `json:"avg_msg_bytes"`
	Subjects     int     `json:"subjects"`
	Consumers    int     `json:"consumers"`
	// SpanSeconds is the time between the first and the last message.
	SpanSeconds float64 `json:"span_seconds"`
}

// StreamStatsResponse answers STREAM.STORE.STATS.<stream>.
type StreamStatsResponse struct {
	jsapi.APIResponse
	Stats
}

// AllStatsResponse answers HANGAR.STATS: every stream of the account.
type AllStatsResponse struct {
	jsapi.APIResponse
	Streams []Stats `json:"streams"`
	// Totals over every stream.
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Family is the stats API family.
type Family struct {
	host jsapi.Host
}

// New returns the family; h reaches the server's API.
func New(h jsapi.Host) *Family { return &Family{host: h} }

// ID implements jsapi.Family.
func (f *Family) ID() string { return "api.stats" }

// Version reports the family's version in `hangar plugins ls`.
func (f *Family) Version() string { return "0.1.0" }

// Endpoints implements jsapi.Family.
func (f *Family) Endpoints() []jsapi.Endpoint {
	return []jsapi.Endpoint{
		{Pattern: "STREAM.STORE.STATS.*", Type: StreamStatsType, Handle: f.streamStats},
		{Pattern: "HANGAR.STATS", Type: AllStatsType, Handle: f.allStats},
	}
}

func (f *Family) streamStats(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if len(r.Tokens) != 4 || r.Tokens[3] == "" {
		return nil, jserr.NewBadRequestError()
	}
	var info jsapi.StreamInfoResponse
	if err := f.call(ctx, r.Account, jsapi.APIPrefix+"STREAM.INFO."+r.Tokens[3], nil, &info); err != nil {
		return nil, err
	}
	if info.StreamInfo == nil {
		return nil, jserr.NewStreamNotFoundError()
	}
	return &StreamStatsResponse{Stats: statsOf(info.StreamInfo)}, nil
}

func (f *Family) allStats(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	out := &AllStatsResponse{Streams: []Stats{}}
	for offset := 0; ; {
		body, _ := json.Marshal(jsapi.StreamListRequest{APIPagedRequest: jsapi.APIPagedRequest{Offset: offset}})
		var list jsapi.StreamListResponse
		if err := f.call(ctx, r.Account, jsapi.APIPrefix+"STREAM.LIST", body, &list); err != nil {
			return nil, err
		}
		for _, si := range list.Streams {
			st := statsOf(si)
			out.Streams = append(out.Streams, st)
			out.Messages += st.Messages
			out.Bytes += st.Bytes
		}
		offset += len(list.Streams)
		if len(list.Streams) == 0 || offset >= list.Total {
			return out, nil
		}
	}
}

// call asks the server's API and decodes the reply into v; an error reply
// comes back as the *jserr.APIError it carries.
func (f *Family) call(ctx context.Context, account, subject string, body []byte, v any) error {
	raw, err := f.host.Call(ctx, account, subject, body)
	if err != nil {
		return err
	}
	var head jsapi.APIResponse
	if err := json.Unmarshal(raw, &head); err != nil {
		return jserr.NewStreamGeneralErrorError(fmt.Errorf("decoding %s: %w", subject, err))
	}
	if head.Error != nil {
		return head.Error
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jserr.NewStreamGeneralErrorError(fmt.Errorf("decoding %s: %w", subject, err))
	}
	return nil
}

func statsOf(si *jsapi.StreamInfo) Stats {
	s := si.State
	st := Stats{
		Stream: si.Config.Name, Backend: si.Config.Metadata[BackendKey], Storage: si.Config.Storage.String(),
		Messages: s.Msgs, Bytes: s.Bytes, FirstSeq: s.FirstSeq, LastSeq: s.LastSeq,
		Deleted: s.NumDeleted, Subjects: s.NumSubjects, Consumers: s.Consumers,
	}
	if st.Backend == "" {
		st.Backend = "default"
	}
	if s.LastSeq >= s.FirstSeq && s.Msgs > 0 {
		st.DeletedRatio = float64(s.NumDeleted) / float64(s.LastSeq-s.FirstSeq+1)
		st.AvgMsgBytes = float64(s.Bytes) / float64(s.Msgs)
		st.SpanSeconds = s.LastTime.Sub(s.FirstTime).Seconds()
	}
	return st
}

// Interface guard.
var _ jsapi.Family = (*Family)(nil)
