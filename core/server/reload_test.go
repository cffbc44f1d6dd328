package server

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

func reloadOpts(p1 string, p2 *Permissions) *Options {
	return &Options{Host: "127.0.0.1", Port: -1, Users: []*User{
		{Username: "u1", Password: p1},
		{Username: "u2", Password: "p2", Permissions: p2},
	}}
}

func TestReloadAuth(t *testing.T) {
	all := &Permissions{Publish: &SubjectPermission{Allow: []string{">"}}, Subscribe: &SubjectPermission{Allow: []string{">"}}}
	s := runServer(t, reloadOpts("p1", all))
	c1 := login(t, s, userPass("u1", "p1"))
	c2 := login(t, s, userPass("u2", "p2"))
	c2.send("SUB foo 1\r\nSUB bar 2\r\nSUB bar q 3\r\nPING\r\n")
	c2.expect("PONG")

	narrow := &Permissions{Publish: &SubjectPermission{Allow: []string{"bar"}}, Subscribe: &SubjectPermission{Allow: []string{"bar"}}}
	if err := s.ApplyReload(reloadOpts("p1new", narrow)); err != nil {
		t.Fatal(err)
	}
	// u1's password changed: its connection goes.
	c1.expect("-ERR 'Authorization Violation'")
	c1.expectClosed()
	// u2 stays, loses the subscription it may no longer hold, and its new
	// permissions apply.
	c2.expect(`-ERR 'Permissions Violation for Subscription to "foo" (sid "1")'`)
	c2.send("PUB foo 1\r\nx\r\nPUB bar 1\r\ny\r\n")
	c2.expect(`-ERR 'Permissions Violation for Publish to "foo"'`)
	got := strings.Join(c2.drain(), "|")
	if got != "MSG bar 2 1|y|MSG bar 3 1|y" && got != "MSG bar 3 1|y|MSG bar 2 1|y" {
		t.Fatalf("u2 got %q", got)
	}
	// New connections see the new password.
	login(t, s, userPass("u1", "p1new"))
	old := dialRaw(t, s)
	old.send(`CONNECT {"user":"u1","pass":"p1"}` + "\r\n")
	old.expect("-ERR 'Authorization Violation'")
}

func TestReloadAddsAuth(t *testing.T) {
	s := runServer(t, &Options{})
	c := login(t, s, "")
	if err := s.ApplyReload(&Options{Host: "127.0.0.1", Port: -1, Authorization: "tok"}); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR 'Authorization Violation'")
	login(t, s, `,"auth_token":"tok"`)
	if _, info := dialInfo(t, s); !info.AuthRequired {
		t.Fatal("INFO does not say auth_required after reload")
	}
}

func TestReloadAccounts(t *testing.T) {
	o := func(withImport bool) *Options {
		a := acct("A", "a")
		a.Exports = []*ExportConfig{{Subject: "ev.>"}}
		b := acct("B", "b")
		if withImport {
			b.Imports = []*ImportConfig{{Account: "A", Subject: "ev.>", To: "in.ev.>"}}
		}
		return &Options{Host: "127.0.0.1", Port: -1, Accounts: []*AccountConfig{a, b}}
	}
	s := runServer(t, o(false))
	a := login(t, s, userPass("a", "a"))
	b := login(t, s, userPass("b", "b"))
	b.send("SUB in.> 1\r\nPING\r\n")
	b.expect("PONG")
	if err := s.ApplyReload(o(true)); err != nil {
		t.Fatal(err)
	}
	a.send("PUB ev.1 1\r\nx\r\nPING\r\n")
	a.expect("PONG")
	if got := strings.Join(b.drain(), "|"); got != "MSG in.ev.1 1 1|x" {
		t.Fatalf("b got %q", got)
	}
	// Taking the import away again stops the flow.
	if err := s.ApplyReload(o(false)); err != nil {
		t.Fatal(err)
	}
	a.send("PUB ev.2 1\r\nx\r\nPING\r\n")
	a.expect("PONG")
	if got := b.drain(); len(got) != 0 {
		t.Fatalf("b got %q after the import was removed", got)
	}
	// A user moved to another account must reconnect.
	moved := o(false)
	moved.Accounts[1].Users = nil
	moved.Accounts[0].Users = append(moved.Accounts[0].Users, &User{Username: "b", Password: "b"})
	if err := s.ApplyReload(moved); err != nil {
		t.Fatal(err)
	}
	b.expect("-ERR 'Authorization Violation'")
}

func TestReloadRefusesStaticSettings(t *testing.T) {
	s := runServer(t, &Options{ServerName: "one", StoreDir: "/tmp/a"})
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Port = 4333 }, "config reload not supported for Port: old=-1, new=4333"},
		{func(o *Options) { o.ServerName = "two" }, "config reload not supported for ServerName: old=one, new=two"},
		{func(o *Options) { o.StoreDir = "/tmp/b" }, "config reload not supported for StoreDir: old=/tmp/a, new=/tmp/b"},
		{func(o *Options) { o.MaxPayload = 10 }, "config reload not supported for MaxPayload"},
		{func(o *Options) { o.Users = []*User{{Username: "a"}, {Username: "a"}} }, `Duplicate user "a" detected`},
	} {
		n := &Options{Host: "127.0.0.1", Port: -1, ServerName: "one", StoreDir: "/tmp/a"}
		tc.change(n)
		err := s.ApplyReload(n)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	// Nothing of a refused reload was applied.
	login(t, s, "")
}

func TestReloadWithoutReloader(t *testing.T) {
	s := runServer(t, nil)
	if err := s.Reload(); err != ErrReloadUnsupported {
		t.Fatalf("got %v", err)
	}
	s.SetReloader(func() (*Options, error) { return &Options{Host: "127.0.0.1", Port: -1, Debug: true}, nil })
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
}

func TestReloadNkeys(t *testing.T) {
	kp1, _ := nkeys.CreateUser()
	kp2, _ := nkeys.CreateUser()
	pub1, _ := kp1.PublicKey()
	pub2, _ := kp2.PublicKey()
	opts := func(keys ...string) *Options {
		o := &Options{Host: "127.0.0.1", Port: -1}
		for _, k := range keys {
			o.Nkeys = append(o.Nkeys, &NkeyUser{Nkey: k})
		}
		return o
	}
	s := runServer(t, opts(pub1, pub2))
	nkeyLogin := func(kp nkeys.KeyPair) *rawConn {
		rc, info := dialInfo(t, s)
		pub, _ := kp.PublicKey()
		sig, _ := kp.Sign([]byte(info.Nonce))
		rc.send(fmt.Sprintf(`CONNECT {"verbose":false,"nkey":%q,"sig":%q}`+"\r\nPING\r\n", pub, base64.RawURLEncoding.EncodeToString(sig)))
		rc.expect("PONG")
		return rc
	}
	c1, c2 := nkeyLogin(kp1), nkeyLogin(kp2)
	if err := s.ApplyReload(opts(pub2)); err != nil {
		t.Fatal(err)
	}
	// The removed key's connection goes; the kept one is verified again
	// against the nonce it signed, and stays.
	c1.expect("-ERR 'Authorization Violation'")
	c2.send("PING\r\n")
	c2.expect("PONG")
}
