package integration

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestMalformedAPIInput throws garbage at every JetStream API subject,
// ack subject and restore subject: the server answers or stays silent,
// never crashes, and the stored data stays intact.
func TestMalformedAPIInput(t *testing.T) {
	s := harness.Server(t, &server.Options{JetStream: true, JetStreamBackend: "file"})
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M", Subjects: []string{"m.>"}, AllowDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		js.Publish(ctx, "m.x", []byte("keep"))
	}
	js.CreateOrUpdateConsumer(ctx, "M", jetstream.ConsumerConfig{Durable: "C", AckPolicy: jetstream.AckExplicitPolicy})
	subjects := []string{
		"$JS.API.INFO", "$JS.API.STREAM.CREATE.M", "$JS.API.STREAM.CREATE.N", "$JS.API.STREAM.UPDATE.M",
		"$JS.API.STREAM.INFO.M", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.API.STREAM.PURGE.N",
		"$JS.API.STREAM.MSG.GET.M", "$JS.API.STREAM.MSG.DELETE.N", "$JS.API.STREAM.SNAPSHOT.M",
		"$JS.API.STREAM.RESTORE.R", "$JS.API.DIRECT.GET.M", "$JS.API.DIRECT.GET.M.m.x",
		"$JS.API.CONSUMER.CREATE.M", "$JS.API.CONSUMER.CREATE.M.X", "$JS.API.CONSUMER.CREATE.M.X.m.>",
		"$JS.API.CONSUMER.DURABLE.CREATE.M.D", "$JS.API.CONSUMER.INFO.M.C", "$JS.API.CONSUMER.NAMES.M",
		"$JS.API.CONSUMER.LIST.M", "$JS.API.CONSUMER.MSG.NEXT.M.C", "$JS.API.CONSUMER.PAUSE.M.C",
		"$JS.API.CONSUMER.UNPIN.M.C", "$JS.API.CONSUMER.RESET.M.C", "$JS.API.CONSUMER.DELETE.M.NOPE",
		"$JS.ACK.M.C.1.1.1.1.1", "$JS.ACK.M.C.x.y.z", "$JS.ACK.M", "$JS.FC.M.C.abcd", "$JS.SNAPSHOT.RESTORE.R.x",
	}
	bodies := []string{"", "{", "}", "null", "[]", "\"x\"", "1e309", "{\"name\":", "{\"config\":{\"name\":5}}",
		"{\"seq\":-1}", "{\"batch\":-5,\"expires\":-1}", "-NAK {\"delay\":", "+TERM", "+NXT {", "+WPI extra",
		"{\"deliver_subject\":\"\"}", "{\"offset\":-3}", "{\"pause_until\":\"yesterday\"}", strings.Repeat("{", 5000)}
	for seed := int64(1); seed <= 6; seed++ {
		garbage(nc, subjects, bodies, seed)
	}
	// Still serving, data intact.
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("server not answering after garbage: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.State.Msgs != 20 {
		t.Fatalf("stream after garbage: %+v %v", info, err)
	}
	m, err := st.GetMsg(ctx, 7)
	if err != nil || string(m.Data) != "keep" {
		t.Fatalf("message after garbage: %v %v", m, err)
	}
}

// garbage sends 300 requests mixing the bodies with random bytes.
func garbage(nc *nats.Conn, subjects, bodies []string, seed int64) {
	r := rand.New(rand.NewSource(seed))
	for i := 0; i < 300; i++ {
		var body []byte
		if i%3 == 0 {
			body = make([]byte, r.Intn(300))
			r.Read(body)
		} else {
			body = []byte(bodies[r.Intn(len(bodies))])
		}
		msg := nats.NewMsg(subjects[r.Intn(len(subjects))])
		msg.Data = body
		if i%5 == 0 {
			msg.Header.Set("Nats-Required-Api-Level", "x")
		}
		nc.RequestMsg(msg, 50*time.Millisecond)
	}
}

// TestMalformedPublishHeaders sends stream publishes whose header blocks
// are garbage or carry nonsense JetStream headers, over a raw connection:
// each gets a PubAck or an error, nothing crashes, the stream stays sound.
func TestMalformedPublishHeaders(t *testing.T) {
	s := harness.Server(t, &server.Options{JetStream: true, JetStreamBackend: "file"})
	nc := connect(t, s.ClientURL())
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "H", Subjects: []string{"h.>"}, AllowMsgTTL: true, AllowRollup: true, AllowAtomicPublish: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", strings.TrimPrefix(s.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	go io.Copy(io.Discard, raw)
	fmt.Fprintf(raw, "CONNECT {\"headers\":true}\r\n")
	hdrs := []string{
		"NATS/1.0\r\nNats-TTL: -99999999999999999999\r\n\r\n",
		"NATS/1.0\r\nNats-Expected-Last-Sequence: banana\r\n\r\n",
		"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 18446744073709551616\r\n\r\n",
		"NATS/1.0\r\nNats-Rollup: all\r\nNats-Rollup: sub\r\n\r\n",
		"NATS/1.0\r\nNats-Batch-Id: x\r\nNats-Batch-Sequence: 0\r\n\r\n",
		"NATS/1.0\r\nNats-Batch-Id: \r\nNats-Batch-Commit: 1\r\n\r\n",
		"NATS/1.0\r\nNats-Msg-Id:\r\n\r\n",
		"NATS/1.0\r\n:\r\n::\r\nNats-TTL\r\n\r\n",
		"garbage without a status line\r\n\r\n",
		"\r\n\r\n",
	}
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 200; i++ {
		var h []byte
		if i%2 == 0 {
			h = []byte(hdrs[r.Intn(len(hdrs))])
		} else {
			h = make([]byte, 4+r.Intn(100))
			r.Read(h)
		}
		fmt.Fprintf(raw, "HPUB h.x reply.%d %d %d\r\n%s%s\r\n", i, len(h), len(h)+2, h, "ok")
	}
	fmt.Fprintf(raw, "PING\r\n")
	time.Sleep(500 * time.Millisecond)
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream after garbage headers: %v", err)
	}
	ack, err := js.Publish(ctx, "h.y", []byte("after"))
	if err != nil || ack.Sequence != info.State.LastSeq+1 {
		t.Fatalf("publish after garbage: %+v %v (state %+v)", ack, err, info.State)
	}
}
