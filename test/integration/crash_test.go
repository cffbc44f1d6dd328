package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestKill9MidPublish publishes from several clients (sync and async) to
// the built binary, kills it with SIGKILL in the middle, restarts it on
// the same store directory and checks that every acknowledged message is
// there, in order, with its payload — for each persistent backend under
// the default durability.
func TestKill9MidPublish(t *testing.T) {
	for _, backend := range availableFileBackends() {
		t.Run(backend, func(t *testing.T) { kill9MidPublish(t, backend) })
	}
}

func kill9MidPublish(t *testing.T, backend string) {
	dir := t.TempDir()
	args := []string{"-m", "0", "-sd", dir, "--backend", backend}
	p := harness.StartBinary(t, args...)
	port := p.URL[strings.LastIndex(p.URL, ":")+1:]
	nc := connect(t, p.URL)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "K", Subjects: []string{"k.>"}}); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		seq  uint64
		data string
	}
	var mu sync.Mutex
	var acked []ack
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := nats.Connect(p.URL, nats.NoReconnect())
			if err != nil {
				return
			}
			defer c.Close()
			wjs, _ := jetstream.New(c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				data := fmt.Sprintf("w%d-%d", w, i)
				if w%2 == 0 {
					a, err := wjs.Publish(ctx, fmt.Sprintf("k.%d", w), []byte(data))
					if err != nil {
						return
					}
					mu.Lock()
					acked = append(acked, ack{a.Sequence, data})
					mu.Unlock()
					continue
				}
				f, err := wjs.PublishAsync(fmt.Sprintf("k.%d", w), []byte(data))
				if err != nil {
					return
				}
				go func() {
					select {
					case a := <-f.Ok():
						mu.Lock()
						acked = append(acked, ack{a.Sequence, data})
						mu.Unlock()
					case <-f.Err():
					}
				}()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	p.Kill() // SIGKILL mid-publish
	close(stop)
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	got := append([]ack(nil), acked...)
	mu.Unlock()
	if len(got) < 50 {
		t.Fatalf("only %d messages acknowledged before the kill", len(got))
	}

	p2 := harness.StartBinary(t, append([]string{"-a", "127.0.0.1", "-p", port}, args...)...)
	nc2 := connect(t, p2.URL)
	js2, _ := jetstream.New(nc2)
	st, err := js2.Stream(ctx, "K")
	if err != nil {
		t.Fatalf("stream after restart: %v\n%s", err, p2.Logs())
	}
	info, _ := st.Info(ctx)
	// Read everything back with an ordered consumer, then check each ack.
	stored := make(map[uint64]string, info.State.Msgs)
	oc, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for uint64(len(stored)) < info.State.Msgs {
		batch, err := oc.Fetch(10000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			stored[md.Sequence.Stream] = string(m.Data())
			n++
		}
		if n == 0 {
			t.Fatalf("read back %d of %d messages: %v", len(stored), info.State.Msgs, batch.Error())
		}
	}
	for _, a := range got {
		if stored[a.seq] != a.data {
			t.Fatalf("acknowledged message %d (%s) after kill -9: got %q", a.seq, a.data, stored[a.seq])
		}
	}
	t.Logf("%s: %d acknowledged before SIGKILL, %d stored after restart", backend, len(got), info.State.Msgs)
	// The stream keeps working after recovery.
	if _, err := js2.Publish(ctx, "k.0", []byte("after")); err != nil {
		t.Fatal(err)
	}
}
