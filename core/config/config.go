package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/nats-io/nats-server/v2/conf"
)

// Error is one problem in a configuration file and where it is.
type Error struct {
	File string
	Line int // 0 when the position is unknown
	Col  int
	Msg  string
}

// Error formats the problem as file:line:col: message.
func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return e.File + ": " + e.Msg
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a file, in file order.
type Errors []*Error

// Error lists every problem, one per line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Load reads the configuration file at path into server options.
func Load(path string) (*server.Options, error) {
	m, err := conf.ParseFileWithChecks(path)
	if err != nil {
		return nil, Errors{syntaxError(path, err)}
	}
	o, err := fromMap(m, path)
	if err != nil {
		return nil, err
	}
	o.ConfigFile = path
	return o, nil
}

// Parse reads configuration text; name labels errors. Includes resolve
// against the working directory.
func Parse(data, name string) (*server.Options, error) {
	m, err := conf.ParseWithChecks(data)
	if err != nil {
		return nil, Errors{syntaxError(name, err)}
	}
	return fromMap(m, name)
}

var lineRE = regexp.MustCompile(`on line (\d+)`)

// syntaxError places a parser error; the conf package reports a line
// number inside its message.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: err.Error()}
	if m := lineRE.FindStringSubmatch(e.Msg); m != nil && !strings.Contains(e.Msg, "include file") {
		e.Line, _ = strconv.Atoi(m[1])
	}
	return e
}

func fromMap(m map[string]any, file string) (*server.Options, error) {
	// Timestamps are on unless the file says otherwise, as in the reference.
	l := &loader{file: file, o: &server.Options{Logtime: true}}
	l.top(m)
	l.validate()
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool {
			a, b := l.errs[i], l.errs[j]
			if a.File != b.File {
				return a.File == file
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, l.errs
	}
	return l.o, nil
}

// token is what the conf package's pedantic mode wraps every value in.
type token interface {
	Value() any
	Line() int
	Position() int
	SourceFile() string
	IsUsedVariable() bool
}

// val is a configuration value with its position.
type val struct {
	v any
	t token
}

func wrap(x any) val {
	if t, ok := x.(token); ok {
		return val{v: t.Value(), t: t}
	}
	return val{v: x}
}

// entry is one key of a block.
type entry struct {
	key string // as written
	k   string // lower case, what settings are matched on
	v   val
}

// loader turns the parsed map into Options, collecting every error.
type loader struct {
	file string
	o    *server.Options
	errs Errors
	// backendAt is where jetstream.backend was set, and at where other
	// settings checked across the file were: users, nkeys, imports (by
	// pointer) and authorization keys (by name).
	backendAt val
	at        map[any]val
}

func (l *loader) mark(k any, v val) {
	if l.at == nil {
		l.at = map[any]val{}
	}
	l.at[k] = v
}

func (l *loader) errf(v val, format string, args ...any) {
	e := &Error{File: l.file, Msg: fmt.Sprintf(format, args...)}
	if v.t != nil {
		if f := v.t.SourceFile(); f != "" {
			e.File = f
		}
		e.Line, e.Col = v.t.Line(), max(v.t.Position(), 1)
	}
	l.errs = append(l.errs, e)
}

// entries returns a block's keys in file order.
func entries(m map[string]any) []entry {
	out := make([]entry, 0, len(m))
	for k, x := range m {
		out = append(out, entry{key: k, k: strings.ToLower(k), v: wrap(x)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].v.t, out[j].v.t
		if a == nil || b == nil {
			return out[i].k < out[j].k
		}
		if a.Line() != b.Line() {
			return a.Line() < b.Line()
		}
		return a.Position() < b.Position()
	})
	return out
}

// unknown reports a key no setting claims. A top-level key that only
// serves as a variable for others is not a setting, and not an error.
func (l *loader) unknown(e entry) {
	if e.v.t != nil && e.v.t.IsUsedVariable() {
		return
	}
	l.errf(e.v, "unknown field %q", e.key)
}

// unsupported reports a reference setting Hangar does not have yet.
func (l *loader) unsupported(e entry) {
	l.errf(e.v, "%q is not supported yet", e.key)
}

func typeName(x any) string {
	switch x.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "block"
	case []any:
		return "list"
	case time.Time:
		return "date"
	}
	return fmt.Sprintf("%T", x)
}

