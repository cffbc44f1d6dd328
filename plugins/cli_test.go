package plugins_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/plugins"
	"github.com/hangar-mq/hangar/plugins/cli"
)

// TestCLIList lists the built-ins and two plugins, a store and a family.
func TestCLIList(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	var out bytes.Buffer
	cfg := plugins.Config{Plugins: []plugins.PluginConfig{
		{Name: "seg", Path: plugins.Binary(t, "segstore")},
		{Name: "stats", Path: plugins.Binary(t, "statsfamily")},
	}}
	if err := cli.List(context.Background(), &out, cfg, []string{"api.stream", "api.consumer"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{
		"store  store.memory",
		"store  store.seg ",
		"store.segstore 0.1.0",
		"persistent",
		"plugin seg (",
		"api    api.stats",
		"$JS.API.STREAM.STORE.STATS.*",
		"api    api.stream",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ls output lacks %q", want)
		}
	}
}

// TestCLICheck runs `plugins check` on the example store, the family and
// a binary that fails the handshake.
func TestCLICheck(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	ctx := context.Background()
	for _, name := range []string{"segstore", "statsfamily", "storeplugin"} {
		var out bytes.Buffer
		if err := cli.Check(ctx, &out, plugins.Binary(t, name), cli.CheckOptions{}); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out.String())
		}
		t.Logf("%s:\n%s", name, out.String())
		if name == "segstore" && !strings.Contains(out.String(), "ok   data survives a restart of the plugin") {
			t.Errorf("segstore: no persistence step:\n%s", out.String())
		}
	}
	var out bytes.Buffer
	err := cli.Check(ctx, &out, plugins.Binary(t, "badplugin"), cli.CheckOptions{})
	if err == nil || !strings.Contains(out.String(), "FAIL handshake") || !strings.Contains(err.Error(), "expects version 1") {
		t.Fatalf("badplugin: %v\n%s", err, out.String())
	}
}
