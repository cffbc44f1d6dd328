package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

// pluginBackends are the stores the kit runs as real plugin processes: a
// binary and its arguments. A backend of this workspace is served by
// testdata/storeplugin with its registry ID as argument (add a blank
// import there and a line here); a third-party one is its own binary.
var pluginBackends = []struct {
	name    string
	bin     string
	args    []string
	storage store.StorageType
}{
	{"memory", "storeplugin", []string{"store.memory"}, store.MemoryStorage},
	{"file", "storeplugin", []string{"store.file"}, store.FileStorage},
	{"pebble", "storeplugin", []string{"store.pebble"}, store.FileStorage},
	{"segstore", "segstore", nil, store.FileStorage},
}

// startHost starts a Host for pcs and stops it when t ends.
func startHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = newTestLogger()
	}
	h := NewHost(cfg)
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background()) })
	return h
}

// TestPluginConformance runs the whole conformance kit against stores
// served by go-plugin child processes: each provider the kit opens is a
// process of its own, reached through the registry like a built-in.
func TestPluginConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	for _, b := range pluginBackends {
		t.Run(b.name, func(t *testing.T) {
			name := "kit-" + b.name
			startHost(t, Config{Plugins: []PluginConfig{{Name: name, Path: binary(t, b.bin), Args: b.args}}})
			storetest.Run(t, storetest.Factory{Storage: b.storage, New: func(tb testing.TB, dir string) store.Provider {
				p, err := store.NewProvider("store."+name, store.ProviderConfig{Dir: dir, Sync: store.SyncPolicy{Always: true}})
				if err != nil {
					tb.Fatal(err)
				}
				return p
			}})
		})
	}
}

// TestHandshakeRefused checks that a binary that is not a compatible
// Hangar plugin is refused with an error that says why.
func TestHandshakeRefused(t *testing.T) {
	cases := []struct {
		name string
		path string
		args []string
		want []string
	}{
		{"protocol-version", "badplugin", nil, []string{"speaks plugin protocol version 2", "expects version 1"}},
		{"magic-cookie", "badplugin", []string{"-cookie"}, []string{"exited during the handshake", "another magic cookie than HANGAR_PLUGIN"}},
		{"not-a-plugin", "/bin/echo", []string{"hello"}, []string{"does not follow the go-plugin handshake"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if !strings.HasPrefix(path, "/") {
				path = binary(t, path)
			}
			h := NewHost(Config{Plugins: []PluginConfig{{Name: "bad", Path: path, Args: tc.args}}})
			err := h.Start(context.Background())
			if !errors.Is(err, ErrIncompatible) {
				t.Fatalf("Start: %v, want ErrIncompatible", err)
			}
			t.Logf("refused: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func sha256File(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestChecksum pins a binary: the right checksum starts it, a wrong one
// is refused with both sums.
func TestChecksum(t *testing.T) {
	bin := binary(t, "storeplugin")
	sum := sha256File(t, bin)
	startHost(t, Config{Plugins: []PluginConfig{{Name: "pinned", Path: bin, Checksum: "sha256:" + sum}}})
	wrong := strings.Repeat("0", 64)
	h := NewHost(Config{Plugins: []PluginConfig{{Name: "pinned-bad", Path: bin, Checksum: "sha256:" + wrong}}})
	err := h.Start(context.Background())
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), sum) {
		t.Fatalf("wrong checksum: %v", err)
	}
	h = NewHost(Config{Plugins: []PluginConfig{{Name: "pinned-bad", Path: bin, Checksum: "md5:00"}}})
	if err := h.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "sha256:<hex>") {
		t.Fatalf("malformed checksum: %v", err)
	}
}

// TestRegistry covers names: a plugin cannot take a built-in's ID, its
// store goes away with its Host, and a later Host may serve it again.
func TestRegistry(t *testing.T) {
	bin := binary(t, "storeplugin")
	h := NewHost(Config{Plugins: []PluginConfig{{Name: "memory", Path: bin}}})
	if err := h.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "built-in store") {
		t.Fatalf("clash with store.memory: %v", err)
	}
	h = NewHost(Config{Plugins: []PluginConfig{{Name: "Bad Name", Path: bin}}})
	if err := h.Start(context.Background()); err == nil {
		t.Fatal("a bad name was accepted")
	}
	for range 2 {
		h = NewHost(Config{Plugins: []PluginConfig{{Name: "again", Path: bin}}})
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ids := h.StoreIDs(); len(ids) != 1 || ids[0] != "store.again" {
			t.Fatalf("StoreIDs = %v", ids)
		}
		p, err := store.NewProvider("store.again", store.ProviderConfig{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if d, err := p.Describe(context.Background()); err != nil || d.ID != "store.memory" {
			t.Fatalf("Describe: %+v %v", d, err)
		}
		h.Stop(context.Background())
		// Stop closed the provider with its process.
		if _, err := p.List(context.Background()); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("List after Stop: %v", err)
		}
		if _, err := store.NewProvider("store.again", store.ProviderConfig{}); !errors.Is(err, ErrPluginUnavailable) {
			t.Fatalf("NewProvider after Stop: %v", err)
		}
	}
}

// TestPluginDir finds plugins in a directory, and forwards their logs.
func TestPluginDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Link(binary(t, "storeplugin"), filepath.Join(dir, "dirstore")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := newTestLogger()
	h := startHost(t, Config{Dir: dir, Logger: log})
	if ids := h.StoreIDs(); len(ids) != 1 || ids[0] != "store.dirstore" {
		t.Fatalf("StoreIDs = %v", ids)
	}
	p, err := store.NewProvider("store.dirstore", store.ProviderConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	// The plugin logs through sdk.Log when it starts serving.
	deadline := time.Now().Add(5 * time.Second)
	for !log.has("[INF]", "[plugin dirstore]", "serving store.memory") {
		if time.Now().After(deadline) {
			t.Fatal("the plugin's log line did not reach the host's logger")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreStartFails reports a store that cannot start with what it said.
func TestStoreStartFails(t *testing.T) {
	startHost(t, Config{Plugins: []PluginConfig{{Name: "nodir", Path: binary(t, "segstore")}}})
	_, err := store.NewProvider("store.nodir", store.ProviderConfig{})
	if err == nil || !strings.Contains(err.Error(), "segstore needs a directory") {
		t.Fatalf("NewProvider without a directory: %v", err)
	}
	t.Logf("refused: %v", err)
}
