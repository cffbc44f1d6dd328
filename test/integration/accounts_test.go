package integration

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// asyncErrs collects the asynchronous errors of a connection.
type asyncErrs chan error

func (ch asyncErrs) option() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case ch <- err:
		default:
		}
	})
}

func (ch asyncErrs) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), want) {
			t.Fatalf("async error %q, want a permissions violation with %q", err, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no async error, want %q", want)
	}
}

const authConf = `
authorization {
  users: [
    { user: alice, password: s3cret }
    { user: limited, password: pw, permissions: {
        publish: { allow: ["orders.>", "_INBOX.>"], deny: "orders.secret" }
        subscribe: { allow: ["orders.>", "_INBOX.>"], deny: "orders.secret" }
    } }
  ]
}
`

func TestWrongPasswordRefused(t *testing.T) {
	s := harness.ServerFromConfig(t, authConf)
	_, err := nats.Connect(s.ClientURL(), nats.UserInfo("alice", "wrong"), nats.NoReconnect())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("got %v, want %v", err, nats.ErrAuthorization)
	}
	_, err = nats.Connect(s.ClientURL(), nats.NoReconnect())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no credentials: got %v", err)
	}
	nc := connect(t, s.ClientURL(), nats.UserInfo("alice", "s3cret"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestTokenLogin(t *testing.T) {
	s := harness.ServerFromConfig(t, "TOKEN: \"t0k3n\"\nauthorization { token: $TOKEN }\n")
	if _, err := nats.Connect(s.ClientURL(), nats.Token("nope"), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("bad token: %v", err)
	}
	nc := connect(t, s.ClientURL(), nats.Token("t0k3n"))
	sub, _ := nc.SubscribeSync("x")
	nc.Publish("x", []byte("ok"))
	if _, err := sub.NextMsg(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestNkeyLogin(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	other, _ := nkeys.CreateUser()
	s := harness.ServerFromConfig(t, fmt.Sprintf("authorization { users: [ { nkey: %s } ] }\n", pub))
	nc := connect(t, s.ClientURL(), nats.Nkey(pub, kp.Sign))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The right public key with another key's signature does not pass.
	_, err = nats.Connect(s.ClientURL(), nats.Nkey(pub, other.Sign), nats.NoReconnect())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("forged signature: %v", err)
	}
}

// permissionScenario runs against Hangar and against the reference.
func permissionScenario(t *testing.T, url string) {
	errs := make(asyncErrs, 8)
	nc := connect(t, url, nats.UserInfo("limited", "pw"), errs.option())
	nc.Publish("orders.secret", []byte("x"))
	errs.expect(t, `Permissions Violation for Publish to "orders.secret"`)
	nc.Publish("billing.x", []byte("x"))
	errs.expect(t, `Permissions Violation for Publish to "billing.x"`)
	nc.SubscribeSync("billing.>")
	errs.expect(t, `Permissions Violation for Subscription to "billing.>"`)
	nc.QueueSubscribeSync("orders.secret", "workers")
	errs.expect(t, `Permissions Violation for Subscription to "orders.secret" using queue "workers"`)

	// The connection stays open and works; the admitted wildcard
	// subscription does not receive the denied subject.
	sub, err := nc.SubscribeSync("orders.*")
	if err != nil {
		t.Fatal(err)
	}
	admin := connect(t, url, nats.UserInfo("alice", "s3cret"))
	admin.Flush()
	nc.Flush()
	admin.Publish("orders.secret", []byte("hidden"))
	admin.Publish("orders.new", []byte("visible"))
	admin.Flush()
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil || string(m.Data) != "visible" {
		t.Fatalf("got %v %v", m, err)
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("denied subject delivered: %s %q", m.Subject, m.Data)
	}
	if !nc.IsConnected() {
		t.Fatal("connection closed after permission violations")
	}
}

func TestPermissionViolations(t *testing.T) {
	permissionScenario(t, harness.ServerFromConfig(t, authConf).ClientURL())
}

func TestPermissionViolationsReference(t *testing.T) {
	permissionScenario(t, harness.StartReference(t, authConf))
}

const accountsConf = `
accounts {
  A: {
    users: [ { user: a, password: a } ]
    exports: [ { stream: "events.>" }, { service: "svc.>" } ]
  }
  B: {
    users: [ { user: b, password: b } ]
    imports: [
      { stream: { account: A, subject: "events.>" }, prefix: "fromA" }
      { service: { account: A, subject: "svc.time" }, to: "time.now" }
    ]
  }
  C: { users: [ { user: c, password: c } ] }
}
`

// accountsScenario runs against Hangar and against the reference.
func accountsScenario(t *testing.T, url string) {
	a := connect(t, url, nats.UserInfo("a", "a"))
	b := connect(t, url, nats.UserInfo("b", "b"))
	c := connect(t, url, nats.UserInfo("c", "c"))

	// Isolation: C sees nothing of A, A nothing of C.
	cAll, _ := c.SubscribeSync(">")
	aAll, _ := a.SubscribeSync("private.>")
	c.Flush()
	a.Flush()
	a.Publish("private.x", []byte("a-only"))
	c.Publish("private.x", []byte("c-only"))
	a.Flush()
	c.Flush()
	if m, err := aAll.NextMsg(time.Second); err != nil || string(m.Data) != "a-only" {
		t.Fatalf("a: %v %v", m, err)
	}
	if m, err := cAll.NextMsg(time.Second); err != nil || string(m.Data) != "c-only" {
		t.Fatalf("c: %v %v", m, err)
	}
	if m, err := aAll.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("a saw %q from another account", m.Data)
	}

	// Stream import with a prefix.
	bEv, _ := b.SubscribeSync("fromA.events.>")
	b.Flush()
	a.Publish("events.order.created", []byte("ev"))
	a.Flush()
	if m, err := bEv.NextMsg(2 * time.Second); err != nil || m.Subject != "fromA.events.order.created" {
		t.Fatalf("b: %v %v", m, err)
	}
	if m, err := cAll.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("c saw %s", m.Subject)
	}

	// Service import: B's request reaches A's responder and the reply
	// comes back.
	a.Subscribe("svc.time", func(m *nats.Msg) { m.Respond([]byte("noon from " + m.Subject)) })
	a.Flush()
	r, err := b.Request("time.now", []byte("?"), 2*time.Second)
	if err != nil || string(r.Data) != "noon from svc.time" {
		t.Fatalf("request across accounts: %v %v", r, err)
	}
	// Nothing answers what is not imported.
	if _, err := b.Request("svc.time", nil, 500*time.Millisecond); !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("unimported request: %v", err)
	}
}

