package integration

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJSAtomicBatch publishes atomic batches by their headers: staged
// messages get empty replies, the commit a PubAck with batch and count; a
// gap abandons the batch and nothing of it is stored.
func TestJSAtomicBatch(t *testing.T) {
	e := newJSEnv(t, backendCase{storage: "memory"})
	s := e.create(jetstream.StreamConfig{Name: "AB", Subjects: []string{"ab.>"}, AllowAtomicPublish: true})
	pub := func(seq int, commit string, id string) *nats.Msg {
		m := nats.NewMsg("ab." + strconv.Itoa(seq))
		m.Data = []byte("v" + strconv.Itoa(seq))
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(seq))
		if commit != "" {
			m.Header.Set("Nats-Batch-Commit", commit)
		}
		r, err := e.nc.RequestMsg(m, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := 1; i <= 4; i++ {
		if r := pub(i, "", "b1"); len(r.Data) != 0 {
			t.Fatalf("staged message %d got %q", i, r.Data)
		}
		if n := e.info(s).State.Msgs; n != 0 {
			t.Fatalf("staged messages visible before commit: %d", n)
		}
	}
	var ack jetstream.PubAck
	var raw struct {
		Batch string `json:"batch"`
		Count int    `json:"count"`
	}
	r := pub(5, "1", "b1")
	json.Unmarshal(r.Data, &ack)
	json.Unmarshal(r.Data, &raw)
	if ack.Sequence != 5 || raw.Batch != "b1" || raw.Count != 5 || e.info(s).State.Msgs != 5 {
		t.Fatalf("commit: %s", r.Data)
	}
	pub(1, "", "b2")
	if r := pub(3, "", "b2"); !strings.Contains(string(r.Data), "10176") {
		t.Fatalf("gap must abandon the batch: %s", r.Data)
	}
	if r := pub(2, "1", "b2"); !strings.Contains(string(r.Data), "error") {
		t.Fatalf("commit of an abandoned batch: %s", r.Data)
	}
	if n := e.info(s).State.Msgs; n != 5 {
		t.Fatalf("abandoned batch stored messages: %d", n)
	}
	e.create(jetstream.StreamConfig{Name: "NA", Subjects: []string{"na"}})
	m := nats.NewMsg("na")
	m.Header.Set("Nats-Batch-Id", "x")
	m.Header.Set("Nats-Batch-Sequence", "1")
	if r, _ := e.nc.RequestMsg(m, 2*time.Second); r == nil || !strings.Contains(string(r.Data), "10174") {
		t.Fatalf("batch on a stream without allow_atomic: %v", r)
	}
}

// TestJSAdvisoriesNoAckDomain covers advisories, no_ack streams, a
// JetStream domain, headers-only republish, the header size limit, the
// required API level and ACCOUNT.PURGE from the system account.
func TestJSAdvisoriesNoAckDomain(t *testing.T) {
	s := harness.ServerFromConfig(t, `
jetstream { store_dir: "`+t.TempDir()+`", domain: hub }
accounts {
  A: { jetstream: enabled, users: [{user: a, password: a}] }
  SYS: { users: [{user: admin, password: admin}] }
}
system_account: SYS
`)
	nc := connect(t, s.ClientURL(), nats.UserInfo("a", "a"))
	adv, _ := nc.SubscribeSync("$JS.EVENT.ADVISORY.>")
	nc.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.NewWithDomain(nc, "hub")
	ai, err := js.AccountInfo(ctx)
	if err != nil || ai.Domain != "hub" {
		t.Fatalf("account info through the domain prefix: %+v %v", ai, err)
	}
	repub, _ := nc.SubscribeSync("copy.>")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "N", Subjects: []string{"n.>"}, Storage: jetstream.MemoryStorage,
		RePublish: &jetstream.RePublish{Source: ">", Destination: "copy.>", HeadersOnly: true}}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "n.x", []byte("hello"))
	if err != nil || ack.Domain != "hub" {
		t.Fatalf("PubAck domain: %+v %v", ack, err)
	}
	rm, err := repub.NextMsg(2 * time.Second)
	if err != nil || len(rm.Data) != 0 || rm.Header.Get("Nats-Msg-Size") != "5" {
		t.Fatalf("headers-only republish: %v %+v", err, rm)
	}
	big := nats.NewMsg("n.big")
	big.Header.Set("X", strings.Repeat("h", 70*1024))
	if _, err := js.PublishMsg(ctx, big); apiCode(err) != 10097 {
		t.Fatalf("header over 64 KiB: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q"}, Storage: jetstream.MemoryStorage, NoAck: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("q", []byte("x"), 300*time.Millisecond); err == nil {
		t.Fatal("a no_ack stream must not answer publishes")
	}
	lvl := nats.NewMsg("$JS.hub.API.STREAM.INFO.N")
	lvl.Header.Set("Nats-Required-Api-Level", "99")
	if r, err := nc.RequestMsg(lvl, 2*time.Second); err != nil || !strings.Contains(string(r.Data), "10185") {
		t.Fatalf("required api level: %v %v", r, err)
	}
	if err := js.DeleteStream(ctx, "Q"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		m, err := adv.NextMsg(500 * time.Millisecond)
		if err != nil {
			break
		}
		var ev struct {
			Type string `json:"type"`
		}
		json.Unmarshal(m.Data, &ev)
		seen[ev.Type] = true
	}
	for _, want := range []string{"io.nats.jetstream.advisory.v1.stream_action", "io.nats.jetstream.advisory.v1.api_audit"} {
		if !seen[want] {
			t.Fatalf("advisory %s not seen; got %v", want, seen)
		}
	}
	// The system account purges account A's JetStream assets.
	sys := connect(t, s.ClientURL(), nats.UserInfo("admin", "admin"))
	r, err := sys.Request("$JS.API.ACCOUNT.PURGE.A", nil, 2*time.Second)
	if err != nil || !strings.Contains(string(r.Data), `"initiated":true`) {
		t.Fatalf("account purge: %v %v", r, err)
	}
	if ai, _ := js.AccountInfo(ctx); ai.Streams != 0 {
		t.Fatalf("streams left after account purge: %d", ai.Streams)
	}
	_ = server.Options{}
}
