package server

import (
	"strings"
	"testing"
	"time"
)

func acct(name string, users ...string) *AccountConfig {
	ac := &AccountConfig{Name: name}
	for _, u := range users {
		ac.Users = append(ac.Users, &User{Username: u, Password: u})
	}
	return ac
}

// drain reads lines up to the PONG answering a PING sent now.
func (rc *rawConn) drain() []string {
	rc.t.Helper()
	rc.send("PING\r\n")
	var out []string
	for {
		l := rc.line()
		if l == "PONG" {
			return out
		}
		out = append(out, l)
	}
}

func TestAccountIsolation(t *testing.T) {
	s := runServer(t, &Options{Accounts: []*AccountConfig{acct("A", "a"), acct("B", "b")}})
	a := login(t, s, userPass("a", "a"))
	b := login(t, s, userPass("b", "b"))
	a.send("SUB foo 1\r\nSUB > 2\r\nPING\r\n")
	a.expect("PONG")
	b.send("SUB foo 1\r\nPUB foo 2\r\nhi\r\n")
	if got := b.drain(); len(got) != 2 || got[0] != "MSG foo 1 2" {
		t.Fatalf("b got %q", got)
	}
	if got := a.drain(); len(got) != 0 {
		t.Fatalf("a saw b's message: %q", got)
	}
	if ca, cb := clientOf(t, s, "a").Account(), clientOf(t, s, "b").Account(); ca.Name != "A" || cb.Name != "B" {
		t.Fatalf("accounts %s %s", ca.Name, cb.Name)
	}
}

func clientOf(t *testing.T, s *Server, user string) *Client {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		if c.User() == user {
			return c
		}
	}
	t.Fatalf("no client %q", user)
	return nil
}

func importsOpts() *Options {
	a := acct("A", "a")
	a.Exports = []*ExportConfig{{Subject: "ev.>"}, {Subject: "svc.>", Service: true}, {Subject: "priv.>", Accounts: []string{"C"}},
		{Subject: "stream.>", Service: true, ResponseType: RespStream}}
	b := acct("B", "b")
	b.Imports = []*ImportConfig{
		{Account: "A", Subject: "ev.>", To: "fromA.ev.>"},
		{Account: "A", Subject: "svc.x", To: "local.svc", Service: true},
		{Account: "A", Subject: "svc.*", To: "wild.*", Service: true},
		{Account: "A", Subject: "stream.s", Service: true},
	}
	return &Options{Accounts: []*AccountConfig{a, b}}
}

func TestStreamImportWithPrefix(t *testing.T) {
	s := runServer(t, importsOpts())
	a := login(t, s, userPass("a", "a"))
	b := login(t, s, userPass("b", "b"))
	b.send("SUB fromA.> 1\r\nSUB ev.> 2\r\nPING\r\n")
	b.expect("PONG")
	a.send("PUB ev.one 2\r\nhi\r\nPUB other 1\r\nx\r\nPING\r\n")
	a.expect("PONG")
	if got := strings.Join(b.drain(), "|"); got != "MSG fromA.ev.one 1 2|hi" {
		t.Fatalf("b got %q", got)
	}
}

func TestServiceImport(t *testing.T) {
	s := runServer(t, importsOpts())
	a := login(t, s, userPass("a", "a"))
	b := login(t, s, userPass("b", "b"))
	a.send("SUB svc.> 1\r\nPING\r\n")
	a.expect("PONG")
	b.send("SUB _INBOX.b.> 9\r\nPUB local.svc _INBOX.b.1 3\r\nreq\r\nPING\r\n")
	b.expect("PONG")
	hm := a.line()
	f := strings.Fields(hm)
	if len(f) != 6 || f[0] != "HMSG" || f[1] != "svc.x" || !strings.HasPrefix(f[3], "_R_.") {
		t.Fatalf("responder got %q", hm)
	}
	if l := a.line(); l != "NATS/1.0" {
		t.Fatalf("header line %q", l)
	}
	if l := a.line(); !strings.HasPrefix(l, `Nats-Request-Info: {"acc":"B","rtt":`) {
		t.Fatalf("request info %q", l)
	}
	a.line()
	if l := a.line(); l != "req" {
		t.Fatalf("payload %q", l)
	}
	// Singleton: the first response goes back, the second is dropped.
	a.send("PUB " + f[3] + " 4\r\nresp\r\nPUB " + f[3] + " 5\r\nresp2\r\nPING\r\n")
	a.expect("PONG")
	if got := strings.Join(b.drain(), "|"); got != "MSG _INBOX.b.1 9 4|resp" {
		t.Fatalf("requester got %q", got)
	}
	acc, _ := s.LookupAccount("A")
	if n := acc.resp().pending(); n != 0 {
		t.Fatalf("%d responses still pending", n)
	}

	// Wildcards map by position.
	b.send("PUB wild.y _INBOX.b.2 1\r\nw\r\nPING\r\n")
	b.expect("PONG")
	if l := a.line(); !strings.HasPrefix(l, "HMSG svc.y 1 _R_.") {
		t.Fatalf("responder got %q", l)
	}
}

