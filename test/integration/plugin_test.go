package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	js "github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/plugins"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var examplePlugins struct {
	once  sync.Once
	dir   string
	paths map[string]string
	err   error
}

// examplePlugin builds the example plugins once, each from its own module
// directory with the workspace off, as their authors would.
func examplePlugin(t *testing.T, name string) string {
	t.Helper()
	examplePlugins.once.Do(func() {
		examplePlugins.dir, examplePlugins.err = os.MkdirTemp("", "hangar-example-plugins-")
		examplePlugins.paths = map[string]string{}
		for _, n := range []string{"segstore", "statsfamily"} {
			out := filepath.Join(examplePlugins.dir, n)
			cmd := exec.Command("go", "build", "-o", out, ".")
			cmd.Dir = filepath.Join(harness.RepoRoot(), "plugins", "examples", n)
			cmd.Env = append(os.Environ(), "GOWORK=off")
			if msg, err := cmd.CombinedOutput(); err != nil && examplePlugins.err == nil {
				examplePlugins.err = fmt.Errorf("go build %s: %v\n%s", n, err, msg)
			}
			examplePlugins.paths[n] = out
		}
	})
	if examplePlugins.err != nil {
		t.Fatal(examplePlugins.err)
	}
	return examplePlugins.paths[name]
}

// natsAPIHost is a jsapi.Host over a client connection of the global
// account: enough for a test, where every request is of that account.
type natsAPIHost struct{ nc *nats.Conn }

func (h natsAPIHost) Call(ctx context.Context, _ string, subject string, body []byte) ([]byte, error) {
	m, err := h.nc.RequestWithContext(ctx, subject, body)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

func (h natsAPIHost) Publish(_ context.Context, _ string, subject, reply string, hdr, data []byte) error {
	return h.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: data})
}

// pluginServer starts a server whose default backend is the store plugin
// "seg" and which serves the API family plugin "stats", as cmd/app will
// once it wires the plugin host.
func pluginServer(t *testing.T, h *plugins.Host, dir string) *server.Server {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, JetStreamBackend: "seg", NoSigs: true}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("HANGAR_TEST_LOG") != "" {
		s.SetLogger(server.NewStdLogger(os.Stderr, true, true, false, false))
	}
	rt := js.New(js.ConfigFromOptions(s.Options()))
	for _, f := range h.Families() {
		rt.AddFamily(f)
	}
	s.AddExtension(rt)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// childPIDs returns the pids of this process's children running bin.
func childPIDs(bin string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			out = append(out, pid)
		}
	}
	return out
}

// TestPluginBackendEndToEnd runs a server on a store plugin and an API
// family plugin with a real client: streams on `backend: seg` and on
// `hangar.backend: seg` metadata, the extra API subject answered by the
// plugin through jsapi.Host, a crash of the store plugin with the
// acknowledged messages intact, and a server restart recovering the
// streams from the plugin.
func TestPluginBackendEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	seg := examplePlugin(t, "segstore")
	h := plugins.NewHost(plugins.Config{
		Plugins: []plugins.PluginConfig{
			{Name: "seg", Path: seg},
			{Name: "stats", Path: examplePlugin(t, "statsfamily")},
		},
		RestartMin:     50 * time.Millisecond,
		HealthInterval: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Stop(context.Background())
	dir := t.TempDir()
	s := pluginServer(t, h, dir)
	nc := connect(t, s.ClientURL())
	h.SetAPIHost(natsAPIHost{nc})
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := jsc.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jsc.CreateStream(ctx, jetstream.StreamConfig{Name: "TAGGED", Subjects: []string{"tagged.>"},
		Metadata: map[string]string{"hangar.backend": "seg"}}); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]string{}
	publish := func(n int) {
		for i := range n {
			data := fmt.Sprintf("order-%d", len(acked)+i)
			ack, err := jsc.Publish(ctx, "orders.new", []byte(data))
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			acked[ack.Sequence] = data
		}
	}
	publish(50)
	if _, err := jsc.Publish(ctx, "tagged.x", []byte("t")); err != nil {
		t.Fatal(err)
	}

	// The family plugin answers its subject, asking STREAM.INFO of the
	// server through jsapi.Host.
	m, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.STORE.STATS.ORDERS", nil)
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Type     string `json:"type"`
		Messages uint64 `json:"messages"`
		Backend  string `json:"backend"`
		Error    any    `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &stats); err != nil || stats.Messages != 50 || stats.Backend != "seg" || stats.Error != nil {
		t.Fatalf("stats reply %s (%v)", m.Data, err)
	}

	// Kill the plugin process serving the stores: publishes fail while it
	// is down, then work again, and nothing acknowledged is lost.
	pids := childPIDs(seg)
	if len(pids) != 1 {
		t.Fatalf("segstore processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	failed := 0
	deadline := time.Now().Add(20 * time.Second)
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		data := fmt.Sprintf("order-%d", len(acked))
		ack, err := jsc.Publish(pctx, "orders.new", []byte(data))
		pcancel()
		if err == nil {
			acked[ack.Sequence] = data
			if failed > 0 || len(childPIDs(seg)) == 1 {
				break
			}
			continue
		}
		if failed++; failed == 1 {
			t.Logf("publish while the plugin is down: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishing did not recover: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d publishes failed while the plugin restarted", failed)
	publish(20)
	for seq, data := range acked {
		got, err := st.GetMsg(ctx, seq)
		if err != nil || string(got.Data) != data {
			t.Fatalf("message %d after the crash: %v %v", seq, got, err)
		}
	}

	// A restarted server finds its streams in the plugin store.
	s.Shutdown()
	s = pluginServer(t, h, dir)
	defer s.Shutdown()
	nc2 := connect(t, s.ClientURL())
	h.SetAPIHost(natsAPIHost{nc2})
	jsc2, _ := jetstream.New(nc2)
	st2, err := jsc2.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st2.Info(ctx)
	if err != nil || info.State.Msgs != uint64(len(acked)) {
		t.Fatalf("after a server restart: %+v %v (want %d messages)", info.State, err, len(acked))
	}
	if _, err := jsc2.Stream(ctx, "TAGGED"); err != nil {
		t.Fatalf("TAGGED after a server restart: %v", err)
	}
}
