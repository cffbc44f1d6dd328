package storagepebble

import (
	"encoding/binary"
	"math"
)

// Every key starts with a 4-byte big-endian stream id, so one stream's data
// is the contiguous range [id, id+1) and deleting a stream is one range
// deletion. Id 0 is the provider's own catalog. The byte after the id names
// the table; the layout is described in docs/pebble-store.md.
const (
	idLen = 4

	// Provider tables (id 0).
	tNextID  = 0x00 // → next stream id (uint32)
	tCatalog = 0x01 // uvarint(len(account)) account name → stream id
	tFormat  = 0x02 // → layout version

	// Stream tables.
	tConfig = 0x01 // → stream record (config, restore flag)
	tState  = 0x02 // → counters (first, last, msgs, bytes...)
	tMsg    = 0x10 // seq → message
	tSubj   = 0x11 // esc(subject) 00 01 seq → ts, ttl, header and data lengths
	tPer    = 0x12 // esc(subject) → count, first, last
	tTime   = 0x13 // ts seq → age flag
	tTTL    = 0x14 // expiry seq → nothing
	tCons   = 0x20 // uvarint(len(name)) name kind [seq] → consumer data

	// The message tables are contiguous so purging everything is one range.
	tMsgsLo = tMsg
	tMsgsHi = tTTL + 1
)

// Consumer key kinds, after the consumer's name.
const (
	ckMeta    = 0x00 // → configuration bytes
	ckHead    = 0x01 // → delivered and ack floor
	ckPending = 0x02 // seq → consumer seq, timestamp
	ckRedeliv = 0x03 // seq → redelivery count
)

// layoutVersion is stored under tFormat; a directory written by another
// layout is refused rather than misread.
const layoutVersion = "hangar-pebble/1"

func appendID(dst []byte, id uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, id)
}

func tableKey(dst []byte, id uint32, table byte) []byte {
	return append(appendID(dst, id), table)
}

// streamEnd is the first key after every key of stream id.
func streamEnd(id uint32) []byte {
	if id == math.MaxUint32 {
		return []byte{0xff, 0xff, 0xff, 0xff, 0xff}
	}
	return appendID(nil, id+1)
}

func msgKey(dst []byte, id uint32, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(tableKey(dst, id, tMsg), seq)
}

// appendEscaped appends s with every 0x00 byte written as 00 ff, so that the
// terminator 00 01 cannot occur inside it and byte order is preserved.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, s[i])
		if s[i] == 0 {
			dst = append(dst, 0xff)
		}
	}
	return dst
}

func unescape(b []byte) string {
	for i := 0; i < len(b); i++ {
		if b[i] == 0 {
			out := make([]byte, 0, len(b))
			for j := 0; j < len(b); j++ {
				out = append(out, b[j])
				if b[j] == 0 {
					j++
				}
			}
			return string(out)
		}
	}
	return string(b)
}

// subjPrefix is the prefix of every subject-index key of subj.
func subjPrefix(dst []byte, id uint32, subj string) []byte {
	return append(appendEscaped(tableKey(dst, id, tSubj), subj), 0x00, 0x01)
}

func subjKey(dst []byte, id uint32, subj string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(subjPrefix(dst, id, subj), seq)
}

func perKey(dst []byte, id uint32, subj string) []byte {
	return appendEscaped(tableKey(dst, id, tPer), subj)
}

// subjFromPer returns the subject of a per-subject key.
func subjFromPer(k []byte) string { return unescape(k[idLen+1:]) }

// seqSuffix is the sequence at the end of a message, subject, time or TTL key.
func seqSuffix(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(k)-8:]) }

// orderedTime maps a signed time to an unsigned one with the same order.
func orderedTime(ts int64) uint64 { return uint64(ts) ^ (1 << 63) }

func timeFromKey(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k[idLen+1:]) ^ (1 << 63))
}

func timeKey(dst []byte, id uint32, ts int64, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint64(tableKey(dst, id, tTime), orderedTime(ts))
	return binary.BigEndian.AppendUint64(dst, seq)
}

func ttlKey(dst []byte, id uint32, exp int64, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint64(tableKey(dst, id, tTTL), orderedTime(exp))
	return binary.BigEndian.AppendUint64(dst, seq)
}

func consPrefix(dst []byte, id uint32, name string) []byte {
	dst = binary.AppendUvarint(tableKey(dst, id, tCons), uint64(len(name)))
	return append(dst, name...)
}

func consKey(dst []byte, id uint32, name string, kind byte) []byte {
	return append(consPrefix(dst, id, name), kind)
}

func consSeqKey(dst []byte, id uint32, name string, kind byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(consKey(dst, id, name, kind), seq)
}

// consName splits a consumer key into its name and the rest.
func consName(k []byte) (string, []byte, bool) {
	rest := k[idLen+1:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) < n {
		return "", nil, false
	}
	return string(rest[w : w+int(n)]), rest[w+int(n):], true
}

func catalogKey(account, name string) []byte {
	k := tableKey(nil, 0, tCatalog)
	k = binary.AppendUvarint(k, uint64(len(account)))
	return append(append(k, account...), name...)
}

// prefixEnd returns the first key after every key with prefix p, or nil when
// there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
