package integration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/test/harness"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsEnv is a JetStream client on a fresh server backed as bc says.
type jsEnv struct {
	t   *testing.T
	s   *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	ctx context.Context
	bc  backendCase
}

func newJSEnv(t *testing.T, bc backendCase) *jsEnv {
	t.Helper()
	s := harness.Server(t, &server.Options{JetStream: true, JetStreamBackend: bc.backend})
	nc := connect(t, s.ClientURL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &jsEnv{t: t, s: s, nc: nc, js: js, ctx: ctx, bc: bc}
}

func (e *jsEnv) storage() jetstream.StorageType {
	if e.bc.storage == "file" {
		return jetstream.FileStorage
	}
	return jetstream.MemoryStorage
}

func (e *jsEnv) create(cfg jetstream.StreamConfig) jetstream.Stream {
	e.t.Helper()
	cfg.Storage = e.storage()
	s, err := e.js.CreateStream(e.ctx, cfg)
	if err != nil {
		e.t.Fatalf("create %s: %v", cfg.Name, err)
	}
	return s
}

func (e *jsEnv) info(s jetstream.Stream) *jetstream.StreamInfo {
	e.t.Helper()
	info, err := s.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info
}

func apiCode(err error) jetstream.ErrorCode {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode
	}
	return 0
}

// streamScenarios is the stream integration suite; every backend runs it.
var streamScenarios = []struct {
	name string
	run  func(e *jsEnv)
}{
	{"Lifecycle", jsLifecycle},
	{"Preconditions", jsPreconditions},
	{"Dedupe", jsDedupe},
	{"DirectGet", jsDirectGet},
	{"PurgeVariants", jsPurgeVariants},
	{"DiscardNew", jsDiscardNew},
	{"TTLAndMarkers", jsTTL},
	{"MirrorAndSources", jsMirrorSources},
	{"SubjectTransformAndRepublish", jsTransformRepublish},
	{"SealedAndDeny", jsSealedDeny},
	{"FirstSeqAndRollup", jsFirstSeqRollup},
}

func TestJSStreams(t *testing.T) {
	for _, bc := range streamBackends() {
		t.Run(bc.name, func(t *testing.T) {
			for _, sc := range streamScenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(newJSEnv(t, bc)) })
			}
		})
	}
}

func jsLifecycle(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, Description: "orders", Metadata: map[string]string{"team": "a"}})
	for i := 1; i <= 5; i++ {
		ack, err := e.js.Publish(e.ctx, "orders."+strconv.Itoa(i%2), []byte(fmt.Sprint(i)))
		if err != nil || ack.Sequence != uint64(i) {
			t.Fatalf("publish %d: %+v %v", i, ack, err)
		}
	}
	info := e.info(s)
	if info.State.Msgs != 5 || info.State.NumSubjects != 2 || info.Config.Description != "orders" || info.Config.Metadata["team"] != "a" {
		t.Fatalf("info: %+v", info)
	}
	if _, err := e.js.UpdateStream(e.ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>", "more.>"}, MaxMsgs: 3, Storage: e.storage()}); err != nil {
		t.Fatal(err)
	}
	info = e.info(s)
	if info.State.Msgs != 3 || info.State.FirstSeq != 3 || len(info.Config.Subjects) != 2 {
		t.Fatalf("after update: %+v", info.State)
	}
	if _, err := e.js.Publish(e.ctx, "more.x", nil); err != nil {
		t.Fatal(err)
	}
	names := e.js.StreamNames(e.ctx)
	var got []string
	for n := range names.Name() {
		got = append(got, n)
	}
	if len(got) != 1 || got[0] != "ORDERS" {
		t.Fatalf("names: %v %v", got, names.Err())
	}
	if err := e.js.DeleteStream(e.ctx, "ORDERS"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Stream(e.ctx, "ORDERS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := e.js.Publish(e.ctx, "orders.1", nil); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publish without stream: %v", err)
	}
}

