package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
)

// TestBackupRestoreAcrossBackends moves a stream between stores with the
// nats CLI: backed up from the file store, restored into Pebble (by the
// hangar.backend metadata in the restore config), backed up again and
// restored into a third-party plugin store. Messages, sequences and gaps
// survive every hop, because snapshots are backend-neutral.
func TestBackupRestoreAcrossBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	seg := examplePlugin(t, "segstore")
	s := harness.Server(t, &server.Options{JetStream: true, JetStreamBackend: "file",
		Plugins: []*server.PluginConfig{{Name: "seg", Path: seg}}})
	url := s.ClientURL()
	cli := func(args ...string) string { t.Helper(); return harness.MustCLI(t, url, args...) }
	cli("stream", "add", "MOVE", "--subjects", "move.>", "--storage", "file", "--defaults")
	for _, body := range []string{"a", "b", "c", "d", "e"} {
		cli("pub", "move."+body, body, "--jetstream")
	}
	cli("stream", "rmm", "MOVE", "2", "-f")

	type info struct {
		Config map[string]any `json:"config"`
		State  struct {
			Msgs     uint64 `json:"messages"`
			FirstSeq uint64 `json:"first_seq"`
			LastSeq  uint64 `json:"last_seq"`
			Deleted  int    `json:"num_deleted"`
		} `json:"state"`
	}
	read := func() info {
		t.Helper()
		var i info
		if err := json.Unmarshal([]byte(cli("stream", "info", "MOVE", "--json")), &i); err != nil {
			t.Fatal(err)
		}
		return i
	}
	hop := func(to string) {
		t.Helper()
		before := read()
		dir := filepath.Join(t.TempDir(), "backup")
		cli("stream", "backup", "MOVE", dir)
		cli("stream", "rm", "MOVE", "-f")
		cfg := before.Config
		md, _ := cfg["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		md["hangar.backend"] = to
		cfg["metadata"] = md
		b, _ := json.Marshal(cfg)
		cfgFile := filepath.Join(t.TempDir(), "config.json")
		os.WriteFile(cfgFile, b, 0o600)
		cli("stream", "restore", dir, "--config", cfgFile)
		after := read()
		if got := after.Config["metadata"].(map[string]any)["hangar.backend"]; got != to {
			t.Fatalf("restored onto %v, want %s", got, to)
		}
		if after.State != before.State {
			t.Fatalf("state changed moving to %s: %+v -> %+v", to, before.State, after.State)
		}
		if out := cli("stream", "get", "MOVE", "5"); !strings.Contains(out, "e") {
			t.Fatalf("message 5 on %s: %s", to, out)
		}
	}
	hop("pebble")
	hop("seg")
	hop("file")
	if i := read(); i.State.Msgs != 4 || i.State.FirstSeq != 1 || i.State.LastSeq != 5 || i.State.Deleted != 1 {
		t.Fatalf("after three hops: %+v", i.State)
	}
}