func TestServiceImportStreamResponses(t *testing.T) {
	s := runServer(t, importsOpts())
	a := login(t, s, userPass("a", "a"))
	b := login(t, s, userPass("b", "b"))
	a.send("SUB stream.s 1\r\nPING\r\n")
	a.expect("PONG")
	b.send("SUB _INBOX.b 9\r\nPUB stream.s _INBOX.b 1\r\nx\r\nPING\r\n")
	b.expect("PONG")
	reply := strings.Fields(a.line())[3]
	a.drain()
	a.send("PUB " + reply + " 1\r\n1\r\nPUB " + reply + " 1\r\n2\r\nPING\r\n")
	a.expect("PONG")
	if got := strings.Join(b.drain(), "|"); got != "MSG _INBOX.b 9 1|1|MSG _INBOX.b 9 1|2" {
		t.Fatalf("requester got %q", got)
	}
}

func TestServiceImportNoResponders(t *testing.T) {
	s := runServer(t, importsOpts())
	b := login(t, s, userPass("b", "b"))
	b.send("SUB _INBOX.b 9\r\nPUB local.svc _INBOX.b 1\r\nx\r\n")
	got := b.drain()
	if len(got) < 3 || !strings.HasPrefix(got[0], "HMSG _INBOX.b 9 ") || got[1] != "NATS/1.0 503" || got[2] != "Nats-Subject: local.svc" {
		t.Fatalf("requester got %q", got)
	}
}

