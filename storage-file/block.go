package storagefile

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// block is one message block file. The active block (the stream's last)
// takes appends; the others are sealed.
//
// The logical fields describe which messages are live; the stream's mu
// guards them. The view (the block's frames, opened: checked and decrypted,
// at their file offsets) and the index are a cache that cmu guards; the
// view of the active block is also its write buffer, flushed from memory to
// the file.
type block struct {
	st     *fstream
	index  uint32
	salt   [8]byte
	layout uint32 // see fileHeader.layout

	// Logical state; guarded by fstream.mu.
	lo           uint64 // first sequence this block may hold
	first, last  uint64 // range of the message frames it holds; 0 when none
	nmsgs, bytes uint64 // live messages and their accounted bytes
	del          dmap   // deleted sequences of [first, last]
	tsFirst      int64  // time of the first message frame
	nttl         uint64 // live messages with a TTL
	ttlMin       int64  // their earliest expiry, when !ttlDirty
	ttlDirty     bool
	nage         uint64 // live messages without TTL, which max age governs
	lseq         uint64 // highest sequence of its message and skip frames
	purgeMark    uint64 // highest purge marker it holds
	ntomb        int    // tombstone entries it holds
	tombMin      uint64 // range of the sequences they delete
	tombMax      uint64
	size         int64 // end of the valid frames
	sealed       bool
	voided       bool // superseded by a void header: its frames no longer matter
	hdrBad       bool // recovery found its header damaged

	// Cache; guarded by cmu. Lock order: fstream.mu, then cmu.
	cmu       sync.Mutex
	view      []byte    // opened frames [0, size), nil when evicted
	ix        *blkIndex // per-sequence offsets and subjects, nil when evicted
	rf        vfs.File  // read handle of a sealed block
	rfUsers   int       // reads under way on rf, which eviction must not close
	pending   bool      // reserve gave out space that commitSpace has not published
	charged   int64     // bytes charged to the provider cache
	ixCharged int64     // the index's part of them
	used      atomic.Uint64

	// File writes. wmu serialises flushes and every replacement of the
	// file (sealing, compaction, erase); ver and gone are guarded by it;
	// flushed, synced and ferr by cmu; salt changes under both.
	wmu     sync.Mutex
	ver     uint64      // bumped by every replacement of the file
	gone    bool        // released: nothing may write its file any more
	comp    atomic.Bool // the file is compressed
	f       vfs.File    // write handle of the active block
	flushed int64
	synced  int64
	ferr    error
	scratch []byte
}

// blkIndex maps a block's sequences to frame offsets and subjects.
type blkIndex struct {
	offs  []uint32 // by seq-first; 0 when the sequence has no frame
	sids  []uint32
	metas []uint32 // accounted size and TTL class, see metaOf
	names []string
	ids   map[string]uint32
	hint  int // expected number of messages, for the first allocation

	mu     sync.Mutex            // guards mcache and bySid against readers building them
	mcache map[string]matchCache // by filter set
	bySid  [][]uint32            // per subject id, its slots ascending; nil until asked
}

// matchCache remembers which subjects of a block a wildcard filter set
// matches, so that a consumer's repeated reads do not match them again. n is
// the number of subjects it was computed for: appends add subjects.
type matchCache struct {
	n     int
	small [4]uint64
	res   []bool
}

func newIndex() *blkIndex { return &blkIndex{ids: make(map[string]uint32)} }

func (ix *blkIndex) sid(subj string) uint32 {
	if id, ok := ix.ids[subj]; ok {
		return id
	}
	id := uint32(len(ix.names))
	subj = string([]byte(subj)) // own it: the caller's string may alias a view
	ix.names = append(ix.names, subj)
	ix.ids[subj] = id
	return id
}

