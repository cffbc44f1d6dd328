package snapfmt

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sort"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/klauspost/compress/s2"
)

// Magic opens every snapshot.
const Magic = "HNGRSNAP"

// Version is the format version this package writes and reads.
const Version = 1

// Frame types.
const (
	frameHeader   byte = 1
	frameMsgs     byte = 2
	frameDeleted  byte = 3
	frameConsumer byte = 4
	frameEnd      byte = 5
)

const (
	flagS2       = 1
	frameHeadLen = 14
	// maxFrame bounds a frame so a damaged length cannot make the reader
	// allocate without limit; one message of the largest JetStream payload
	// fits with room to spare.
	maxFrame = 256 << 20
	// DefaultChunkSize is the target raw size of a message frame.
	DefaultChunkSize = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: snapshot: %s", store.ErrCorrupt, fmt.Sprintf(format, args...))
}

// frameWriter writes frames and keeps the whole-snapshot digest.
type frameWriter struct {
	w   *bufio.Writer
	sum hash.Hash
	buf []byte
}

func newFrameWriter(w io.Writer) (*frameWriter, error) {
	fw := &frameWriter{w: bufio.NewWriterSize(w, 256<<10), sum: sha256.New()}
	if _, err := fw.w.WriteString(Magic); err != nil {
		return nil, err
	}
	return fw, fw.w.WriteByte(Version)
}

func (fw *frameWriter) frame(typ byte, raw []byte) error {
	if len(raw) > maxFrame {
		return fmt.Errorf("%w: snapshot frame of %d bytes", store.ErrInvalid, len(raw))
	}
	fw.sum.Write([]byte{typ})
	fw.sum.Write(raw)
	body, flags := raw, byte(0)
	if len(raw) > 64 {
		fw.buf = s2.Encode(fw.buf[:cap(fw.buf)], raw)
		if len(fw.buf) < len(raw) {
			body, flags = fw.buf, flagS2
		}
	}
	var head [frameHeadLen]byte
	head[0], head[1] = typ, flags
	binary.LittleEndian.PutUint32(head[2:], uint32(len(raw)))
	binary.LittleEndian.PutUint32(head[6:], uint32(len(body)))
	binary.LittleEndian.PutUint32(head[10:], crc32.Checksum(raw, castagnoli))
	if _, err := fw.w.Write(head[:]); err != nil {
		return err
	}
	_, err := fw.w.Write(body)
	return err
}

// frameReader reads and checks frames.
type frameReader struct {
	r    *bufio.Reader
	sum  hash.Hash
	body []byte
	raw  []byte
	n    int
}

func newFrameReader(r io.Reader) (*frameReader, error) {
	fr := &frameReader{r: bufio.NewReaderSize(r, 256<<10), sum: sha256.New()}
	var head [len(Magic) + 1]byte
	if _, err := io.ReadFull(fr.r, head[:]); err != nil {
		return nil, corrupt("reading magic: %v", err)
	}
	if string(head[:len(Magic)]) != Magic {
		return nil, corrupt("bad magic %q", head[:len(Magic)])
	}
	if head[len(Magic)] != Version {
		return nil, fmt.Errorf("%w: snapshot format version %d, want %d", store.ErrUnsupported, head[len(Magic)], Version)
	}
	return fr, nil
}

