package storagefile

import "math/bits"

// dmap marks the deleted sequences of a block, as bits over the block's
// sequence range counted from its first message. It stays nil until the
// first delete, so a block without deletes costs nothing.
type dmap struct {
	words []uint64
	n     uint64 // bits set
}

func (d *dmap) has(i uint64) bool {
	w := i >> 6
	return w < uint64(len(d.words)) && d.words[w]&(1<<(i&63)) != 0
}

// set marks i and reports whether it was clear.
func (d *dmap) set(i uint64) bool {
	w := i >> 6
	for uint64(len(d.words)) <= w {
		d.words = append(d.words, 0)
	}
	m := uint64(1) << (i & 63)
	if d.words[w]&m != 0 {
		return false
	}
	d.words[w] |= m
	d.n++
	return true
}

// setRange marks [lo, hi].
func (d *dmap) setRange(lo, hi uint64) {
	for i := lo; i <= hi; i++ {
		if i&63 == 0 && i+63 <= hi {
			w := i >> 6
			for uint64(len(d.words)) <= w {
				d.words = append(d.words, 0)
			}
			d.n += uint64(64 - bits.OnesCount64(d.words[w]))
			d.words[w] = ^uint64(0)
			i += 63
			continue
		}
		d.set(i)
	}
}

// nextClear returns the first clear bit at or after i and below limit, or
// limit.
func (d *dmap) nextClear(i, limit uint64) uint64 {
	for i < limit {
		w := i >> 6
		if w >= uint64(len(d.words)) {
			return i
		}
		rest := ^d.words[w] >> (i & 63)
		if rest != 0 {
			return min(i+uint64(bits.TrailingZeros64(rest)), limit)
		}
		i = (w + 1) << 6
	}
	return limit
}

// nextSet returns the first set bit at or after i and below limit, or
// limit.
func (d *dmap) nextSet(i, limit uint64) uint64 {
	for i < limit {
		w := i >> 6
		if w >= uint64(len(d.words)) {
			return limit
		}
		rest := d.words[w] >> (i & 63)
		if rest != 0 {
			return min(i+uint64(bits.TrailingZeros64(rest)), limit)
		}
		i = (w + 1) << 6
	}
	return limit
}

// prevClear returns the last clear bit at or before i, or -1.
func (d *dmap) prevClear(i uint64) int64 {
	for {
		w := i >> 6
		if w >= uint64(len(d.words)) {
			return int64(i)
		}
		sh := 63 - (i & 63)
		rest := ^d.words[w] << sh
		if rest != 0 {
			return int64(i) - int64(bits.LeadingZeros64(rest))
		}
		if w == 0 {
			return -1
		}
		i = w<<6 - 1
	}
}

// countSet counts set bits in [lo, hi).
func (d *dmap) countSet(lo, hi uint64) uint64 {
	var n uint64
	for i := lo; i < hi; {
		w := i >> 6
		if w >= uint64(len(d.words)) {
			break
		}
		word := d.words[w] >> (i & 63)
		span := 64 - (i & 63)
		if i+span > hi {
			span = hi - i
			word &= 1<<span - 1
		}
		n += uint64(bits.OnesCount64(word))
		i += span
	}
	return n
}
