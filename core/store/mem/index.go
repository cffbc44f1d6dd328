package mem

import "sort"

// subjIdx holds the ascending sequences of one subject's live messages.
// Entries before head were removed from the front.
type subjIdx struct {
	seqs []uint64
	head int
}

func (si *subjIdx) count() uint64 { return uint64(len(si.seqs) - si.head) }
func (si *subjIdx) first() uint64 { return si.seqs[si.head] }
func (si *subjIdx) last() uint64  { return si.seqs[len(si.seqs)-1] }
func (si *subjIdx) live() []uint64 {
	return si.seqs[si.head:]
}

// remove drops seq, which must be present. Removing from either end is O(1);
// from the middle it shifts the tail, which KV-style subjects keep short.
func (si *subjIdx) remove(seq uint64) {
	switch live := si.live(); {
	case seq == live[0]:
		si.head++
		if si.head > 32 && si.head > len(si.seqs)/2 {
			si.seqs = append(si.seqs[:0:0], si.seqs[si.head:]...)
			si.head = 0
		}
	case seq == live[len(live)-1]:
		si.seqs = si.seqs[:len(si.seqs)-1]
	default:
		i := si.head + sort.Search(len(live), func(i int) bool { return live[i] >= seq })
		copy(si.seqs[i:], si.seqs[i+1:])
		si.seqs = si.seqs[:len(si.seqs)-1]
	}
}

// firstAtOrAfter returns the first live sequence >= start.
func (si *subjIdx) firstAtOrAfter(start uint64) (uint64, bool) {
	live := si.live()
	i := sort.Search(len(live), func(i int) bool { return live[i] >= start })
	if i == len(live) {
		return 0, false
	}
	return live[i], true
}

// lastAtOrBefore returns the last live sequence <= end.
func (si *subjIdx) lastAtOrBefore(end uint64) (uint64, bool) {
	live := si.live()
	i := sort.Search(len(live), func(i int) bool { return live[i] > end })
	if i == 0 {
		return 0, false
	}
	return live[i-1], true
}

// countRange counts live sequences in [start, end].
func (si *subjIdx) countRange(start, end uint64) (n, first, last uint64) {
	live := si.live()
	i := sort.Search(len(live), func(i int) bool { return live[i] >= start })
	j := sort.Search(len(live), func(i int) bool { return live[i] > end })
	if i >= j {
		return 0, 0, 0
	}
	return uint64(j - i), live[i], live[j-1]
}

// ttlEntry is a message with a per-message TTL in the expiry heap.
type ttlEntry struct {
	exp int64
	seq uint64
}

// ttlHeap is a min-heap on expiry. Entries of removed messages stay until
// they surface and are found stale.
type ttlHeap []ttlEntry

func (h ttlHeap) Len() int           { return len(h) }
func (h ttlHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h ttlHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ttlHeap) Push(x any)        { *h = append(*h, x.(ttlEntry)) }
func (h *ttlHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
