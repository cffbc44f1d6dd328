package server

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runServer starts a server on a random port and stops it with the test.
func runServer(t testing.TB, o *Options) *Server {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	o.Host = "127.0.0.1"
	if o.Port == 0 {
		o.Port = -1
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// rawConn is a client speaking the protocol by hand.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, s *Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", s.HostPort())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	if l := rc.line(); !strings.HasPrefix(l, "INFO ") {
		t.Fatalf("expected INFO, got %q", l)
	}
	return rc
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := rc.nc.Write([]byte(s)); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) line() string {
	rc.t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	l, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (rc *rawConn) expect(want string) {
	rc.t.Helper()
	if got := rc.line(); got != want {
		rc.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectClosed reads until EOF and fails if that takes too long.
func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, err := rc.br.ReadString('\n'); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				rc.t.Fatal("connection not closed")
			}
			return
		}
	}
}

func TestProtocolBasics(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"verbose\":true,\"headers\":true}\r\n")
	rc.expect("+OK")
	rc.send("PING\r\n")
	rc.expect("PONG")
	rc.send("SUB foo.* 1\r\nSUB foo.bar q 2\r\n")
	rc.expect("+OK")
	rc.expect("+OK")
	rc.send("PUB foo.bar reply 5\r\nhello\r\n")
	got := map[string]bool{}
	for i := 0; i < 3; i++ {
		l := rc.line()
		if l == "+OK" {
			continue
		}
		got[l] = true
		if p := rc.line(); p != "hello" {
			t.Fatalf("payload %q", p)
		}
	}
	if !got["MSG foo.bar 1 reply 5"] || !got["MSG foo.bar 2 reply 5"] {
		t.Fatalf("got %v", got)
	}
	rc.send("HPUB foo.x 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n")
	rc.expect("HMSG foo.x 1 18 23")
	rc.expect("NATS/1.0")
	rc.expect("A: b")
	rc.expect("")
	rc.expect("hello")
	rc.expect("+OK")
}

func TestProtocolCaseInsensitiveAndSplitReads(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("connect {}\r\nsub foo 1\r\n")
	msg := "pub foo 11\r\nhello world\r\nping\r\n"
	for i := 0; i < len(msg); i++ {
		rc.send(msg[i : i+1])
		time.Sleep(time.Millisecond)
	}
	rc.expect("MSG foo 1 11")
	rc.expect("hello world")
	rc.expect("PONG")
}

func TestProtocolErrors(t *testing.T) {
	cases := []struct {
		name   string
		opts   *Options
		input  string
		err    string
		closed bool
	}{
		{"unknown op", nil, "FOO bar\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"bad size", nil, "PUB foo abc\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"negative size", nil, "PUB foo -1\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"max payload", &Options{MaxPayload: 10}, "PUB foo 11\r\n", "-ERR 'Maximum Payload Violation'", true},
		{"max control line", &Options{MaxControlLine: 32}, "PUB " + strings.Repeat("a", 64) + " 1\r\n", "-ERR 'Maximum Control Line Exceeded'", true},
		{"bad payload terminator", nil, "PUB foo 2\r\nabcd\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"invalid subject", nil, "SUB foo..bar 1\r\n", "-ERR 'Invalid Subject'", false},
		{"wildcard in middle", nil, "SUB foo.>.bar 1\r\n", "-ERR 'Invalid Subject'", false},
		{"pedantic publish", nil, "CONNECT {\"pedantic\":true}\r\nPUB foo.* 1\r\na\r\n", "-ERR 'Invalid Publish Subject'", false},
		{"bad protocol", nil, "CONNECT {\"protocol\":7}\r\n", "-ERR 'invalid client protocol'", true},
		{"no responders needs headers", nil, "CONNECT {\"no_responders\":true}\r\n", "-ERR 'no responders requires headers support'", true},
		{"auth required first", &Options{Authorization: "secret"}, "PUB foo 1\r\na\r\n", "-ERR 'Authorization Violation'", true},
		{"bad token", &Options{Authorization: "secret"}, "CONNECT {\"auth_token\":\"nope\"}\r\n", "-ERR 'Authorization Violation'", true},
		{"bad password", &Options{Username: "u", Password: "p"}, "CONNECT {\"user\":\"u\",\"pass\":\"x\"}\r\n", "-ERR 'Authorization Violation'", true},
		{"hpub without headers", nil, "CONNECT {\"headers\":false}\r\nHPUB foo 12 12\r\n", "-ERR 'Unknown Protocol Operation'", true},
		{"hpub hdr larger than total", nil, "CONNECT {\"headers\":true}\r\nHPUB foo 12 10\r\n", "-ERR 'Unknown Protocol Operation'", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := runServer(t, tc.opts)
			rc := dialRaw(t, s)
			rc.send(tc.input)
			rc.expect(tc.err)
			if tc.closed {
				rc.expectClosed()
				return
			}
			rc.send("PING\r\n")
			rc.expect("PONG")
		})
	}
}

func TestAuthOK(t *testing.T) {
	s := runServer(t, &Options{Username: "u", Password: "p"})
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"user\":\"u\",\"pass\":\"p\",\"verbose\":true}\r\n")
	rc.expect("+OK")
	s2 := runServer(t, &Options{Authorization: "tok"})
	rc = dialRaw(t, s2)
	rc.send("CONNECT {\"auth_token\":\"tok\"}\r\nPING\r\n")
	rc.expect("PONG")
}