func TestImportAuthorization(t *testing.T) {
	a := acct("A")
	a.Exports = []*ExportConfig{{Subject: "priv.>", Accounts: []string{"C"}}, {Subject: "s", Service: true}}
	for _, tc := range []struct {
		imp  *ImportConfig
		want string
	}{
		{&ImportConfig{Account: "A", Subject: "priv.x"}, `Error adding stream import "priv.x": stream import not authorized`},
		{&ImportConfig{Account: "A", Subject: "s"}, `Error adding stream import "s": stream import not authorized`},
		{&ImportConfig{Account: "A", Subject: "priv.x", Service: true}, `Error adding service import "priv.x": service import not authorized`},
		{&ImportConfig{Account: "Z", Subject: "x"}, `"Z" account not defined for stream import`},
	} {
		b := acct("B")
		b.Imports = []*ImportConfig{tc.imp}
		_, err := New(&Options{Accounts: []*AccountConfig{a, b}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	c := acct("C")
	c.Imports = []*ImportConfig{{Account: "A", Subject: "priv.x"}}
	if _, err := New(&Options{Accounts: []*AccountConfig{a, c}}); err != nil {
		t.Fatal(err)
	}
}

func TestStreamImportCycle(t *testing.T) {
	a, b := acct("A", "a"), acct("B", "b")
	a.Exports = []*ExportConfig{{Subject: "x.>"}}
	b.Exports = []*ExportConfig{{Subject: "x.>"}}
	a.Imports = []*ImportConfig{{Account: "B", Subject: "x.>"}}
	b.Imports = []*ImportConfig{{Account: "A", Subject: "x.>"}}
	s := runServer(t, &Options{Accounts: []*AccountConfig{a, b}})
	ca := login(t, s, userPass("a", "a"))
	cb := login(t, s, userPass("b", "b"))
	ca.send("SUB x.> 1\r\nPING\r\n")
	ca.expect("PONG")
	cb.send("SUB x.> 1\r\nPUB x.1 1\r\nz\r\nPING\r\n")
	cb.expect("MSG x.1 1 1")
	cb.expect("z")
	cb.expect("PONG")
	if got := ca.drain(); len(got) != 2 {
		t.Fatalf("a got %q, want exactly one message", got)
	}
}

func TestMappings(t *testing.T) {
	g := []*MappingConfig{
		{Source: "orders.*.*", Destinations: []*MapDestination{{Subject: "o.{{wildcard(2)}}.$1"}}},
		{Source: "lit", Destinations: []*MapDestination{{Subject: "mapped.lit"}}},
		{Source: "split", Destinations: []*MapDestination{{Subject: "s.a", Weight: 50}, {Subject: "s.b", Weight: 50}}},
	}
	s := runServer(t, &Options{Mappings: g})
	rc := login(t, s, "")
	rc.send("SUB > 1\r\nPUB orders.eu.7 1\r\nx\r\nPUB lit 1\r\ny\r\n")
	if got := strings.Join(rc.drain(), "|"); got != "MSG o.7.eu 1 1|x|MSG mapped.lit 1 1|y" {
		t.Fatalf("got %q", got)
	}
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		rc.send("PUB split 1\r\nz\r\n")
	}
	for _, l := range rc.drain() {
		if strings.HasPrefix(l, "MSG ") {
			counts[strings.Fields(l)[1]]++
		}
	}
	if counts["s.a"]+counts["s.b"] != 200 || counts["s.a"] < 50 || counts["s.b"] < 50 {
		t.Fatalf("weighted split %v", counts)
	}
}

func TestTransform(t *testing.T) {
	for _, tc := range []struct{ src, dst, in, want string }{
		{"a.*.b.*", "x.$2.$1", "a.1.b.2", "x.2.1"},
		{"a.*.b.*", "x.{{wildcard(1)}}.{{ Wildcard(2) }}", "a.1.b.2", "x.1.2"},
		{"a.*", "x-{{wildcard(1)}}-y.z", "a.q", "x-q-y.z"},
		{"a.>", "b.>", "a.1.2.3", "b.1.2.3"},
		{"a.*.>", "b.$1.>", "a.1.2.3", "b.1.2.3"},
		{"a.*", "*.b", "a.1", "1.b"},
		{"lit", "other", "lit", "other"},
	} {
		tr, err := newTransform(tc.src, tc.dst)
		if err != nil {
			t.Fatalf("%s → %s: %v", tc.src, tc.dst, err)
		}
		if got, ok := tr.Apply(tc.in); !ok || got != tc.want {
			t.Errorf("%s → %s on %s: %q, %v; want %q", tc.src, tc.dst, tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range [][2]string{{"a.*", "b.$2"}, {"a", "b.>"}, {"a.*", "{{split(1)}}"}, {"a.*", "b..c"}, {"a b", "c"}} {
		if _, err := newTransform(bad[0], bad[1]); err == nil {
			t.Errorf("%s → %s: no error", bad[0], bad[1])
		}
	}
}

func TestJetStreamAccountRule(t *testing.T) {
	// No accounts besides the system account: the global account has it.
	s, err := New(&Options{JetStream: true, Accounts: []*AccountConfig{acct("SYS")}, SystemAccount: "SYS"})
	if err != nil {
		t.Fatal(err)
	}
	if s.GlobalAccount().JetStreamLimits() == nil || s.SystemAccount().JetStreamLimits() != nil {
		t.Fatal("global account should have JetStream, the system account not")
	}
	// Accounts configured: only those that ask for it.
	c := acct("C")
	c.JetStream = &JetStreamAccountLimits{MaxStreams: 5}
	s, err = New(&Options{JetStream: true, Accounts: []*AccountConfig{acct("A"), c}})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := s.LookupAccount("C")
	aa, _ := s.LookupAccount("A")
	if s.GlobalAccount().JetStreamLimits() != nil || aa.JetStreamLimits() != nil || ca.JetStreamLimits().MaxStreams != 5 {
		t.Fatal("only C should have JetStream")
	}
	// JetStream off for the server: nobody.
	s, _ = New(&Options{Accounts: []*AccountConfig{c}})
	if ca, _ := s.LookupAccount("C"); ca.JetStreamLimits() != nil {
		t.Fatal("JetStream is off for the server")
	}
}

func TestServiceResponseThreshold(t *testing.T) {
	a, b := acct("A", "a"), acct("B", "b")
	a.Exports = []*ExportConfig{{Subject: "slow", Service: true, ResponseThreshold: 50 * time.Millisecond}}
	b.Imports = []*ImportConfig{{Account: "A", Subject: "slow", Service: true}}
	s := runServer(t, &Options{Accounts: []*AccountConfig{a, b}})
	ca := login(t, s, userPass("a", "a"))
	cb := login(t, s, userPass("b", "b"))
	ca.send("SUB slow 1\r\nPING\r\n")
	ca.expect("PONG")
	cb.send("SUB _INBOX.b 9\r\nPUB slow _INBOX.b 1\r\nx\r\nPING\r\n")
	cb.expect("PONG")
	reply := strings.Fields(ca.line())[3]
	ca.drain()
	time.Sleep(100 * time.Millisecond)
	ca.send("PUB " + reply + " 4\r\nlate\r\nPING\r\n")
	ca.expect("PONG")
	if got := cb.drain(); len(got) != 0 {
		t.Fatalf("a response after the threshold was delivered: %q", got)
	}
}