// put records the frame of seq; first is the block's first sequence.
func (ix *blkIndex) put(first, seq uint64, off uint32, subj string, meta uint32) {
	i := int(seq - first)
	if ix.offs == nil && ix.hint > 0 {
		ix.offs = make([]uint32, 0, ix.hint)
		ix.sids = make([]uint32, 0, ix.hint)
		ix.metas = make([]uint32, 0, ix.hint)
	}
	for len(ix.offs) < i {
		ix.offs = append(ix.offs, 0)
		ix.sids = append(ix.sids, 0)
		ix.metas = append(ix.metas, 0)
	}
	id := ix.sid(subj)
	ix.offs = append(ix.offs, off)
	ix.sids = append(ix.sids, id)
	ix.metas = append(ix.metas, meta)
	if ix.bySid != nil {
		// Appends happen under the stream's write lock: no reader is here.
		for len(ix.bySid) <= int(id) {
			ix.bySid = append(ix.bySid, nil)
		}
		ix.bySid[id] = append(ix.bySid[id], uint32(i))
	}
}

// slots returns the slots of subject id, ascending, building the lists of
// every subject on first use.
func (ix *blkIndex) slots(id uint32) []uint32 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.bySid == nil {
		counts := make([]int, len(ix.names))
		for i, o := range ix.offs {
			if o != 0 {
				counts[ix.sids[i]]++
			}
		}
		by := make([][]uint32, len(ix.names))
		for i := range by {
			by[i] = make([]uint32, 0, counts[i])
		}
		for i, o := range ix.offs {
			if o != 0 {
				by[ix.sids[i]] = append(by[ix.sids[i]], uint32(i))
			}
		}
		ix.bySid = by
	}
	if int(id) >= len(ix.bySid) {
		return nil
	}
	return ix.bySid[id]
}

// at returns the offset, subject and meta of seq, with ok false when the
// block has no frame for it.
func (ix *blkIndex) at(first, seq uint64) (off uint32, subj string, meta uint32, ok bool) {
	i := seq - first
	if seq < first || i >= uint64(len(ix.offs)) || ix.offs[i] == 0 {
		return 0, "", 0, false
	}
	return ix.offs[i], ix.names[ix.sids[i]], ix.metas[i], true
}

// TTL classes kept in the top bits of an index meta.
const (
	ttlClassAge   = 0
	ttlClassTTL   = 1
	ttlClassNever = 2
	metaSizeMask  = 1<<30 - 1
)

func ttlClass(ttl int64) uint32 {
	switch {
	case ttl > 0:
		return ttlClassTTL
	case ttl < 0:
		return ttlClassNever
	}
	return ttlClassAge
}

func metaSize(m uint32) uint64 { return uint64(m & metaSizeMask) }
func metaTTL(m uint32) uint32  { return m >> 30 }

func (ix *blkIndex) memSize() int64 {
	n := int64(cap(ix.offs)*16 + len(ix.names)*80)
	for _, s := range ix.names {
		n += int64(len(s)) + 16
	}
	return n
}

// span is a damaged byte range of a view.
type span struct{ off, end int }

func (b *block) path() string     { return b.st.blockPath(b.index) }
func (b *block) idxPath() string  { return b.st.idxPath(b.index) }
func (b *block) sealer() *sealer  { return &sealer{aead: b.st.aead, salt: b.salt} }
func (b *block) trailer() int     { return b.st.trailer() }
func (b *block) encrypted() bool  { return b.st.aead != nil }
func (b *block) empty() bool      { return b.first == 0 }
func (b *block) compressed() bool { return b.comp.Load() }
func (b *block) has(seq uint64) bool {
	return b.first != 0 && seq >= b.first && seq <= b.last && !b.del.has(seq-b.first)
}

// createBlock creates the file of a new active block holding content (opened
// frames, often none) and makes it durable under its name: written to a
// temporary file, synced and renamed, so that a header that voids blocks
// [voidFrom, voidTo] never becomes visible without the frames that replace
// them.
func (st *fstream) createBlock(index uint32, lo uint64, voidFrom, voidTo uint32, content []byte) (*block, error) {
	b := &block{st: st, index: index, salt: newSalt(), lo: lo, layout: newLayout()}
	h := fileHeader{magic: blockMagic, index: index, salt: b.salt, voidFrom: voidFrom, voidTo: voidTo, layout: b.layout}
	if st.aead != nil {
		h.flags, h.cipher = flagEncrypted, st.cipherID
	}
	view := append(make([]byte, 0, max(64<<10, hdrLen+len(content))), h.encode()...)
	view = append(view, content...)
	file := view
	if st.aead != nil && len(content) > 0 {
		file = sealView(view, h, st.aead)
	}
	if err := writeFileAtomic(st.fs(), b.path(), file); err != nil {
		return nil, fmt.Errorf("filestore: create block: %w", err)
	}
	f, err := st.fs().OpenReadWrite(b.path(), vfs.WriteCategoryUnspecified)
	if err != nil {
		_ = st.fs().Remove(b.path())
		return nil, fmt.Errorf("filestore: create block: %w", err)
	}
	b.f = f
	b.view = view
	b.size, b.flushed, b.synced = int64(len(view)), int64(len(view)), int64(len(view))
	b.ix = newIndex()
	b.charge()
	return b, nil
}