func TestAuthTimeout(t *testing.T) {
	s := runServer(t, &Options{Authorization: "tok", AuthTimeout: 100 * time.Millisecond})
	rc := dialRaw(t, s)
	rc.expect("-ERR 'Authentication Timeout'")
	rc.expectClosed()
}

func TestUnsubMax(t *testing.T) {
	s := runServer(t, nil)
	// The account's own system imports are subscriptions too.
	base := s.GlobalAccount().Sublist().Count()
	rc := dialRaw(t, s)
	rc.send("CONNECT {}\r\nSUB foo 1\r\nUNSUB 1 2\r\n")
	rc.send("PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n")
	rc.expect("MSG foo 1 1")
	rc.expect("a")
	rc.expect("MSG foo 1 1")
	rc.expect("b")
	rc.expect("PONG")
	if n := s.GlobalAccount().Sublist().Count(); n != base {
		t.Fatalf("subscription not removed after max: %d", n-base)
	}
}

func TestNoEcho(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nPING\r\n")
	rc.expect("PONG")
}

func TestNoResponders(t *testing.T) {
	s := runServer(t, nil)
	rc := dialRaw(t, s)
	rc.send("CONNECT {\"headers\":true,\"no_responders\":true}\r\nSUB inbox.1 1\r\nPUB svc inbox.1 0\r\n\r\n")
	rc.expect("HMSG inbox.1 1 35 35")
	rc.expect("NATS/1.0 503")
	rc.expect("Nats-Subject: svc")
}

func TestSlowConsumerIsCutOff(t *testing.T) {
	s := runServer(t, &Options{MaxPending: 64 * 1024, MaxPayload: 1024})
	slow := dialRaw(t, s)
	slow.send("CONNECT {}\r\nSUB foo 1\r\nPING\r\n")
	slow.expect("PONG")
	pub := dialRaw(t, s)
	payload := strings.Repeat("x", 1000)
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("PUB foo 1000\r\n" + payload + "\r\n")
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.slowConsumers.Load() == 0 && time.Now().Before(deadline) {
		pub.send(b.String())
	}
	if s.slowConsumers.Load() == 0 {
		t.Fatal("slow consumer not detected")
	}
	// The publisher is unaffected.
	pub.send("PING\r\n")
	for {
		if l := pub.line(); l == "PONG" {
			break
		}
	}
}

// TestParserEverySplit feeds a stream of PUB/HPUB operations split at every
// possible boundary and checks each message arrives intact.
func TestParserEverySplit(t *testing.T) {
	s := runServer(t, nil)
	sub := dialRaw(t, s)
	sub.send("CONNECT {\"headers\":true}\r\nSUB a.> 1\r\nPING\r\n")
	sub.expect("PONG")
	stream := "PUB a.one 3\r\nxyz\r\nHPUB a.two r.1 12 14\r\nNATS/1.0\r\n\r\nok\r\nPUB a.three 0\r\n\r\n"
	want := []string{"MSG a.one 1 3", "xyz", "HMSG a.two 1 r.1 12 14", "NATS/1.0", "", "ok", "MSG a.three 1 0", ""}
	for cut := 1; cut < len(stream); cut++ {
		pub, err := net.Dial("tcp", s.HostPort())
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(pub)
		br.ReadString('\n')
		pub.Write([]byte("CONNECT {\"headers\":true}\r\n"))
		pub.Write([]byte(stream[:cut]))
		time.Sleep(2 * time.Millisecond)
		pub.Write([]byte(stream[cut:]))
		for _, w := range want {
			if got := sub.line(); got != w {
				t.Fatalf("cut %d: got %q want %q", cut, got, w)
			}
		}
		pub.Close()
	}
}

func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/hangar.log"
	l, err := NewFileLogger(path, false, false, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetSizeLimit(200)
	for i := 0; i < 20; i++ {
		l.Noticef("line %d of the log, long enough to fill it", i)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) < 3 {
		t.Fatalf("expected rotated files, got %v", files)
	}
	if st, err := os.Stat(path); err != nil || st.Size() > 200 {
		t.Fatalf("current log %v %v", st, err)
	}
}
