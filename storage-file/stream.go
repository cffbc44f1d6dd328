package storagefile

import (
	"crypto/cipher"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// fstream is an open stream: its blocks, the in-memory state recovered
// from them, and its consumers.
type fstream struct {
	p    *Provider
	dir  string
	mu   sync.RWMutex // guards everything below but the atomics; taken after Provider.mu
	cfg  store.StreamConfig
	aead cipher.AEAD
	// cipherID is the cipher of aead.
	cipherID  uint8
	blockSize int64

	blks      []*block // ascending index; the last is the active block
	nextIndex uint32
	first     uint64
	last      uint64
	lastTime  int64
	nmsgs     uint64
	nbytes    uint64
	subjs     *subjects
	lost      *store.LostData

	cons   map[string]*consumer
	closed bool
	failed atomic.Pointer[failure] // a write failed: the next write reloads from disk

	badMu  sync.Mutex // guards badBlk
	badBlk map[*block]struct{}
	hasBad atomic.Bool

	tombed  map[uint64]struct{} // during a rebuild: the sequences tombstones deleted
	tombs   []tombEntry         // deletes of the current write, not yet in a frame
	tombBuf []byte
	touched []*block // sealed blocks the current write thinned

	bulk      atomic.Bool    // restoring: writes do not wait for syncs
	sealing   sync.WaitGroup // seal jobs of the stream under way
	ftSeq     atomic.Uint64  // the first sequence whose time ftTime caches
	ftTime    atomic.Int64
	changes   atomic.Int64 // changes since the state file
	stateAt   atomic.Int64 // when it was written, Unix ns
	stateBusy sync.Mutex   // one state write at a time
}

func (st *fstream) fs() vfs.FS             { return st.p.fs }
func (st *fstream) msgDir() string         { return st.fs().PathJoin(st.dir, "msgs") }
func (st *fstream) obsDir() string         { return st.fs().PathJoin(st.dir, "obs") }
func (st *fstream) statePath() string      { return st.fs().PathJoin(st.dir, "state.dat") }
func (st *fstream) syncDir(d string) error { return syncDir(st.fs(), d) }
func (st *fstream) blockPath(i uint32) string {
	return st.fs().PathJoin(st.msgDir(), fmt.Sprintf("%08x.blk", i))
}
func (st *fstream) idxPath(i uint32) string {
	return st.fs().PathJoin(st.msgDir(), fmt.Sprintf("%08x.idx", i))
}

func (st *fstream) logf(format string, args ...any) {
	st.p.logf("stream %s/%s: "+format, append([]any{st.cfg.Account, st.cfg.Name}, args...)...)
}

// active returns the block that takes appends.
func (st *fstream) active() *block { return st.blks[len(st.blks)-1] }

// size is the accounted size of a message.
func (st *fstream) size(slen, hlen, dlen int) uint64 {
	if st.cfg.Storage == store.MemoryStorage {
		return uint64(slen + hlen + dlen + 16)
	}
	n := 22 + slen + dlen + 8
	if hlen > 0 {
		n += 4 + hlen
	}
	return uint64(n)
}

// metaOf packs a message's accounted size and TTL class for an index.
func (st *fstream) metaOf(ev *event) uint32 {
	return uint32(st.size(len(ev.subj), int(ev.hlen), int(ev.dlen)))&metaSizeMask | ttlClass(ev.ttl)<<30
}

// blockFor returns the block whose sequence domain holds seq, or nil.
func (st *fstream) blockFor(seq uint64) (*block, int) {
	i := sort.Search(len(st.blks), func(i int) bool { return st.blks[i].lo > seq }) - 1
	if i < 0 {
		return nil, -1
	}
	return st.blks[i], i
}

// resetSeqs puts an empty stream back to the sequences of a new one.
func (st *fstream) resetSeqs() {
	st.first, st.last, st.lastTime = 0, 0, 0
	if st.cfg.FirstSeq > 0 {
		st.first, st.last = st.cfg.FirstSeq, st.cfg.FirstSeq-1
	}
}

// applyMsg adds a message frame of block b to the state.
func (st *fstream) applyMsg(b *block, ev *event) {
	sz := st.blockAdd(b, ev)
	seq := ev.seq
	if st.nmsgs == 0 {
		st.first = seq
	}
	st.nmsgs++
	st.nbytes += sz
	if seq >= st.last {
		st.last, st.lastTime = seq, ev.ts
	}
	st.subjs.add(ev.subj, seq)
}

// blockAdd adds a message frame to b's bookkeeping and returns its
// accounted size.
func (st *fstream) blockAdd(b *block, ev *event) uint64 {
	seq := ev.seq
	if b.first == 0 {
		b.first, b.last, b.tsFirst = seq, seq, ev.ts
		if b.ix != nil && !b.sealed && ev.flen > 0 {
			// A block of messages like its first one holds about this many.
			b.ix.hint = int(min(st.blockSize/int64(ev.flen)+1, 1<<16))
		}
	} else {
		if seq > b.last+1 {
			b.del.setRange(b.last+1-b.first, seq-1-b.first)
		}
		b.last = seq
	}
	b.lseq = max(b.lseq, seq)
	if b.ix != nil {
		b.ix.put(b.first, seq, ev.off, ev.subj, st.metaOf(ev))
	}
	sz := st.size(len(ev.subj), int(ev.hlen), int(ev.dlen))
	b.nmsgs++
	b.bytes += sz
	switch {
	case ev.ttl > 0:
		exp := ev.ts + ev.ttl*1e9
		if b.nttl == 0 {
			b.ttlMin, b.ttlDirty = exp, false
		} else if !b.ttlDirty && exp < b.ttlMin {
			b.ttlMin = exp
		}
		b.nttl++
	case ev.ttl == 0:
		b.nage++
	}
	return sz
}

// applyDelete removes the live message seq, described by ev (subject,
// sizes, TTL), and reports whether there was one.
func (st *fstream) applyDelete(ev *event) bool {
	b, _ := st.blockFor(ev.seq)
	if b == nil || !b.has(ev.seq) {
		return false
	}
	st.deleteIn(b, ev.seq, ev.subj, uint64(ev.size), ev.class)
	return true
}

// deleteIn removes live message seq of b.
func (st *fstream) deleteIn(b *block, seq uint64, subj string, sz uint64, class uint32) {
	b.del.set(seq - b.first)
	b.nmsgs--
	b.bytes -= sz
	switch class {
	case ttlClassTTL:
		b.nttl--
		b.ttlDirty = b.nttl > 0
	case ttlClassAge:
		b.nage--
	}
	st.nmsgs--
	st.nbytes -= sz
	st.subjs.remove(subj, seq)
	if seq == st.first {
		st.advanceFirst()
	}
}

// advanceFirst moves first to the lowest live sequence.
func (st *fstream) advanceFirst() {
	if st.nmsgs == 0 {
		st.first = st.last + 1
		return
	}
	_, i := st.blockFor(st.first)
	for i = max(i, 0); i < len(st.blks); i++ {
		b := st.blks[i]
		if b.nmsgs == 0 {
			continue
		}
		from := uint64(0)
		if st.first > b.first {
			from = st.first - b.first
		}
		if j := b.del.nextClear(from, b.last-b.first+1); j <= b.last-b.first {
			st.first = b.first + j
			return
		}
	}
	st.first = st.last + 1
}

// applySkip records that sequences up to seq are used, the last at ts.
func (st *fstream) applySkip(b *block, seq uint64, ts int64, exact bool) {
	b.lseq = max(b.lseq, seq)
	if exact || seq >= st.last {
		st.last, st.lastTime = seq, ts
	}
	if st.nmsgs == 0 {
		st.first = st.last + 1
	}
}

// applyEvent applies one replayed event of block b.
func (st *fstream) applyEvent(b *block, ev *event) {
	switch ev.kind {
	case kindMsg:
		st.applyMsg(b, ev)
	case kindErased:
		b.lseq = max(b.lseq, ev.seq)
		if b.first == 0 {
			b.first, b.last = ev.seq, ev.seq
			b.del.set(0)
		} else if ev.seq > b.last {
			b.del.setRange(b.last+1-b.first, ev.seq-b.first)
			b.last = ev.seq
		}
		if ev.seq >= st.last {
			st.last = ev.seq
		}
		if st.nmsgs == 0 {
			st.first = st.last + 1
		}
	case kindTomb:
		b.noteTomb(ev.seq)
		if st.tombed != nil {
			st.tombed[ev.seq] = struct{}{}
		}
		st.applyDelete(ev)
	case kindSkip:
		st.applySkip(b, ev.seq, ev.ts, false)
	case kindSetLast:
		st.applySkip(b, ev.seq, ev.ts, true)
	case kindPurge:
		b.purgeMark = max(b.purgeMark, ev.seq)
		st.replayPurge(ev.seq)
	}
}

// noteTomb records that b carries a tombstone for seq.
func (b *block) noteTomb(seq uint64) {
	if b.ntomb == 0 || seq < b.tombMin {
		b.tombMin = seq
	}
	b.tombMax = max(b.tombMax, seq)
	b.ntomb++
}

// replayPurge removes every message below seq, as recovery finds a purge
// marker. Subjects come from the blocks' indexes.
func (st *fstream) replayPurge(seq uint64) {
	for _, b := range st.blks {
		if b.nmsgs == 0 || b.first >= seq {
			continue
		}
		st.purgeBlockBelow(b, seq)
	}
	if st.nmsgs == 0 && seq > st.first {
		st.first = seq
	}
}

// purgeBlockBelow removes the live messages of b below seq and returns how
// many. It needs the block's index; when that cannot be read it drops them
// without subjects and rebuilds the subject index afterwards.
func (st *fstream) purgeBlockBelow(b *block, seq uint64) uint64 {
	end := min(seq-1, b.last)
	if b.first > end {
		return 0
	}
	ix, err := b.getIndex()
	var n uint64
	for q := b.first; q <= end; q++ {
		if b.del.has(q - b.first) {
			continue
		}
		if st.tombed != nil {
			st.tombed[q] = struct{}{}
		}
		if err != nil {
			b.del.set(q - b.first)
			n++
			continue
		}
		_, subj, meta, ok := ix.at(b.first, q)
		if !ok {
			b.del.set(q - b.first)
			n++
			continue
		}
		st.deleteIn(b, q, subj, metaSize(meta), metaTTL(meta))
		n++
	}
	if err != nil || b.del.n != b.last-b.first+1-b.nmsgs {
		st.logf("purge without a readable index of block %d: rebuilding counts", b.index)
		st.rebuildDerived()
	}
	return n
}