func jsPreconditions(e *jsEnv) {
	t := e.t
	e.create(jetstream.StreamConfig{Name: "P", Subjects: []string{"p.>"}})
	if _, err := e.js.Publish(e.ctx, "p.a", nil, jetstream.WithExpectStream("Q")); apiCode(err) != 10060 {
		t.Fatalf("expect stream: %v", err)
	}
	if _, err := e.js.Publish(e.ctx, "p.a", nil, jetstream.WithExpectLastSequence(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "p.a", nil, jetstream.WithExpectLastSequence(5)); apiCode(err) != 10071 {
		t.Fatalf("expect last seq: %v", err)
	}
	if _, err := e.js.Publish(e.ctx, "p.b", nil, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "p.b", nil, jetstream.WithExpectLastSequencePerSubject(1)); apiCode(err) != 10071 {
		t.Fatalf("expect last subject seq: %v", err)
	}
	if _, err := e.js.Publish(e.ctx, "p.b", nil, jetstream.WithExpectLastSequencePerSubject(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "p.c", nil, jetstream.WithMsgID("id1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "p.c", nil, jetstream.WithExpectLastMsgID("nope")); apiCode(err) != 10070 {
		t.Fatalf("expect last msg id: %v", err)
	}
	if _, err := e.js.Publish(e.ctx, "p.c", nil, jetstream.WithExpectLastMsgID("id1")); err != nil {
		t.Fatal(err)
	}
}

func jsDedupe(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "D", Subjects: []string{"d"}, Duplicates: 500 * time.Millisecond})
	a1, err := e.js.Publish(e.ctx, "d", []byte("x"), jetstream.WithMsgID("m"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := e.js.Publish(e.ctx, "d", []byte("x"), jetstream.WithMsgID("m"))
	if err != nil || !a2.Duplicate || a2.Sequence != a1.Sequence {
		t.Fatalf("duplicate: %+v %v", a2, err)
	}
	// Async publishes with repeated ids in one burst dedupe too.
	for i := 0; i < 20; i++ {
		e.js.PublishAsync("d", []byte("y"), jetstream.WithMsgID(fmt.Sprintf("b%d", i%5)))
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(5 * time.Second):
		t.Fatal("async publishes not acked")
	}
	if n := e.info(s).State.Msgs; n != 6 {
		t.Fatalf("msgs after burst: %d, want 6", n)
	}
	time.Sleep(700 * time.Millisecond)
	a3, err := e.js.Publish(e.ctx, "d", []byte("x"), jetstream.WithMsgID("m"))
	if err != nil || a3.Duplicate {
		t.Fatalf("after window: %+v %v", a3, err)
	}
}

func jsDirectGet(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "G", Subjects: []string{"g.>"}, AllowDirect: true})
	for i := 1; i <= 3; i++ {
		msg := nats.NewMsg("g." + strconv.Itoa(i%2))
		msg.Data = []byte(strconv.Itoa(i))
		msg.Header.Set("X-N", strconv.Itoa(i))
		if _, err := e.js.PublishMsg(e.ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.GetLastMsgForSubject(e.ctx, "g.1")
	if err != nil || string(m.Data) != "3" || m.Sequence != 3 || m.Header.Get("X-N") != "3" {
		t.Fatalf("last for subject: %+v %v", m, err)
	}
	m, err = s.GetMsg(e.ctx, 2)
	if err != nil || string(m.Data) != "2" || m.Subject != "g.0" {
		t.Fatalf("get 2: %+v %v", m, err)
	}
	if _, err := s.GetMsg(e.ctx, 99); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("missing: %v", err)
	}
	m, err = s.GetMsg(e.ctx, 1, jetstream.WithGetMsgSubject("g.1"))
	if err != nil || m.Sequence != 1 {
		t.Fatalf("next by subject: %+v %v", m, err)
	}
	// Raw DIRECT.GET with multi_last.
	resp, err := e.nc.Request("$JS.API.DIRECT.GET.G", []byte(`{"multi_last":["g.>"]}`), 2*time.Second)
	if err != nil || resp.Header.Get("Nats-Stream") != "G" {
		t.Fatalf("multi last: %v %+v", err, resp)
	}
}

func jsPurgeVariants(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "PU", Subjects: []string{"pu.>"}})
	for i := 0; i < 10; i++ {
		e.js.Publish(e.ctx, "pu."+strconv.Itoa(i%2), nil)
	}
	if err := s.Purge(e.ctx, jetstream.WithPurgeSubject("pu.0"), jetstream.WithPurgeKeep(2)); err != nil {
		t.Fatal(err)
	}
	if n := e.info(s).State.Msgs; n != 7 {
		t.Fatalf("after keep: %d", n)
	}
	if err := s.Purge(e.ctx, jetstream.WithPurgeSequence(6)); err != nil {
		t.Fatal(err)
	}
	info := e.info(s)
	if info.State.FirstSeq != 6 || info.State.Msgs != 5 {
		t.Fatalf("after seq purge: %+v", info.State)
	}
	if err := s.Purge(e.ctx); err != nil {
		t.Fatal(err)
	}
	info = e.info(s)
	if info.State.Msgs != 0 || info.State.FirstSeq != 11 || info.State.LastSeq != 10 {
		t.Fatalf("after purge: %+v", info.State)
	}
	if err := s.DeleteMsg(e.ctx, 3); err == nil {
		t.Fatal("delete of purged message should fail")
	}
}

