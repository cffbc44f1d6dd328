package integration

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go/jetstream"
)

// keepBackend is a test backend that outlives a server: a memory provider
// kept per store directory, whose Close leaves the data in place. It holds
// streams and consumer state only through the store contract, so a server
// restarted on the same directory recovers exactly what a persistent
// backend would give back.
const keepBackend = "keep"

var kept struct {
	mu sync.Mutex
	m  map[string]*mem.Provider
}

type keepProvider struct{ *mem.Provider }

// Close keeps the streams for the next server on the directory.
func (keepProvider) Close(context.Context) error { return nil }

func init() {
	store.Register(store.ProviderInfo{ID: "store." + keepBackend, New: func(cfg store.ProviderConfig) (store.Provider, error) {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, err
		}
		kept.mu.Lock()
		defer kept.mu.Unlock()
		if kept.m == nil {
			kept.m = map[string]*mem.Provider{}
		}
		p := kept.m[cfg.Dir]
		if p == nil {
			var err error
			if p, err = mem.New(store.ProviderConfig{}); err != nil {
				return nil, err
			}
			kept.m[cfg.Dir] = p
		}
		return keepProvider{p}, nil
	}})
}

// restartBackends are the persistent backends the restart test runs on:
// the test backend always, the file and Pebble stores when built in.
func restartBackends() []string {
	return append([]string{keepBackend}, availableFileBackends()...)
}

func TestConsumerStateSurvivesRestart(t *testing.T) {
	for _, backend := range restartBackends() {
		t.Run(backend, func(t *testing.T) { testRestart(t, backend) })
	}
}

func testRestart(t *testing.T, backend string) {
	dir := t.TempDir()
	opts := func() *server.Options {
		return &server.Options{JetStream: true, StoreDir: dir, JetStreamBackend: backend}
	}
	s := harness.Server(t, opts())
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R", Subjects: []string{"R.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		js.Publish(ctx, "R.x", []byte(fmt.Sprint(i)))
	}
	c, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Deliver 6; ack 0-2 and 4 (acknowledged with AckSync); 3 and 5 stay
	// pending.
	b, _ := c.Fetch(6, jetstream.FetchMaxWait(time.Second))
	var ms []jetstream.Msg
	for m := range b.Messages() {
		ms = append(ms, m)
	}
	if len(ms) != 6 {
		t.Fatalf("fetched %d", len(ms))
	}
	for _, i := range []int{0, 1, 2, 4} {
		if err := ms[i].DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// An ack-none consumer's position is kept too.
	n, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "n", AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := n.Fetch(4, jetstream.FetchMaxWait(time.Second))
	for range nb.Messages() {
	}
	before, _ := c.Info(ctx)
	nc.Close()
	s.Shutdown()

	s2 := harness.Server(t, opts())
	nc2 := connect(t, s2.ClientURL())
	js2, _ := jetstream.New(nc2)
	st2, err := js2.Stream(ctx, "R")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := st2.Consumer(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := c2.Info(ctx)
	if after.AckFloor.Stream != 3 || after.Delivered.Stream != 6 || after.Delivered.Consumer != 6 || after.NumAckPending != 2 || after.NumPending != 4 {
		t.Fatalf("state after restart %+v (before %+v)", after, before)
	}
	// Delivery resumes where it left off: 6-9 in order, and 3 and 5 come
	// back (second delivery) once their ack wait is over; nothing
	// acknowledged comes back.
	var got []string
	it, err := c2.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for len(got) < 6 {
		m, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		md, _ := m.Metadata()
		got = append(got, fmt.Sprintf("%s/%d", m.Data(), md.NumDelivered))
		m.Ack()
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[3/2 5/2 6/1 7/1 8/1 9/1]" {
		t.Fatalf("after restart got %v", got)
	}
	n2, err := st2.Consumer(ctx, "n")
	if err != nil {
		t.Fatal(err)
	}
	if ni, _ := n2.Info(ctx); ni.Delivered.Stream != 4 || ni.AckFloor.Stream != 4 {
		t.Fatalf("ack-none consumer after restart %+v", ni)
	}
}
