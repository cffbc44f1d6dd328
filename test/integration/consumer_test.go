package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// consEnv is a server with a connection and a jetstream context.
type consEnv struct {
	url string
	nc  *nats.Conn
	js  jetstream.JetStream
	ctx context.Context
}

func newConsEnv(t *testing.T) *consEnv {
	t.Helper()
	s := harness.Server(t, &server.Options{JetStream: true})
	nc := connect(t, s.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &consEnv{url: s.ClientURL(), nc: nc, js: js, ctx: ctx}
}

// stream creates a memory stream NAME on NAME.> and publishes n messages
// NAME.<i%3> with bodies "0".."n-1".
func (e *consEnv) stream(t *testing.T, name string, n int, extra ...func(*jetstream.StreamConfig)) jetstream.Stream {
	t.Helper()
	cfg := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.MemoryStorage}
	for _, f := range extra {
		f(&cfg)
	}
	st, err := e.js.CreateStream(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, name, 0, n)
	return st
}

func (e *consEnv) publish(t *testing.T, name string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := e.js.Publish(e.ctx, fmt.Sprintf("%s.%d", name, i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsumerFetchAndNext(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "F", 10)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(4, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if md.Stream != "F" || md.Consumer != "d" || md.NumDelivered != 1 || md.Sequence.Stream != uint64(len(got)+1) || md.NumPending != uint64(10-len(got)-1) {
			t.Fatalf("metadata %+v", md)
		}
		got = append(got, string(m.Data()))
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if batch.Error() != nil || len(got) != 4 || got[0] != "0" || got[3] != "3" {
		t.Fatalf("fetch %v %v", got, batch.Error())
	}
	m, err := c.Next(jetstream.FetchMaxWait(time.Second))
	if err != nil || string(m.Data()) != "4" {
		t.Fatalf("next %v %v", m, err)
	}
	if err := m.DoubleAck(e.ctx); err != nil {
		t.Fatal(err)
	}
	// FetchNoWait takes what there is and stops.
	b2, err := c.FetchNoWait(100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range b2.Messages() {
		m.Ack()
		n++
	}
	if n != 5 {
		t.Fatalf("no wait got %d", n)
	}
	// FetchBytes stops at the byte budget.
	e.publish(t, "F", 10, 20)
	b3, err := c.FetchBytes(200, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for m := range b3.Messages() {
		m.Ack()
		n++
	}
	if n == 0 || n >= 10 {
		t.Fatalf("fetch bytes got %d", n)
	}
	// An empty consumer times out without error.
	c2, _ := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "new", DeliverPolicy: jetstream.DeliverNewPolicy})
	b4, err := c2.Fetch(1, jetstream.FetchMaxWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for range b4.Messages() {
		t.Fatal("unexpected message")
	}
	if b4.Error() != nil {
		t.Fatalf("empty fetch: %v", b4.Error())
	}
	info, err := c.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.AckFloor.Stream != info.Delivered.Stream {
		t.Fatalf("info %+v", info)
	}
}

func TestConsumerConsumeAndMessages(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "C", 0)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	cc, err := c.Consume(func(m jetstream.Msg) {
		m.Ack()
		if n.Add(1) == 1000 {
			close(done)
		}
	}, jetstream.PullMaxMessages(100))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	e.publish(t, "C", 0, 1000)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("consume got %d", n.Load())
	}
	cc.Stop()

	// Messages iterator over a second consumer, with a heartbeat.
	c2, _ := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "it", AckPolicy: jetstream.AckExplicitPolicy})
	it, err := c2.Messages(jetstream.PullMaxMessages(50), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for i := 0; i < 1000; i++ {
		m, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data()) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, m.Data())
		}
		m.Ack()
	}
	it.Stop()
	info, _ := c2.Info(e.ctx)
	if info.Delivered.Stream != 1000 {
		t.Fatalf("delivered %+v", info.Delivered)
	}
}

