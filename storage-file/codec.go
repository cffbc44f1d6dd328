package storagefile

import (
	"crypto/cipher"
	"encoding/binary"

	"github.com/klauspost/compress/s2"
)

// chunkTarget is the raw size of one compressed chunk: small enough that a
// damaged chunk loses few messages, large enough to compress well.
const chunkTarget = 64 << 10

// decodeBlock turns the bytes of a block file into its view: the frames
// checked (and decrypted) at their offsets, damaged spans marked kindBad
// (listed in bad), and end the length of the valid frames (a torn tail
// starts there). known is the salt the stream expects, used when the header
// itself is damaged. raw is reused for the view of an uncompressed block.
func decodeBlock(raw []byte, aead cipher.AEAD, known *[8]byte) (view []byte, bad []span, end int, h fileHeader) {
	h, ok := decodeHeader(raw, blockMagic)
	if !ok {
		if len(raw) < hdrLen {
			return append(raw[:0:0], make([]byte, hdrLen)...), nil, hdrLen, h
		}
		bad = append(bad, span{0, 0}) // a damaged header: noted, not a frame
		if known != nil {
			h.salt = *known
		}
		// The frame heads are never encrypted: the first tells whether the
		// file holds chunks.
		if n, k, ok := frameAt(raw, hdrLen, crcLen); ok && n > 0 && k == kindChunk {
			h.flags |= flagCompressed
		}
	}
	sl := &sealer{aead: aead, salt: h.salt}
	if h.flags&flagCompressed == 0 {
		b2, e := openFrames(raw, hdrLen, sl)
		return raw, append(bad, b2...), e, h
	}
	return decodeChunks(raw, sl, bad, h)
}

// decodeChunks opens a compressed block.
func decodeChunks(raw []byte, sl *sealer, bad []span, h fileHeader) ([]byte, []span, int, fileHeader) {
	cbad, cend := openFrames(raw, hdrLen, sl)
	type piece struct{ off, n int }
	var pieces []piece
	total := hdrLen
	var out []byte
	ok := func(off int) bool {
		for _, s := range cbad {
			if off >= s.off && off < s.end {
				return false
			}
		}
		return true
	}
	var decoded [][]byte
	for off := hdrLen; off < cend; {
		n := int(getU32(raw[off:]))
		if ok(off) && frameKind(raw[off+4]) == kindChunk {
			body := raw[off+frameHead : off+n-sl.trailer()]
			if len(body) >= 8 {
				ro, rl := int(binary.LittleEndian.Uint32(body)), int(binary.LittleEndian.Uint32(body[4:]))
				if d, err := s2.Decode(nil, body[8:]); err == nil && len(d) == rl && ro >= hdrLen {
					pieces = append(pieces, piece{ro, rl})
					decoded = append(decoded, d)
					total = max(total, ro+rl)
				}
			}
		}
		off += n
	}
	out = make([]byte, total)
	copy(out, raw[:hdrLen])
	prev := hdrLen
	for i, p := range pieces {
		if p.off > prev {
			bad = append(bad, span{prev, p.off})
			markBad(out, prev, p.off)
		}
		copy(out[p.off:], decoded[i])
		prev = max(prev, p.off+p.n)
	}
	return out, bad, prev, h
}

// openFrames checks (and decrypts in place) the frames of buf from start.
// A damaged frame followed by intact ones becomes a kindBad span; damage
// with nothing intact after it is a torn tail, and end is where it starts.
func openFrames(buf []byte, start int, sl *sealer) (bad []span, end int) {
	var scratch []byte
	off := start
	for off < len(buf) {
		if n, ok := tryFrame(buf, off, sl, &scratch); ok {
			off += n
			continue
		}
		next, n := resync(buf, off, sl, &scratch)
		if next < 0 {
			return bad, off
		}
		bad = append(bad, span{off, next})
		markBad(buf, off, next)
		off = next + n // resync opened the frame it found
	}
	return bad, off
}

// tryFrame checks the frame at off and, when intact, opens it in place.
func tryFrame(buf []byte, off int, sl *sealer, scratch *[]byte) (int, bool) {
	n, k, ok := frameAt(buf, off, sl.trailer())
	if !ok || k == kindBad {
		return 0, false
	}
	fr := buf[off : off+n]
	if sl.aead == nil {
		return n, sl.open(fr, uint32(off))
	}
	// A failed AEAD open clears its output: try on a copy.
	*scratch = append((*scratch)[:0], fr...)
	if !sl.open(*scratch, uint32(off)) {
		return 0, false
	}
	copy(fr, *scratch)
	return n, true
}

// resyncBudget bounds the bytes a resync checks, so a large damaged file
// cannot make recovery quadratic.
const resyncBudget = 64 << 20

// resync finds and opens the next intact frame after the damaged one at
// off, returning its offset and length, or -1.
func resync(buf []byte, off int, sl *sealer, scratch *[]byte) (int, int) {
	tl := sl.trailer()
	if n, _, ok := frameAt(buf, off, tl); ok && off+n < len(buf) {
		if m, ok := tryFrame(buf, off+n, sl, scratch); ok {
			return off + n, m
		}
	}
	budget := resyncBudget
	for x := off + 1; x+frameHead+tl <= len(buf) && budget > 0; x++ {
		n, k, ok := frameAt(buf, x, tl)
		if !ok || k == kindBad {
			continue
		}
		budget -= n
		if m, ok := tryFrame(buf, x, sl, scratch); ok {
			return x, m
		}
	}
	return -1, 0
}

// encodeCompressed writes the sealed block whose view is view as a
// compressed file with a new header: chunk frames of about chunkTarget raw
// bytes, each split at a frame boundary.
func encodeCompressed(view []byte, h fileHeader, aead cipher.AEAD) []byte {
	h.flags |= flagCompressed
	out := h.encode()
	out = append(make([]byte, 0, len(view)/2+hdrLen), out...)
	sl := &sealer{aead: aead, salt: h.salt}
	tl := sl.trailer()
	var buf []byte
	for off := hdrLen; off < len(view); {
		end := off
		for end < len(view) && (end == off || end-off < chunkTarget) {
			end += int(getU32(view[end:]))
		}
		buf = s2.Encode(buf[:cap(buf)], view[off:end])
		start := len(out)
		n := frameHead + 8 + len(buf) + tl
		out, _ = grow(out, n)
		fr := out[start:]
		putHead(fr, kindChunk)
		binary.LittleEndian.PutUint32(fr[frameHead:], uint32(off))
		binary.LittleEndian.PutUint32(fr[frameHead+4:], uint32(end-off))
		copy(fr[frameHead+8:], buf)
		sl.seal(fr, uint32(start))
		off = end
	}
	return out
}
