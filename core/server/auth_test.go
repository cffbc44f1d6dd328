package server

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// dialInfo connects and returns the connection with the INFO it got.
func dialInfo(t testing.TB, s *Server) (*rawConn, serverInfo) {
	t.Helper()
	nc, err := net.Dial("tcp", s.HostPort())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	l := rc.line()
	var info serverInfo
	if !strings.HasPrefix(l, "INFO ") || json.Unmarshal([]byte(l[5:]), &info) != nil {
		t.Fatalf("expected INFO, got %q", l)
	}
	return rc, info
}

// login connects and authenticates with the CONNECT fields in creds.
func login(t testing.TB, s *Server, creds string) *rawConn {
	t.Helper()
	rc := dialRaw(t, s)
	rc.send(`CONNECT {"verbose":false,"headers":true,"no_responders":true` + creds + "}\r\nPING\r\n")
	rc.expect("PONG")
	return rc
}

func userPass(u, p string) string { return fmt.Sprintf(`,"user":%q,"pass":%q`, u, p) }

func TestAuthUsers(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	s := runServer(t, &Options{Users: []*User{{Username: "a", Password: "pa"}, {Username: "b", Password: string(hash)}}})
	_, info := dialInfo(t, s)
	if !info.AuthRequired || info.Nonce != "" {
		t.Fatalf("INFO auth_required=%v nonce=%q", info.AuthRequired, info.Nonce)
	}
	login(t, s, userPass("a", "pa"))
	login(t, s, userPass("b", "s3cret"))
	for _, creds := range []string{userPass("a", "wrong"), userPass("b", string(hash)), userPass("zz", "pa"), ""} {
		rc := dialRaw(t, s)
		rc.send(`CONNECT {"verbose":false` + creds + "}\r\nPING\r\n")
		rc.expect("-ERR 'Authorization Violation'")
		rc.expectClosed()
	}
}

func TestAuthTokenAndSingleUser(t *testing.T) {
	s := runServer(t, &Options{Authorization: "tok"})
	login(t, s, `,"auth_token":"tok"`)
	rc := dialRaw(t, s)
	rc.send(`CONNECT {"auth_token":"nope"}` + "\r\n")
	rc.expect("-ERR 'Authorization Violation'")
	rc.expectClosed()

	s2 := runServer(t, &Options{Username: "u", Password: "p"})
	login(t, s2, userPass("u", "p"))
	rc = dialRaw(t, s2)
	rc.send(`CONNECT {"user":"u","pass":"x"}` + "\r\n")
	rc.expect("-ERR 'Authorization Violation'")
}

func TestAuthConflicts(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Authorization: "t", Users: []*User{{Username: "a"}}}, "Can not have a token and a users array"},
		{Options{Username: "x", Users: []*User{{Username: "a"}}}, "Can not have a single user/pass and a users array"},
		{Options{Username: "x", Authorization: "t"}, "Cannot have a user/pass and token"},
		{Options{Users: []*User{{Username: "a"}, {Username: "a"}}}, `Duplicate user "a" detected`},
		{Options{NoAuthUser: "z", Users: []*User{{Username: "a"}}}, `no_auth_user "z" not present as user`},
		{Options{Nkeys: []*NkeyUser{{Nkey: "UBAD"}}}, `Not a valid public nkey for a user: "UBAD"`},
		{Options{Users: []*User{{Username: "a", Account: "NOPE"}}}, `user "a" references unknown account "NOPE"`},
	} {
		_, err := New(&tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestAuthNkey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	s := runServer(t, &Options{Nkeys: []*NkeyUser{{Nkey: pub}}})
	rc, info := dialInfo(t, s)
	if info.Nonce == "" {
		t.Fatal("INFO carries no nonce")
	}
	sig, _ := kp.Sign([]byte(info.Nonce))
	rc.send(fmt.Sprintf(`CONNECT {"verbose":false,"nkey":%q,"sig":%q}`+"\r\nPING\r\n", pub, base64.RawURLEncoding.EncodeToString(sig)))
	rc.expect("PONG")

	// A signature over some other nonce does not pass.
	rc2, _ := dialInfo(t, s)
	rc2.send(fmt.Sprintf(`CONNECT {"verbose":false,"nkey":%q,"sig":%q}`+"\r\n", pub, base64.RawURLEncoding.EncodeToString(sig)))
	rc2.expect("-ERR 'Authorization Violation'")
}

func TestNoAuthUser(t *testing.T) {
	s := runServer(t, &Options{
		Accounts:   []*AccountConfig{{Name: "A", Users: []*User{{Username: "a", Password: "a"}}}},
		NoAuthUser: "a",
	})
	rc := login(t, s, "")
	if c := onlyClient(t, s); c.Account().Name != "A" || c.User() != "a" {
		t.Fatalf("bound to %s/%s", c.Account().Name, c.User())
	}
	_ = rc
	bad := dialRaw(t, s)
	bad.send(`CONNECT {"user":"a","pass":"wrong"}` + "\r\n")
	bad.expect("-ERR 'Authorization Violation'")
}

func onlyClient(t *testing.T, s *Server) *Client {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		return c
	}
	t.Fatal("no client")
	return nil
}

