package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go/jetstream"
)

func TestJSMonitoring(t *testing.T) {
	s := harness.Server(t, &server.Options{JetStream: true, HTTPPort: -1})
	e := &jsEnv{t: t, s: s, nc: connect(t, s.ClientURL()), bc: backendCase{storage: "memory"}}
	e.js, _ = jetstream.New(e.nc)
	e.ctx = t.Context()
	e.create(jetstream.StreamConfig{Name: "MON", Subjects: []string{"mon"}})
	for i := 0; i < 3; i++ {
		e.js.Publish(e.ctx, "mon", []byte("x"))
	}
	get := func(path string) []byte {
		resp, err := http.Get(fmt.Sprintf("http://%s%s", s.MonitorAddr(), path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	var jsz struct {
		Config struct {
			StoreDir string `json:"store_dir"`
		} `json:"config"`
		Streams  int    `json:"streams"`
		Messages uint64 `json:"messages"`
		Memory   uint64 `json:"memory"`
		Accounts []struct {
			Name    string `json:"name"`
			Streams []struct {
				Name  string `json:"name"`
				State struct {
					Msgs uint64 `json:"messages"`
				} `json:"state"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.Unmarshal(get("/jsz?streams=true&config=true"), &jsz); err != nil {
		t.Fatal(err)
	}
	if jsz.Streams != 1 || jsz.Messages != 3 || jsz.Memory == 0 || jsz.Config.StoreDir == "" {
		t.Fatalf("jsz: %+v", jsz)
	}
	if len(jsz.Accounts) != 1 || jsz.Accounts[0].Streams[0].Name != "MON" || jsz.Accounts[0].Streams[0].State.Msgs != 3 {
		t.Fatalf("jsz accounts: %+v", jsz.Accounts)
	}
	var varz struct {
		JetStream struct {
			Stats struct {
				Memory uint64 `json:"memory"`
			} `json:"stats"`
		} `json:"jetstream"`
	}
	json.Unmarshal(get("/varz"), &varz)
	if varz.JetStream.Stats.Memory == 0 {
		t.Fatalf("varz jetstream: %+v", varz)
	}
	if m := string(get("/metrics")); !strings.Contains(m, `hangar_jetstream_stream_messages{account="$G",stream="MON"} 3`) {
		t.Fatalf("metrics:\n%s", m)
	}
}

// TestCLIServerReportJetStream: the nats CLI's JetStream server report,
// which reads $SYS.REQ.SERVER.PING.JSZ in the system account.
func TestCLIServerReportJetStream(t *testing.T) {
	s := harness.ServerFromConfig(t, `
jetstream { store_dir: "`+t.TempDir()+`" }
accounts {
  A: { jetstream: enabled, users: [{user: a, password: a}] }
  SYS: { users: [{user: admin, password: admin}] }
}
system_account: SYS
`)
	url := strings.Replace(s.ClientURL(), "nats://", "nats://a:a@", 1)
	harness.MustCLI(t, url, "stream", "add", "REP", "--subjects", "rep", "--storage", "memory", "--defaults")
	harness.MustCLI(t, url, "pub", "rep", "x", "--jetstream")
	admin := strings.Replace(s.ClientURL(), "nats://", "nats://admin:admin@", 1)
	out := harness.MustCLI(t, admin, "server", "report", "jetstream")
	if !strings.Contains(out, "JetStream Summary") || !strings.Contains(out, s.Name()) {
		t.Fatalf("server report jetstream:\n%s", out)
	}
}
