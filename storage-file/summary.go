package storagefile

import (
	"crypto/cipher"
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// event is what one frame (or one entry of a tombstone frame) does to the
// stream. Recovery replays events from frames or from a block's summary.
type event struct {
	kind       frameKind
	off, flen  uint32
	seq        uint64
	ts, ttl    int64
	subj       string
	hlen, dlen uint32 // messages
	size       uint32 // tombstones: the accounted size of the deleted message
	class      uint32 // tombstones: its TTL class
}

// viewEvents calls fn for the events of the frames of view at or after
// offset from. Subjects alias the view.
func viewEvents(view []byte, tl int, from int, fn func(ev *event)) {
	var ev event
	walkView(view, tl, func(off int, fr []byte) bool {
		if off >= from {
			frameEvents(fr, off, tl, &ev, fn)
		}
		return true
	})
}

// frameEvents calls fn for the events of one opened frame at off, using
// ev as scratch.
func frameEvents(fr []byte, off int, tl int, ev *event, fn func(ev *event)) {
	*ev = event{kind: frameKind(fr[4]), off: uint32(off), flen: uint32(len(fr))}
	body := fr[frameHead : len(fr)-tl]
	switch ev.kind {
	case kindMsg:
		m, ok := parseMsg(fr, tl)
		if !ok {
			return
		}
		ev.seq, ev.ts, ev.ttl = m.seq, m.ts, m.ttl
		ev.subj = unsafeString(m.subj)
		ev.hlen, ev.dlen = uint32(len(m.hdr)), uint32(len(m.data))
		fn(ev)
	case kindErased:
		if len(body) >= 8 {
			ev.seq = binary.LittleEndian.Uint64(body)
			fn(ev)
		}
	case kindSkip, kindSetLast:
		if len(body) >= 16 {
			ev.seq = binary.LittleEndian.Uint64(body)
			ev.ts = int64(binary.LittleEndian.Uint64(body[8:]))
			fn(ev)
		}
	case kindPurge:
		if len(body) >= 8 {
			ev.seq = binary.LittleEndian.Uint64(body)
			fn(ev)
		}
	case kindTomb:
		ents, ok := parseTombBody(body)
		if !ok {
			return
		}
		for _, e := range ents {
			ev.seq, ev.subj, ev.size, ev.class = e.seq, e.subj, e.size, e.class
			fn(ev)
		}
	}
}

const idxMagic = "HNGRIDX\x01"

// summary is a sealed block's index file: what each of its frames does,
// without the payloads, so recovery and lookups need not read the block.
type summary struct {
	index      uint32
	salt       [8]byte
	compressed bool
	fileSize   int64
	viewSize   int64
	names      []string
	events     []event
}

// encodeSummary builds the index file of a sealed block from its view, in
// one pass: the events as they come, the subject table they refer to ahead
// of them.
func encodeSummary(b *block, view []byte, fileSize int64, aead cipher.AEAD) []byte {
	ids := make(map[string]uint64)
	var names []string
	sid := func(subj string) uint64 {
		id, ok := ids[subj]
		if !ok {
			id = uint64(len(names))
			ids[subj] = id
			names = append(names, subj)
		}
		return id
	}
	ep := make([]byte, 0, len(view)/8)
	var (
		nev     uint64
		prevOff uint32
		prevSeq uint64
		prevTS  int64
	)
	viewEvents(view, b.trailer(), 0, func(ev *event) {
		nev++
		ep = append(ep, byte(ev.kind))
		ep = binary.AppendUvarint(ep, uint64(ev.off-prevOff))
		ep = binary.AppendUvarint(ep, uint64(ev.flen))
		prevOff = ev.off
		switch ev.kind {
		case kindMsg:
			ep = binary.AppendVarint(ep, int64(ev.seq-prevSeq))
			ep = binary.AppendVarint(ep, ev.ts-prevTS)
			prevSeq, prevTS = ev.seq, ev.ts
			ep = binary.AppendUvarint(ep, sid(ev.subj))
			ep = binary.AppendUvarint(ep, uint64(ev.hlen))
			ep = binary.AppendUvarint(ep, uint64(ev.dlen))
			ep = binary.AppendVarint(ep, ev.ttl)
		case kindTomb:
			ep = binary.AppendUvarint(ep, ev.seq)
			ep = binary.AppendUvarint(ep, sid(ev.subj))
			ep = binary.AppendUvarint(ep, uint64(ev.size))
			ep = binary.AppendUvarint(ep, uint64(ev.class))
		default:
			ep = binary.AppendUvarint(ep, ev.seq)
			ep = binary.AppendVarint(ep, ev.ts)
		}
	})
	p := make([]byte, 0, 64+len(ep)+len(names)*16)
	p = binary.LittleEndian.AppendUint32(p, b.index)
	p = append(p, b.salt[:]...)
	if b.compressed() {
		p = append(p, 1)
	} else {
		p = append(p, 0)
	}
	p = binary.LittleEndian.AppendUint64(p, uint64(fileSize))
	p = binary.LittleEndian.AppendUint64(p, uint64(len(view)))
	p = binary.AppendUvarint(p, uint64(len(names)))
	for _, n := range names {
		p = binary.AppendUvarint(p, uint64(len(n)))
		p = append(p, n...)
	}
	p = binary.AppendUvarint(p, nev)
	p = append(p, ep...)
	return append([]byte(idxMagic), sealBlob(aead, p, []byte(idxMagic))...)
}

// decodeSummary reads an index file; ok false means it is damaged.
func decodeSummary(raw []byte, aead cipher.AEAD) (*summary, bool) {
	if len(raw) < len(idxMagic) || string(raw[:len(idxMagic)]) != idxMagic {
		return nil, false
	}
	p, ok := openBlob(aead, raw[len(idxMagic):], []byte(idxMagic))
	if !ok || len(p) < 29 {
		return nil, false
	}
	sm := &summary{index: binary.LittleEndian.Uint32(p)}
	copy(sm.salt[:], p[4:12])
	sm.compressed = p[12] == 1
	sm.fileSize = int64(binary.LittleEndian.Uint64(p[13:]))
	sm.viewSize = int64(binary.LittleEndian.Uint64(p[21:]))
	d := decoder{b: p[29:]}
	nn := d.uvarint()
	if nn > uint64(len(p)) {
		return nil, false
	}
	sm.names = make([]string, nn)
	for i := range sm.names {
		sm.names[i] = string(d.bytes())
	}
	ne := d.uvarint()
	if d.err || ne > uint64(len(p)) {
		return nil, false
	}
	sm.events = make([]event, ne)
	var off uint32
	var seq uint64
	var ts int64
	name := func() string {
		i := d.uvarint()
		if i >= nn {
			d.err = true
			return ""
		}
		return sm.names[i]
	}
	for i := range sm.events {
		if len(d.b) == 0 {
			return nil, false
		}
		ev := &sm.events[i]
		ev.kind = frameKind(d.b[0])
		d.b = d.b[1:]
		off += uint32(d.uvarint())
		ev.off, ev.flen = off, uint32(d.uvarint())
		switch ev.kind {
		case kindMsg:
			seq += uint64(d.varint())
			ts += d.varint()
			ev.seq, ev.ts = seq, ts
			ev.subj = name()
			ev.hlen, ev.dlen = uint32(d.uvarint()), uint32(d.uvarint())
			ev.ttl = d.varint()
		case kindTomb:
			ev.seq = d.uvarint()
			ev.subj = name()
			ev.size, ev.class = uint32(d.uvarint()), uint32(d.uvarint())
		case kindErased, kindSkip, kindSetLast, kindPurge:
			ev.seq, ev.ts = d.uvarint(), d.varint()
		default:
			return nil, false
		}
	}
	if d.err || len(d.b) != 0 {
		return nil, false
	}
	return sm, true
}

// writeSummary writes the index file of a sealed block, synced: besides
// sparing recovery a scan, it witnesses what the block held should the block
// be damaged later. Failing to write it only costs that.
func (st *fstream) writeSummary(b *block, view []byte, fileSize int64) {
	data := encodeSummary(b, view, fileSize, st.aead)
	if err := writeFileAtomic(st.fs(), b.idxPath(), data); err != nil {
		st.logf("write index of block %d: %v", b.index, err)
	}
}

// readSummary reads and checks the index file of b against the block file
// it describes; nil when missing, damaged or stale. Unless strict, a
// block file whose size differs (damaged) still gets its summary, when the
// salts agree or the block's header is unreadable.
func (st *fstream) readSummary(b *block, strict bool) *summary {
	raw, err := readAll(st.fs(), b.idxPath())
	if err != nil {
		return nil
	}
	sm, ok := decodeSummary(raw, st.aead)
	if !ok {
		st.logf("index file of block %d is damaged; scanning the block instead", b.index)
		return nil
	}
	if sm.index != b.index || !b.hdrBad && sm.salt != b.salt {
		return nil
	}
	if strict {
		fi, err := st.fs().Stat(b.path())
		if err != nil || sm.fileSize != fi.Size() {
			return nil
		}
	}
	return sm
}

// readIndexFile builds a block's index from its index file, or returns nil.
func (st *fstream) readIndexFile(b *block) *blkIndex {
	if !b.sealed {
		return nil
	}
	sm := st.readSummary(b, true)
	if sm == nil {
		return nil
	}
	ix := newIndex()
	for i := range sm.events {
		ev := &sm.events[i]
		if ev.kind == kindMsg && b.first != 0 && ev.seq >= b.first && ev.seq <= b.last {
			ix.put(b.first, ev.seq, ev.off, ev.subj, st.metaOf(ev))
		}
	}
	return ix
}

func readAll(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, fi.Size())
	n, err := f.ReadAt(buf, 0)
	if n == len(buf) {
		err = nil
	}
	return buf[:n], err
}
