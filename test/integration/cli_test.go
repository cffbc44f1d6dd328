package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
)

// cli runs the nats CLI against url with no user context.
type cli struct {
	t    *testing.T
	bin  string
	url  string
	home string
}

func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	return c.runTimeout(20*time.Second, args...)
}

func (c *cli) runTimeout(d time.Duration, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--no-context", "-s", c.url}, args...)...)
	cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "NATS_URL=", "HOME="+c.home, "XDG_CONFIG_HOME="+c.home, "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs a command that has to succeed and whose output has to contain
// every one of want.
func (c *cli) must(want []string, args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			c.t.Fatalf("nats %s: no %q in\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

func newCLI(t *testing.T) *cli {
	bin := harness.NatsCLI(t)
	s := harness.Server(t, &server.Options{JetStream: true})
	return &cli{t: t, bin: bin, url: s.ClientURL(), home: t.TempDir()}
}

func TestCLIConsumers(t *testing.T) {
	c := newCLI(t)
	c.must(nil, "stream", "add", "ORD", "--subjects", "ord.>", "--storage", "memory", "--defaults")
	for _, m := range []string{"msg 1", "msg 2", "msg 3"} {
		c.must(nil, "pub", "ord.new", m)
	}
	c.must([]string{"Pull Mode: true", "Ack Policy: Explicit", "Unprocessed Messages: 3"},
		"consumer", "add", "ORD", "PULL", "--pull", "--ack", "explicit", "--deliver", "all", "--defaults")
	var info struct {
		Name       string `json:"name"`
		NumPending int    `json:"num_pending"`
		Paused     bool   `json:"paused"`
		Config     struct {
			PauseUntil string `json:"pause_until"`
		} `json:"config"`
	}
	out := c.must(nil, "consumer", "info", "ORD", "PULL", "--json")
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Name != "PULL" || info.NumPending != 3 {
		t.Fatalf("consumer info: %v %+v\n%s", err, info, out)
	}
	c.must([]string{"PULL"}, "consumer", "ls", "ORD")
	c.must([]string{"PULL"}, "consumer", "ls", "ORD", "--names")
	c.must([]string{"msg 1", "msg 2", "Acknowledged message"}, "consumer", "next", "ORD", "PULL", "--count", "2")
	c.must([]string{"Paused ORD > PULL"}, "consumer", "pause", "ORD", "PULL", "10m", "--force")
	out = c.must(nil, "consumer", "info", "ORD", "PULL", "--json")
	if err := json.Unmarshal([]byte(out), &info); err != nil || !info.Paused {
		t.Fatalf("paused info: %v %+v", err, info)
	}
	c.must([]string{"resumed"}, "consumer", "resume", "ORD", "PULL", "--force")
	c.must([]string{"msg 3"}, "consumer", "next", "ORD", "PULL")
	// A push consumer and an ephemeral one.
	c.must([]string{"Delivery Subject: out.ord", "Flow Control: true"},
		"consumer", "add", "ORD", "PUSH", "--target", "out.ord", "--ack", "none", "--deliver", "all", "--heartbeat", "5s", "--flow-control", "--defaults")
	c.must(nil, "consumer", "rm", "ORD", "PULL", "-f")
	c.must(nil, "consumer", "rm", "ORD", "PUSH", "-f")
	c.must([]string{"No Consumers defined"}, "consumer", "ls", "ORD")
	if _, err := c.run("consumer", "info", "ORD", "PULL"); err == nil {
		t.Fatal("info of a deleted consumer succeeded")
	}
}

func TestCLIKeyValue(t *testing.T) {
	c := newCLI(t)
	c.must(nil, "kv", "add", "CFG", "--storage", "memory", "--history", "5")
	c.must(nil, "kv", "put", "CFG", "a", "1")
	c.must(nil, "kv", "put", "CFG", "a", "2")
	if out := c.must(nil, "kv", "get", "CFG", "a", "--raw"); strings.TrimSpace(out) != "2" {
		t.Fatalf("kv get: %q", out)
	}
	c.must(nil, "kv", "create", "CFG", "b", "x")
	if _, err := c.run("kv", "create", "CFG", "b", "y"); err == nil {
		t.Fatal("kv create of an existing key succeeded")
	}
	c.must(nil, "kv", "update", "CFG", "a", "3", "2")
	c.must([]string{"│ a   │        1 │ PUT", "│ 3     │"}, "kv", "history", "CFG", "a")
	c.must([]string{"a", "b"}, "kv", "ls", "CFG")
	c.must(nil, "kv", "del", "CFG", "b", "-f")
	c.must(nil, "kv", "purge", "CFG", "a", "-f")
	// watch prints the current state and runs until stopped.
	out, _ := c.runTimeout(2*time.Second, "kv", "watch", "CFG")
	if !strings.Contains(out, "DELETE CFG > b") || !strings.Contains(out, "PURGE CFG > a") {
		t.Fatalf("kv watch:\n%s", out)
	}
	c.must([]string{"CFG"}, "kv", "ls")
	c.must([]string{"CFG"}, "kv", "status", "CFG")
	c.must(nil, "kv", "rm", "CFG", "-f")
}

func TestCLIObjectStore(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "obj.bin")
	data := make([]byte, 3<<20+7)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.must(nil, "object", "add", "FILES", "--storage", "memory")
	c.must([]string{"Chunks:", "Digest: SHA-256"}, "object", "put", "FILES", src, "--name", "obj.bin")
	c.must([]string{"obj.bin"}, "object", "ls", "FILES")
	c.must([]string{"Object information for FILES > obj.bin", "Size: 3.0 MiB"}, "object", "info", "FILES", "obj.bin")
	dst := filepath.Join(dir, "out.bin")
	c.must([]string{"Wrote:"}, "object", "get", "FILES", "obj.bin", "--output", dst)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("object get: %d bytes, %v", len(got), err)
	}
	c.must(nil, "object", "rm", "FILES", "obj.bin", "-f")
	c.must([]string{"No entries found"}, "object", "ls", "FILES")
}
