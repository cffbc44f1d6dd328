package integration

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
)

// coreScenarios run against a server reachable at url.
var coreScenarios = []struct {
	name string
	run  func(t *testing.T, url string)
}{
	{"PubSub", testPubSub},
	{"Wildcards", testWildcards},
	{"QueueDistribution", testQueueDistribution},
	{"Headers", testHeaders},
	{"RequestReply", testRequestReply},
	{"NoResponders", testNoResponders},
	{"AutoUnsubscribe", testAutoUnsubscribe},
	{"MaxPayload", testMaxPayload},
	{"Drain", testDrain},
	{"LargeFanIn", testLargeFanIn},
}

func TestCoreInProcess(t *testing.T) {
	s := harness.Server(t, &server.Options{MaxPayload: 64 * 1024})
	for _, sc := range coreScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, s.ClientURL()) })
	}
}

func TestCoreBinary(t *testing.T) {
	p := harness.StartBinary(t, "-m", "0", "-js=false")
	// The binary has the default max payload; the scenario adapts.
	for _, sc := range coreScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, p.URL) })
	}
}

func connect(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func testPubSub(t *testing.T, url string) {
	nc := connect(t, url)
	sub, err := nc.SubscribeSync("greet")
	if err != nil {
		t.Fatal(err)
	}
	// The subscription must reach the server before the other connection
	// publishes.
	nc.Flush()
	nc2 := connect(t, url)
	for i := 0; i < 100; i++ {
		nc2.Publish("greet", []byte(fmt.Sprintf("hello %d", i)))
	}
	nc2.Flush()
	for i := 0; i < 100; i++ {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("msg %d: %v", i, err)
		}
		if want := fmt.Sprintf("hello %d", i); string(m.Data) != want {
			t.Fatalf("got %q want %q (order must hold per publisher)", m.Data, want)
		}
	}
}

func testWildcards(t *testing.T, url string) {
	nc := connect(t, url)
	star, _ := nc.SubscribeSync("orders.*.created")
	full, _ := nc.SubscribeSync("orders.>")
	nc.Flush()
	nc.Publish("orders.eu.created", []byte("1"))
	nc.Publish("orders.eu.shipped", []byte("2"))
	nc.Publish("orders", []byte("3"))
	nc.Publish("orders.us.created.late", []byte("4"))
	nc.Flush()
	expectMsgs(t, star, "1")
	expectMsgs(t, full, "1", "2", "4")
}

func expectMsgs(t *testing.T, sub *nats.Subscription, want ...string) {
	t.Helper()
	for _, w := range want {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %q: %v", w, err)
		}
		if string(m.Data) != w {
			t.Fatalf("got %q want %q", m.Data, w)
		}
	}
	if m, err := sub.NextMsg(50 * time.Millisecond); err == nil {
		t.Fatalf("unexpected extra message %q on %s", m.Data, m.Subject)
	}
}

func testQueueDistribution(t *testing.T, url string) {
	nc := connect(t, url)
	const members, total = 4, 2000
	var counts [members]atomic.Int32
	var got atomic.Int32
	for i := 0; i < members; i++ {
		i := i
		nc.QueueSubscribe("work", "workers", func(*nats.Msg) {
			counts[i].Add(1)
			got.Add(1)
		})
	}
	plain, _ := nc.SubscribeSync("work")
	nc.Flush()
	pub := connect(t, url)
	for i := 0; i < total; i++ {
		pub.Publish("work", []byte("x"))
	}
	pub.Flush()
	waitFor(t, 5*time.Second, func() bool { return got.Load() == total })
	time.Sleep(50 * time.Millisecond)
	if got.Load() != total {
		t.Fatalf("queue group got %d, want exactly %d (one member each)", got.Load(), total)
	}
	for i := range counts {
		if c := counts[i].Load(); c < total/members/3 {
			t.Fatalf("member %d got %d of %d: not distributed", i, c, total)
		}
	}
	if n, _, _ := plain.Pending(); n != total {
		t.Fatalf("plain subscriber got %d, want %d", n, total)
	}
}

