package storagepebble

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

func errCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: pebble: %s", store.ErrCorrupt, fmt.Sprintf(format, args...))
}

// msgRec is what the message table holds for a sequence. Its header and
// data alias the buffer it was decoded from.
type msgRec struct {
	ts   int64
	ttl  int64
	subj string
	hdr  []byte
	data []byte
}

// appendMsgValue encodes a message: time (8 bytes, so a reader can take it
// without decoding the rest), TTL, subject, header length, header, data.
func appendMsgValue(dst []byte, ts, ttl int64, subj string, hdr, data []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	dst = binary.AppendVarint(dst, ttl)
	dst = binary.AppendUvarint(dst, uint64(len(subj)))
	dst = append(dst, subj...)
	dst = binary.AppendUvarint(dst, uint64(len(hdr)))
	dst = append(dst, hdr...)
	return append(dst, data...)
}

func decodeMsg(v []byte) (msgRec, error) {
	var r msgRec
	if len(v) < 8 {
		return r, errCorrupt("short message record")
	}
	r.ts = int64(binary.BigEndian.Uint64(v))
	v = v[8:]
	ttl, n := binary.Varint(v)
	if n <= 0 {
		return r, errCorrupt("message ttl")
	}
	r.ttl, v = ttl, v[n:]
	sl, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < sl {
		return r, errCorrupt("message subject")
	}
	r.subj, v = string(v[n:n+int(sl)]), v[n+int(sl):]
	hl, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < hl {
		return r, errCorrupt("message header")
	}
	r.hdr, r.data = v[n:n+int(hl):n+int(hl)], v[n+int(hl):]
	return r, nil
}

// msgSubject decodes only the subject of a message value, without copying.
func msgSubject(v []byte) ([]byte, bool) {
	if len(v) < 8 {
		return nil, false
	}
	v = v[8:]
	_, n := binary.Varint(v)
	if n <= 0 {
		return nil, false
	}
	v = v[n:]
	sl, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < sl {
		return nil, false
	}
	return v[n : n+int(sl)], true
}

// toMsg copies r into a store.Msg with one allocation for header and data.
func (r *msgRec) toMsg(seq uint64) store.Msg {
	m := store.Msg{Subject: r.subj, Seq: seq, Time: r.ts, TTL: r.ttl}
	if n := len(r.hdr) + len(r.data); n > 0 {
		buf := make([]byte, n)
		copy(buf, r.hdr)
		copy(buf[len(r.hdr):], r.data)
		if len(r.hdr) > 0 {
			m.Header = buf[:len(r.hdr):len(r.hdr)]
		}
		if len(r.data) > 0 {
			m.Data = buf[len(r.hdr):]
		}
	}
	return m
}

// entry is what the subject index holds for a message: enough to remove it
// (its time and TTL keys, its accounted size) without reading the message.
type entry struct {
	ts   int64
	ttl  int64
	size uint64
}

func appendEntry(dst []byte, e entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
	dst = binary.AppendVarint(dst, e.ttl)
	return binary.AppendUvarint(dst, e.size)
}

func decodeEntry(v []byte) (entry, error) {
	var e entry
	if len(v) < 8 {
		return e, errCorrupt("short subject entry")
	}
	e.ts = int64(binary.BigEndian.Uint64(v))
	d := decoder{b: v[8:]}
	e.ttl = d.varint()
	e.size = d.uvarint()
	return e, d.err("subject entry")
}

// subjState is a subject's count, first and last sequences, and what the
// subject index holds for its first message, so that dropping a subject's
// oldest message (a KV update) needs no read of the index.
type subjState struct {
	n, first, last uint64
	fe             entry
}

func appendSubjState(dst []byte, s subjState) []byte {
	dst = binary.AppendUvarint(dst, s.n)
	dst = binary.AppendUvarint(dst, s.first)
	dst = binary.AppendUvarint(dst, s.last)
	dst = binary.AppendVarint(dst, s.fe.ts)
	dst = binary.AppendVarint(dst, s.fe.ttl)
	return binary.AppendUvarint(dst, s.fe.size)
}

func decodeSubjState(v []byte) (subjState, error) {
	d := decoder{b: v}
	s := subjState{n: d.uvarint(), first: d.uvarint(), last: d.uvarint()}
	s.fe = entry{ts: d.varint(), ttl: d.varint(), size: d.uvarint()}
	return s, d.err("subject state")
}