func permUser(name string, p *Permissions) *User {
	return &User{Username: name, Password: name, Permissions: p}
}

func TestPermissionViolations(t *testing.T) {
	s := runServer(t, &Options{Users: []*User{
		permUser("a", &Permissions{
			Publish:   &SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.secret"}},
			Subscribe: &SubjectPermission{Allow: []string{"foo.>", "bar q1", "baz"}, Deny: []string{"foo.secret", "baz qx"}},
		}),
	}})
	rc := login(t, s, userPass("a", "a"))
	for _, tc := range []struct{ send, want string }{
		{"PUB foo.secret 1\r\nx\r\n", `-ERR 'Permissions Violation for Publish to "foo.secret"'`},
		{"PUB nope 1\r\nx\r\n", `-ERR 'Permissions Violation for Publish to "nope"'`},
		{"SUB nope 1\r\n", `-ERR 'Permissions Violation for Subscription to "nope"'`},
		{"SUB foo.secret 2\r\n", `-ERR 'Permissions Violation for Subscription to "foo.secret"'`},
		{"SUB foo.secret q 3\r\n", `-ERR 'Permissions Violation for Subscription to "foo.secret" using queue "q"'`},
		{"SUB bar 4\r\n", `-ERR 'Permissions Violation for Subscription to "bar"'`},
		{"SUB bar q2 5\r\n", `-ERR 'Permissions Violation for Subscription to "bar" using queue "q2"'`},
		{"SUB baz qx 6\r\n", `-ERR 'Permissions Violation for Subscription to "baz" using queue "qx"'`},
		{"SUB bar q1 7\r\nSUB baz qy 8\r\nSUB baz 9\r\nSUB foo.* 10\r\nPING\r\n", "PONG"},
	} {
		rc.send(tc.send)
		rc.expect(tc.want)
	}
	// The connection is still usable.
	rc.send("PUB foo.ok 2\r\nhi\r\nPING\r\n")
	rc.expect("MSG foo.ok 10 2")
	rc.expect("hi")
	rc.expect("PONG")
}

func TestPermissionWildcardRules(t *testing.T) {
	// Wildcards in a subscription are matched as tokens against the
	// lists, as the reference does (checked with nats-server 2.15.2).
	s := runServer(t, &Options{Users: []*User{
		permUser("a", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"foo.*", "bar.>", "*.baz"}}}),
		permUser("d", &Permissions{Subscribe: &SubjectPermission{Deny: []string{"foo.*", "bar.x.>"}}}),
	}})
	check := func(user string, ok []string, denied []string) {
		rc := login(t, s, userPass(user, user))
		for i, subj := range ok {
			rc.send(fmt.Sprintf("SUB %s %d\r\nPING\r\n", subj, i+1))
			rc.expect("PONG")
		}
		for i, subj := range denied {
			rc.send(fmt.Sprintf("SUB %s %d\r\n", subj, i+100))
			rc.expect(fmt.Sprintf(`-ERR 'Permissions Violation for Subscription to %q'`, subj))
		}
	}
	check("a", []string{"foo.>", "foo.*", "foo.x", "bar.*", "bar.>", "x.baz", "*.baz"}, []string{"*", ">", "*.*"})
	check("d", []string{"bar.*", "bar.>", ">", "*.x"}, []string{"foo.>", "foo.*", "foo.x", "bar.x.y", "bar.x.>"})
}

