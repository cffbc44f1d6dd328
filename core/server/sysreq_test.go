package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var reqSeq atomic.Int64

// request sends a request and returns the payload of the first reply, or
// "" when none comes within a short wait.
func (rc *rawConn) request(subj, body string) string {
	rc.t.Helper()
	n := reqSeq.Add(1)
	inbox := fmt.Sprintf("_INBOX.t%d", n)
	rc.send(fmt.Sprintf("SUB %s %d\r\nPUB %s %s %d\r\n%s\r\n", inbox, 1000+n, subj, inbox, len(body), body))
	rc.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	l, err := rc.br.ReadString('\n')
	if err != nil {
		return ""
	}
	f := strings.Fields(l)
	if len(f) >= 5 && f[0] == "HMSG" {
		// A status message: no responders.
		for rc.line() != "" {
		}
		rc.line()
		return "<status>"
	}
	if len(f) < 4 || f[0] != "MSG" {
		rc.t.Fatalf("expected MSG, got %q", l)
	}
	payload := rc.line()
	rc.send(fmt.Sprintf("UNSUB %d\r\n", 1000+n))
	return payload
}

type sysResp struct {
	Server ServerInfo      `json:"server"`
	Data   json.RawMessage `json:"data"`
	Statsz json.RawMessage `json:"statsz"`
	Error  *ServerAPIError `json:"error"`
}

func decodeSys(t *testing.T, payload string) *sysResp {
	t.Helper()
	var r sysResp
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		t.Fatalf("bad reply %q: %v", payload, err)
	}
	return &r
}

func sysOpts() *Options {
	a := acct("A")
	a.Users = []*User{permUser("a", &Permissions{Publish: &SubjectPermission{Allow: []string{"$SYS.REQ.>", "x.>"}, Deny: []string{"x.y"}},
		Response: &ResponsePermission{MaxMsgs: 3, Expires: 5 * time.Second}})}
	a.Exports = []*ExportConfig{{Subject: "svc.>", Service: true}}
	return &Options{ServerName: "srv1", Accounts: []*AccountConfig{a, acct("SYS", "sys")}, SystemAccount: "SYS"}
}

func TestSysServerRequests(t *testing.T) {
	s := runServer(t, sysOpts())
	sys := login(t, s, userPass("sys", "sys"))

	r := decodeSys(t, sys.request("$SYS.REQ.SERVER.PING", ""))
	if r.Server.ID != s.ID() || r.Server.Name != "srv1" || r.Server.Version != ProtocolVersion || r.Server.Seq == 0 {
		t.Fatalf("server info %+v", r.Server)
	}
	var st ServerStatsData
	if json.Unmarshal(r.Statsz, &st) != nil || st.Connections != 1 || st.Cores == 0 {
		t.Fatalf("statsz %s", r.Statsz)
	}
	for _, subj := range []string{"$SYS.REQ.SERVER.PING.VARZ", "$SYS.REQ.SERVER." + s.ID() + ".VARZ"} {
		var v Varz
		if err := json.Unmarshal(decodeSys(t, sys.request(subj, "")).Data, &v); err != nil || v.ID != s.ID() || v.SystemAccount != "SYS" {
			t.Fatalf("%s: %+v %v", subj, v, err)
		}
	}
	var cz Connz
	json.Unmarshal(decodeSys(t, sys.request("$SYS.REQ.SERVER.PING.CONNZ", `{"auth":true}`)).Data, &cz)
	if cz.NumConns != 1 || cz.Conns[0].AuthorizedUser != "sys" || cz.Conns[0].Account != "SYS" {
		t.Fatalf("connz %+v", cz)
	}
	for _, z := range []string{"SUBSZ", "HEALTHZ", "ACCOUNTZ", "STATSZ"} {
		if r := decodeSys(t, sys.request("$SYS.REQ.SERVER.PING."+z, "")); r.Error != nil || len(r.Data) == 0 {
			t.Fatalf("%s: %+v", z, r)
		}
	}
	// A filter that names another server gets no answer.
	if p := sys.request("$SYS.REQ.SERVER.PING.VARZ", `{"server_name":"nope"}`); p != "" {
		t.Fatalf("filtered request answered: %s", p)
	}
	if r := decodeSys(t, sys.request("$SYS.REQ.SERVER.PING.CONNZ", `{bad`)); r.Error == nil || r.Error.Code != 400 {
		t.Fatalf("bad JSON: %+v", r)
	}
}

