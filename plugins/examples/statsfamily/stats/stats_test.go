package stats

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

// fakeHost answers STREAM.INFO and STREAM.LIST for two streams.
type fakeHost struct{}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func info(name string) *jsapi.StreamInfo {
	return &jsapi.StreamInfo{
		Config: jsapi.StreamConfig{Name: name, Metadata: map[string]string{BackendKey: "segstore"}},
		State: jsapi.StreamState{Msgs: 8, Bytes: 800, FirstSeq: 3, LastSeq: 12, NumDeleted: 2, NumSubjects: 2,
			FirstTime: t0, LastTime: t0.Add(90 * time.Second)},
	}
}

func (fakeHost) Call(_ context.Context, account, subject string, body []byte) ([]byte, error) {
	switch subject {
	case "$JS.API.STREAM.INFO.ORDERS":
		return json.Marshal(jsapi.StreamInfoResponse{StreamInfo: info("ORDERS")})
	case "$JS.API.STREAM.LIST":
		return json.Marshal(jsapi.StreamListResponse{APIPaged: jsapi.APIPaged{Total: 2}, Streams: []*jsapi.StreamInfo{info("A"), info("B")}})
	}
	return json.Marshal(jsapi.APIResponse{Error: jserr.NewStreamNotFoundError()})
}

func (fakeHost) Publish(context.Context, string, string, string, []byte, []byte) error { return nil }

func endpoint(f *Family, pattern string) jsapi.Endpoint {
	for _, ep := range f.Endpoints() {
		if ep.Pattern == pattern {
			return ep
		}
	}
	panic(pattern)
}

func TestStreamStats(t *testing.T) {
	f := New(fakeHost{})
	resp, err := endpoint(f, "STREAM.STORE.STATS.*").Handle(context.Background(),
		&jsapi.Request{Account: "A", Tokens: []string{"STREAM", "STORE", "STATS", "ORDERS"}})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.(*StreamStatsResponse).Stats
	if st.Backend != "segstore" || st.Messages != 8 || st.DeletedRatio != 0.2 || st.AvgMsgBytes != 100 || st.SpanSeconds != 90 {
		t.Fatalf("stats %+v", st)
	}
	_, err = endpoint(f, "STREAM.STORE.STATS.*").Handle(context.Background(),
		&jsapi.Request{Account: "A", Tokens: []string{"STREAM", "STORE", "STATS", "NOPE"}})
	if !errors.Is(err, jserr.NewStreamNotFoundError()) {
		t.Fatalf("missing stream: %v", err)
	}
}

func TestAllStats(t *testing.T) {
	resp, err := endpoint(New(fakeHost{}), "HANGAR.STATS").Handle(context.Background(), &jsapi.Request{Account: "A"})
	if err != nil {
		t.Fatal(err)
	}
	all := resp.(*AllStatsResponse)
	if len(all.Streams) != 2 || all.Messages != 16 || all.Bytes != 1600 {
		t.Fatalf("all %+v", all)
	}
}