func TestConsumerOrdered(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "O", 100)
	oc, err := st.OrderedConsumer(e.ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"O.1"}})
	if err != nil {
		t.Fatal(err)
	}
	it, err := oc.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for i := 1; i < 100; i += 3 {
		m, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data()) != fmt.Sprint(i) {
			t.Fatalf("ordered got %q want %d", m.Data(), i)
		}
	}
	it.Stop()
	// Fetch on an ordered consumer.
	oc2, err := st.OrderedConsumer(e.ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverLastPolicy})
	if err != nil {
		t.Fatal(err)
	}
	b, err := oc2.Fetch(5, jetstream.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range b.Messages() {
		got = append(got, string(m.Data()))
	}
	if len(got) != 1 || got[0] != "99" {
		t.Fatalf("ordered last: %v", got)
	}
}

func TestConsumerPushLegacy(t *testing.T) {
	e := newConsEnv(t)
	e.stream(t, "P", 50)
	js, err := e.nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	// A durable push subscription with explicit acks.
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := js.Subscribe("P.>", func(m *nats.Msg) {
		m.Ack()
		if got.Add(1) == 50 {
			close(done)
		}
	}, nats.Durable("push"), nats.ManualAck(), nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("push got %d", got.Load())
	}
	sub.Unsubscribe()

	// A queue subscription shares the messages between members.
	var a, b atomic.Int64
	qdone := make(chan struct{})
	var once sync.Once
	count := func(n *atomic.Int64) nats.MsgHandler {
		return func(m *nats.Msg) {
			m.Ack()
			n.Add(1)
			if a.Load()+b.Load() == 50 {
				once.Do(func() { close(qdone) })
			}
		}
	}
	s1, err := js.QueueSubscribe("P.>", "workers", count(&a), nats.Durable("workers"), nats.ManualAck())
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Unsubscribe()
	s2, err := js.QueueSubscribe("P.>", "workers", count(&b), nats.Durable("workers"), nats.ManualAck())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Unsubscribe()
	select {
	case <-qdone:
	case <-time.After(10 * time.Second):
		t.Fatalf("queue got %d+%d", a.Load(), b.Load())
	}

	// Ordered push consumer (flow control and heartbeats).
	var ord []string
	odone := make(chan struct{})
	osub, err := js.Subscribe("P.2", func(m *nats.Msg) {
		ord = append(ord, string(m.Data))
		if len(ord) == 16 {
			close(odone)
		}
	}, nats.OrderedConsumer())
	if err != nil {
		t.Fatal(err)
	}
	defer osub.Unsubscribe()
	select {
	case <-odone:
	case <-time.After(10 * time.Second):
		t.Fatalf("ordered push got %v", ord)
	}
	if ord[0] != "2" || ord[15] != "47" {
		t.Fatalf("ordered push %v", ord)
	}

	// Sync subscription with AckSync.
	ssub, err := js.SubscribeSync("P.0", nats.Durable("sync"), nats.AckExplicit())
	if err != nil {
		t.Fatal(err)
	}
	defer ssub.Unsubscribe()
	m, err := ssub.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AckSync(); err != nil {
		t.Fatal(err)
	}
	ci, err := ssub.ConsumerInfo()
	if err != nil || ci.AckFloor.Consumer != 1 || !ci.PushBound {
		t.Fatalf("consumer info %+v %v", ci, err)
	}
}

func TestConsumerAckKinds(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "A", 5)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Fetch(5, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ms []jetstream.Msg
	for m := range b.Messages() {
		ms = append(ms, m)
	}
	if len(ms) != 5 {
		t.Fatalf("got %d", len(ms))
	}
	ms[0].Ack()
	ms[1].Nak()
	ms[2].NakWithDelay(300 * time.Millisecond)
	ms[3].Term()
	ms[4].InProgress()
	if err := ms[4].DoubleAck(e.ctx); err != nil {
		t.Fatal(err)
	}
	// The naked messages come back, counted as redelivered.
	var redelivered []string
	deadline := time.Now().Add(3 * time.Second)
	for len(redelivered) < 2 && time.Now().Before(deadline) {
		m, err := c.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		md, _ := m.Metadata()
		if md.NumDelivered != 2 {
			t.Fatalf("redelivery %+v", md)
		}
		redelivered = append(redelivered, string(m.Data()))
		m.Ack()
	}
	if len(redelivered) != 2 || redelivered[0] != "1" || redelivered[1] != "2" {
		t.Fatalf("redelivered %v", redelivered)
	}
	info, _ := c.Info(e.ctx)
	if info.NumAckPending != 0 || info.AckFloor.Stream != 5 {
		t.Fatalf("info %+v", info)
	}
}