// reserve returns n writable bytes after the active block's view, to be
// filled and then published with commitSpace. Only the stream's writer
// (holding fstream.mu) calls it.
func (b *block) reserve(n int) ([]byte, error) {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if b.view == nil {
		if err := b.loadViewLocked(); err != nil {
			return nil, err
		}
	}
	l := len(b.view)
	if cap(b.view)-l < n {
		// Grow by eight: a busy block reaches its full size in two copies,
		// while a quiet stream's block stays small.
		c := max(8*cap(b.view), l+n)
		if lim := int(b.st.blockSize) + n; c > lim && l+n <= lim {
			c = lim
		}
		nv := make([]byte, l, c)
		copy(nv, b.view)
		b.view = nv
		b.chargeLocked() // the caller trims, without cmu
	}
	b.pending = true
	return b.view[l : l+n], nil
}

// commit publishes n reserved bytes.
func (b *block) commitSpace(n int) {
	b.cmu.Lock()
	b.view = b.view[:len(b.view)+n]
	b.size = int64(len(b.view))
	b.pending = false
	b.cmu.Unlock()
}

// flush writes the view's unwritten frames to the file.
func (b *block) flush() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.cmu.Lock()
	if b.ferr != nil {
		b.cmu.Unlock()
		return b.ferr
	}
	if b.f == nil {
		// Nothing to write, unless frames were appended to a block whose
		// file is gone: say so rather than let a committer wait forever.
		var err error
		if b.view != nil && int64(len(b.view)) > b.flushed && !b.voided {
			err = fmt.Errorf("%w: block %d is not open for writing", store.ErrClosed, b.index)
			b.ferr = err
		}
		b.cmu.Unlock()
		return err
	}
	off := b.flushed
	if int64(len(b.view)) <= off {
		// Nothing new, or the view was evicted once all of it was written.
		b.cmu.Unlock()
		return nil
	}
	data := b.view[off:len(b.view)]
	f := b.f
	b.cmu.Unlock()
	if len(data) == 0 {
		return nil
	}
	if b.encrypted() {
		b.scratch = append(b.scratch[:0], data...)
		data = b.scratch
		sl := b.sealer()
		for p := 0; p < len(data); {
			n := int(getU32(data[p:]))
			sl.seal(data[p:p+n], uint32(off)+uint32(p))
			p += n
		}
	}
	_, err := f.WriteAt(data, off)
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if err != nil {
		b.ferr = fmt.Errorf("filestore: write %s: %w", b.path(), err)
		return b.ferr
	}
	b.flushed = off + int64(len(data))
	return nil
}

// fsync makes the written frames durable.
func (b *block) fsync() error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.cmu.Lock()
	target, f, err := b.flushed, b.f, b.ferr
	if err != nil || f == nil || b.synced >= target {
		b.cmu.Unlock()
		return err
	}
	b.cmu.Unlock()
	err = f.Sync()
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if err != nil {
		b.ferr = fmt.Errorf("filestore: sync %s: %w", b.path(), err)
		return b.ferr
	}
	b.synced = max(b.synced, target)
	return nil
}

// durable implements syncable.
func (b *block) durable(pos int64) (bool, error) {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if b.ferr != nil {
		return false, b.ferr
	}
	return b.synced >= pos || b.voided, nil
}

// writtenEnd is the end of the frames appended so far, to wait for.
func (b *block) writtenEnd() int64 {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	return max(int64(len(b.view)), b.size)
}

