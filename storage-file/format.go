package storagefile

import (
	"crypto/cipher"
	"encoding/binary"
	"hash/crc32"
	"unsafe"
)

// On-disk constants. docs/file-store.md describes the formats; a change to
// any of them needs a new version byte.
const (
	blockMagic    = "HNGRBLK\x01"
	consumerMagic = "HNGRCON\x01"
	hdrLen        = 40 // file header of block and consumer files
	crcLen        = 4
	tagLen        = 16
	frameHead     = 5  // length u32 + kind u8
	msgFixed      = 24 // frame head, flags, subject length, seq, time
	maxSubject    = 1<<16 - 1
	// maxFrame bounds a frame so that a damaged length cannot make a reader
	// allocate without limit; it is far above any JetStream message.
	maxFrame = 1 << 30
)

// frameKind is the type of a frame.
type frameKind uint8

const (
	kindMsg     frameKind = 1 // a message
	kindTomb    frameKind = 2 // deletes of messages in this or older blocks
	kindSkip    frameKind = 3 // sequences up to seq used, last time ts
	kindPurge   frameKind = 4 // every message below seq is gone
	kindSetLast frameKind = 5 // last sequence and time set exactly (truncate)
	kindErased  frameKind = 6 // an erased message: its seq and zeros
	kindChunk   frameKind = 7 // a compressed span of a sealed block
	// kindBad marks, in memory only, a span that failed its check.
	kindBad frameKind = 8

	kindConsFull      frameKind = 16 // consumer meta and whole state
	kindConsDelivered frameKind = 17
	kindConsAck       frameKind = 18
	kindConsMeta      frameKind = 19
)

// Block header flags.
const (
	flagEncrypted  = 1
	flagCompressed = 2
)

// Message frame flags.
const (
	msgHasHdr = 1
	msgHasTTL = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// fileHeader is the first hdrLen bytes of a block or consumer file.
type fileHeader struct {
	magic    string
	flags    uint8
	cipher   uint8
	index    uint32
	salt     [8]byte
	voidFrom uint32 // blocks [voidFrom, voidTo] are void when voidTo > 0
	voidTo   uint32
	// layout names the arrangement of the frames: compression keeps it (the
	// opened frames keep their offsets), a rewrite that moves frames changes
	// it, so a state file knows whether its offsets still hold.
	layout uint32
}

func (h *fileHeader) encode() []byte {
	b := make([]byte, hdrLen)
	copy(b, h.magic)
	b[8], b[9] = h.flags, h.cipher
	binary.LittleEndian.PutUint32(b[12:], h.index)
	copy(b[16:24], h.salt[:])
	binary.LittleEndian.PutUint32(b[24:], h.voidFrom)
	binary.LittleEndian.PutUint32(b[28:], h.voidTo)
	binary.LittleEndian.PutUint32(b[32:], h.layout)
	binary.LittleEndian.PutUint32(b[36:], crc(b[:36]))
	return b
}

func decodeHeader(b []byte, magic string) (fileHeader, bool) {
	var h fileHeader
	if len(b) < hdrLen || string(b[:8]) != magic || binary.LittleEndian.Uint32(b[36:]) != crc(b[:36]) {
		return h, false
	}
	h.magic = magic
	h.flags, h.cipher = b[8], b[9]
	h.index = binary.LittleEndian.Uint32(b[12:])
	copy(h.salt[:], b[16:24])
	h.voidFrom = binary.LittleEndian.Uint32(b[24:])
	h.voidTo = binary.LittleEndian.Uint32(b[28:])
	h.layout = binary.LittleEndian.Uint32(b[32:])
	return h, true
}

// sealer protects frames: a CRC-32C trailer when plain, an AEAD tag when
// encrypted. The nonce of an encrypted frame is the file's salt and the
// frame's offset, so a file is never rewritten in place once encrypted: a
// rewrite gets a new salt.
type sealer struct {
	aead cipher.AEAD
	salt [8]byte
}

func (sl *sealer) trailer() int {
	if sl.aead != nil {
		return tagLen
	}
	return crcLen
}

func (sl *sealer) nonce(off uint32) []byte {
	var n [12]byte
	copy(n[:8], sl.salt[:])
	binary.LittleEndian.PutUint32(n[8:], off)
	return n[:]
}

// seal protects the whole frame fr, which sits at offset off of its file.
func (sl *sealer) seal(fr []byte, off uint32) {
	if sl.aead == nil {
		binary.LittleEndian.PutUint32(fr[len(fr)-crcLen:], crc(fr[:len(fr)-crcLen]))
		return
	}
	body := fr[frameHead : len(fr)-tagLen]
	sl.aead.Seal(body[:0], sl.nonce(off), body, fr[:frameHead])
}

// open checks fr and decrypts it in place; false means it is damaged.
func (sl *sealer) open(fr []byte, off uint32) bool {
	if sl.aead == nil {
		return binary.LittleEndian.Uint32(fr[len(fr)-crcLen:]) == crc(fr[:len(fr)-crcLen])
	}
	if len(fr) < frameHead+tagLen {
		return false
	}
	body := fr[frameHead:]
	_, err := sl.aead.Open(body[:0], sl.nonce(off), body, fr[:frameHead])
	return err == nil
}

// frameAt returns the length and kind of the frame at off of buf, or ok false
// when the head does not fit or is implausible.
func frameAt(buf []byte, off int, tl int) (n int, kind frameKind, ok bool) {
	if off+frameHead > len(buf) {
		return 0, 0, false
	}
	n = int(binary.LittleEndian.Uint32(buf[off:]))
	kind = frameKind(buf[off+4])
	if n < frameHead+tl || n > maxFrame || off+n > len(buf) || kind == 0 || kind > kindConsMeta {
		return 0, 0, false
	}
	return n, kind, true
}

// putHead writes the length and kind of a frame.
func putHead(fr []byte, kind frameKind) {
	binary.LittleEndian.PutUint32(fr, uint32(len(fr)))
	fr[4] = byte(kind)
}

// grow extends b by n bytes and returns the whole slice and the new part.
func grow(b []byte, n int) ([]byte, []byte) {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, max(2*cap(b), l+n, 4096))
		copy(nb, b)
		b = nb
	}
	b = b[:l+n]
	return b, b[l:]
}

