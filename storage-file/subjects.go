package storagefile

import (
	"hash/maphash"
	"unsafe"
)

// subjects is a stream's per-subject index: for every subject with a
// message, its count and its first and last sequences. It holds no Go
// pointers per subject (names live in arena chunks, entries in entry
// chunks, an open-addressing table of slot numbers finds them), so a stream
// with millions of subjects costs the garbage collector nothing to scan;
// entries and names grow by chunks, without copies or doubling slack. A
// subject costs about 60 bytes besides its name.
//
// First and last may be stale after removals: first is then a lower bound and
// last an upper bound of the true sequence, and the stream resolves them
// when it needs them exact.
type subjects struct {
	seed    maphash.Seed
	table   []uint32      // slot+1 by hash, linear probing; a power of two long
	ents    [][]subjEntry // chunks of entChunk entries
	nslots  int
	arena   [][]byte // chunks of arenaChunk bytes; a name never spans two
	free    []uint32
	live    int
	garbage int // arena bytes of removed subjects
}

const (
	entShift   = 12
	entChunk   = 1 << entShift
	arenaShift = 16
	arenaChunk = 1 << arenaShift // holds the longest subject
)

// subjEntry is one subject. A free slot has slen 0 (subjects are never
// empty). off is the arena chunk and the offset in it.
type subjEntry struct {
	off   uint32
	slen  uint16
	stale uint8 // staleFirst, staleLast
	n     uint64
	first uint64
	last  uint64
}

const (
	staleFirst = 1
	staleLast  = 2
)

func newSubjects() *subjects {
	return &subjects{seed: maphash.MakeSeed(), table: make([]uint32, 64)}
}

func (ss *subjects) home(subj string) int {
	return int(maphash.String(ss.seed, subj) & uint64(len(ss.table)-1))
}

func (ss *subjects) ent(slot uint32) *subjEntry {
	return &ss.ents[slot>>entShift][slot&(entChunk-1)]
}

func (ss *subjects) name(e *subjEntry) string {
	return unsafe.String(&ss.arena[e.off>>arenaShift][e.off&(arenaChunk-1)], int(e.slen))
}

// intern copies subj into the arena and returns its place.
func (ss *subjects) intern(subj string) uint32 {
	n := len(ss.arena)
	if n == 0 || len(ss.arena[n-1])+len(subj) > arenaChunk {
		ss.arena = append(ss.arena, make([]byte, 0, arenaChunk))
		n++
	}
	c := ss.arena[n-1]
	off := uint32(n-1)<<arenaShift | uint32(len(c))
	ss.arena[n-1] = append(c, subj...)
	return off
}

// probe returns the table position of subj, or of the empty position
// where it would go.
func (ss *subjects) probe(subj string) (int, bool) {
	mask := len(ss.table) - 1
	for i := ss.home(subj); ; i = (i + 1) & mask {
		v := ss.table[i]
		if v == 0 {
			return i, false
		}
		if ss.name(ss.ent(v-1)) == subj {
			return i, true
		}
	}
}

// find returns the slot of subj, or -1.
func (ss *subjects) find(subj string) int {
	if i, ok := ss.probe(subj); ok {
		return int(ss.table[i] - 1)
	}
	return -1
}

// get returns the entry of subj, or nil.
func (ss *subjects) get(subj string) *subjEntry {
	if i := ss.find(subj); i >= 0 {
		return ss.ent(uint32(i))
	}
	return nil
}

// add records a new message of subj at seq, the subject's newest.
func (ss *subjects) add(subj string, seq uint64) {
	pos, ok := ss.probe(subj)
	if ok {
		e := ss.ent(ss.table[pos] - 1)
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
	var slot uint32
	if n := len(ss.free); n > 0 {
		slot = ss.free[n-1]
		ss.free = ss.free[:n-1]
	} else {
		if ss.nslots == len(ss.ents)*entChunk {
			ss.ents = append(ss.ents, make([]subjEntry, entChunk))
		}
		slot = uint32(ss.nslots)
		ss.nslots++
	}
	*ss.ent(slot) = subjEntry{off: ss.intern(subj), slen: uint16(len(subj)), n: 1, first: seq, last: seq}
	ss.table[pos] = slot + 1
	ss.live++
	if ss.live*4 > len(ss.table)*3 {
		ss.rehash(len(ss.table) * 2)
	}
}

// rehash rebuilds the table with size positions.
func (ss *subjects) rehash(size int) {
	ss.table = make([]uint32, size)
	mask := size - 1
	for i := 0; i < ss.nslots; i++ {
		e := ss.ent(uint32(i))
		if e.slen == 0 {
			continue
		}
		p := ss.home(ss.name(e))
		for ss.table[p] != 0 {
			p = (p + 1) & mask
		}
		ss.table[p] = uint32(i) + 1
	}
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
	pos, ok := ss.probe(subj)
	if !ok {
		return true
	}
	slot := ss.table[pos] - 1
	e := ss.ent(slot)
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
		if e.n == 1 && e.stale == staleFirst {
			// One message left and last is exact: it is also the first.
			e.first, e.stale = e.last, 0
		}
		return false
	}
	ss.unlink(pos)
	ss.garbage += int(e.slen)
	*e = subjEntry{}
	ss.free = append(ss.free, slot)
	ss.live--
	ss.maybeCompact()
	return true
}

// unlink empties table position pos, moving later entries of the probe
// run back so that every entry stays reachable from its home.
func (ss *subjects) unlink(pos int) {
	mask := len(ss.table) - 1
	ss.table[pos] = 0
	for j := (pos + 1) & mask; ss.table[j] != 0; j = (j + 1) & mask {
		home := ss.home(ss.name(ss.ent(ss.table[j] - 1)))
		// The entry at j may fill pos when its home is not in (pos, j].
		if (j > pos && (home <= pos || home > j)) || (j < pos && home <= pos && home > j) {
			ss.table[pos], ss.table[j] = ss.table[j], 0
			pos = j
		}
	}
}

// maybeCompact rewrites the arena when removed names dominate it. Names
// handed out before keep aliasing the old chunks, which are never written.
func (ss *subjects) maybeCompact() {
	size := len(ss.arena) * arenaChunk
	if ss.garbage < 1<<20 || ss.garbage < size/2 {
		return
	}
	old := ss.arena
	ss.arena = nil
	for i := 0; i < ss.nslots; i++ {
		if e := ss.ent(uint32(i)); e.slen != 0 {
			e.off = ss.intern(unsafe.String(&old[e.off>>arenaShift][e.off&(arenaChunk-1)], int(e.slen)))
		}
	}
	ss.garbage = 0
}

// reset drops every subject.
func (ss *subjects) reset() {
	*ss = subjects{seed: ss.seed, table: make([]uint32, 64)}
}

// each calls fn for every subject until it returns false. fn must not add
// or remove subjects.
func (ss *subjects) each(fn func(name string, e *subjEntry) bool) {
	for i := 0; i < ss.nslots; i++ {
		e := ss.ent(uint32(i))
		if e.slen != 0 && !fn(ss.name(e), e) {
			return
		}
	}
}
