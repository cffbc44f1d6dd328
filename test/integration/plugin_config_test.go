package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPluginsFromOptions runs the server the binary assembles (cmd/app)
// with plugins named in its options: the store plugin as the default file
// backend, the family plugin answering through the runtime's in-process
// API host, and `hangar plugins ls` listing them.
func TestPluginsFromOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	seg, stats := examplePlugin(t, "segstore"), examplePlugin(t, "statsfamily")
	opts := &server.Options{JetStream: true, JetStreamBackend: "seg", StoreDir: t.TempDir(),
		Plugins: []*server.PluginConfig{{Name: "seg", Path: seg}, {Name: "stats", Path: stats}}}
	s := harness.Server(t, opts)
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := js.Publish(ctx, "p.x", []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := st.Info(ctx)
	if info.Config.Metadata["hangar.backend"] != "seg" || info.State.Msgs != 10 {
		t.Fatalf("stream on plugin: %v %+v", info.Config.Metadata, info.State)
	}
	m, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.STORE.STATS.P", nil)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Messages uint64 `json:"messages"`
		Backend  string `json:"backend"`
	}
	if err := json.Unmarshal(m.Data, &reply); err != nil || reply.Messages != 10 || reply.Backend != "seg" {
		t.Fatalf("family plugin through the runtime host: %s %v", m.Data, err)
	}

	conf := harness.WriteFile(t, "plugins.conf", `plugins { seg { path: "`+seg+`" } }`)
	out, err := exec.Command(harness.Binary(t), "plugins", "ls", "-c", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "store.seg") || !strings.Contains(string(out), "store.memory") || !strings.Contains(string(out), "api.stream") {
		t.Fatalf("hangar plugins ls: %v\n%s", err, out)
	}
}
