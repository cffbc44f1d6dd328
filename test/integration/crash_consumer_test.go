package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go/jetstream"
)

// TestKill9ConsumerState acks part of a stream with AckSync (the server
// confirms each ack), kills the binary with SIGKILL, restarts it and checks
// that no confirmed ack is lost: those messages are not delivered again,
// delivery resumes after the last delivered message, and the deliveries
// left unacknowledged are redelivered.
func TestKill9ConsumerState(t *testing.T) {
	for _, backend := range availableFileBackends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"-m", "0", "-sd", dir, "--backend", backend}
			p := harness.StartBinary(t, args...)
			port := p.URL[strings.LastIndex(p.URL, ":")+1:]
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			js, _ := jetstream.New(connect(t, p.URL))
			st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CK", Subjects: []string{"ck"}})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 100; i++ {
				if _, err := js.Publish(ctx, "ck", []byte(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			c, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			batch, err := c.Fetch(60, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			acked := map[uint64]bool{}
			i := 0
			for m := range batch.Messages() {
				i++
				md, _ := m.Metadata()
				// Ack the first 40 in order and every other one after,
				// leaving holes above the ack floor.
				if i <= 40 || i%2 == 0 {
					if err := m.DoubleAck(ctx); err != nil {
						t.Fatalf("ack %d: %v", md.Sequence.Stream, err)
					}
					acked[md.Sequence.Stream] = true
				}
			}
			p.Kill()

			p2 := harness.StartBinary(t, append([]string{"-a", "127.0.0.1", "-p", port}, args...)...)
			js2, _ := jetstream.New(connect(t, p2.URL))
			c2, err := js2.Consumer(ctx, "CK", "d")
			if err != nil {
				t.Fatalf("consumer after restart: %v\n%s", err, p2.Logs())
			}
			info, _ := c2.Info(ctx)
			if info.AckFloor.Stream < 40 {
				t.Fatalf("ack floor went back: %+v", info.AckFloor)
			}
			got := map[uint64]bool{}
			first := uint64(0)
			for len(got) < 100-len(acked) {
				b, err := c2.Fetch(100, jetstream.FetchMaxWait(4*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for m := range b.Messages() {
					n++
					md, _ := m.Metadata()
					if acked[md.Sequence.Stream] {
						t.Fatalf("message %d was acknowledged before the kill and came back", md.Sequence.Stream)
					}
					if first == 0 {
						first = md.Sequence.Stream
					}
					got[md.Sequence.Stream] = true
					m.Ack()
				}
				if n == 0 {
					t.Fatalf("got %d of %d unacknowledged messages", len(got), 100-len(acked))
				}
			}
			for q := uint64(1); q <= 100; q++ {
				if !acked[q] && !got[q] {
					t.Fatalf("unacknowledged message %d never delivered after restart", q)
				}
			}
			// New messages come first; the deliveries pending at the kill
			// are redelivered once their ack wait passes.
			if first != 61 {
				t.Fatalf("delivery resumed at %d, want 61 (the first never delivered)", first)
			}
		})
	}
}