func jsDiscardNew(e *jsEnv) {
	t := e.t
	e.create(jetstream.StreamConfig{Name: "DN", Subjects: []string{"dn.>"}, MaxMsgs: 2, Discard: jetstream.DiscardNew})
	e.js.Publish(e.ctx, "dn.a", nil)
	e.js.Publish(e.ctx, "dn.a", nil)
	if _, err := e.js.Publish(e.ctx, "dn.a", nil); err == nil {
		t.Fatal("third publish should be refused")
	}
	e.create(jetstream.StreamConfig{Name: "MS", Subjects: []string{"ms.>"}, MaxMsgSize: 8})
	if _, err := e.js.Publish(e.ctx, "ms.a", []byte("0123456789")); apiCode(err) != 10054 {
		t.Fatalf("max msg size: %v", err)
	}
}

func jsTTL(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, AllowMsgTTL: true, MaxAge: 2 * time.Second, SubjectDeleteMarkerTTL: time.Second})
	if _, err := e.js.Publish(e.ctx, "t.short", nil, jetstream.WithMsgTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "t.never", nil, jetstream.WithMsgTTL(-1)); err != nil {
		t.Fatal(err)
	}
	e.js.Publish(e.ctx, "t.aged", nil)
	waitFor(t, 5*time.Second, func() bool {
		_, err := s.GetLastMsgForSubject(e.ctx, "t.short")
		return errors.Is(err, jetstream.ErrMsgNotFound)
	})
	// max age removes t.aged and leaves a delete marker in its place.
	waitFor(t, 6*time.Second, func() bool {
		m, err := s.GetLastMsgForSubject(e.ctx, "t.aged")
		return err == nil && m.Header.Get("Nats-Marker-Reason") == "MaxAge"
	})
	if _, err := s.GetLastMsgForSubject(e.ctx, "t.never"); err != nil {
		t.Fatalf("never-expiring message gone: %v", err)
	}
	e.create(jetstream.StreamConfig{Name: "NT", Subjects: []string{"nt"}})
	if _, err := e.js.Publish(e.ctx, "nt", nil, jetstream.WithMsgTTL(time.Second)); apiCode(err) != 10166 {
		t.Fatalf("ttl on stream without allow_msg_ttl: %v", err)
	}
}

