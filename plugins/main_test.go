package plugins

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The plugin binaries the tests run, built once per test binary.
var bins struct {
	once  sync.Once
	dir   string
	paths map[string]string
	err   error
}

// binSpec is one plugin to build: in the workspace (a testdata main of
// this module), or as a third party would, inside its own module with the
// workspace off.
type binSpec struct {
	name, dir, pkg string
	ownModule      bool
}

var binSpecs = []binSpec{
	{name: "storeplugin", dir: ".", pkg: "./testdata/storeplugin"},
	{name: "badplugin", dir: ".", pkg: "./testdata/badplugin"},
	{name: "segstore", dir: "examples/segstore", pkg: ".", ownModule: true},
	{name: "statsfamily", dir: "examples/statsfamily", pkg: ".", ownModule: true},
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binary returns the path of a built plugin, building them all on first
// use. Under -short it skips the test: plugin processes are the slow part.
func binary(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("plugin processes: skipped under -short")
	}
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "hangar-plugin-bins-")
		if bins.err != nil {
			return
		}
		bins.paths = make(map[string]string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 2)
		for _, b := range binSpecs {
			out := filepath.Join(bins.dir, b.name)
			bins.paths[b.name] = out
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := goBuild(b, out); err != nil {
					mu.Lock()
					bins.err = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	if bins.err != nil {
		t.Fatalf("building plugins: %v", bins.err)
	}
	p, ok := bins.paths[name]
	if !ok {
		t.Fatalf("no plugin binary %q", name)
	}
	return p
}

func goBuild(b binSpec, out string) error {
	cmd := exec.Command("go", "build", "-o", out, b.pkg)
	cmd.Dir = b.dir
	cmd.Env = os.Environ()
	if b.ownModule {
		cmd.Env = append(cmd.Env, "GOWORK=off")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", b.name, err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// testLogger records what a Host logs.
type testLogger struct {
	mu    sync.Mutex
	lines []string
	times []time.Time
}

func newTestLogger() *testLogger { return &testLogger{} }

func (l *testLogger) add(level, format string, v ...any) {
	s := level + " " + fmt.Sprintf(format, v...)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	// Not t.Log: plugin logs keep coming after a test ends.
	if os.Getenv("HANGAR_PLUGIN_TEST_LOG") != "" {
		fmt.Fprintln(os.Stderr, s)
	}
}

func (l *testLogger) Noticef(f string, v ...any) { l.add("[INF]", f, v...) }
func (l *testLogger) Warnf(f string, v ...any)   { l.add("[WRN]", f, v...) }
func (l *testLogger) Errorf(f string, v ...any)  { l.add("[ERR]", f, v...) }
func (l *testLogger) Debugf(f string, v ...any)  { l.add("[DBG]", f, v...) }

// has reports whether a logged line contains all of parts.
func (l *testLogger) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// when returns the times of the logged lines containing all of parts.
func (l *testLogger) when(parts ...string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for i, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, l.times[i])
		}
	}
	return out
}
