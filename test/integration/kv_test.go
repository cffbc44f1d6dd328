package integration

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The KV and Object Store features are the clients' own, built on streams
// and consumers; these tests run them unchanged against Hangar.

func TestKeyValue(t *testing.T) {
	e := newConsEnv(t)
	kv, err := e.js.CreateKeyValue(e.ctx, jetstream.KeyValueConfig{Bucket: "cfg", History: 5, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := kv.Put(e.ctx, "a", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	ent, err := kv.Get(e.ctx, "a")
	if err != nil || string(ent.Value()) != "1" || ent.Revision() != r1 || ent.Operation() != jetstream.KeyValuePut {
		t.Fatalf("get %v %v", ent, err)
	}
	// Create fails on an existing key; Update needs the right revision.
	if _, err := kv.Create(e.ctx, "a", []byte("x")); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("create existing: %v", err)
	}
	r2, err := kv.Update(e.ctx, "a", []byte("2"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(e.ctx, "a", []byte("3"), r1); err == nil {
		t.Fatal("update with a stale revision succeeded")
	}
	if _, err := kv.Create(e.ctx, "b", []byte("b1")); err != nil {
		t.Fatal(err)
	}
	kv.Put(e.ctx, "c.d", []byte("cd"))
	keys, err := kv.Keys(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[a b c.d]" {
		t.Fatalf("keys %v", keys)
	}
	hist, err := kv.History(e.ctx, "a")
	if err != nil || len(hist) != 2 || string(hist[1].Value()) != "2" || hist[1].Revision() != r2 {
		t.Fatalf("history %v %v", hist, err)
	}
	old, err := kv.GetRevision(e.ctx, "a", r1)
	if err != nil || string(old.Value()) != "1" {
		t.Fatalf("get revision %v %v", old, err)
	}

	// A watcher sees the current values, the end-of-initial marker, then
	// live changes including deletes.
	w, err := kv.WatchAll(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var initial []string
	for ent := range w.Updates() {
		if ent == nil {
			break
		}
		initial = append(initial, ent.Key()+"="+string(ent.Value()))
	}
	sort.Strings(initial)
	if fmt.Sprint(initial) != "[a=2 b=b1 c.d=cd]" {
		t.Fatalf("initial %v", initial)
	}
	if err := kv.Delete(e.ctx, "b"); err != nil {
		t.Fatal(err)
	}
	kv.Put(e.ctx, "a", []byte("3"))
	next := func() jetstream.KeyValueEntry {
		select {
		case ent := <-w.Updates():
			return ent
		case <-time.After(5 * time.Second):
			t.Fatal("watch: no update")
		}
		return nil
	}
	if ent := next(); ent.Key() != "b" || ent.Operation() != jetstream.KeyValueDelete {
		t.Fatalf("watch delete %v %v", ent.Key(), ent.Operation())
	}
	if ent := next(); ent.Key() != "a" || string(ent.Value()) != "3" {
		t.Fatalf("watch put %v", ent.Key())
	}
	if _, err := kv.Get(e.ctx, "b"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// Purge leaves one marker and drops the history.
	if err := kv.Purge(e.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ent := next(); ent.Key() != "a" || ent.Operation() != jetstream.KeyValuePurge {
		t.Fatalf("watch purge %v", ent.Operation())
	}
	hist, err = kv.History(e.ctx, "a")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history after purge %v %v", hist, err)
	}
	// A filtered watcher only sees its keys.
	wf, err := kv.Watch(e.ctx, "c.*", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Stop()
	kv.Put(e.ctx, "z", []byte("no"))
	kv.Put(e.ctx, "c.e", []byte("ce"))
	select {
	case ent := <-wf.Updates():
		if ent.Key() != "c.e" {
			t.Fatalf("filtered watch got %s", ent.Key())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("filtered watch: no update")
	}
	st, err := kv.Status(e.ctx)
	if err != nil || st.Bucket() != "cfg" || st.History() != 5 {
		t.Fatalf("status %v %v", st, err)
	}
	if err := kv.PurgeDeletes(e.ctx, jetstream.DeleteMarkersOlderThan(-1)); err != nil {
		t.Fatal(err)
	}
	names := e.js.KeyValueStoreNames(e.ctx)
	var got []string
	for n := range names.Name() {
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[cfg]" {
		t.Fatalf("bucket names %v", got)
	}
}

func TestKeyValueTTL(t *testing.T) {
	e := newConsEnv(t)
	kv, err := e.js.CreateKeyValue(e.ctx, jetstream.KeyValueConfig{Bucket: "ttl", TTL: 500 * time.Millisecond, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	kv.Put(e.ctx, "k", []byte("v"))
	if _, err := kv.Get(e.ctx, "k"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		_, err := kv.Get(e.ctx, "k")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	// Per-key TTL needs limit markers (allow_msg_ttl on the stream).
	kv2, err := e.js.CreateKeyValue(e.ctx, jetstream.KeyValueConfig{Bucket: "keyttl", LimitMarkerTTL: time.Second, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv2.Create(e.ctx, "k", []byte("v"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		_, err := kv2.Get(e.ctx, "k")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
}

func TestObjectStore(t *testing.T) {
	e := newConsEnv(t)
	obs, err := e.js.CreateObjectStore(e.ctx, jetstream.ObjectStoreConfig{Bucket: "files", Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 5<<20+123)
	rand.Read(big)
	info, err := obs.Put(e.ctx, jetstream.ObjectMeta{Name: "big.bin", Description: "random"}, bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != uint64(len(big)) || info.Chunks < 2 {
		t.Fatalf("put info %+v", info)
	}
	res, err := obs.Get(e.ctx, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res)
	res.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	if _, err := obs.PutString(e.ctx, "small.txt", "hello"); err != nil {
		t.Fatal(err)
	}
	gi, err := obs.GetInfo(e.ctx, "big.bin")
	if err != nil || gi.Description != "random" || gi.Digest == "" {
		t.Fatalf("info %+v %v", gi, err)
	}
	link, err := obs.AddLink(e.ctx, "alias", gi)
	if err != nil || link.Opts == nil || link.Opts.Link == nil {
		t.Fatalf("link %+v %v", link, err)
	}
	via, err := obs.GetBytes(e.ctx, "alias")
	if err != nil || !bytes.Equal(via, big) {
		t.Fatalf("get via link: %d bytes, %v", len(via), err)
	}
	list, err := obs.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[alias big.bin small.txt]" {
		t.Fatalf("list %v", names)
	}
	if err := obs.Delete(e.ctx, "small.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Get(e.ctx, "small.txt"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	w, err := obs.Watch(e.ctx, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	obs.PutString(e.ctx, "new.txt", "n")
	select {
	case oi := <-w.Updates():
		if oi == nil || oi.Name != "new.txt" {
			t.Fatalf("watch %+v", oi)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("object watch: no update")
	}
	st, err := obs.Status(e.ctx)
	if err != nil || st.Bucket() != "files" {
		t.Fatalf("status %v %v", st, err)
	}
}