// next returns the next frame's type and raw payload, valid until the
// following call. The end frame is not added to the digest.
func (fr *frameReader) next() (byte, []byte, error) {
	var head [frameHeadLen]byte
	if _, err := io.ReadFull(fr.r, head[:]); err != nil {
		return 0, nil, corrupt("frame %d: truncated head: %v", fr.n, err)
	}
	typ, flags := head[0], head[1]
	rawLen := binary.LittleEndian.Uint32(head[2:])
	bodyLen := binary.LittleEndian.Uint32(head[6:])
	crc := binary.LittleEndian.Uint32(head[10:])
	if rawLen > maxFrame || bodyLen > maxFrame || flags&^flagS2 != 0 || typ < frameHeader || typ > frameEnd {
		return 0, nil, corrupt("frame %d: bad head", fr.n)
	}
	if cap(fr.body) < int(bodyLen) {
		fr.body = make([]byte, bodyLen)
	}
	fr.body = fr.body[:bodyLen]
	if _, err := io.ReadFull(fr.r, fr.body); err != nil {
		return 0, nil, corrupt("frame %d: truncated body: %v", fr.n, err)
	}
	raw := fr.body
	if flags&flagS2 != 0 {
		if n, err := s2.DecodedLen(fr.body); err != nil || n != int(rawLen) {
			return 0, nil, corrupt("frame %d: bad compressed length", fr.n)
		}
		if cap(fr.raw) < int(rawLen) {
			fr.raw = make([]byte, rawLen)
		}
		var err error
		if raw, err = s2.Decode(fr.raw[:rawLen], fr.body); err != nil {
			return 0, nil, corrupt("frame %d: %v", fr.n, err)
		}
	}
	if len(raw) != int(rawLen) || crc32.Checksum(raw, castagnoli) != crc {
		return 0, nil, corrupt("frame %d: checksum mismatch", fr.n)
	}
	fr.n++
	if typ != frameEnd {
		fr.sum.Write([]byte{typ})
		fr.sum.Write(raw)
	}
	return typ, raw, nil
}

// dec decodes the binary payloads; the first error sticks.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("short payload")

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next length-prefixed field, aliasing the payload.
func (d *dec) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendMsg(b []byte, m *store.Msg) []byte {
	b = binary.AppendUvarint(b, m.Seq)
	b = binary.AppendVarint(b, m.Time)
	b = binary.AppendVarint(b, m.TTL)
	b = binary.AppendUvarint(b, uint64(len(m.Subject)))
	b = append(b, m.Subject...)
	b = appendBytes(b, m.Header)
	return appendBytes(b, m.Data)
}

func (d *dec) msg() store.Msg {
	var m store.Msg
	m.Seq = d.uvarint()
	m.Time = d.varint()
	m.TTL = d.varint()
	m.Subject = string(d.bytes())
	m.Header = d.bytes()
	m.Data = d.bytes()
	return m
}

func appendConsumer(b []byte, ci *store.ConsumerInfo) []byte {
	b = appendBytes(b, []byte(ci.Name))
	b = appendBytes(b, ci.Meta)
	st := &ci.State
	for _, v := range []uint64{st.Delivered.Consumer, st.Delivered.Stream, st.AckFloor.Consumer, st.AckFloor.Stream} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(st.Pending)))
	for _, sseq := range sortedKeys(st.Pending) {
		p := st.Pending[sseq]
		b = binary.AppendUvarint(b, sseq)
		b = binary.AppendUvarint(b, p.Sequence)
		b = binary.AppendVarint(b, p.Timestamp)
	}
	b = binary.AppendUvarint(b, uint64(len(st.Redelivered)))
	for _, sseq := range sortedKeys(st.Redelivered) {
		b = binary.AppendUvarint(b, sseq)
		b = binary.AppendUvarint(b, st.Redelivered[sseq])
	}
	return b
}

