package harness

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/config"
	"github.com/hangar-mq/hangar/core/server"
)

// WriteConfig writes a configuration file into the test's temporary
// directory and returns its path.
func WriteConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hangar.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ServerFromConfig starts an in-process server from configuration text,
// on 127.0.0.1 and a random port unless the text says otherwise.
func ServerFromConfig(t testing.TB, text string) *server.Server {
	t.Helper()
	o, err := config.Load(WriteConfig(t, text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return Server(t, o)
}

// ReferenceBinary returns the path of the reference nats-server used as
// a test oracle, or skips the test when it is not installed.
func ReferenceBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	out, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(string(trimNL(out)), "bin", "nats-server")
	if _, err := os.Stat(p); err != nil {
		t.Skip("reference nats-server not installed")
	}
	return p
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// StartReference runs the reference server with configuration text on
// 127.0.0.1 and a free port, for differential tests; it returns the
// client URL.
func StartReference(t testing.TB, text string) string {
	t.Helper()
	bin := ReferenceBinary(t)
	port := freePort(t)
	cmd := exec.Command(bin, "-c", WriteConfig(t, text), "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "nats://" + addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("reference server did not start")
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
