package integration

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
)

func TestBinaryVersionAndHelp(t *testing.T) {
	bin := harness.Binary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "hangar ") {
		t.Fatalf("version: %v %s", err, out)
	}
	out, err = exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Examples:") || !strings.Contains(string(out), "--store_dir") {
		t.Fatalf("help: %v %s", err, out)
	}
	out, err = exec.Command(bin, "--no-such-flag").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no-such-flag") {
		t.Fatalf("bad flag should fail and name it: %v %s", err, out)
	}
}

// TestGracefulShutdownOnSignal: SIGTERM closes clients and exits cleanly;
// SIGUSR2 enters lame duck mode, which clients see as INFO ldm.
func TestGracefulShutdownOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		p := harness.StartBinary(t, "-m", "0", "-js=false")
		closed := make(chan struct{})
		nc := connect(t, p.URL, nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		nc.Flush()
		p.Signal(sig)
		select {
		case <-p.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: no exit", sig)
		}
		if !strings.Contains(p.Logs(), "Server Exiting") {
			t.Fatalf("%v: logs:\n%s", sig, p.Logs())
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: client not closed", sig)
		}
	}
	p := harness.StartBinary(t, "-m", "0", "-js=false")
	ldm := make(chan struct{}, 1)
	nc := connect(t, p.URL, nats.NoReconnect(), nats.LameDuckModeHandler(func(*nats.Conn) { ldm <- struct{}{} }))
	nc.Flush()
	p.Signal(syscall.SIGUSR2)
	select {
	case <-ldm:
	case <-time.After(10 * time.Second):
		t.Fatal("client not told of lame duck mode")
	}
}
