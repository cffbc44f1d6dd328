// Package harness starts Hangar servers for the cross-module suites: in
// process (the same assembly the binary uses) or as the built binary, on
// 127.0.0.1 with ephemeral ports, stopped when the test ends.
package harness

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/cmd/app"
	"github.com/hangar-mq/hangar/core/server"
)

// Server runs an in-process server with the built-in modules.
func Server(t testing.TB, o *server.Options) *server.Server {
	t.Helper()
	if o == nil {
		o = &server.Options{}
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = -1
	}
	if o.JetStream && o.StoreDir == "" {
		o.StoreDir = t.TempDir()
	}
	var l server.Logger
	if os.Getenv("HANGAR_TEST_LOG") != "" {
		l = server.NewStdLogger(os.Stderr, true, true, false, false)
	}
	s, err := app.NewServer(o, l)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/hangar once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hangar-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hangar")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/hangar")
		cmd.Dir = RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// RepoRoot returns the workspace root (the directory holding go.work).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Proc is a hangar process started from the binary.
type Proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	URL    string
	HTTP   string
	Log    *strings.Builder
	logMu  sync.Mutex
	exited chan struct{}
}

var listenRE = regexp.MustCompile(`Listening for client connections on (\S+)`)
var httpRE = regexp.MustCompile(`Starting http monitor on (\S+)`)

// StartBinary runs the built binary with args (add "-p", "-1" yourself if
// you need a fixed port; by default a random one is chosen) and waits
// until it listens.
func StartBinary(t testing.TB, args ...string) *Proc {
	t.Helper()
	bin := Binary(t)
	hasPort := false
	for _, a := range args {
		if a == "-p" || a == "--port" {
			hasPort = true
		}
	}
	if !hasPort {
		args = append([]string{"-a", "127.0.0.1", "-p", "-1"}, args...)
	}
	p := &Proc{t: t, Log: &strings.Builder{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.logMu.Lock()
			p.Log.WriteString(line + "\n")
			if m := httpRE.FindStringSubmatch(line); m != nil {
				p.HTTP = "http://" + hostPort(m[1])
			}
			if m := listenRE.FindStringSubmatch(line); m != nil {
				p.URL = "nats://" + hostPort(m[1])
			}
			p.logMu.Unlock()
			if strings.Contains(line, "Server is ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.Kill() })
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("hangar exited early:\n%s", p.Logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("hangar did not start:\n%s", p.Logs())
	}
	return p
}

func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "::" || host == "0.0.0.0" || host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Logs returns what the process has logged so far.
func (p *Proc) Logs() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.Log.String()
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the process to go.
func (p *Proc) Kill() {
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// Stop sends SIGTERM and waits up to d for a clean exit.
func (p *Proc) Stop(d time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(d):
		p.Kill()
		return fmt.Errorf("hangar did not exit within %v", d)
	}
}

// Exited is closed when the process ends.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// WriteFile writes content to a file named name in a temporary directory
// and returns its path.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
