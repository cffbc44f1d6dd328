package integration

import (
	"context"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestJSSmoke(t *testing.T) {
	s := harness.Server(t, &server.Options{JetStream: true})
	nc := connect(t, s.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ai, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("account info: %+v", ai)
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		ack, err := js.Publish(ctx, "orders.new", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Sequence != uint64(i+1) || ack.Stream != "ORDERS" {
			t.Fatalf("ack %+v", ack)
		}
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 {
		t.Fatalf("state %+v", info.State)
	}
	m, err := st.GetMsg(ctx, 3)
	if err != nil || string(m.Data) != "hello" || m.Sequence != 3 {
		t.Fatalf("get %v %v", m, err)
	}
	_ = nats.ErrTimeout
}