func (d *dec) consumer() store.ConsumerInfo {
	var ci store.ConsumerInfo
	ci.Name = string(d.bytes())
	if m := d.bytes(); m != nil {
		ci.Meta = append([]byte(nil), m...)
	}
	st := &ci.State
	st.Delivered.Consumer, st.Delivered.Stream = d.uvarint(), d.uvarint()
	st.AckFloor.Consumer, st.AckFloor.Stream = d.uvarint(), d.uvarint()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		st.Pending = make(map[uint64]store.Pending, n)
		for ; n > 0 && d.err == nil; n-- {
			sseq := d.uvarint()
			st.Pending[sseq] = store.Pending{Sequence: d.uvarint(), Timestamp: d.varint()}
		}
	} else if n > 0 {
		d.err = errShort
	}
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		st.Redelivered = make(map[uint64]uint64, n)
		for ; n > 0 && d.err == nil; n-- {
			sseq := d.uvarint()
			st.Redelivered[sseq] = d.uvarint()
		}
	} else if n > 0 {
		d.err = errShort
	}
	return ci
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// Header is the first frame of a snapshot.
type Header struct {
	Version int          `json:"version"`
	Created time.Time    `json:"created"`
	Config  ConfigJSON   `json:"config"`
	State   StateSummary `json:"state"`
}

// ConfigJSON is the stream configuration as the format stores it, spelt out
// so that the format does not change when the Go type does.
type ConfigJSON struct {
	Account              string `json:"account"`
	Name                 string `json:"name"`
	Storage              string `json:"storage"`
	MaxMsgs              int64  `json:"max_msgs,omitempty"`
	MaxBytes             int64  `json:"max_bytes,omitempty"`
	MaxMsgsPerSubject    int64  `json:"max_msgs_per_subject,omitempty"`
	MaxAge               int64  `json:"max_age,omitempty"`
	MaxMsgSize           int32  `json:"max_msg_size,omitempty"`
	Discard              string `json:"discard"`
	DiscardNewPerSubject bool   `json:"discard_new_per_subject,omitempty"`
	FirstSeq             uint64 `json:"first_seq,omitempty"`
	AllowMsgTTL          bool   `json:"allow_msg_ttl,omitempty"`
	Compression          string `json:"compression,omitempty"`
	Meta                 []byte `json:"meta,omitempty"`
}

// StateSummary is the stream state when the snapshot started.
type StateSummary struct {
	Msgs       uint64 `json:"messages"`
	Bytes      uint64 `json:"bytes"`
	FirstSeq   uint64 `json:"first_seq"`
	FirstTime  int64  `json:"first_ts"`
	LastSeq    uint64 `json:"last_seq"`
	LastTime   int64  `json:"last_ts"`
	NumDeleted uint64 `json:"num_deleted"`
}

func configToJSON(c store.StreamConfig) ConfigJSON {
	j := ConfigJSON{
		Account: c.Account, Name: c.Name, Storage: c.Storage.String(),
		MaxMsgs: c.MaxMsgs, MaxBytes: c.MaxBytes, MaxMsgsPerSubject: c.MaxMsgsPerSubject,
		MaxAge: int64(c.MaxAge), MaxMsgSize: c.MaxMsgSize, Discard: "old",
		DiscardNewPerSubject: c.DiscardNewPerSubject, FirstSeq: c.FirstSeq,
		AllowMsgTTL: c.AllowMsgTTL, Meta: c.Meta,
	}
	if c.Discard == store.DiscardNew {
		j.Discard = "new"
	}
	if c.Compression == store.S2Compression {
		j.Compression = "s2"
	}
	return j
}

// StreamConfig converts the stored configuration back.
func (j ConfigJSON) StreamConfig() store.StreamConfig {
	c := store.StreamConfig{
		Account: j.Account, Name: j.Name,
		MaxMsgs: j.MaxMsgs, MaxBytes: j.MaxBytes, MaxMsgsPerSubject: j.MaxMsgsPerSubject,
		MaxAge: time.Duration(j.MaxAge), MaxMsgSize: j.MaxMsgSize,
		DiscardNewPerSubject: j.DiscardNewPerSubject, FirstSeq: j.FirstSeq,
		AllowMsgTTL: j.AllowMsgTTL, Meta: j.Meta,
	}
	if j.Storage == "memory" {
		c.Storage = store.MemoryStorage
	}
	if j.Discard == "new" {
		c.Discard = store.DiscardNew
	}
	if j.Compression == "s2" {
		c.Compression = store.S2Compression
	}
	return c
}
