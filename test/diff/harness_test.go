// Package diff runs the same JetStream scenarios against the reference
// nats-server (embedded as a test-only oracle) and against Hangar, and
// compares the JSON replies field by field after normalising times, ids and
// server names.
package diff

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	hserver "github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	ref "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// target is one server under test.
type target struct {
	name string
	nc   *nats.Conn
}

func startRef(t *testing.T) string {
	t.Helper()
	o := &ref.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	s, err := ref.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("reference server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func startHangar(t *testing.T) string {
	t.Helper()
	return harness.Server(t, &hserver.Options{JetStream: true}).ClientURL()
}

// both returns connections to a fresh reference server and a fresh Hangar.
func both(t *testing.T) (refT, hanT *target) {
	t.Helper()
	conn := func(url string) *nats.Conn {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	return &target{"reference", conn(startRef(t))}, &target{"hangar", conn(startHangar(t))}
}

// request sends body to subj and returns the decoded JSON reply (or the
// status header of a non-JSON reply).
func (tg *target) request(t *testing.T, subj string, body any) any {
	t.Helper()
	return tg.requestTimeout(t, subj, body, 5*time.Second)
}

func (tg *target) requestTimeout(t *testing.T, subj string, body any, d time.Duration) any {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	m, err := tg.nc.Request(subj, b, d)
	if err != nil {
		return map[string]any{"request_error": err.Error()}
	}
	return decodeReply(m)
}

func decodeReply(m *nats.Msg) any {
	if len(m.Data) == 0 || (m.Header != nil && m.Header.Get("Status") != "" && len(m.Data) == 0) {
		return map[string]any{"status": m.Header.Get("Status"), "description": m.Header.Get("Description")}
	}
	var v any
	if err := json.Unmarshal(m.Data, &v); err != nil {
		return map[string]any{"raw": string(m.Data)}
	}
	return v
}

// publish publishes with headers and returns the decoded PubAck reply.
func (tg *target) publish(t *testing.T, subj string, hdr map[string]string, data string) any {
	t.Helper()
	msg := nats.NewMsg(subj)
	msg.Data = []byte(data)
	for k, v := range hdr {
		msg.Header.Set(k, v)
	}
	m, err := tg.nc.RequestMsg(msg, 5*time.Second)
	if err != nil {
		return map[string]any{"request_error": err.Error()}
	}
	return decodeReply(m)
}

// Keys whose values differ by nature between servers or runs.
var volatile = map[string]bool{
	"created": true, "ts": true, "first_ts": true, "last_ts": true, "time": true, "now": true,
	"start": true, "id": true, "server_id": true, "server_name": true, "leader": true, "leader_since": true,
	"timestamp": true, "active": true, "last_active": true, "nonce": true,
}

var natsMeta = regexp.MustCompile(`^_nats\.|^hangar\.`)

// normalize replaces volatile values with placeholders and drops fields
// that are implementation details (server-managed metadata, cluster info).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch {
			case k == "cluster" || k == "api":
				continue
			case k == "metadata":
				if m, ok := val.(map[string]any); ok {
					kept := map[string]any{}
					for mk, mv := range m {
						if !natsMeta.MatchString(mk) {
							kept[mk] = mv
						}
					}
					if len(kept) > 0 {
						out[k] = kept
					}
					continue
				}
			case volatile[k]:
				if s, ok := val.(string); ok && s == "0001-01-01T00:00:00Z" {
					out[k] = "<zero-time>"
				} else {
					out[k] = "<v>"
				}
				continue
			}
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalize(x[i])
		}
		return out
	}
	return v
}

// compare reports every difference between the normalized replies.
func compare(t *testing.T, step string, r, h any) {
	t.Helper()
	var diffs []string
	walk("", normalize(r), normalize(h), &diffs)
	if len(diffs) > 0 {
		sort.Strings(diffs)
		rb, _ := json.Marshal(r)
		hb, _ := json.Marshal(h)
		t.Errorf("%s: %d difference(s):\n  %s\nreference: %s\nhangar:    %s", step, len(diffs), strings.Join(diffs, "\n  "), rb, hb)
	}
}

func walk(path string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: reference %v, hangar %v", path, jsonStr(a), jsonStr(b)))
			return
		}
		for k := range av {
			walk(path+"."+k, av[k], bv[k], out)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: only in hangar: %v", path, k, jsonStr(bv[k])))
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			*out = append(*out, fmt.Sprintf("%s: reference %v, hangar %v", path, jsonStr(a), jsonStr(b)))
			return
		}
		for i := range av {
			walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], out)
		}
	default:
		if b == nil && a != nil {
			*out = append(*out, fmt.Sprintf("%s: only in reference: %v", path, jsonStr(a)))
			return
		}
		if jsonStr(a) != jsonStr(b) {
			*out = append(*out, fmt.Sprintf("%s: reference %v, hangar %v", path, jsonStr(a), jsonStr(b)))
		}
	}
}

func jsonStr(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// step is one API request or publish in a scenario.
type step struct {
	name string
	subj string
	body any
	// pub makes the step a publish with headers instead of an API request.
	pub  bool
	hdr  map[string]string
	data string
	// timeout overrides the reply wait, for steps that expect none.
	timeout time.Duration
}

// runSteps runs the steps against both servers, comparing each reply.
func runSteps(t *testing.T, steps []step) {
	t.Helper()
	r, h := both(t)
	for _, s := range steps {
		var rr, hr any
		if s.pub {
			rr, hr = r.publish(t, s.subj, s.hdr, s.data), h.publish(t, s.subj, s.hdr, s.data)
		} else {
			d := s.timeout
			if d == 0 {
				d = 5 * time.Second
			}
			rr, hr = r.requestTimeout(t, s.subj, s.body, d), h.requestTimeout(t, s.subj, s.body, d)
		}
		compare(t, s.name, rr, hr)
	}
}
