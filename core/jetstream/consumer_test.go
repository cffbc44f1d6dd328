package jetstream

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
	_ "github.com/hangar-mq/hangar/core/store/mem"
)

// testEnv is a server running JetStream with a memory stream S on S.>.
type testEnv struct {
	rt  *Runtime
	acc *server.Account
	s   *Stream
}

func newTestEnv(t *testing.T, scfg jsapi.StreamConfig) *testEnv {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, HTTPPort: 0, JetStream: true, StoreDir: t.TempDir()}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	rt := New(ConfigFromOptions(srv.Options()))
	srv.AddExtension(rt)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if scfg.Name == "" {
		scfg.Name = "S"
	}
	if len(scfg.Subjects) == 0 {
		scfg.Subjects = []string{scfg.Name + ".>"}
	}
	scfg.Storage = jsapi.MemoryStorage
	if _, _, err := rt.CreateStream(context.Background(), server.GlobalAccountName, scfg, false); err != nil {
		t.Fatal(err)
	}
	s, err := rt.LookupStream(server.GlobalAccountName, scfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{rt: rt, acc: srv.GlobalAccount(), s: s}
}

// publish stores n messages S.<i%2> with bodies "0".."n-1" after what is
// there.
func (e *testEnv) publish(t *testing.T, n int) {
	t.Helper()
	start := e.s.lastSeq.Load()
	for i := 0; i < n; i++ {
		e.acc.Publish(fmt.Sprintf("%s.%d", e.s.name, i%2), "", nil, []byte(fmt.Sprint(i)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.s.lastSeq.Load() < start+uint64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of %d", e.s.lastSeq.Load()-start, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// inbox collects what arrives on a subject.
type inbox struct {
	subj string
	ch   chan delivered
}

type delivered struct {
	subj, reply string
	hdr, data   string
}

func (e *testEnv) inbox(t *testing.T, subj string) *inbox {
	t.Helper()
	ib := &inbox{subj: subj, ch: make(chan delivered, 10000)}
	sub, err := e.acc.Subscribe(subj, "", func(_ *server.Subscription, _ *server.Client, s, reply string, hdr, data []byte) {
		ib.ch <- delivered{s, reply, string(hdr), string(data)}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.acc.Unsubscribe(sub) })
	return ib
}

func (ib *inbox) next(t *testing.T) delivered {
	t.Helper()
	select {
	case d := <-ib.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered")
	}
	return delivered{}
}

func (ib *inbox) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-ib.ch:
		t.Fatalf("unexpected delivery %+v", m)
	case <-time.After(d):
	}
}

func (e *testEnv) consumer(t *testing.T, cfg jsapi.ConsumerConfig) *Consumer {
	t.Helper()
	info, err := e.s.AddConsumer(context.Background(), cfg, jsapi.ActionCreateOrUpdate)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.s.LookupConsumer(info.Name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *testEnv) ack(reply, body string) { e.acc.Publish(reply, "", nil, []byte(body)) }

func TestConsumerPullAckAndRedelivery(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	e.publish(t, 4)
	c := e.consumer(t, jsapi.ConsumerConfig{Durable: "d", AckPolicy: jsapi.AckExplicit, AckWait: 200 * time.Millisecond, MaxDeliver: 2})
	ib := e.inbox(t, "in.1")
	c.ProcessNext(ib.subj, []byte(`{"batch":4,"expires":1000000000}`))
	var ms []delivered
	for i := 0; i < 4; i++ {
		ms = append(ms, ib.next(t))
	}
	if ms[0].subj != "S.0" || ms[0].data != "0" || !strings.HasPrefix(ms[0].reply, "$JS.ACK.S.d.1.1.1.") || !strings.HasSuffix(ms[0].reply, ".3") {
		t.Fatalf("first delivery %+v", ms[0])
	}
	e.ack(ms[0].reply, "+ACK")
	e.ack(ms[1].reply, "+TERM")
	e.ack(ms[2].reply, "-NAK")
	// 3 comes back at once, 4 after its ack wait; both as delivery 2.
	c.ProcessNext(ib.subj, []byte(`{"batch":2,"expires":1000000000}`))
	r1, r2 := ib.next(t), ib.next(t)
	if r1.data != "2" || !strings.HasPrefix(r1.reply, "$JS.ACK.S.d.2.3.5.") || r2.data != "3" || !strings.HasPrefix(r2.reply, "$JS.ACK.S.d.2.4.6.") {
		t.Fatalf("redeliveries %+v %+v", r1, r2)
	}
	// Max deliver reached: nothing more, and the state says why.
	c.ProcessNext(ib.subj, []byte(`{"batch":2,"expires":600000000}`))
	if d := ib.next(t); !strings.Contains(d.hdr, "408 Request Timeout") {
		t.Fatalf("want a timeout, got %+v", d)
	}
	info := c.Info()
	if info.AckFloor.Stream != 2 || info.NumAckPending != 0 || info.NumRedelivered != 2 || info.Delivered.Consumer != 6 {
		t.Fatalf("info %+v", info)
	}
}

func TestConsumerConcurrentPullAndAck(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	c := e.consumer(t, jsapi.ConsumerConfig{Durable: "d", AckPolicy: jsapi.AckExplicit, MaxAckPending: 50})
	const n = 3000
	var got atomic.Int64
	var wg sync.WaitGroup
	seen := sync.Map{}
	for w := 0; w < 4; w++ {
		ib := e.inbox(t, fmt.Sprintf("w.%d", w))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for got.Load() < n {
				c.ProcessNext(ib.subj, []byte(`{"batch":20,"expires":200000000}`))
				for k := 0; k < 20; k++ {
					var d delivered
					select {
					case d = <-ib.ch:
					case <-time.After(time.Second):
						return
					}
					if d.reply == "" {
						break
					}
					if _, dup := seen.LoadOrStore(d.data, true); !dup {
						got.Add(1)
					}
					e.ack(d.reply, "+ACK")
				}
			}
		}()
	}
	e.publish(t, n)
	wg.Wait()
	if got.Load() != n {
		t.Fatalf("got %d of %d", got.Load(), n)
	}
	waitUntil(t, func() bool { i := c.Info(); return i.AckFloor.Stream == n && i.NumAckPending == 0 })
}

func TestConsumerPushFlowControlAndHeartbeat(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	ib := e.inbox(t, "dlv")
	c := e.consumer(t, jsapi.ConsumerConfig{DeliverSubject: "dlv", FlowControl: true, Heartbeat: 200 * time.Millisecond})
	big := strings.Repeat("x", 64<<10)
	total := fcWindow/len(big) + 40
	for i := 0; i < total; i++ {
		e.acc.Publish("S.a", "", nil, []byte(big))
	}
	// Delivery stalls at the window until flow control is answered.
	msgs, fcs := 0, []string{}
	deadline := time.After(2 * time.Second)
loop:
	for {
		select {
		case d := <-ib.ch:
			if strings.Contains(d.hdr, "100 FlowControl Request") {
				fcs = append(fcs, d.reply)
			} else if d.data != "" {
				msgs++
			}
		case <-deadline:
			break loop
		}
	}
	if msgs >= total || msgs < fcWindow/len(big)-1 || len(fcs) == 0 {
		t.Fatalf("before answering: %d messages, %d flow-control requests", msgs, len(fcs))
	}
	for _, fc := range fcs {
		e.acc.Publish(fc, "", nil, nil)
	}
	waitUntil(t, func() bool {
		for {
			select {
			case d := <-ib.ch:
				if strings.Contains(d.hdr, "100 FlowControl Request") {
					e.acc.Publish(d.reply, "", nil, nil)
				} else if d.data != "" {
					msgs++
				}
			default:
				return msgs == total
			}
		}
	})
	// Idle: a heartbeat with the last sequences.
	hb := ib.next(t)
	if !strings.Contains(hb.hdr, "100 Idle Heartbeat") || !strings.Contains(hb.hdr, fmt.Sprintf("Nats-Last-Consumer: %d", total)) {
		t.Fatalf("heartbeat %+v", hb)
	}
	if !c.Info().PushBound {
		t.Fatal("not bound")
	}
}

func TestConsumerInterestRetention(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{Retention: jsapi.InterestPolicy})
	e.publish(t, 2)
	if st := e.s.fastState(); st.Msgs != 0 {
		t.Fatalf("kept without interest: %+v", st)
	}
	a := e.consumer(t, jsapi.ConsumerConfig{Durable: "a", AckPolicy: jsapi.AckExplicit})
	e.consumer(t, jsapi.ConsumerConfig{Durable: "b", AckPolicy: jsapi.AckAll, FilterSubject: "S.1"})
	e.publish(t, 2) // S.0 (seq 3) and S.1 (seq 4)
	ib := e.inbox(t, "in")
	a.ProcessNext(ib.subj, []byte("2"))
	d1, d2 := ib.next(t), ib.next(t)
	e.ack(d1.reply, "")
	e.ack(d2.reply, "")
	// S.0 had only a's interest; S.1 waits for b.
	waitUntil(t, func() bool { st := e.s.fastState(); return st.Msgs == 1 && st.FirstSeq == 4 })
	if err := e.s.DeleteConsumer("b"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return e.s.fastState().Msgs == 0 })
}

