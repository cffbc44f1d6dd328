package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJSAccountLimits: JetStream per account from the config file —
// enabled only where configured, isolated between accounts, with the
// account's stream, consumer and storage limits enforced and reported.
func TestJSAccountLimits(t *testing.T) {
	dir := t.TempDir()
	s := harness.ServerFromConfig(t, `
jetstream { store_dir: "`+dir+`" }
accounts {
  A: { jetstream { max_streams: 2, max_consumers: 1, max_memory: 64KB, max_file: 1MB }, users: [{user: a, password: a}] }
  B: { jetstream: enabled, users: [{user: b, password: b}] }
  C: { users: [{user: c, password: c}] }
}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	jsFor := func(user string) (*nats.Conn, jetstream.JetStream) {
		nc := connect(t, s.ClientURL(), nats.UserInfo(user, user))
		js, _ := jetstream.New(nc)
		return nc, js
	}
	_, ja := jsFor("a")
	_, jb := jsFor("b")
	_, jc := jsFor("c")

	ai, err := ja.AccountInfo(ctx)
	if err != nil || ai.Limits.MaxStreams != 2 || ai.Limits.MaxConsumers != 1 || ai.Limits.MaxMemory != 64*1024 {
		t.Fatalf("account A info: %+v %v", ai, err)
	}
	if _, err := jc.AccountInfo(ctx); apiCode(err) != 10039 && err != jetstream.ErrJetStreamNotEnabledForAccount {
		t.Fatalf("account C must not have JetStream: %v", err)
	}
	if _, err := ja.CreateStream(ctx, jetstream.StreamConfig{Name: "S1", Subjects: []string{"s1"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := ja.CreateStream(ctx, jetstream.StreamConfig{Name: "S2", Subjects: []string{"s2"}, Storage: jetstream.MemoryStorage, MaxBytes: 1 << 20}); apiCode(err) != 10028 {
		t.Fatalf("max_bytes over the account memory: %v", err)
	}
	if _, err := ja.CreateStream(ctx, jetstream.StreamConfig{Name: "S2", Subjects: []string{"s2"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := ja.CreateStream(ctx, jetstream.StreamConfig{Name: "S3", Subjects: []string{"s3"}, Storage: jetstream.MemoryStorage}); apiCode(err) != 10027 {
		t.Fatalf("third stream over max_streams: %v", err)
	}
	// Same stream name and subjects in another account: full isolation.
	if _, err := jb.CreateStream(ctx, jetstream.StreamConfig{Name: "S1", Subjects: []string{"s1"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatalf("account B: %v", err)
	}
	if _, err := ja.CreateOrUpdateConsumer(ctx, "S1", jetstream.ConsumerConfig{Durable: "c1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ja.CreateOrUpdateConsumer(ctx, "S1", jetstream.ConsumerConfig{Durable: "c2"}); apiCode(err) != 10026 {
		t.Fatalf("second consumer over max_consumers: %v", err)
	}
	// Fill the account's 64 KB of memory: publishes then fail with 10028.
	big := []byte(strings.Repeat("x", 8*1024))
	var perr error
	for i := 0; i < 20 && perr == nil; i++ {
		_, perr = ja.Publish(ctx, "s1", big)
	}
	if apiCode(perr) != 10028 {
		t.Fatalf("publish past the account memory limit: %v", perr)
	}
	bi, _ := jb.Stream(ctx, "S1")
	info, _ := bi.Info(ctx)
	if info.State.Msgs != 0 {
		t.Fatalf("account B saw account A's messages: %+v", info.State)
	}
}