// counters are a stream's small in-memory state, persisted under tState in
// every batch that changes them so they are always consistent with the
// tables after a crash.
type counters struct {
	first, last uint64
	firstTime   int64
	lastTime    int64
	msgs, bytes uint64
	subjects    uint64
	// age counts live messages with TTL 0, which max age governs.
	age uint64
}

func appendCounters(dst []byte, c *counters) []byte {
	dst = append(dst, 1) // encoding version
	dst = binary.AppendUvarint(dst, c.first)
	dst = binary.AppendUvarint(dst, c.last)
	dst = binary.AppendVarint(dst, c.firstTime)
	dst = binary.AppendVarint(dst, c.lastTime)
	dst = binary.AppendUvarint(dst, c.msgs)
	dst = binary.AppendUvarint(dst, c.bytes)
	dst = binary.AppendUvarint(dst, c.subjects)
	return binary.AppendUvarint(dst, c.age)
}

func decodeCounters(v []byte) (counters, error) {
	if len(v) == 0 || v[0] != 1 {
		return counters{}, errCorrupt("stream state version")
	}
	d := decoder{b: v[1:]}
	c := counters{first: d.uvarint(), last: d.uvarint(), firstTime: d.varint(), lastTime: d.varint(),
		msgs: d.uvarint(), bytes: d.uvarint(), subjects: d.uvarint(), age: d.uvarint()}
	return c, d.err("stream state")
}

// streamRecord is the stored form of a stream's configuration. Restoring
// marks a stream whose Restore has not finished; the provider deletes such
// leftovers when it opens.
type streamRecord struct {
	Account              string              `json:"account"`
	Name                 string              `json:"name"`
	Storage              store.StorageType   `json:"storage"`
	MaxMsgs              int64               `json:"max_msgs,omitempty"`
	MaxBytes             int64               `json:"max_bytes,omitempty"`
	MaxMsgsPerSubject    int64               `json:"max_msgs_per_subject,omitempty"`
	MaxAge               time.Duration       `json:"max_age,omitempty"`
	MaxMsgSize           int32               `json:"max_msg_size,omitempty"`
	Discard              store.DiscardPolicy `json:"discard,omitempty"`
	DiscardNewPerSubject bool                `json:"discard_new_per_subject,omitempty"`
	FirstSeq             uint64              `json:"first_seq,omitempty"`
	AllowMsgTTL          bool                `json:"allow_msg_ttl,omitempty"`
	Compression          store.Compression   `json:"compression,omitempty"`
	Meta                 []byte              `json:"meta,omitempty"`
	Restoring            bool                `json:"restoring,omitempty"`
}

func encodeRecord(cfg *store.StreamConfig, restoring bool) []byte {
	b, _ := json.Marshal(streamRecord{
		Account: cfg.Account, Name: cfg.Name, Storage: cfg.Storage, MaxMsgs: cfg.MaxMsgs,
		MaxBytes: cfg.MaxBytes, MaxMsgsPerSubject: cfg.MaxMsgsPerSubject, MaxAge: cfg.MaxAge,
		MaxMsgSize: cfg.MaxMsgSize, Discard: cfg.Discard, DiscardNewPerSubject: cfg.DiscardNewPerSubject,
		FirstSeq: cfg.FirstSeq, AllowMsgTTL: cfg.AllowMsgTTL, Compression: cfg.Compression,
		Meta: cfg.Meta, Restoring: restoring,
	})
	return b
}

func decodeRecord(v []byte) (store.StreamConfig, bool, error) {
	var r streamRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return store.StreamConfig{}, false, errCorrupt("stream record: %v", err)
	}
	return store.StreamConfig{
		Account: r.Account, Name: r.Name, Storage: r.Storage, MaxMsgs: r.MaxMsgs,
		MaxBytes: r.MaxBytes, MaxMsgsPerSubject: r.MaxMsgsPerSubject, MaxAge: r.MaxAge,
		MaxMsgSize: r.MaxMsgSize, Discard: r.Discard, DiscardNewPerSubject: r.DiscardNewPerSubject,
		FirstSeq: r.FirstSeq, AllowMsgTTL: r.AllowMsgTTL, Compression: r.Compression, Meta: r.Meta,
	}, r.Restoring, nil
}

// decoder reads varints and remembers the first failure.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) err(what string) error {
	if d.bad || len(d.b) != 0 {
		return errCorrupt("%s", what)
	}
	return nil
}