func TestParseAckSubject(t *testing.T) {
	for _, tc := range []struct {
		name          string
		subj          string
		v2, ok        bool
		dc, sseq, dsq uint64
	}{
		{"v1", "$JS.ACK.S.C.2.10.12.1700000000000000000.5", false, true, 2, 10, 12},
		{"v1 short", "$JS.ACK.S.C.2.10.12.1700000000000000000", false, false, 0, 0, 0},
		{"v1 not a number", "$JS.ACK.S.C.x.10.12.1.5", false, false, 0, 0, 0},
		{"v2", "$JS.ACK._.HASH.S.C.1.7.9.1700000000000000000.0", true, true, 1, 7, 9},
		{"v2 with random token", "$JS.ACK.dom.HASH.S.C.3.7.9.1700000000000000000.0.xyz", true, true, 3, 7, 9},
		{"v2 short", "$JS.ACK.dom.HASH.S.C.3.7.9", true, false, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc, sseq, dseq, ok := parseAckSubject(tc.subj, tc.v2)
			if ok != tc.ok || dc != tc.dc || sseq != tc.sseq || dseq != tc.dsq {
				t.Fatalf("got %d %d %d %v", dc, sseq, dseq, ok)
			}
		})
	}
}

func TestParseAckBody(t *testing.T) {
	for _, tc := range []struct {
		body  string
		kind  ackKind
		rest  string
		delay time.Duration
	}{
		{"", ackAck, "", 0},
		{"+ACK", ackAck, "", 0},
		{"+OK", ackAck, "", 0},
		{"-NAK", ackNak, "", 0},
		{`-NAK {"delay": 2000000000}`, ackNak, `{"delay": 2000000000}`, 2 * time.Second},
		{"-NAK 1.5s", ackNak, "1.5s", 1500 * time.Millisecond},
		{"+WPI", ackProgress, "", 0},
		{"+NXT", ackNext, "", 0},
		{`+NXT {"batch":5}`, ackNext, `{"batch":5}`, 0},
		{"+TERM", ackTerm, "", 0},
		{"+TERM bad input", ackTerm, "bad input", 0},
	} {
		t.Run(tc.body, func(t *testing.T) {
			kind, rest := parseAckBody([]byte(tc.body))
			if kind != tc.kind || string(rest) != tc.rest {
				t.Fatalf("got %v %q", kind, rest)
			}
			if kind == ackNak && parseNakDelay(rest) != tc.delay {
				t.Fatalf("delay %v", parseNakDelay(rest))
			}
		})
	}
}

