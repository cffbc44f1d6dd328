package plugins

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Logger receives the host's messages and the plugins' logs. A
// core/server.Logger satisfies it.
type Logger interface {
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
	Debugf(format string, v ...any)
}

type nopLogger struct{}

func (nopLogger) Noticef(string, ...any) {}
func (nopLogger) Warnf(string, ...any)   {}
func (nopLogger) Errorf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any)  {}

// hclogAdapter is the hclog.Logger go-plugin writes to: the host's own
// messages, the plugin's hclog JSON lines (with their level), and the
// plugin's plain stderr lines. go-plugin logs the latter at debug through
// a sub-logger named after the binary; they are what the plugin printed,
// so they are raised to notice here.
type hclogAdapter struct {
	l          Logger
	name       string
	args       []any
	stderrName string // base name of the plugin binary
	stderr     bool   // this sub-logger carries the binary's stderr
}

func newHclog(l Logger, plugin, binary string) *hclogAdapter {
	return &hclogAdapter{l: l, name: "plugin " + plugin, stderrName: binary}
}

func (a *hclogAdapter) line(msg string, args []any) string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(a.name)
	b.WriteString("] ")
	b.WriteString(msg)
	all := append(append([]any(nil), a.args...), args...)
	for i := 0; i+1 < len(all); i += 2 {
		if k, _ := all[i].(string); k == "timestamp" || k == "@module" {
			continue
		}
		fmt.Fprintf(&b, " %v=%v", all[i], all[i+1])
	}
	return b.String()
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	switch level {
	case hclog.Trace, hclog.Debug:
		if a.stderr && len(args) == 0 {
			a.l.Noticef("%s", a.line(msg, nil))
			return
		}
		a.l.Debugf("%s", a.line(msg, args))
	case hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		a.l.Noticef("%s", a.line(msg, args))
	case hclog.Warn:
		a.l.Warnf("%s", a.line(msg, args))
	default:
		a.l.Errorf("%s", a.line(msg, args))
	}
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return false }
func (a *hclogAdapter) IsDebug() bool                 { return true }
func (a *hclogAdapter) IsInfo() bool                  { return true }
func (a *hclogAdapter) IsWarn() bool                  { return true }
func (a *hclogAdapter) IsError() bool                 { return true }
func (a *hclogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hclogAdapter) Name() string                  { return a.name }
func (a *hclogAdapter) SetLevel(hclog.Level)          {}
func (a *hclogAdapter) GetLevel() hclog.Level         { return hclog.Debug }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any(nil), a.args...), args...)
	return &c
}

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	c.stderr = name == a.stderrName
	if !c.stderr {
		c.name = a.name + "." + name
	}
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{emit: func(s string) { a.l.Noticef("%s", a.line(s, nil)) }}
}

// lineWriter cuts what is written to it into lines, for the plugin's
// stdout and stderr once go-plugin has redirected them.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.emit(line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// tailWriter keeps the last lines written to it, to explain a plugin that
// died during its handshake.
type tailWriter struct {
	mu    sync.Mutex
	lines []string
	part  []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.part[:i])); line != "" {
			w.lines = append(w.lines, line)
			if len(w.lines) > 8 {
				w.lines = w.lines[1:]
			}
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]string(nil), w.lines...)
	if s := strings.TrimSpace(string(w.part)); s != "" {
		out = append(out, s)
	}
	return strings.Join(out, " | ")
}

// Interface guard.
var _ hclog.Logger = (*hclogAdapter)(nil)
