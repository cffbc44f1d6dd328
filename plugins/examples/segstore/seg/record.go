package seg

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hangar-mq/hangar/core/store"
)

// Record types. Each record is [u32 body length][u32 CRC-32C of body][body],
// body = [u8 type][payload], integers little endian.
const (
	recMsg        byte = 1 // seq, time, ttl, subject, header, data
	recSkip       byte = 2 // seq, n, time
	recRemove     byte = 3 // seq
	recPurge      byte = 4 // subject, seq, keep
	recCompact    byte = 5 // seq
	recTruncate   byte = 6 // seq
	recConfig     byte = 7 // JSON store.StreamConfig
	recExpire     byte = 8 // now
	recConsumer   byte = 9 // name, meta, JSON store.ConsumerState
	recDelCons    byte = 10
	recCheckpoint byte = 11 // JSON checkpoint; first record of a rewritten segment
)

const (
	recHeader  = 8
	maxRecord  = 256 << 20
	segMaxSize = 16 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// enc builds a record body.
type enc struct{ b []byte }

func newRec(typ byte) *enc       { return &enc{b: append(make([]byte, recHeader, 64), typ)} }
func (e *enc) u64(v uint64) *enc { e.b = binary.LittleEndian.AppendUint64(e.b, v); return e }
func (e *enc) i64(v int64) *enc  { return e.u64(uint64(v)) }
func (e *enc) bytes(v []byte) *enc {
	e.b = binary.LittleEndian.AppendUint32(e.b, uint32(len(v)))
	e.b = append(e.b, v...)
	return e
}
func (e *enc) str(v string) *enc { return e.bytes([]byte(v)) }
func (e *enc) json(v any) *enc   { b, _ := json.Marshal(v); return e.bytes(b) }
func (e *enc) bool(v bool) *enc {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	return e
}

// done fills in the length and checksum and returns the whole record.
func (e *enc) done() []byte {
	body := e.b[recHeader:]
	binary.LittleEndian.PutUint32(e.b[0:], uint32(len(body)))
	binary.LittleEndian.PutUint32(e.b[4:], crc32.Checksum(body, crcTable))
	return e.b
}

func msgRecord(m *store.Msg) []byte {
	return newRec(recMsg).u64(m.Seq).i64(m.Time).i64(m.TTL).str(m.Subject).bytes(m.Header).bytes(m.Data).done()
}

// dec reads a record body; the first failure sticks.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("short record")

func (d *dec) u64() uint64 {
	if len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
func (d *dec) i64() int64 { return int64(d.u64()) }
func (d *dec) bytes() []byte {
	if len(d.b) < 4 {
		d.err = errShort
		return nil
	}
	n := int(binary.LittleEndian.Uint32(d.b))
	if len(d.b) < 4+n {
		d.err = errShort
		return nil
	}
	v := d.b[4 : 4+n : 4+n]
	d.b = d.b[4+n:]
	return v
}
func (d *dec) str() string { return string(d.bytes()) }
func (d *dec) bool() bool {
	if len(d.b) < 1 {
		d.err = errShort
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}
func (d *dec) json(v any) {
	b := d.bytes()
	if d.err == nil {
		d.err = json.Unmarshal(b, v)
	}
}

// segFile is one segment of a stream's log.
type segFile struct {
	n    uint32
	f    *os.File
	size int64
}

func segName(n uint32) string { return fmt.Sprintf("%08d.seg", n) }

// listSegments returns the segment numbers in dir, ascending.
func listSegments(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			// A rewrite that did not finish: the old segments are whole.
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 32)
		if err != nil {
			continue
		}
		out = append(out, uint32(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// readRecord reads the record at off in f: its type and body.
func readRecord(f io.ReaderAt, off int64) (byte, []byte, error) {
	var h [recHeader]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(h[0:])
	if n == 0 || n > maxRecord {
		return 0, nil, fmt.Errorf("%w: record length %d at %d", store.ErrCorrupt, n, off)
	}
	body := make([]byte, n)
	if _, err := f.ReadAt(body, off+recHeader); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(h[4:]) {
		return 0, nil, fmt.Errorf("%w: record checksum at %d", store.ErrCorrupt, off)
	}
	return body[0], body[1:], nil
}

// scan calls fn for every whole record of f from the start, and returns
// the offset just after the last one: what follows is a torn tail.
func scan(f *os.File, fn func(typ byte, body []byte, off int64) error) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var off int64
	for off < st.Size() {
		typ, body, err := readRecord(f, off)
		if err != nil {
			// A bad or short record ends what was acknowledged.
			return off, nil
		}
		if err := fn(typ, body, off); err != nil {
			return off, err
		}
		off += recHeader + 1 + int64(len(body))
	}
	return off, nil
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