func TestDenyFiltersWildcardDeliveries(t *testing.T) {
	s := runServer(t, &Options{Users: []*User{
		permUser("a", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"foo.>"}, Deny: []string{"foo.secret", "foo.deny.*"}}}),
		permUser("b", nil),
	}})
	a := login(t, s, userPass("a", "a"))
	a.send("SUB foo.* 1\r\nSUB foo.> 2\r\nPING\r\n")
	a.expect("PONG")
	b := login(t, s, userPass("b", "b"))
	b.send("PUB foo.secret 1\r\nx\r\nPUB foo.deny.z 1\r\ny\r\nPUB foo.ok 1\r\nz\r\nPING\r\n")
	b.expect("PONG")
	a.send("PING\r\n")
	got := []string{}
	for {
		l := a.line()
		if l == "PONG" {
			break
		}
		got = append(got, l)
	}
	want := "MSG foo.ok 1 1|z|MSG foo.ok 2 1|z"
	if g := strings.Join(got, "|"); g != want && g != "MSG foo.ok 2 1|z|MSG foo.ok 1 1|z" {
		t.Fatalf("a got %q, want %q", g, want)
	}
}

func TestAllowResponses(t *testing.T) {
	s := runServer(t, &Options{Users: []*User{
		permUser("r", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"req.>"}}, Response: &ResponsePermission{}}),
		permUser("r2", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"req.>"}}, Publish: &SubjectPermission{Allow: []string{"other"}},
			Response: &ResponsePermission{MaxMsgs: 2, Expires: time.Minute}}),
		permUser("b", nil),
	}})
	for _, tc := range []struct {
		user string
		ok   int
	}{{"r", 1}, {"r2", 2}} {
		r := login(t, s, userPass(tc.user, tc.user))
		r.send("SUB req.> 1\r\nPING\r\n")
		r.expect("PONG")
		b := login(t, s, userPass("b", "b"))
		b.send("SUB _INBOX.1 9\r\nPUB req.a _INBOX.1 1\r\nx\r\nPING\r\n")
		b.expect("PONG")
		r.expect("MSG req.a 1 _INBOX.1 1")
		r.expect("x")
		for i := 0; i < 3; i++ {
			r.send(fmt.Sprintf("PUB _INBOX.1 2\r\nr%d\r\n", i))
		}
		r.send("PUB _INBOX.2 1\r\nz\r\nPING\r\n")
		for i := tc.ok; i < 3; i++ {
			r.expect(`-ERR 'Permissions Violation for Publish to "_INBOX.1"'`)
		}
		r.expect(`-ERR 'Permissions Violation for Publish to "_INBOX.2"'`)
		r.expect("PONG")
		for i := 0; i < tc.ok; i++ {
			b.expect("MSG _INBOX.1 9 2")
			b.expect(fmt.Sprintf("r%d", i))
		}
	}
}

func TestDefaultPermissions(t *testing.T) {
	def := &Permissions{Publish: &SubjectPermission{Allow: []string{"def.>"}}, Subscribe: &SubjectPermission{Allow: []string{"def.>"}}}
	s := runServer(t, &Options{
		DefaultPermissions: def,
		Users:              []*User{permUser("n", nil), permUser("s", &Permissions{Subscribe: &SubjectPermission{Allow: []string{"x"}}})},
		Accounts: []*AccountConfig{{Name: "A", Users: []*User{permUser("a", nil)},
			DefaultPermissions: &Permissions{Publish: &SubjectPermission{Deny: []string{"nope"}}}}},
	})
	n := login(t, s, userPass("n", "n"))
	n.send("PUB other 1\r\nx\r\nSUB def.x 1\r\nPING\r\n")
	n.expect(`-ERR 'Permissions Violation for Publish to "other"'`)
	n.expect("PONG")
	// A user with permissions of its own does not get the defaults.
	sc := login(t, s, userPass("s", "s"))
	sc.send("PUB other 1\r\nx\r\nSUB def.x 1\r\n")
	sc.expect(`-ERR 'Permissions Violation for Subscription to "def.x"'`)
	// Account users take their account's defaults only.
	a := login(t, s, userPass("a", "a"))
	a.send("PUB other 1\r\nx\r\nPUB nope 1\r\nx\r\n")
	a.expect(`-ERR 'Permissions Violation for Publish to "nope"'`)
}

func TestAllowedConnectionTypes(t *testing.T) {
	s := runServer(t, &Options{Users: []*User{
		{Username: "ws", Password: "p", AllowedConnectionTypes: []string{"WEBSOCKET"}},
		{Username: "std", Password: "p", AllowedConnectionTypes: []string{"STANDARD"}},
	}})
	login(t, s, userPass("std", "p"))
	rc := dialRaw(t, s)
	rc.send(`CONNECT {"user":"ws","pass":"p"}` + "\r\n")
	rc.expect("-ERR 'Authorization Violation'")
}