func testHeaders(t *testing.T, url string) {
	nc := connect(t, url)
	sub, _ := nc.SubscribeSync("h")
	m := nats.NewMsg("h")
	m.Header.Add("X-One", "1")
	m.Header.Add("X-Multi", "a")
	m.Header.Add("X-Multi", "b")
	m.Data = []byte("body")
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	got, err := sub.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("X-One") != "1" || strings.Join(got.Header.Values("X-Multi"), ",") != "a,b" || string(got.Data) != "body" {
		t.Fatalf("headers not preserved: %v %q", got.Header, got.Data)
	}
}

func testRequestReply(t *testing.T, url string) {
	svc := connect(t, url)
	svc.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(append([]byte("re:"), m.Data...)) })
	svc.Flush()
	nc := connect(t, url)
	for i := 0; i < 50; i++ {
		r, err := nc.Request("svc.echo", []byte(fmt.Sprint(i)), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Data) != fmt.Sprintf("re:%d", i) {
			t.Fatalf("got %q", r.Data)
		}
	}
	// Old-style requests use a fresh inbox per call.
	r, err := nc.Request("svc.echo", []byte("old"), 2*time.Second)
	if err != nil || string(r.Data) != "re:old" {
		t.Fatalf("got %v %v", r, err)
	}
}

func testNoResponders(t *testing.T, url string) {
	nc := connect(t, url)
	start := time.Now()
	_, err := nc.Request("nobody.home", []byte("?"), 5*time.Second)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("got %v, want no responders", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("no-responders answer came late (timed out instead?)")
	}
}

func testAutoUnsubscribe(t *testing.T, url string) {
	nc := connect(t, url)
	sub, _ := nc.SubscribeSync("auto")
	sub.AutoUnsubscribe(3)
	nc.Flush()
	for i := 0; i < 10; i++ {
		nc.Publish("auto", []byte("x"))
	}
	nc.Flush()
	time.Sleep(100 * time.Millisecond)
	got := 0
	for {
		if _, err := sub.NextMsg(50 * time.Millisecond); err != nil {
			break
		}
		got++
	}
	if got != 3 {
		t.Fatalf("received %d, want 3", got)
	}
}

func testMaxPayload(t *testing.T, url string) {
	nc := connect(t, url)
	max := nc.MaxPayload()
	if err := nc.Publish("big", make([]byte, max+1)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("client-side check: %v", err)
	}
	sub, _ := nc.SubscribeSync("big")
	if err := nc.Publish("big", make([]byte, max)); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil || int64(len(m.Data)) != max {
		t.Fatalf("max-size message: %v", err)
	}
}

func testDrain(t *testing.T, url string) {
	nc := connect(t, url)
	var got atomic.Int32
	nc.Subscribe("drain", func(*nats.Msg) {
		time.Sleep(time.Millisecond)
		got.Add(1)
	})
	nc.Flush()
	pub := connect(t, url)
	for i := 0; i < 200; i++ {
		pub.Publish("drain", []byte("x"))
	}
	pub.Flush()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not close the connection")
	}
	if got.Load() != 200 {
		t.Fatalf("drain processed %d of 200", got.Load())
	}
}

func testLargeFanIn(t *testing.T, url string) {
	nc := connect(t, url)
	sub, _ := nc.SubscribeSync("fanin")
	sub.SetPendingLimits(-1, -1)
	nc.Flush()
	const pubs, each = 8, 500
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := nats.Connect(url)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; i < each; i++ {
				c.Publish("fanin", make([]byte, 512))
			}
			c.Flush()
		}()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, func() bool { n, _, _ := sub.Pending(); return n == pubs*each })
}

func waitFor(t *testing.T, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}

// TestReconnectAfterRestart restarts the binary on the same port: the
// client reconnects and its subscriptions are restored.
func TestReconnectAfterRestart(t *testing.T) {
	p := harness.StartBinary(t, "-m", "0", "-js=false")
	port := p.URL[strings.LastIndex(p.URL, ":")+1:]
	reconnected := make(chan struct{}, 1)
	nc := connect(t, p.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	sub, _ := nc.SubscribeSync("after")
	nc.Flush()
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	harness.StartBinary(t, "-a", "127.0.0.1", "-p", port, "-m", "0", "-js=false")
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("client did not reconnect")
	}
	pub := connect(t, p.URL)
	pub.Publish("after", []byte("back"))
	pub.Flush()
	expectMsgs(t, sub, "back")
}
