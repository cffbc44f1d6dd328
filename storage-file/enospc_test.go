package storagefile

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// fullFS is a file system that, while full, writes only the first half of
// every write and then fails it with ENOSPC, as a disk that runs out of
// space mid-write does, and fails file creation and syncs too.
type fullFS struct {
	vfs.FS
	full atomic.Bool
}

func (fs *fullFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if fs.full.Load() {
		return nil, fmt.Errorf("create %s: %w", name, syscall.ENOSPC)
	}
	f, err := fs.FS.Create(name, c)
	return &fullFile{File: f, fs: fs}, err
}

func (fs *fullFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, o ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, o...)
	return &fullFile{File: f, fs: fs}, err
}

type fullFile struct {
	vfs.File
	fs *fullFS
}

func (f *fullFile) Write(p []byte) (int, error) {
	if f.fs.full.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.full.Load() {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

func (f *fullFile) Sync() error {
	if f.fs.full.Load() {
		return syscall.ENOSPC
	}
	return f.File.Sync()
}

// TestDiskFull fills the disk under a stream: every write fails with an
// error that says ENOSPC, nothing written before is harmed and reads go on;
// once space is back the stream writes again without a restart, and a
// restart finds every acknowledged message intact.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sync   store.SyncPolicy
		params Params
	}{
		{"always", store.SyncPolicy{Always: true}, Params{BlockSize: 2048}},
		{"interval", store.SyncPolicy{Interval: time.Hour}, Params{BlockSize: 2048}},
		{"encrypted", store.SyncPolicy{Always: true}, Params{BlockSize: 2048, Key: "k"}},
	} {
		t.Run(tc.name, func(t *testing.T) { testDiskFull(t, tc.sync, tc.params) })
	}
}

func testDiskFull(t *testing.T, sync store.SyncPolicy, params Params) {
	mem := vfs.NewCrashableMem()
	fs := &fullFS{FS: mem}
	p := openOn(t, fs, params, sync)
	cfg := store.StreamConfig{Account: "A", Name: "FULL", Compression: store.S2Compression}
	s := openStream(t, p, cfg)
	acked := map[uint64][]byte{}
	id := uint64(0)
	store1 := func() (uint64, error) {
		id++
		data := payload(id, 50+int(id%70))
		seq, _, err := s.Store(bg, fmt.Sprintf("f.%d", id%4), nil, data, 0)
		if err == nil {
			acked[seq] = data
		}
		return seq, err
	}
	for range 150 {
		if _, err := store1(); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.OpenConsumer(bg, "C", nil)
	if err != nil {
		t.Fatal(err)
	}
	fs.full.Store(true)
	for i := range 30 {
		if _, err := store1(); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Store %d on a full disk: %v", i, err)
		}
		res, err := s.StoreBatch(bg, []store.NewMsg{{Subject: "f.b", Data: payload(9999, 30)}})
		if !errors.Is(err, syscall.ENOSPC) || len(res) != 0 {
			t.Fatalf("StoreBatch on a full disk: %v, %d results", err, len(res))
		}
		if err := s.Remove(bg, uint64(1+i)); err == nil {
			t.Fatalf("Remove on a full disk succeeded")
		}
		if err := c.UpdateDelivered(bg, uint64(i+1), uint64(i+1), 1, 1); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("UpdateDelivered on a full disk: %v", err)
		}
	}
	for q, want := range acked {
		m, err := s.Load(bg, q)
		if err != nil || string(m.Data) != string(want) {
			t.Fatalf("Load(%d) on a full disk: %v", q, err)
		}
	}
	fs.full.Store(false)
	if err := c.UpdateDelivered(bg, 100, 100, 1, 1); err != nil {
		t.Fatalf("UpdateDelivered once space is back: %v", err)
	}
	last := uint64(0)
	for range 60 {
		seq, err := store1()
		if err != nil {
			t.Fatalf("Store once space is back: %v", err)
		}
		if seq <= last {
			t.Fatalf("seq %d after %d", seq, last)
		}
		last = seq
	}
	if err := p.Close(bg); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p = openOn(t, mem, params, sync)
	defer p.Close(bg)
	s = openStream(t, p, cfg)
	msgs := allMsgs(t, s)
	for _, m := range msgs {
		if _, err := checkPayload(m.Data); err != nil {
			t.Fatalf("seq %d: %v", m.Seq, err)
		}
	}
	for q, want := range acked {
		m, err := s.Load(bg, q)
		if err != nil || string(m.Data) != string(want) {
			t.Fatalf("acknowledged seq %d after restart: %v", q, err)
		}
	}
	cons, err := s.Consumers(bg)
	if err != nil || len(cons) != 1 || cons[0].State.Delivered.Stream != 100 {
		t.Fatalf("consumer after restart: %+v, %v", cons, err)
	}
}
