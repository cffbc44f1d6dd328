package storagefile

import (
	"hash/maphash"
	"unsafe"
)

// subjects is a stream's per-subject index: for every subject with a
// message, its count and its first and last sequences. It holds no Go
// pointers per subject (names live in one arena, entries in one slice, the
// hash table maps hashes to slots), so a stream with millions of subjects
// costs the garbage collector nothing to scan.
//
// First and last may be stale after removals: first is then a lower bound and
// last an upper bound of the true sequence, and the stream resolves them
// when it needs them exact.
type subjects struct {
	seed    maphash.Seed
	table   map[uint64]uint32 // hash → slot+1 of the first entry of its chain
	ents    []subjEntry
	arena   []byte
	free    []uint32
	live    int
	garbage int // arena bytes of removed subjects
}

// subjEntry is one subject. A free slot has slen 0 (subjects are never
// empty).
type subjEntry struct {
	off   uint32
	slen  uint32
	next  uint32 // slot+1 of the next entry with the same hash, 0 none
	stale uint8  // staleFirst, staleLast
	n     uint64
	first uint64
	last  uint64
}

const (
	staleFirst = 1
	staleLast  = 2
)

func newSubjects() *subjects {
	return &subjects{seed: maphash.MakeSeed(), table: make(map[uint64]uint32)}
}

func (ss *subjects) name(e *subjEntry) string {
	return unsafe.String(&ss.arena[e.off], int(e.slen))
}

// find returns the slot of subj, or -1.
func (ss *subjects) find(subj string) int {
	h := maphash.String(ss.seed, subj)
	for i := ss.table[h]; i != 0; i = ss.ents[i-1].next {
		if e := &ss.ents[i-1]; ss.name(e) == subj {
			return int(i - 1)
		}
	}
	return -1
}

// get returns the entry of subj, or nil.
func (ss *subjects) get(subj string) *subjEntry {
	if i := ss.find(subj); i >= 0 {
		return &ss.ents[i]
	}
	return nil
}

// add records a new message of subj at seq, the subject's newest.
func (ss *subjects) add(subj string, seq uint64) {
	h := maphash.String(ss.seed, subj)
	for i := ss.table[h]; i != 0; i = ss.ents[i-1].next {
		if e := &ss.ents[i-1]; ss.name(e) == subj {
			// Messages arrive in sequence order, so seq is the newest.
			e.n++
			if seq >= e.last || e.stale&staleLast != 0 {
				e.last = seq
				e.stale &^= staleLast
			}
			if seq < e.first {
				e.first = seq
			}
			return
		}
	}
	var slot uint32
	if n := len(ss.free); n > 0 {
		slot = ss.free[n-1]
		ss.free = ss.free[:n-1]
	} else {
		ss.ents = append(ss.ents, subjEntry{})
		slot = uint32(len(ss.ents) - 1)
	}
	off := len(ss.arena)
	ss.arena = append(ss.arena, subj...)
	ss.ents[slot] = subjEntry{off: uint32(off), slen: uint32(len(subj)), next: ss.table[h], n: 1, first: seq, last: seq}
	ss.table[h] = slot + 1
	ss.live++
}

// addCounted restores an entry from a state file.
func (ss *subjects) addCounted(subj string, n, first, last uint64, stale uint8) {
	ss.add(subj, first)
	e := ss.get(subj)
	e.n, e.first, e.last, e.stale = n, first, last, stale
}

// remove records that the message of subj at seq is gone and reports
// whether the subject has no message left.
func (ss *subjects) remove(subj string, seq uint64) bool {
	h := maphash.String(ss.seed, subj)
	prev := uint32(0)
	for i := ss.table[h]; i != 0; prev, i = i, ss.ents[i-1].next {
		e := &ss.ents[i-1]
		if ss.name(e) != subj {
			continue
		}
		if e.n > 1 {
			e.n--
			if seq == e.first {
				e.first = seq + 1
				e.stale |= staleFirst
			}
			if seq == e.last {
				e.last = seq - 1
				e.stale |= staleLast
			}
			return false
		}
		if prev == 0 {
			if e.next == 0 {
				delete(ss.table, h)
			} else {
				ss.table[h] = e.next
			}
		} else {
			ss.ents[prev-1].next = e.next
		}
		ss.garbage += int(e.slen)
		*e = subjEntry{}
		ss.free = append(ss.free, i-1)
		ss.live--
		ss.maybeCompact()
		return true
	}
	return true
}

// maybeCompact rewrites the arena when removed names dominate it. Names
// handed out before keep aliasing the old arena, which is never written.
func (ss *subjects) maybeCompact() {
	if ss.garbage < 1<<16 || ss.garbage < len(ss.arena)/2 {
		return
	}
	arena := make([]byte, 0, len(ss.arena)-ss.garbage)
	for i := range ss.ents {
		e := &ss.ents[i]
		if e.slen == 0 {
			continue
		}
		off := len(arena)
		arena = append(arena, ss.arena[e.off:e.off+e.slen]...)
		e.off = uint32(off)
	}
	ss.arena, ss.garbage = arena, 0
	if len(ss.free) > len(ss.ents)/2 && len(ss.free) > 1024 {
		ss.reslot()
	}
}

// reslot drops free slots by rebuilding the table.
func (ss *subjects) reslot() {
	old := ss.ents
	ss.ents = make([]subjEntry, 0, ss.live)
	ss.table = make(map[uint64]uint32, ss.live)
	ss.free = nil
	for i := range old {
		e := old[i]
		if e.slen == 0 {
			continue
		}
		h := maphash.String(ss.seed, unsafe.String(&ss.arena[e.off], int(e.slen)))
		e.next = ss.table[h]
		ss.ents = append(ss.ents, e)
		ss.table[h] = uint32(len(ss.ents))
	}
}

// reset drops every subject.
func (ss *subjects) reset() {
	*ss = subjects{seed: ss.seed, table: make(map[uint64]uint32)}
}

// each calls fn for every subject until it returns false. fn must not add
// or remove subjects.
func (ss *subjects) each(fn func(name string, e *subjEntry) bool) {
	for i := range ss.ents {
		e := &ss.ents[i]
		if e.slen != 0 && !fn(ss.name(e), e) {
			return
		}
	}
}