// msgFrameLen is the length of the frame of a message.
func msgFrameLen(subj string, hdr, data []byte, ttl int64, tl int) int {
	n := msgFixed + len(subj) + len(hdr) + len(data) + tl
	if ttl != 0 {
		n += 8
	}
	if len(hdr) > 0 {
		n += 4
	}
	return n
}

// putMsg encodes a message frame into fr, which is exactly msgFrameLen long,
// leaving the trailer for the sealer.
func putMsg(fr []byte, seq uint64, ts, ttl int64, subj string, hdr, data []byte) {
	putHead(fr, kindMsg)
	var flags byte
	p := msgFixed
	binary.LittleEndian.PutUint16(fr[6:], uint16(len(subj)))
	binary.LittleEndian.PutUint64(fr[8:], seq)
	binary.LittleEndian.PutUint64(fr[16:], uint64(ts))
	if ttl != 0 {
		flags |= msgHasTTL
		binary.LittleEndian.PutUint64(fr[p:], uint64(ttl))
		p += 8
	}
	if len(hdr) > 0 {
		flags |= msgHasHdr
		binary.LittleEndian.PutUint32(fr[p:], uint32(len(hdr)))
		p += 4
	}
	fr[5] = flags
	p += copy(fr[p:], subj)
	p += copy(fr[p:], hdr)
	copy(fr[p:], data)
}

// msgView is a decoded message frame; its slices alias the frame.
type msgView struct {
	seq        uint64
	ts, ttl    int64
	subj       []byte
	hdr, data  []byte
	frameBytes int
}

// parseMsg decodes an opened message frame; tl is the trailer length.
func parseMsg(fr []byte, tl int) (m msgView, ok bool) {
	if len(fr) < msgFixed+tl {
		return m, false
	}
	end := len(fr) - tl
	flags := fr[5]
	sl := int(binary.LittleEndian.Uint16(fr[6:]))
	m.seq = binary.LittleEndian.Uint64(fr[8:])
	m.ts = int64(binary.LittleEndian.Uint64(fr[16:]))
	p := msgFixed
	if flags&msgHasTTL != 0 {
		if p+8 > end {
			return m, false
		}
		m.ttl = int64(binary.LittleEndian.Uint64(fr[p:]))
		p += 8
	}
	hl := 0
	if flags&msgHasHdr != 0 {
		if p+4 > end {
			return m, false
		}
		hl = int(binary.LittleEndian.Uint32(fr[p:]))
		p += 4
	}
	if sl == 0 || p+sl+hl > end || hl < 0 {
		return m, false
	}
	m.subj = fr[p : p+sl : p+sl]
	p += sl
	if hl > 0 {
		m.hdr = fr[p : p+hl : p+hl]
	}
	p += hl
	if p < end {
		m.data = fr[p:end:end]
	}
	m.frameBytes = len(fr)
	return m, true
}

// msgSeqOf returns the sequence of a message or erased frame without
// decoding the rest.
func msgSeqOf(fr []byte) uint64 {
	if frameKind(fr[4]) == kindErased {
		return binary.LittleEndian.Uint64(fr[frameHead:])
	}
	return binary.LittleEndian.Uint64(fr[8:])
}

// tombEntry is one delete carried by a tombstone frame. The subject, size
// and TTL class make replay independent of the deleted message's own frame,
// which compaction may already have dropped.
type tombEntry struct {
	seq   uint64
	subj  string
	size  uint32 // accounted size
	class uint32 // TTL class
}

// appendTombBody encodes entries as a tombstone body.
func appendTombBody(b []byte, ents []tombEntry) []byte {
	var subjs []string
	idx := make(map[string]int, 4)
	for _, e := range ents {
		if _, ok := idx[e.subj]; !ok {
			idx[e.subj] = len(subjs)
			subjs = append(subjs, e.subj)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(subjs)))
	for _, s := range subjs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(ents)))
	for _, e := range ents {
		b = binary.AppendUvarint(b, e.seq)
		b = binary.AppendUvarint(b, uint64(idx[e.subj]))
		b = binary.AppendUvarint(b, uint64(e.size))
		b = binary.AppendUvarint(b, uint64(e.class))
	}
	return b
}

// parseTombBody decodes a tombstone body.
func parseTombBody(body []byte) ([]tombEntry, bool) {
	d := decoder{b: body}
	ns := d.uvarint()
	if d.err || ns > uint64(len(body)) {
		return nil, false
	}
	subjs := make([]string, ns)
	for i := range subjs {
		subjs[i] = string(d.bytes())
	}
	n := d.uvarint()
	if d.err || n > uint64(len(body)) {
		return nil, false
	}
	ents := make([]tombEntry, n)
	for i := range ents {
		ents[i].seq = d.uvarint()
		si := d.uvarint()
		ents[i].size, ents[i].class = uint32(d.uvarint()), uint32(d.uvarint())
		if si >= ns {
			return nil, false
		}
		ents[i].subj = subjs[si]
	}
	return ents, !d.err
}

// decoder reads varint-encoded payloads; the first error sticks.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// unsafeString returns b as a string without copying; b must never change.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
