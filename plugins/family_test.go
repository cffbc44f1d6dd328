package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

// fakeRuntime is the jsapi.Host an API family plugin calls back: it knows
// one stream, ORDERS.
type fakeRuntime struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeRuntime) Call(_ context.Context, account, subject string, _ []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, account+" "+subject)
	f.mu.Unlock()
	if subject != "$JS.API.STREAM.INFO.ORDERS" {
		return json.Marshal(jsapi.APIResponse{Type: jsapi.StreamInfoResponseType, Error: jserr.NewStreamNotFoundError()})
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return json.Marshal(jsapi.StreamInfoResponse{
		APIResponse: jsapi.APIResponse{Type: jsapi.StreamInfoResponseType},
		StreamInfo: &jsapi.StreamInfo{
			Config: jsapi.StreamConfig{Name: "ORDERS", Metadata: map[string]string{"hangar.backend": "segstore"}},
			State:  jsapi.StreamState{Msgs: 4, Bytes: 400, FirstSeq: 1, LastSeq: 5, NumDeleted: 1, FirstTime: t0, LastTime: t0.Add(time.Minute)},
		},
	})
}

func (f *fakeRuntime) Publish(context.Context, string, string, string, []byte, []byte) error {
	return nil
}

func statsRequest(stream string) *jsapi.Request {
	return &jsapi.Request{Account: "ACC", Subject: "$JS.API.STREAM.STORE.STATS." + stream, Reply: "_INBOX.1",
		Tokens: []string{"STREAM", "STORE", "STATS", stream}, Client: &jsapi.ClientInfo{Account: "ACC", Lang: "go"}}
}

// TestFamilyPlugin serves the example API family from a plugin process:
// its endpoints become a jsapi.Family whose handlers call the plugin,
// which calls the runtime back through jsapi.Host over the broker. A
// crashed family answers 503 until it is restarted.
func TestFamilyPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	rt := &fakeRuntime{}
	h := startHost(t, Config{
		Plugins:        []PluginConfig{{Name: "stats", Path: binary(t, "statsfamily")}},
		RestartMin:     50 * time.Millisecond,
		HealthInterval: 200 * time.Millisecond,
	})
	fams := h.Families()
	if len(fams) != 1 || fams[0].ID() != "api.stats" || len(h.StoreIDs()) != 0 {
		t.Fatalf("families %v, stores %v", fams, h.StoreIDs())
	}
	var ep jsapi.Endpoint
	for _, e := range fams[0].Endpoints() {
		if e.Pattern == "STREAM.STORE.STATS.*" {
			ep = e
		}
	}
	if ep.Handle == nil || ep.Type != "io.hangar.api.v1.stream_store_stats_response" || ep.Inline {
		t.Fatalf("endpoints %+v", fams[0].Endpoints())
	}
	ctx := context.Background()
	// Before the runtime is wired in, callbacks get 503 and so does the
	// request.
	if _, err := ep.Handle(ctx, statsRequest("ORDERS")); !errors.Is(err, jserr.NewClusterNotAvailError()) {
		t.Fatalf("before SetAPIHost: %v", err)
	}
	h.SetAPIHost(rt)
	check := func() {
		t.Helper()
		resp, err := ep.Handle(ctx, statsRequest("ORDERS"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Type         string  `json:"type"`
			Stream       string  `json:"stream"`
			Backend      string  `json:"backend"`
			Messages     uint64  `json:"messages"`
			DeletedRatio float64 `json:"deleted_ratio"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != ep.Type || got.Stream != "ORDERS" || got.Backend != "segstore" || got.Messages != 4 || got.DeletedRatio != 0.2 {
			t.Fatalf("reply %s", raw)
		}
	}
	check()
	if _, err := ep.Handle(ctx, statsRequest("NOPE")); !errors.Is(err, jserr.NewStreamNotFoundError()) {
		t.Fatalf("missing stream: %v", err)
	}
	rt.mu.Lock()
	if len(rt.calls) == 0 || rt.calls[0] != "ACC $JS.API.STREAM.INFO.ORDERS" {
		t.Fatalf("callbacks %v", rt.calls)
	}
	rt.mu.Unlock()

	pid := h.plugins[0].famSup.current().client.ReattachConfig().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a 503 while the family is down", 5*time.Second, func() bool {
		start := time.Now()
		_, err := ep.Handle(ctx, statsRequest("ORDERS"))
		if time.Since(start) > 2*time.Second {
			t.Fatal("a request hung while the family was down")
		}
		return errors.Is(err, jserr.NewClusterNotAvailError())
	})
	waitFor(t, "the family to come back", 20*time.Second, func() bool {
		_, err := ep.Handle(ctx, statsRequest("ORDERS"))
		return err == nil
	})
	check()
}