func jsMirrorSources(e *jsEnv) {
	t := e.t
	origin := e.create(jetstream.StreamConfig{Name: "ORIG", Subjects: []string{"o.>"}})
	for i := 1; i <= 5; i++ {
		e.js.Publish(e.ctx, "o."+strconv.Itoa(i%2), []byte(strconv.Itoa(i)))
	}
	mirror := e.create(jetstream.StreamConfig{Name: "MIR", Mirror: &jetstream.StreamSource{Name: "ORIG"}})
	src := e.create(jetstream.StreamConfig{Name: "SRC", Sources: []*jetstream.StreamSource{{Name: "ORIG", FilterSubject: "o.1",
		SubjectTransforms: nil}}})
	xf := e.create(jetstream.StreamConfig{Name: "XF", Sources: []*jetstream.StreamSource{{Name: "ORIG",
		SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "o.*", Destination: "copy.$1"}}}}})
	waitFor(t, 5*time.Second, func() bool { return e.info(mirror).State.Msgs == 5 })
	waitFor(t, 5*time.Second, func() bool { return e.info(src).State.Msgs == 3 })
	waitFor(t, 5*time.Second, func() bool { return e.info(xf).State.Msgs == 5 })
	// Following: new origin messages arrive.
	e.js.Publish(e.ctx, "o.1", []byte("6"))
	waitFor(t, 5*time.Second, func() bool {
		return e.info(mirror).State.LastSeq == 6 && e.info(src).State.Msgs == 4 && e.info(xf).State.Msgs == 6
	})
	m, err := mirror.GetMsg(e.ctx, 6)
	if err != nil || string(m.Data) != "6" {
		t.Fatalf("mirror keeps sequences: %+v %v", m, err)
	}
	last, err := xf.GetLastMsgForSubject(e.ctx, "copy.1")
	if err != nil || string(last.Data) != "6" || last.Header.Get("Nats-Stream-Source") == "" {
		t.Fatalf("transformed source: %+v %v", last, err)
	}
	mi := e.info(mirror)
	if mi.Mirror == nil || mi.Mirror.Name != "ORIG" || mi.Mirror.Lag != 0 {
		t.Fatalf("mirror info: %+v", mi.Mirror)
	}
	if _, err := e.js.Publish(e.ctx, "o.x", nil); err != nil {
		t.Fatal(err)
	}
	_ = origin
}

func jsTransformRepublish(e *jsEnv) {
	t := e.t
	sub, err := e.nc.SubscribeSync("repub.>")
	if err != nil {
		t.Fatal(err)
	}
	s := e.create(jetstream.StreamConfig{Name: "TR", Subjects: []string{"in.>"},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: "in.*", Destination: "stored.$1"},
		RePublish:        &jetstream.RePublish{Source: "stored.>", Destination: "repub.>"}})
	if _, err := e.js.Publish(e.ctx, "in.a", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(e.ctx, "stored.a")
	if err != nil || string(m.Data) != "payload" {
		t.Fatalf("transformed subject: %+v %v", m, err)
	}
	rm, err := sub.NextMsg(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Subject != "repub.a" || rm.Header.Get("Nats-Stream") != "TR" || rm.Header.Get("Nats-Sequence") != "1" || string(rm.Data) != "payload" {
		t.Fatalf("republished: %s %v %q", rm.Subject, rm.Header, rm.Data)
	}
}

func jsSealedDeny(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "SD", Subjects: []string{"sd"}, DenyDelete: true, DenyPurge: true})
	e.js.Publish(e.ctx, "sd", nil)
	if err := s.DeleteMsg(e.ctx, 1); err == nil {
		t.Fatal("deny_delete ignored")
	}
	if err := s.Purge(e.ctx); err == nil {
		t.Fatal("deny_purge ignored")
	}
	cfg := e.info(s).Config
	cfg.Sealed = true
	if _, err := e.js.UpdateStream(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, "sd", nil); apiCode(err) != 10109 {
		t.Fatalf("publish to sealed: %v", err)
	}
	cfg.Sealed = false
	if _, err := e.js.UpdateStream(e.ctx, cfg); err == nil {
		t.Fatal("unsealing must fail")
	}
}

func jsFirstSeqRollup(e *jsEnv) {
	t := e.t
	s := e.create(jetstream.StreamConfig{Name: "FR", Subjects: []string{"fr.>"}, FirstSeq: 100, AllowRollup: true})
	for i := 0; i < 3; i++ {
		e.js.Publish(e.ctx, "fr.a", nil)
	}
	e.js.Publish(e.ctx, "fr.b", nil)
	msg := nats.NewMsg("fr.a")
	msg.Header.Set("Nats-Rollup", "sub")
	ack, err := e.js.PublishMsg(e.ctx, msg)
	if err != nil || ack.Sequence != 104 {
		t.Fatalf("rollup publish: %+v %v", ack, err)
	}
	info := e.info(s)
	if info.State.Msgs != 2 || info.State.LastSeq != 104 {
		t.Fatalf("after rollup sub: %+v", info.State)
	}
	msg = nats.NewMsg("fr.c")
	msg.Header.Set("Nats-Rollup", "all")
	if _, err := e.js.PublishMsg(e.ctx, msg); err != nil {
		t.Fatal(err)
	}
	if n := e.info(s).State.Msgs; n != 1 {
		t.Fatalf("after rollup all: %d", n)
	}
}