func TestSysAccountRequests(t *testing.T) {
	s := runServer(t, sysOpts())
	a := login(t, s, userPass("a", "a"))
	sys := login(t, s, userPass("sys", "sys"))

	var ui UserInfo
	json.Unmarshal(decodeSys(t, a.request("$SYS.REQ.USER.INFO", "")).Data, &ui)
	if ui.User != "a" || ui.Account != "A" || ui.Permissions == nil || ui.Permissions.Publish.Deny[0] != "x.y" ||
		ui.Permissions.Responses.MaxMsgs != 3 || ui.Permissions.Responses.Expires != 5*time.Second {
		t.Fatalf("user info %+v", ui)
	}
	json.Unmarshal(decodeSys(t, sys.request("$SYS.REQ.USER.INFO", "")).Data, &ui)
	if ui.User != "sys" || ui.Account != "SYS" {
		t.Fatalf("sys user info %+v", ui)
	}
	// Through the account's own import: only its own connections.
	var cz Connz
	json.Unmarshal(decodeSys(t, a.request("$SYS.REQ.SERVER.PING.CONNZ", "")).Data, &cz)
	if cz.NumConns != 1 {
		t.Fatalf("account connz shows %d connections", cz.NumConns)
	}
	var stz AccountStatz
	json.Unmarshal(decodeSys(t, a.request("$SYS.REQ.ACCOUNT.PING.STATZ", "")).Data, &stz)
	if len(stz.Accounts) != 1 || stz.Accounts[0].Account != "A" || stz.Accounts[0].Conns != 1 {
		t.Fatalf("account statz %+v", stz)
	}
	var ai AccountInfo
	json.Unmarshal(decodeSys(t, sys.request("$SYS.REQ.ACCOUNT.A.INFO", "")).Data, &ai)
	if ai.AccountName != "A" || len(ai.Exports) != 1 || ai.Exports[0].ResponseType != RespSingleton || len(ai.Imports) != 4 {
		t.Fatalf("account info %+v", ai)
	}
	var sz Subsz
	json.Unmarshal(decodeSys(t, sys.request("$SYS.REQ.ACCOUNT.A.SUBSZ", "")).Data, &sz)
	if sz.NumSubs == 0 {
		t.Fatalf("subsz %+v", sz)
	}
	if r := decodeSys(t, sys.request("$SYS.REQ.ACCOUNT.NOPE.INFO", "")); r.Error == nil || r.Error.Code != 404 {
		t.Fatalf("unknown account: %+v", r)
	}
	// The system subjects are the system account's: A cannot reach the
	// server-wide ones.
	if p := a.request("$SYS.REQ.SERVER.PING.VARZ", ""); p != "<status>" {
		t.Fatalf("A reached VARZ: %s", p)
	}
}

func TestSysExtensionHandler(t *testing.T) {
	s := runServer(t, sysOpts())
	s.RegisterSysHandler("JSZ", true, func(acc string, body []byte) (any, error) {
		return map[string]string{"acc": acc}, nil
	})
	sys := login(t, s, userPass("sys", "sys"))
	if r := decodeSys(t, sys.request("$SYS.REQ.SERVER.PING.JSZ", "")); string(r.Data) != `{"acc":""}` {
		t.Fatalf("JSZ %s", r.Data)
	}
	if r := decodeSys(t, sys.request("$SYS.REQ.ACCOUNT.A.JSZ", "")); string(r.Data) != `{"acc":"A"}` {
		t.Fatalf("account JSZ %s", r.Data)
	}
}

func TestConnectEvents(t *testing.T) {
	s := runServer(t, sysOpts())
	sys := login(t, s, userPass("sys", "sys"))
	sys.send("SUB $SYS.ACCOUNT.*.CONNECT 1\r\nSUB $SYS.ACCOUNT.*.DISCONNECT 2\r\nPING\r\n")
	sys.expect("PONG")
	a := login(t, s, userPass("a", "a")+`,"name":"app"`)
	a.send("PUB x.z 3\r\nabc\r\nPING\r\n")
	a.expect("PONG")
	a.nc.Close()
	bad := dialRaw(t, s)
	bad.send(`CONNECT {"user":"a","pass":"wrong"}` + "\r\n")
	bad.expectClosed()

	// Closing is noticed asynchronously: collect the three events in any
	// order.
	got := map[string]map[string]any{}
	for len(got) < 3 {
		l := sys.line()
		f := strings.Fields(l)
		if len(f) < 2 {
			t.Fatalf("got %q", l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(sys.line()), &m); err != nil {
			t.Fatal(err)
		}
		got[f[1]] = m
	}
	next := func(subject string) map[string]any {
		t.Helper()
		m, ok := got[subject]
		if !ok {
			t.Fatalf("no event on %s, got %v", subject, got)
		}
		return m
	}
	ev := next("$SYS.ACCOUNT.A.CONNECT")
	cl := ev["client"].(map[string]any)
	if ev["type"] != "io.nats.server.advisory.v1.client_connect" || cl["acc"] != "A" || cl["user"] != "a" || cl["name"] != "app" ||
		cl["kind"] != "Client" || cl["client_type"] != "nats" || ev["server"].(map[string]any)["name"] != "srv1" || len(ev["id"].(string)) != 22 {
		t.Fatalf("connect event %v", ev)
	}
	ev = next("$SYS.ACCOUNT.A.DISCONNECT")
	if ev["type"] != "io.nats.server.advisory.v1.client_disconnect" || ev["reason"] != "Client Closed" ||
		ev["sent"].(map[string]any)["bytes"] != 3.0 || ev["client"].(map[string]any)["stop"] == nil {
		t.Fatalf("disconnect event %v", ev)
	}
	ev = next("$SYS.ACCOUNT.$G.DISCONNECT")
	if ev["reason"] != "Authentication Failure" || ev["client"].(map[string]any)["user"] != "a" {
		t.Fatalf("auth failure event %v", ev)
	}
}
