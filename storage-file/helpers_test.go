package storagefile

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// long reports whether the long test loops run (HANGAR_LONG=1).
func long() bool { return os.Getenv("HANGAR_LONG") == "1" }

var bg = context.Background()

// openOn opens a provider on fs at /data.
func openOn(tb testing.TB, fs vfs.FS, params Params, sync store.SyncPolicy) *Provider {
	tb.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := New(store.ProviderConfig{Dir: "/data", Sync: sync, Params: raw}, WithFS(fs))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

func openStream(tb testing.TB, p *Provider, cfg store.StreamConfig) *fstream {
	tb.Helper()
	s, err := p.Open(bg, cfg)
	if err != nil {
		tb.Fatalf("Open(%s): %v", cfg.Name, err)
	}
	return s.(*fstream)
}

// payload is a self-checking message body: an id, filler, and a CRC of
// both, so that a reader can tell garbage from a message that was written.
func payload(id uint64, size int) []byte {
	size = max(size, 16)
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, id)
	for i := 8; i < size-4; i++ {
		b[i] = byte(id>>(i%8)) ^ byte(i)
	}
	binary.BigEndian.PutUint32(b[size-4:], crc32.ChecksumIEEE(b[:size-4]))
	return b
}

// checkPayload reports whether b is intact and returns its id.
func checkPayload(b []byte) (uint64, error) {
	if len(b) < 16 || binary.BigEndian.Uint32(b[len(b)-4:]) != crc32.ChecksumIEEE(b[:len(b)-4]) {
		return 0, fmt.Errorf("garbage payload of %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// allMsgs reads every message of s with LoadRange.
func allMsgs(tb testing.TB, s store.StreamStore) []store.Msg {
	tb.Helper()
	var out []store.Msg
	for next := uint64(0); ; {
		msgs, err := s.LoadRange(bg, store.RangeRequest{Start: next, MaxMsgs: 500})
		if errors.Is(err, store.ErrEOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("LoadRange(%d): %v", next, err)
		}
		for _, m := range msgs {
			m.Data = append([]byte(nil), m.Data...)
			m.Header = append([]byte(nil), m.Header...)
			out = append(out, m)
		}
		next = msgs[len(msgs)-1].Seq + 1
	}
}

// fileBytes reads a whole file of fs.
func fileBytes(tb testing.TB, fs vfs.FS, path string) []byte {
	tb.Helper()
	b, err := readAll(fs, path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return b
}

// putFile replaces a file of fs with data.
func putFile(tb testing.TB, fs vfs.FS, path string, data []byte) {
	tb.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// walkFiles lists every file under dir.
func walkFiles(fs vfs.FS, dir string) []string {
	var out []string
	names, _ := fs.List(dir)
	for _, n := range names {
		p := fs.PathJoin(dir, n)
		if fi, err := fs.Stat(p); err == nil && fi.IsDir() {
			out = append(out, walkFiles(fs, p)...)
		} else {
			out = append(out, p)
		}
	}
	return out
}
