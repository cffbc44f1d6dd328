package server

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Logger is what the server logs through. Plugins and the JetStream
// runtime log through the same interface so that one -D/-V switch governs
// everything.
type Logger interface {
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
	Fatalf(format string, v ...any)
	Debugf(format string, v ...any)
	Tracef(format string, v ...any)
}

// StdLogger writes lines in the reference server's layout:
// "[pid] 2006/01/02 15:04:05.000000 [INF] text".
type StdLogger struct {
	// mu guards the writer and the rotation state below it.
	mu     sync.Mutex
	w      io.Writer
	pfx    string
	time   bool
	utc    bool
	debug  atomic.Bool
	trace  atomic.Bool
	closer io.Closer
	// path, limit and size drive rotation of a file logger.
	path  string
	limit int64
	size  int64
}

// NewStdLogger returns a logger writing to w.
func NewStdLogger(w io.Writer, logtime, debug, trace, utc bool) *StdLogger {
	l := &StdLogger{w: w, pfx: fmt.Sprintf("[%d] ", os.Getpid()), time: logtime, utc: utc}
	l.debug.Store(debug)
	l.trace.Store(trace)
	return l
}

// NewFileLogger opens (appending) path and logs there.
func NewFileLogger(path string, logtime, debug, trace, utc bool) (*StdLogger, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("server: open log file: %w", err)
	}
	l := NewStdLogger(f, logtime, debug, trace, utc)
	l.closer, l.path = f, path
	if st, err := f.Stat(); err == nil {
		l.size = st.Size()
	}
	return l, nil
}

// SetSizeLimit makes a file logger rotate when the file grows past limit
// bytes: the full file is renamed with a timestamp suffix and a new one
// started. Zero turns rotation off.
func (l *StdLogger) SetSizeLimit(limit int64) {
	l.mu.Lock()
	l.limit = limit
	l.mu.Unlock()
}

// rotateLocked starts a new log file. Held: l.mu.
func (l *StdLogger) rotateLocked() {
	if l.closer == nil || l.path == "" {
		return
	}
	l.closer.Close()
	os.Rename(l.path, l.path+"."+time.Now().Format("2006.01.02.15.04.05.000000000"))
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		l.w, l.closer = os.Stderr, nil
		return
	}
	l.w, l.closer, l.size = f, f, 0
}

// SetLevels changes the debug and trace switches at run time (reload).
func (l *StdLogger) SetLevels(debug, trace bool) {
	l.debug.Store(debug)
	l.trace.Store(trace)
}

// Close closes the underlying file, if the logger owns one.
func (l *StdLogger) Close() error {
	if l.closer != nil {
		return l.closer.Close()
	}
	return nil
}

func (l *StdLogger) logf(level, format string, v ...any) {
	var buf [64]byte
	b := append(buf[:0], l.pfx...)
	if l.time {
		now := time.Now()
		if l.utc {
			now = now.UTC()
		}
		b = now.AppendFormat(b, "2006/01/02 15:04:05.000000 ")
	}
	b = append(b, level...)
	b = fmt.Appendf(b, format, v...)
	b = append(b, '\n')
	l.mu.Lock()
	l.w.Write(b)
	if l.limit > 0 {
		if l.size += int64(len(b)); l.size > l.limit {
			l.rotateLocked()
		}
	}
	l.mu.Unlock()
}

// Noticef logs at the info level.
func (l *StdLogger) Noticef(format string, v ...any) { l.logf("[INF] ", format, v...) }

// Warnf logs a warning.
func (l *StdLogger) Warnf(format string, v ...any) { l.logf("[WRN] ", format, v...) }

// Errorf logs an error.
func (l *StdLogger) Errorf(format string, v ...any) { l.logf("[ERR] ", format, v...) }

// Fatalf logs and exits the process.
func (l *StdLogger) Fatalf(format string, v ...any) {
	l.logf("[FTL] ", format, v...)
	os.Exit(1)
}

// Debugf logs when debug is on.
func (l *StdLogger) Debugf(format string, v ...any) {
	if l.debug.Load() {
		l.logf("[DBG] ", format, v...)
	}
}

// Tracef logs when trace is on.
func (l *StdLogger) Tracef(format string, v ...any) {
	if l.trace.Load() {
		l.logf("[TRC] ", format, v...)
	}
}

// nopLogger discards everything.
type nopLogger struct{}

func (nopLogger) Noticef(string, ...any) {}
func (nopLogger) Warnf(string, ...any)   {}
func (nopLogger) Errorf(string, ...any)  {}
func (nopLogger) Fatalf(f string, v ...any) {
	fmt.Fprintf(os.Stderr, f+"\n", v...)
	os.Exit(1)
}
func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Tracef(string, ...any) {}

// Interface guards.
var (
	_ Logger = (*StdLogger)(nil)
	_ Logger = nopLogger{}
)