func TestParseNext(t *testing.T) {
	for _, tc := range []struct {
		body  string
		batch int
		err   bool
	}{
		{"", 1, false},
		{"7", 7, false},
		{`{"batch":3,"expires":1000,"no_wait":true}`, 3, false},
		{`{"batch":2,"unknown":1}`, 2, false},
		{"{bad", 0, true},
		{"x", 0, true},
	} {
		t.Run(tc.body, func(t *testing.T) {
			req, err := parseNext([]byte(tc.body))
			if (err != nil) != tc.err || (!tc.err && req.Batch != tc.batch) {
				t.Fatalf("got %+v %v", req, err)
			}
		})
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConsumerNextViaAck(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	e.publish(t, 3)
	c := e.consumer(t, jsapi.ConsumerConfig{Durable: "d", AckPolicy: jsapi.AckExplicit})
	ib := e.inbox(t, "in")
	c.ProcessNext(ib.subj, nil)
	d := ib.next(t)
	// +NXT acks and asks for the next two, delivered to the ack's reply.
	e.acc.Publish(d.reply, ib.subj, nil, []byte(`+NXT {"batch":2}`))
	if a, b := ib.next(t), ib.next(t); a.data != "1" || b.data != "2" {
		t.Fatalf("after +NXT: %+v %+v", a, b)
	}
	if i := c.Info(); i.AckFloor.Stream != 1 || i.NumAckPending != 2 {
		t.Fatalf("info %+v", i)
	}
}

func TestConsumerReplayOriginalAndRateLimit(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	e.publish(t, 1)
	time.Sleep(300 * time.Millisecond)
	e.publish(t, 1)
	ib := e.inbox(t, "in")
	c := e.consumer(t, jsapi.ConsumerConfig{Durable: "d", ReplayPolicy: jsapi.ReplayOriginal})
	start := time.Now()
	c.ProcessNext(ib.subj, []byte("2"))
	ib.next(t)
	ib.next(t)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("replay original delivered the gap in %v", el)
	}
	// 8 messages of ~1 KiB at 16 kbit/s take about 4 s: after one second
	// only a few went out.
	e.publish(t, 0)
	big := strings.Repeat("x", 1000)
	for i := 0; i < 8; i++ {
		e.acc.Publish("S.r", "", nil, []byte(big))
	}
	rib := e.inbox(t, "rate")
	e.consumer(t, jsapi.ConsumerConfig{Durable: "r", DeliverSubject: "rate", FilterSubject: "S.r", RateLimit: 16000})
	time.Sleep(time.Second)
	if n := len(rib.ch); n < 1 || n > 4 {
		t.Fatalf("rate limit let %d through in a second", n)
	}
}

func TestConsumerAckSampling(t *testing.T) {
	e := newTestEnv(t, jsapi.StreamConfig{})
	e.publish(t, 2)
	metrics := e.inbox(t, "$JS.EVENT.METRIC.CONSUMER.ACK.S.d")
	c := e.consumer(t, jsapi.ConsumerConfig{Durable: "d", AckPolicy: jsapi.AckExplicit, SampleFrequency: "100%"})
	ib := e.inbox(t, "in")
	c.ProcessNext(ib.subj, []byte("2"))
	for i := 0; i < 2; i++ {
		e.ack(ib.next(t).reply, "+ACK")
	}
	for i := 0; i < 2; i++ {
		if m := metrics.next(t); !strings.Contains(m.data, `"type":"io.nats.jetstream.metric.v1.consumer_ack"`) || !strings.Contains(m.data, `"deliveries":1`) {
			t.Fatalf("metric %s", m.data)
		}
	}
}
