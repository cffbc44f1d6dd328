package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func monGet(t *testing.T, s *Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s%s", s.MonitorAddr(), path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

func TestMonitoringEndpoints(t *testing.T) {
	s := runServer(t, &Options{HTTPPort: -1, ServerName: "mon"})
	a := dialRaw(t, s)
	a.send("CONNECT {\"name\":\"alpha\",\"lang\":\"go\",\"version\":\"1.0\"}\r\nSUB foo 1\r\nSUB bar q 2\r\nPING\r\n")
	a.expect("PONG")
	b := dialRaw(t, s)
	b.send("CONNECT {\"name\":\"beta\"}\r\nPUB foo 2\r\nhi\r\nPUB foo 2\r\nhi\r\nPING\r\n")
	b.expect("PONG")

	var v Varz
	if code := monGet(t, s, "/varz", &v); code != 200 {
		t.Fatalf("varz %d", code)
	}
	if v.Name != "mon" || v.Connections != 2 || v.InMsgs != 2 || v.OutMsgs != 2 || v.Subscriptions < 2 || v.MaxPayload != DefaultMaxPayload {
		t.Fatalf("varz: %+v", v)
	}

	var cz Connz
	monGet(t, s, "/connz?subs=1&sort=msgs_from", &cz)
	if cz.NumConns != 2 || cz.Conns[0].Name != "beta" || cz.Conns[0].InMsgs != 2 {
		t.Fatalf("connz sorted by msgs_from: %+v", cz.Conns)
	}
	if got := cz.Conns[1].Subs; len(got) != 2 || got[0] != "bar" {
		t.Fatalf("connz subs: %v", got)
	}
	monGet(t, s, "/connz?limit=1&offset=1", &cz)
	if cz.NumConns != 1 || cz.Total != 2 || cz.Offset != 1 || cz.Limit != 1 {
		t.Fatalf("connz paging: %+v", cz)
	}
	if code := monGet(t, s, "/connz?sort=bogus", nil); code != http.StatusBadRequest {
		t.Fatalf("bad sort: %d", code)
	}
	monGet(t, s, "/connz?subs=detail", &cz)
	if len(cz.Conns[0].SubsDetail) != 2 {
		t.Fatalf("detail: %+v", cz.Conns[0])
	}
	b.nc.Close()
	waitUntil(t, func() bool { return s.NumClients() == 1 })
	monGet(t, s, "/connz?state=closed", &cz)
	if cz.NumConns != 1 || cz.Conns[0].Reason != string(ClientClosed) || cz.Conns[0].Stop == nil {
		t.Fatalf("closed connz: %+v", cz.Conns)
	}

	var sz Subsz
	monGet(t, s, "/subsz?subs=1", &sz)
	if sz.NumSubs < 2 || len(sz.Subs) != 2 {
		t.Fatalf("subsz: %+v", sz)
	}
	monGet(t, s, "/subsz?subs=1&test=bar", &sz)
	if len(sz.Subs) != 1 || sz.Subs[0].Queue != "q" {
		t.Fatalf("subsz test: %+v", sz.Subs)
	}

	var az Accountz
	monGet(t, s, "/accountz", &az)
	if len(az.Accounts) != 2 || az.SystemAccount != SystemAccountName {
		t.Fatalf("accountz: %+v", az)
	}
	monGet(t, s, "/accountz?acc=$G", &az)
	if az.Account == nil || az.Account.ClientCnt != 1 || az.Account.SubCnt < 2 {
		t.Fatalf("accountz detail: %+v", az.Account)
	}

	var hz HealthStatus
	if code := monGet(t, s, "/healthz", &hz); code != 200 || hz.Status != "ok" {
		t.Fatalf("healthz: %d %+v", code, hz)
	}

	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", s.MonitorAddr()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hangar_server_connections{") || !strings.Contains(string(body), "hangar_server_in_msgs_total") {
		t.Fatalf("metrics:\n%s", body)
	}
}

func waitUntil(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met")
}

func TestStaleConnection(t *testing.T) {
	s := runServer(t, &Options{PingInterval: 50 * time.Millisecond, MaxPingsOut: 2})
	rc := dialRaw(t, s)
	rc.send("CONNECT {}\r\n")
	// Never answer the server's pings.
	rc.expect("PING")
	rc.expect("PING")
	rc.expect("-ERR 'Stale Connection'")
	rc.expectClosed()
}

func TestLameDuck(t *testing.T) {
	s := runServer(t, &Options{LameDuckDuration: 400 * time.Millisecond, LameDuckGracePeriod: 100 * time.Millisecond})
	rc := dialRaw(t, s)
	rc.send("CONNECT {}\r\nPING\r\n")
	rc.expect("PONG")
	go s.LameDuckShutdown()
	l := rc.line()
	if !strings.HasPrefix(l, "INFO ") || !strings.Contains(l, `"ldm":true`) {
		t.Fatalf("expected INFO with ldm, got %q", l)
	}
	rc.expectClosed()
	done := make(chan struct{})
	go func() { s.WaitForShutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("lame duck did not shut down")
	}
}