func (l *loader) wrongType(name string, v val, want string) {
	if s, ok := v.v.(string); ok {
		l.errf(v, "%s: expected %s, got string %q", name, want, s)
		return
	}
	l.errf(v, "%s: expected %s, got %s", name, want, typeName(v.v))
}

func (l *loader) str(name string, v val) (string, bool) {
	s, ok := v.v.(string)
	if !ok {
		l.wrongType(name, v, "a string")
	}
	return s, ok
}

func (l *loader) boolean(name string, v val) (bool, bool) {
	b, ok := v.v.(bool)
	if !ok {
		l.wrongType(name, v, "true or false")
	}
	return b, ok
}

func (l *loader) integer(name string, v val) (int64, bool) {
	switch n := v.v.(type) {
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) {
			return int64(n), true
		}
	}
	l.wrongType(name, v, "an integer")
	return 0, false
}

// intIn reads an integer within [lo, hi].
func (l *loader) intIn(name string, v val, lo, hi int64) (int64, bool) {
	n, ok := l.integer(name, v)
	if ok && (n < lo || n > hi) {
		l.errf(v, "%s: %d is out of range [%d, %d]", name, n, lo, hi)
		return 0, false
	}
	return n, ok
}

// size reads a byte size: a number, possibly with a unit (1MB, 64KiB),
// written bare or quoted.
func (l *loader) size(name string, v val) (int64, bool) {
	switch n := v.v.(type) {
	case int64:
		return n, true
	case string:
		if sz, err := parseSize(n); err == nil {
			return sz, true
		}
	}
	l.wrongType(name, v, "a size such as 1024 or 64MB")
	return 0, false
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("no number")
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]int64{"": 1, "b": 1,
		"k": 1e3, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
		"m": 1e6, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
		"g": 1e9, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
		"t": 1e12, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
	}[strings.ToLower(strings.TrimSpace(s[i:]))]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit in %q", s)
	}
	return n * mult, nil
}

// duration reads "2m", "1.5s"... or a bare number of seconds.
func (l *loader) duration(name string, v val) (time.Duration, bool) {
	switch d := v.v.(type) {
	case string:
		dur, err := time.ParseDuration(d)
		if err == nil && dur >= 0 {
			return dur, true
		}
		l.errf(v, "%s: invalid duration %q", name, d)
		return 0, false
	case int64:
		if d >= 0 {
			return time.Duration(d) * time.Second, true
		}
	case float64:
		if d >= 0 {
			return time.Duration(d * float64(time.Second)), true
		}
	}
	l.wrongType(name, v, `a duration such as "2s"`)
	return 0, false
}

// strList reads one string or a list of strings.
func (l *loader) strList(name string, v val) ([]string, bool) {
	switch x := v.v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		ok := true
		for _, e := range x {
			ev := wrap(e)
			s, sok := ev.v.(string)
			if !sok {
				l.wrongType(name, ev, "a string")
				ok = false
				continue
			}
			out = append(out, s)
		}
		return out, ok
	}
	l.wrongType(name, v, "a string or a list of strings")
	return nil, false
}

func (l *loader) block(name string, v val) (map[string]any, bool) {
	m, ok := v.v.(map[string]any)
	if !ok {
		l.wrongType(name, v, "a block { ... }")
	}
	return m, ok
}

func (l *loader) list(name string, v val) ([]any, bool) {
	a, ok := v.v.([]any)
	if !ok {
		l.wrongType(name, v, "a list [ ... ]")
	}
	return a, ok
}
