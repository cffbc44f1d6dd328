package diff

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// cstep is a step of a consumer scenario: an API request, a publish, a
// pull whose messages and statuses are collected, or an ack of a message
// the last pull returned.
type cstep struct {
	name string
	subj string
	body any
	// pub publishes data to subj with a reply and compares the PubAck.
	pub  bool
	data string
	// pull sends body to subj with an inbox reply and collects what
	// arrives for pull.
	pull time.Duration
	// ack answers message ack of the last pull with body (AckSync when
	// sync); ack is 1-based.
	ack  int
	sync bool
	// ignore lists reply keys whose values differ by nature here (a
	// generated name, a pause deadline).
	ignore []string
	// sleep waits after the step.
	sleep time.Duration
	// timeout overrides the reply wait, for requests that get none.
	timeout time.Duration
}

// ctarget is a server with the messages of its last pull.
type ctarget struct {
	*target
	last []*nats.Msg
}

// runConsumerSteps runs the steps against both servers and compares.
func runConsumerSteps(t *testing.T, steps []cstep) {
	t.Helper()
	r, h := both(t)
	rt, ht := &ctarget{target: r}, &ctarget{target: h}
	for _, s := range steps {
		rr, hr := rt.do(t, s), ht.do(t, s)
		ign := map[string]bool{}
		for _, k := range s.ignore {
			ign[k] = true
		}
		compare(t, s.name, blank(rr, ign), blank(hr, ign))
		if s.sleep > 0 {
			time.Sleep(s.sleep)
		}
	}
}

func (ct *ctarget) do(t *testing.T, s cstep) any {
	t.Helper()
	switch {
	case s.pub:
		return ct.publish(t, s.subj, nil, s.data)
	case s.pull > 0:
		msgs := ct.pullAll(t, s.subj, s.body, s.pull)
		ct.last = msgs
		out := make([]any, 0, len(msgs))
		for _, m := range msgs {
			out = append(out, describeMsg(m))
		}
		return out
	case s.ack > 0:
		if s.ack > len(ct.last) {
			return map[string]any{"error": "no such message"}
		}
		m := ct.last[s.ack-1]
		b := bodyBytes(t, s.body)
		if s.sync {
			r, err := ct.nc.Request(m.Reply, b, 2*time.Second)
			if err != nil {
				return map[string]any{"request_error": err.Error()}
			}
			return describeMsg(r)
		}
		if err := ct.nc.Publish(m.Reply, b); err != nil {
			t.Fatal(err)
		}
		ct.nc.Flush()
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	if s.subj == "" {
		return nil
	}
	d := 2 * time.Second
	if s.timeout > 0 {
		d = s.timeout
	}
	return ct.requestTimeout(t, s.subj, s.body, d)
}

func bodyBytes(t *testing.T, body any) []byte {
	switch v := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pullAll sends a pull request and returns what reaches its inbox within d.
func (ct *ctarget) pullAll(t *testing.T, subj string, body any, d time.Duration) []*nats.Msg {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := ct.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := ct.nc.PublishRequest(subj, inbox, bodyBytes(t, body)); err != nil {
		t.Fatal(err)
	}
	var out []*nats.Msg
	deadline := time.Now().Add(d)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

var ackTS = regexp.MustCompile(`^(\$JS\.ACK\.[^.]+\.[^.]+\.\d+\.\d+\.\d+\.)\d+(\.\d+)$`)

// describeMsg is a message as JSON-like data, with inboxes and timestamps
// replaced by placeholders.
func describeMsg(m *nats.Msg) map[string]any {
	out := map[string]any{}
	if strings.HasPrefix(m.Subject, "_INBOX.") {
		out["subject"] = "<inbox>"
	} else {
		out["subject"] = m.Subject
	}
	if m.Reply != "" {
		out["reply"] = ackTS.ReplaceAllString(m.Reply, "${1}<ts>${2}")
		if strings.HasPrefix(m.Reply, "$JS.FC.") {
			out["reply"] = "<fc>"
		}
	}
	if len(m.Data) > 0 {
		out["data"] = string(m.Data)
	}
	if len(m.Header) > 0 {
		h := map[string]any{}
		for k, v := range m.Header {
			switch k {
			case "Nats-Pin-Id", "Nats-Time-Stamp":
				h[k] = "<v>"
			default:
				h[k] = strings.Join(v, ",")
			}
		}
		out["header"] = h
	}
	return out
}

// blank replaces the values of keys in ign by a placeholder, at any depth.
func blank(v any, ign map[string]bool) any {
	if len(ign) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if ign[k] {
				out[k] = "<ignored>"
				continue
			}
			out[k] = blank(val, ign)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = blank(x[i], ign)
		}
		return out
	}
	return v
}

type M = map[string]any

// ccreate is a CONSUMER.CREATE.S.<name> step with cfg.
func ccreate(name, consumer string, cfg M, action string) cstep {
	body := M{"stream_name": "S", "config": cfg}
	if action != "" {
		body["action"] = action
	}
	return cstep{name: name, subj: "$JS.API.CONSUMER.CREATE.S." + consumer, body: body}
}