func TestConsumerRedeliveryMaxDeliverBackoff(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "R", 1)
	sub, err := e.nc.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.R.d")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy,
		BackOff: []time.Duration{100 * time.Millisecond, 300 * time.Millisecond}, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Duration
	start := time.Now()
	it, err := c.Messages(jetstream.PullExpiry(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for i := 0; i < 3; i++ {
		m, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		md, _ := m.Metadata()
		if md.NumDelivered != uint64(i+1) {
			t.Fatalf("delivery %d: %+v", i, md)
		}
		at = append(at, time.Since(start))
	}
	// Backoff spaces the redeliveries (coarse bounds only).
	if at[1] < 80*time.Millisecond || at[2]-at[1] < 250*time.Millisecond {
		t.Fatalf("redeliveries too early: %v", at)
	}
	// No fourth delivery; an advisory reports it.
	if _, err := sub.NextMsg(3 * time.Second); err != nil {
		t.Fatalf("max deliveries advisory: %v", err)
	}
	info, _ := c.Info(e.ctx)
	if info.NumRedelivered != 1 || info.NumAckPending != 0 {
		t.Fatalf("info %+v", info)
	}
}

func TestConsumerPause(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "PZ", 3)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.js.PauseConsumer(e.ctx, "PZ", "d", time.Now().Add(700*time.Millisecond))
	if err != nil || !resp.Paused {
		t.Fatalf("pause %+v %v", resp, err)
	}
	start := time.Now()
	m, err := c.Next(jetstream.FetchMaxWait(3 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 400*time.Millisecond {
		t.Fatalf("delivered while paused")
	}
	m.Ack()
	if _, err := e.js.PauseConsumer(e.ctx, "PZ", "d", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info(e.ctx)
	if !info.Paused || info.PauseRemaining < 59*time.Minute {
		t.Fatalf("info %+v", info)
	}
	if _, err := e.js.ResumeConsumer(e.ctx, "PZ", "d"); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Next(jetstream.FetchMaxWait(time.Second)); err != nil || string(m.Data()) != "1" {
		t.Fatalf("after resume %v %v", m, err)
	}
}

func TestConsumerPriorityGroups(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "PG", 20)
	// Overflow: a client asking for min_pending only gets messages when
	// the backlog is that large.
	oc, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "o", AckPolicy: jetstream.AckExplicitPolicy,
		PriorityPolicy: jetstream.PriorityPolicyOverflow, PriorityGroups: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := oc.Fetch(5, jetstream.FetchMaxWait(300*time.Millisecond), jetstream.FetchMinPending(100), jetstream.FetchPriorityGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	for range b.Messages() {
		t.Fatal("overflow client got a message below min_pending")
	}
	b, err = oc.Fetch(5, jetstream.FetchMaxWait(300*time.Millisecond), jetstream.FetchMinPending(10), jetstream.FetchPriorityGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range b.Messages() {
		m.Ack()
		n++
	}
	if n != 5 {
		t.Fatalf("overflow got %d", n)
	}

	// Pinned client: one consumer gets everything until unpinned.
	pc, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "p", AckPolicy: jetstream.AckExplicitPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{"g"}, PinnedTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Each client has its own consumer handle: nats.go keeps the pin there.
	pc2, err := st.Consumer(e.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	var first, second atomic.Int64
	c1, err := pc.Consume(func(m jetstream.Msg) { first.Add(1); m.Ack() }, jetstream.PullPriorityGroup("g"), jetstream.PullMaxMessages(5))
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Stop()
	time.Sleep(200 * time.Millisecond)
	c2, err := pc2.Consume(func(m jetstream.Msg) { second.Add(1); m.Ack() }, jetstream.PullPriorityGroup("g"), jetstream.PullMaxMessages(5))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	e.publish(t, "PG", 20, 40)
	waitFor(t, 5*time.Second, func() bool { return first.Load()+second.Load() == 40 })
	if first.Load() != 40 || second.Load() != 0 {
		t.Fatalf("pinned: first %d second %d", first.Load(), second.Load())
	}
	info, _ := pc.Info(e.ctx)
	if len(info.PriorityGroups) != 1 || info.PriorityGroups[0].PinnedClientID == "" {
		t.Fatalf("pin state %+v", info.PriorityGroups)
	}
	// Unpinning moves the pin to whichever client pulls next.
	c1.Stop()
	if err := st.UnpinConsumer(e.ctx, "p", "g"); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "PG", 40, 45)
	waitFor(t, 5*time.Second, func() bool { return second.Load() == 5 })
}

func TestConsumerInactiveThreshold(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "IT", 1)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{InactiveThreshold: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	name := c.CachedInfo().Name
	waitFor(t, 5*time.Second, func() bool {
		_, err := st.Consumer(e.ctx, name)
		return errors.Is(err, jetstream.ErrConsumerNotFound)
	})
}

func TestConsumerHeadersOnlyAndMetadata(t *testing.T) {
	e := newConsEnv(t)
	st := e.stream(t, "H", 1)
	c, err := st.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "h", HeadersOnly: true, Metadata: map[string]string{"owner": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.CachedInfo().Config.Metadata["owner"] != "me" {
		t.Fatalf("metadata %v", c.CachedInfo().Config.Metadata)
	}
	m, err := c.Next(jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Data()) != 0 || m.Headers().Get("Nats-Msg-Size") != "1" {
		t.Fatalf("headers only %q %v", m.Data(), m.Headers())
	}
}

func TestConsumerWorkQueueAndInterest(t *testing.T) {
	e := newConsEnv(t)
	wq := e.stream(t, "WQ", 10, func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy })
	c, err := wq.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wq.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "w2", AckPolicy: jetstream.AckExplicitPolicy}); err == nil {
		t.Fatal("second unfiltered work-queue consumer accepted")
	}
	b, _ := c.Fetch(10, jetstream.FetchMaxWait(time.Second))
	for m := range b.Messages() {
		m.DoubleAck(e.ctx)
	}
	waitFor(t, 2*time.Second, func() bool { si, _ := wq.Info(e.ctx); return si.State.Msgs == 0 })

	in := e.stream(t, "IN", 0, func(c *jetstream.StreamConfig) { c.Retention = jetstream.InterestPolicy })
	e.publish(t, "IN", 0, 3) // nobody interested: not kept
	if si, _ := in.Info(e.ctx); si.State.Msgs != 0 {
		t.Fatalf("kept without interest: %+v", si.State)
	}
	a, _ := in.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "a", AckPolicy: jetstream.AckExplicitPolicy})
	bb, _ := in.CreateOrUpdateConsumer(e.ctx, jetstream.ConsumerConfig{Durable: "b", AckPolicy: jetstream.AckExplicitPolicy})
	e.publish(t, "IN", 3, 6)
	ack := func(c jetstream.Consumer) {
		b, _ := c.Fetch(3, jetstream.FetchMaxWait(time.Second))
		for m := range b.Messages() {
			m.DoubleAck(e.ctx)
		}
	}
	ack(a)
	if si, _ := in.Info(e.ctx); si.State.Msgs != 3 {
		t.Fatalf("removed before every consumer acked: %+v", si.State)
	}
	ack(bb)
	waitFor(t, 2*time.Second, func() bool { si, _ := in.Info(e.ctx); return si.State.Msgs == 0 })
}
