package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// CLIVersion is the nats CLI release the suites drive.
const CLIVersion = "v0.5.0"

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// NatsCLI returns the path of the nats CLI, installing it with go install
// when it is missing, so a fresh machine needs nothing by hand.
func NatsCLI(t testing.TB) string {
	t.Helper()
	cliOnce.Do(func() {
		gobin := filepath.Join(goEnv("GOPATH"), "bin")
		if p := os.Getenv("GOBIN"); p != "" {
			gobin = p
		}
		cand := filepath.Join(gobin, "nats")
		if out, err := exec.Command(cand, "--version").CombinedOutput(); err == nil && strings.Contains(string(out), strings.TrimPrefix(CLIVersion, "v")) {
			cliPath = cand
			return
		}
		cmd := exec.Command("go", "install", "github.com/nats-io/natscli/nats@"+CLIVersion)
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("installing the nats CLI: %v\n%s", err, out)
			return
		}
		cliPath = cand
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

func goEnv(k string) string {
	out, err := exec.Command("go", "env", k).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// CLI runs the nats CLI against url with args and returns its combined
// output; no user context or environment leaks in.
func CLI(t testing.TB, url string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--no-context", "-s", url}, args...)
	cmd := exec.CommandContext(ctx, NatsCLI(t), full...)
	cmd.Env = append(os.Environ(), "NATS_CONTEXT=", "NATS_URL=", "HOME="+t.TempDir(), "NO_COLOR=1")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustCLI is CLI that fails the test on a non-zero exit.
func MustCLI(t testing.TB, url string, args ...string) string {
	t.Helper()
	out, err := CLI(t, url, args...)
	if err != nil {
		t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
