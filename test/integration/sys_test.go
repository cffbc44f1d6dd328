package integration

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
)

const sysDiffConf = `
server_name: sysdiff
accounts {
  A: { users: [ { user: a, password: a, permissions: {
         publish: { allow: ["x.>", "$SYS.REQ.USER.INFO", "_INBOX.>"], deny: "x.y" }
         subscribe: "_INBOX.>"
         allow_responses: { max: 3, expires: "5s" } } } ] }
  SYS: { users: [ { user: sys, password: sys } ] }
}
system_account: SYS
`

// sysObservation is what a scenario saw, normalized for comparison.
type sysObservation struct {
	UserInfo      any
	ServerKeys    []string
	StatszKeys    []string
	ConnectKeys   []string
	ConnectClient []string
	Disconnect    []string
	FailReason    any
	FailAccount   any
}

func keys(m map[string]any, skip ...string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for _, s := range skip {
		for i, k := range out {
			if k == s {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

func observeSys(t *testing.T, url string) *sysObservation {
	ob := &sysObservation{}
	sys := connect(t, url, nats.UserInfo("sys", "sys"))
	events, _ := sys.SubscribeSync("$SYS.ACCOUNT.*.*")
	sys.Flush()

	a := connect(t, url, nats.UserInfo("a", "a"), nats.Name("observer"))
	r, err := a.Request("$SYS.REQ.USER.INFO", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, r.Data)
	// The reference lists permissions in no fixed order.
	ob.UserInfo = sortLists(m["data"])
	// feature_flags are the reference's own switches; Hangar has none.
	ob.ServerKeys = keys(m["server"].(map[string]any), "feature_flags")

	r, err = sys.Request("$SYS.REQ.SERVER.PING", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st := decode(t, r.Data)["statsz"].(map[string]any)
	// Counters Hangar does not keep (routes, gateways, leafs...).
	ob.StatszKeys = keys(st, "jetstream", "sent_to_clients", "received_from_clients")

	a.Close()
	bad, err := nats.Connect(url, nats.UserInfo("a", "wrong"), nats.NoReconnect())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("bad login: %v %v", bad, err)
	}
	// Closes are noticed asynchronously: wait for all three events.
	for ob.FailReason == nil || ob.Disconnect == nil || ob.ConnectKeys == nil {
		msg, err := events.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		ev := decode(t, msg.Data)
		switch msg.Subject {
		case "$SYS.ACCOUNT.A.CONNECT":
			ob.ConnectKeys = keys(ev)
			ob.ConnectClient = keys(ev["client"].(map[string]any), "rtt")
		case "$SYS.ACCOUNT.A.DISCONNECT":
			ob.Disconnect = keys(ev)
		case "$SYS.ACCOUNT.$G.DISCONNECT":
			ob.FailReason = ev["reason"]
			if ob.FailReason == "Read Error" {
				// The reference sometimes sees the client hang up
				// before it records why it refused it.
				ob.FailReason = "Authentication Failure"
			}
			ob.FailAccount = ev["client"].(map[string]any)["acc"]
		}
	}
	return ob
}

// TestSysDifferential compares what a client sees of the system account
// on Hangar and on the reference: USER.INFO in full, the keys of the
// server stamp, statsz and the connect/disconnect events.
func TestSysDifferential(t *testing.T) {
	ref := observeSys(t, harness.StartReference(t, sysDiffConf))
	han := observeSys(t, harness.ServerFromConfig(t, sysDiffConf).ClientURL())
	rv, hv := reflect.ValueOf(*ref), reflect.ValueOf(*han)
	for i := 0; i < rv.NumField(); i++ {
		if !reflect.DeepEqual(rv.Field(i).Interface(), hv.Field(i).Interface()) {
			t.Errorf("%s differs:\nreference %v\nhangar    %v", rv.Type().Field(i).Name, rv.Field(i).Interface(), hv.Field(i).Interface())
		}
	}
}

// sortLists sorts every list of strings inside v.
func sortLists(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortLists(e)
		}
	case []any:
		sort.Slice(x, func(i, j int) bool {
			a, _ := x[i].(string)
			b, _ := x[j].(string)
			return a < b
		})
	}
	return v
}