// closeFiles closes the block's handles after flushing; the view stays.
func (b *block) closeFiles() error {
	err := b.flush()
	if err == nil {
		err = b.fsync()
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if b.f != nil {
		if cerr := b.f.Close(); err == nil {
			err = cerr
		}
		b.f = nil
	}
	if b.rf != nil {
		_ = b.rf.Close()
		b.rf = nil
	}
	return err
}

// release drops the block from the cache and closes its handles, for a
// block that goes away.
func (b *block) release() {
	b.wmu.Lock()
	b.gone = true
	b.cmu.Lock()
	if b.f != nil {
		_ = b.f.Close()
		b.f = nil
	}
	if b.rf != nil {
		_ = b.rf.Close()
		b.rf = nil
	}
	b.view, b.ix = nil, nil
	if b.ferr == nil {
		b.ferr = fmt.Errorf("%w: block removed", store.ErrClosed)
	}
	b.cmu.Unlock()
	b.wmu.Unlock()
	b.st.p.cache.forget(b)
}

// readFile reads the whole block file.
func (b *block) readFile() ([]byte, error) {
	f, err := b.st.fs().Open(b.path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, fi.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// loadViewLocked reads and opens the block's frames. Damaged frames become
// kindBad spans and are reported to the stream as lost messages. cmu held.
func (b *block) loadViewLocked() error {
	raw, err := b.readFile()
	if err != nil {
		return fmt.Errorf("filestore: read block %d: %w", b.index, err)
	}
	salt := b.salt
	view, bad, end, _ := decodeBlock(raw, b.st.aead, &salt)
	if int64(end) > b.size && b.size > 0 {
		end = int(b.size)
	}
	if b.size > 0 && int64(end) < b.size {
		// The file lost frames it had: report the lost part as damage.
		bad = append(bad, span{end, int(b.size)})
		view = append(view[:end], make([]byte, int(b.size)-end)...)
		markBad(view, end, int(b.size))
	}
	view = view[:max(int64(end), b.size)]
	if b.f != nil && int64(len(view)) < b.flushed {
		return fmt.Errorf("filestore: block %d is shorter than written", b.index)
	}
	b.view = view
	if len(bad) > 0 {
		b.st.noteBad(b, view, bad)
	}
	b.chargeLocked()
	return nil
}

// markBad turns [off, end) of view into one kindBad frame (or several when
// longer than a frame may be), so that walks step over it.
func markBad(view []byte, off, end int) {
	for off < end {
		n := min(end-off, maxFrame)
		if n < frameHead {
			for i := off; i < end; i++ {
				view[i] = 0
			}
			return
		}
		putU32(view[off:], uint32(n))
		view[off+4] = byte(kindBad)
		off += n
	}
}

// viewLocked returns the block's view, loading it when evicted. cmu held.
func (b *block) viewLocked() ([]byte, error) {
	if b.view == nil {
		if err := b.loadViewLocked(); err != nil {
			return nil, err
		}
	}
	b.touch()
	return b.view, nil
}

// getView returns the view, loading it when needed.
func (b *block) getView() ([]byte, error) {
	b.cmu.Lock()
	v, err := b.viewLocked()
	b.cmu.Unlock()
	b.st.p.cache.trim()
	return v, err
}

// indexLocked returns the block's index, loading it from the index file or
// building it from the view. cmu held.
func (b *block) indexLocked() (*blkIndex, error) {
	if b.ix != nil {
		b.touch()
		return b.ix, nil
	}
	if ix := b.st.readIndexFile(b); ix != nil {
		b.ix = ix
		b.chargeLocked()
		return ix, nil
	}
	view, err := b.viewLocked()
	if err != nil {
		return nil, err
	}
	ix := newIndex()
	first := b.first
	viewEvents(view, b.trailer(), 0, func(ev *event) {
		if ev.kind == kindMsg && first != 0 && ev.seq >= first && ev.seq <= b.last {
			ix.put(first, ev.seq, ev.off, ev.subj, b.st.metaOf(ev))
		}
	})
	b.ix = ix
	b.chargeLocked()
	return ix, nil
}

// getIndex returns the index, loading it when needed.
func (b *block) getIndex() (*blkIndex, error) {
	b.cmu.Lock()
	ix, err := b.indexLocked()
	b.cmu.Unlock()
	b.st.p.cache.trim()
	return ix, err
}

// walkView calls fn for every intact frame of an opened view, in order,
// until fn returns false.
func walkView(view []byte, tl int, fn func(off int, fr []byte) bool) {
	for off := hdrLen; off+frameHead <= len(view); {
		n := int(getU32(view[off:]))
		if n < frameHead || off+n > len(view) {
			return
		}
		if k := frameKind(view[off+4]); k != kindBad && k != kindChunk {
			if !fn(off, view[off:off+n]) {
				return
			}
		}
		off += n
	}
}

// frameAtOff returns the frame of the view at off.
func frameAtOff(view []byte, off uint32) ([]byte, bool) {
	o := int(off)
	if o+frameHead > len(view) {
		return nil, false
	}
	n := int(getU32(view[o:]))
	if n < frameHead || o+n > len(view) || frameKind(view[o+4]) == kindBad {
		return nil, false
	}
	return view[o : o+n], true
}

// readFrame reads one frame of a sealed, uncompressed block from the file,
// for a load that does not need the whole block.
func (b *block) readFrame(off uint32) ([]byte, error) {
	b.cmu.Lock()
	if b.view != nil {
		v := b.view
		b.touch()
		b.cmu.Unlock()
		if fr, ok := frameAtOff(v, off); ok {
			return fr, nil
		}
		return nil, errBadFrame
	}
	if b.rf == nil {
		f, err := b.st.fs().Open(b.path())
		if err != nil {
			b.cmu.Unlock()
			return nil, err
		}
		b.rf = f
	}
	rf := b.rf
	sl := b.sealer()
	b.rfUsers++
	b.cmu.Unlock()
	defer func() {
		b.cmu.Lock()
		b.rfUsers--
		b.cmu.Unlock()
	}()
	head := make([]byte, 512)
	n, err := rf.ReadAt(head, int64(off))
	if n < frameHead {
		if err == nil || err == io.EOF {
			err = errBadFrame
		}
		return nil, err
	}
	flen := int(getU32(head))
	if flen < frameHead+b.trailer() || flen > maxFrame {
		return nil, errBadFrame
	}
	fr := head
	if flen > len(head) {
		fr = make([]byte, flen)
		if _, err := rf.ReadAt(fr, int64(off)); err != nil && err != io.EOF {
			return nil, err
		}
	} else if n < flen {
		return nil, errBadFrame
	}
	fr = fr[:flen]
	if !sl.open(fr, off) {
		return nil, errBadFrame
	}
	return fr, nil
}

var errBadFrame = fmt.Errorf("%w: filestore: damaged frame", store.ErrCorrupt)

func (b *block) touch() { b.used.Store(b.st.p.cache.tick()) }

func (b *block) charge() {
	b.cmu.Lock()
	b.chargeLocked()
	b.cmu.Unlock()
	b.st.p.cache.trim()
}

// chargeLocked tells the cache how much the block holds. cmu held.
func (b *block) chargeLocked() {
	var n int64
	if b.view != nil {
		n += int64(cap(b.view))
	}
	if b.ix != nil {
		b.ixCharged = b.ix.memSize()
		n += b.ixCharged
	}
	b.touch()
	b.st.p.cache.set(b, n-b.charged)
	b.charged = n
}

// evict drops what can be reloaded and reports the bytes freed. The active
// block keeps its index (which its writer changes without cmu, so evict
// does not look into it) and its unwritten frames.
func (b *block) evict() int64 {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	if b.f != nil && (b.pending || b.flushed < int64(len(b.view)) || b.ferr != nil) {
		return 0
	}
	var freed int64
	if b.view != nil {
		freed += int64(cap(b.view))
		b.view = nil
	}
	if b.f == nil && b.ix != nil {
		freed += b.ixCharged
		b.ix, b.ixCharged = nil, 0
	}
	if b.f == nil && b.rf != nil && b.rfUsers == 0 {
		_ = b.rf.Close()
		b.rf = nil
	}
	freed = min(freed, b.charged)
	b.charged -= freed
	return freed
}