func TestAccounts(t *testing.T) {
	accountsScenario(t, harness.ServerFromConfig(t, accountsConf).ClientURL())
}

func TestAccountsReference(t *testing.T) {
	accountsScenario(t, harness.StartReference(t, accountsConf))
}

func TestTLSWithCA(t *testing.T) {
	ca := harness.NewCA(t)
	s := harness.ServerFromConfig(t, fmt.Sprintf(`tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true, timeout: 2 }`,
		ca.ServerCert, ca.ServerKey, ca.CAFile))
	nc := connect(t, s.ClientURL(), nats.RootCAs(ca.CAFile), nats.ClientCert(ca.ClientCert, ca.ClientKey))
	if !nc.TLSRequired() {
		t.Fatal("connection is not TLS")
	}
	sub, _ := nc.SubscribeSync("tls")
	nc.Publish("tls", []byte("secure"))
	if m, err := sub.NextMsg(2 * time.Second); err != nil || string(m.Data) != "secure" {
		t.Fatalf("%v %v", m, err)
	}
	// A client speaking plain text is cut off. (nats.go itself upgrades
	// when INFO says tls_required, so this one is done by hand.)
	raw, err := net.Dial("tcp", strings.TrimPrefix(s.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	br := bufio.NewReader(raw)
	if l, _ := br.ReadString('\n'); !strings.Contains(l, `"tls_required":true`) || !strings.Contains(l, `"tls_verify":true`) {
		t.Fatalf("INFO %q", l)
	}
	raw.Write([]byte("CONNECT {}\r\nPING\r\n"))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || strings.Contains(string(rest), "PONG") {
		t.Fatalf("plain client was answered: %q %v", rest, err)
	}
	// Without the CA the server is not trusted; without a client
	// certificate the server refuses.
	if _, err := nats.Connect(s.ClientURL(), nats.Secure(), nats.NoReconnect()); err == nil {
		t.Fatal("connected without trusting the CA")
	}
	if _, err := nats.Connect(s.ClientURL(), nats.RootCAs(ca.CAFile), nats.NoReconnect()); err == nil {
		t.Fatal("connected without a client certificate")
	}
}

func TestTLSHandshakeFirst(t *testing.T) {
	ca := harness.NewCA(t)
	s := harness.ServerFromConfig(t, fmt.Sprintf(`tls { cert_file: %q, key_file: %q, handshake_first: true }`, ca.ServerCert, ca.ServerKey))
	nc := connect(t, s.ClientURL(), nats.RootCAs(ca.CAFile), nats.TLSHandshakeFirst())
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

const reloadConf = `
authorization {
  users: [
    { user: u1, password: %s }
    { user: u2, password: p2 }
  ]
}
`

func TestReloadPassword(t *testing.T) {
	path := harness.WriteConfig(t, fmt.Sprintf(reloadConf, "p1"))
	p := harness.StartBinary(t, "-c", path, "-m", "0")
	u1 := connect(t, p.URL, nats.UserInfo("u1", "p1"), nats.NoReconnect())
	u2 := connect(t, p.URL, nats.UserInfo("u2", "p2"))
	sub, _ := u2.SubscribeSync("work")
	u2.Flush()

	if err := os.WriteFile(path, []byte(fmt.Sprintf(reloadConf, "p1new")), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(p.Logs(), "Reloaded server configuration") })

	// The old password no longer opens a connection, the new one does;
	// u1's open connection was closed for it.
	if _, err := nats.Connect(p.URL, nats.UserInfo("u1", "p1"), nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("old password: %v", err)
	}
	connect(t, p.URL, nats.UserInfo("u1", "p1new"))
	waitFor(t, 2*time.Second, func() bool { return u1.IsClosed() })

	// u2 was never disturbed.
	u2.Publish("work", []byte("still here"))
	if m, err := sub.NextMsg(2 * time.Second); err != nil || string(m.Data) != "still here" {
		t.Fatalf("u2 after reload: %v %v", m, err)
	}
	if u2.Stats().Reconnects != 0 {
		t.Fatal("u2 reconnected")
	}
}

func TestCheckCommand(t *testing.T) {
	bin := harness.Binary(t)
	good := harness.WriteConfig(t, accountsConf)
	out, err := runCmd(bin, "check", "-c", good)
	if err != nil || !strings.Contains(out, "imports: [") || !strings.Contains(out, `password: "<redacted>"`) {
		t.Fatalf("check good file: %v\n%s", err, out)
	}
	bad := harness.WriteConfig(t, "port: 4222\nfoo: bar\ncluster { port: 6222 }\n")
	out, err = runCmd(bin, "check", "-c", bad)
	want := bad + ":2:1: unknown field \"foo\"\n" + bad + ":3:1: \"cluster\" is not supported yet\n"
	if err == nil || out != want {
		t.Fatalf("check bad file: %v\n%q\nwant\n%q", err, out, want)
	}
	p := harness.StartBinary(t, "-c", good, "-m", "0")
	nc := connect(t, p.URL, nats.UserInfo("a", "a"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func runCmd(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
