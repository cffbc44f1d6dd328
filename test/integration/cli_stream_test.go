package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
)

// backendCase is one way of backing streams: a storage type and, for file
// streams, the server's default backend.
type backendCase struct {
	name    string
	storage string
	backend string
}

// streamBackends are the backends the stream suites run on. The file and
// Pebble stores join when they are registered by cmd/app.
func streamBackends() []backendCase {
	out := []backendCase{{name: "memory", storage: "memory"}}
	for _, b := range availableFileBackends() {
		out = append(out, backendCase{name: b, storage: "file", backend: b})
	}
	return out
}

func TestCLIStream(t *testing.T) {
	for _, bc := range streamBackends() {
		t.Run(bc.name, func(t *testing.T) {
			s := harness.Server(t, &server.Options{JetStream: true, JetStreamBackend: bc.backend})
			cliStreamSuite(t, s.ClientURL(), bc)
		})
	}
}

func cliStreamSuite(t *testing.T, url string, bc backendCase) {
	cli := func(args ...string) string { t.Helper(); return harness.MustCLI(t, url, args...) }
	cli("stream", "add", "ORDERS", "--subjects", "orders.>", "--storage", bc.storage, "--defaults")

	var info struct {
		Config struct {
			Name     string            `json:"name"`
			Subjects []string          `json:"subjects"`
			Storage  string            `json:"storage"`
			MaxMsgs  int64             `json:"max_msgs"`
			Metadata map[string]string `json:"metadata"`
		} `json:"config"`
		State struct {
			Msgs     uint64 `json:"messages"`
			FirstSeq uint64 `json:"first_seq"`
			LastSeq  uint64 `json:"last_seq"`
		} `json:"state"`
	}
	readInfo := func() {
		t.Helper()
		if err := json.Unmarshal([]byte(cli("stream", "info", "ORDERS", "--json")), &info); err != nil {
			t.Fatal(err)
		}
	}
	readInfo()
	if info.Config.Name != "ORDERS" || info.Config.Storage != bc.storage || info.Config.Subjects[0] != "orders.>" {
		t.Fatalf("info: %+v", info.Config)
	}
	if bc.backend != "" && info.Config.Metadata["hangar.backend"] != bc.backend {
		t.Fatalf("backend not reported in metadata: %v", info.Config.Metadata)
	}
	for _, body := range []string{"one", "two", "three", "four"} {
		if out := cli("pub", "orders.new", body, "--jetstream"); !strings.Contains(out, "Stored in Stream: ORDERS") {
			t.Fatalf("pub: %s", out)
		}
	}
	if out := cli("stream", "ls", "--names"); !strings.Contains(out, "ORDERS") {
		t.Fatalf("ls: %s", out)
	}
	if out := cli("stream", "get", "ORDERS", "2"); !strings.Contains(out, "two") {
		t.Fatalf("get: %s", out)
	}
	cli("stream", "rmm", "ORDERS", "1", "-f")
	cli("stream", "edit", "ORDERS", "--max-msgs", "10", "-f")
	readInfo()
	if info.Config.MaxMsgs != 10 || info.State.Msgs != 3 || info.State.FirstSeq != 2 {
		t.Fatalf("after rmm/edit: %+v %+v", info.Config, info.State)
	}
	if out := cli("stream", "report"); !strings.Contains(out, "ORDERS") {
		t.Fatalf("report: %s", out)
	}
	if bc.storage == "file" {
		dir := filepath.Join(t.TempDir(), "backup")
		cli("stream", "backup", "ORDERS", dir)
		cli("stream", "rm", "ORDERS", "-f")
		cli("stream", "restore", dir)
		readInfo()
		if info.State.Msgs != 3 || info.State.LastSeq != 4 {
			t.Fatalf("after restore: %+v", info.State)
		}
		if out := cli("stream", "get", "ORDERS", "3"); !strings.Contains(out, "three") {
			t.Fatalf("get after restore: %s", out)
		}
	}
	cli("stream", "purge", "ORDERS", "-f")
	readInfo()
	if info.State.Msgs != 0 || info.State.FirstSeq != 5 {
		t.Fatalf("after purge: %+v", info.State)
	}
	cli("stream", "rm", "ORDERS", "-f")
	if out := cli("stream", "ls", "--names"); strings.Contains(out, "ORDERS") {
		t.Fatalf("ls after rm: %s", out)
	}
}
