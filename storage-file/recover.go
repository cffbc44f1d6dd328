package storagefile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// blockFile is a block file found on disk.
type blockFile struct {
	index uint32
	size  int64
	h     fileHeader
	ok    bool // the header is intact
}

// recover rebuilds the stream's state from its files: from the state file
// and the frames after its checkpoint when the state file still matches the
// blocks, else from every block (its summary when it has a valid one, its
// frames otherwise). The active block's torn tail is cut. mu held or the
// stream not yet shared.
func (st *fstream) recover() error {
	if err := mkdirAllSync(st.fs(), st.msgDir()); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	files, order, err := st.scanDir()
	if err != nil {
		return err
	}
	st.resetMemory()
	ok := false
	var prior *streamState
	if raw, err := readAll(st.fs(), st.statePath()); err == nil {
		if s, good := st.decodeState(raw); !good {
			st.logf("state file is damaged; rebuilding from the blocks")
		} else if ok = st.fromState(s, files, order); !ok {
			st.logf("state file does not match the blocks; rebuilding from the blocks")
			st.resetMemory()
			// Decoding again: fromState adopted the first copy's blocks.
			prior, _ = st.decodeState(raw)
		}
	}
	if !ok {
		if prior != nil {
			st.tombed = make(map[uint64]struct{})
		}
		for _, i := range order {
			if err := st.replayBlock(files[i], i == order[len(order)-1]); err != nil {
				return err
			}
		}
	}
	if err := st.openActive(files); err != nil {
		return err
	}
	if prior != nil {
		st.reconcile(prior)
		st.tombed = nil
	}
	if len(st.tombs) > 0 {
		// Deletes only a damaged block's summary or an old state file
		// still knew: write them again.
		if err := st.flushTombs(); err != nil {
			return err
		}
		if err := st.syncActive(); err != nil {
			return err
		}
	}
	if st.hasBad.Load() {
		st.fixBad()
	}
	return nil
}

// resetMemory forgets the in-memory state.
func (st *fstream) resetMemory() {
	for _, b := range st.blks {
		b.release()
	}
	st.blks = nil
	st.subjs.reset()
	st.nmsgs, st.nbytes = 0, 0
	st.lost = nil
	st.resetSeqs()
	st.tombs, st.touched = nil, nil
}

// scanDir lists the block files, drops temporary files and the blocks a
// void header superseded, and returns the rest in index order.
func (st *fstream) scanDir() (map[uint32]*blockFile, []uint32, error) {
	fs := st.fs()
	names, err := fs.List(st.msgDir())
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: list blocks: %w", err)
	}
	files := make(map[uint32]*blockFile)
	var idxFiles []uint32
	for _, n := range names {
		path := fs.PathJoin(st.msgDir(), n)
		if strings.HasSuffix(n, ".tmp") {
			_ = fs.Remove(path)
			continue
		}
		base, ext, _ := strings.Cut(n, ".")
		i, err := strconv.ParseUint(base, 16, 32)
		if err != nil || len(base) != 8 {
			continue
		}
		if ext == "idx" {
			idxFiles = append(idxFiles, uint32(i))
			continue
		}
		if ext != "blk" {
			continue
		}
		bf := &blockFile{index: uint32(i)}
		if fi, err := fs.Stat(path); err == nil {
			bf.size = fi.Size()
		}
		if head, err := readHead(fs, path); err == nil {
			bf.h, bf.ok = decodeHeader(head, blockMagic)
		}
		files[bf.index] = bf
		st.nextIndex = max(st.nextIndex, bf.index+1)
	}
	voided := false
	for _, v := range files {
		if !v.ok || v.h.voidTo == 0 {
			continue
		}
		for i, f := range files {
			if i >= v.h.voidFrom && i <= v.h.voidTo && i < v.index {
				_ = fs.Remove(st.blockPath(f.index))
				_ = fs.Remove(st.idxPath(f.index))
				delete(files, i)
				voided = true
			}
		}
	}
	for _, i := range idxFiles {
		if files[i] == nil {
			_ = fs.Remove(st.idxPath(i))
		}
	}
	if voided {
		if err := st.syncDir(st.msgDir()); err != nil {
			return nil, nil, err
		}
	}
	order := make([]uint32, 0, len(files))
	for i := range files {
		order = append(order, i)
	}
	slices.Sort(order)
	return files, order, nil
}

func readHead(fs vfs.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, hdrLen)
	n, err := f.ReadAt(b, 0)
	if n == hdrLen {
		err = nil
	}
	return b, err
}

// fromState adopts a state file and replays what follows its checkpoint;
// false means the state does not match the files.
func (st *fstream) fromState(s *streamState, files map[uint32]*blockFile, order []uint32) bool {
	in := make(map[uint32]bool, len(s.blocks))
	for _, b := range s.blocks {
		f := files[b.index]
		if f == nil || !f.ok || f.h.layout != b.layout {
			return false
		}
		in[b.index] = true
	}
	if len(s.blocks) == 0 || s.blocks[len(s.blocks)-1].index != s.ckIndex {
		return false
	}
	for _, i := range order {
		if i <= s.ckIndex && !in[i] {
			return false
		}
	}
	st.first, st.last, st.lastTime = s.first, s.last, s.lastTime
	st.nmsgs, st.nbytes = s.nmsgs, s.nbytes
	st.nextIndex = max(st.nextIndex, s.nextIndex)
	st.lost = s.lostData()
	for _, b := range s.blocks {
		f := files[b.index]
		b.salt = f.h.salt
		b.comp.Store(f.h.flags&flagCompressed != 0)
		st.blks = append(st.blks, b)
	}
	for _, e := range s.subjs {
		st.subjs.addCounted(e.name, e.n, e.first, e.last, e.stale)
	}
	ck := st.blks[len(st.blks)-1]
	ck.sealed = false
	raw, err := readAll(st.fs(), st.blockPath(ck.index))
	if err != nil {
		return false
	}
	view, bad, end, _ := decodeBlock(raw, st.aead, &ck.salt)
	if int64(end) < s.ckSize {
		return false
	}
	if !st.replayView(ck, view[:end], int(s.ckSize), bad) {
		return false
	}
	for _, i := range order {
		if i > s.ckIndex {
			if err := st.replayBlock(files[i], i == order[len(order)-1]); err != nil {
				return false
			}
		}
	}
	return true
}

// replayBlock replays one block in full, from its summary when it has a
// valid one (and is not the last block, which may have grown since), else
// from its frames.
func (st *fstream) replayBlock(f *blockFile, last bool) error {
	b := &block{st: st, index: f.index, salt: f.h.salt, layout: f.h.layout, lo: st.last + 1, hdrBad: !f.ok}
	b.comp.Store(f.h.flags&flagCompressed != 0)
	st.blks = append(st.blks, b)
	if !last || b.compressed() || !f.ok {
		if sm := st.readSummary(b, false); sm != nil {
			// A summary is written when a block is sealed; it lists every
			// frame, so it also witnesses what damage took from the block.
			b.sealed = true
			b.size = sm.viewSize
			damaged := !f.ok || sm.fileSize != f.size
			if !f.ok {
				b.salt = sm.salt
				b.comp.Store(sm.compressed)
			}
			for i := range sm.events {
				ev := &sm.events[i]
				st.applyEvent(b, ev)
				if damaged && ev.kind == kindTomb {
					st.tombs = append(st.tombs, tombEntry{seq: ev.seq, subj: ev.subj, size: ev.size, class: ev.class})
				}
			}
			if damaged {
				st.logf("block %d is damaged; its summary says what it held", b.index)
				st.noteBadBlock(b)
			}
			return nil
		}
	}
	raw, err := readAll(st.fs(), st.blockPath(b.index))
	if err != nil {
		return fmt.Errorf("filestore: read block %d: %w", b.index, err)
	}
	view, bad, end, _ := decodeBlock(raw, st.aead, nil)
	b.sealed = !last || b.compressed()
	st.replayView(b, view[:end], hdrLen, bad)
	return nil
}

// replayView applies the frames of b's view from offset from; the frames
// before it are already counted and only indexed. bad lists the damaged
// spans decodeBlock found. false means the view is shorter than from.
func (st *fstream) replayView(b *block, view []byte, from int, bad []span) bool {
	if len(view) < from {
		return false
	}
	tl := st.trailer()
	b.ix = newIndex()
	if from > hdrLen {
		viewEvents(view[:from], tl, 0, func(ev *event) {
			if ev.kind == kindMsg && b.first != 0 && ev.seq >= b.first && ev.seq <= b.last {
				b.ix.put(b.first, ev.seq, ev.off, ev.subj, st.metaOf(ev))
			}
		})
	}
	var prev uint64
	var ev event
	gap := false
	for off := hdrLen; off+frameHead <= len(view); {
		n := int(getU32(view[off:]))
		if n < frameHead || off+n > len(view) {
			break
		}
		fr := view[off : off+n]
		switch k := frameKind(fr[4]); {
		case k == kindBad:
			gap = true
		case k == kindChunk:
		case off < from:
			if k == kindMsg || k == kindErased {
				prev = msgSeqOf(fr)
			}
		default:
			frameEvents(fr, off, tl, &ev, func(ev *event) {
				if ev.kind == kindMsg || ev.kind == kindErased {
					if gap && ev.seq > prev+1 {
						st.addLost(prev+1, ev.seq-1)
					}
					gap, prev = false, ev.seq
				}
				st.applyEvent(b, ev)
			})
		}
		off += n
	}
	b.size = int64(len(view))
	b.cmu.Lock()
	b.view = view
	b.chargeLocked()
	b.cmu.Unlock()
	if len(bad) > 0 {
		st.logf("block %d: %d damaged spans", b.index, len(bad))
		st.noteBadBlock(b)
	}
	return true
}

// reconcile compares a rebuild with a state file that did not match (a
// block was damaged, say). For a block that is still there with the same
// layout, the state file is a second witness: a message it counted deleted
// stays deleted (the tombstone that said so may be what was damaged), and a
// message it counted live that the rebuild found neither in the block nor
// deleted by a tombstone is lost.
func (st *fstream) reconcile(prior *streamState) {
	byIndex := make(map[uint32]*block, len(st.blks))
	for _, b := range st.blks {
		byIndex[b.index] = b
	}
	for _, pb := range prior.blocks {
		b := byIndex[pb.index]
		if b == nil || !b.hdrBad && b.layout != pb.layout || pb.first == 0 {
			continue // gone, or compacted: its frames moved and some left rightly
		}
		for q := pb.first; q <= pb.last; q++ {
			live := !pb.del.has(q - pb.first)
			switch {
			case !live && b.has(q):
				if err := st.removeLive(b, q); err != nil {
					st.logf("re-delete %d: %v", q, err)
				}
			case live && !b.has(q):
				if _, gone := st.tombed[q]; !gone {
					st.addLost(q, q)
				}
			}
		}
	}
}

// addLost records that the sequences [lo, hi] could not be recovered.
func (st *fstream) addLost(lo, hi uint64) {
	if st.lost == nil {
		st.lost = &store.LostData{}
	}
	for q := lo; q <= hi && len(st.lost.Msgs) < 1<<16; q++ {
		st.lost.Msgs = append(st.lost.Msgs, q)
	}
	st.logf("messages %d to %d are lost to damage", lo, hi)
}

// openActive readies the last block for appends, cutting a torn tail, or
// starts a new block when the last one is sealed or there is none.
func (st *fstream) openActive(files map[uint32]*blockFile) error {
	if len(st.blks) == 0 || st.active().sealed {
		nb, err := st.createBlock(st.nextIndex, st.last+1, 0, 0, nil)
		if err != nil {
			return err
		}
		st.nextIndex++
		st.blks = append(st.blks, nb)
		return nil
	}
	b := st.active()
	f := files[b.index]
	view, err := b.getView()
	if err != nil {
		return err
	}
	if f.size != b.size || !f.ok {
		st.logf("block %d: cutting a torn tail of %d bytes", b.index, f.size-b.size)
		if err := st.cutTail(b, view, f.ok); err != nil {
			return err
		}
	}
	wf, err := st.fs().OpenReadWrite(b.path(), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("filestore: open block %d: %w", b.index, err)
	}
	b.cmu.Lock()
	b.f = wf
	b.flushed, b.synced = b.size, b.size
	b.cmu.Unlock()
	return nil
}

// cutTail drops the bytes after b's valid frames: in place for a plain
// file that can be truncated, else by rewriting the valid part under a new
// salt (an encrypted block must never reuse the nonces of the torn frames).
func (st *fstream) cutTail(b *block, view []byte, headerOK bool) error {
	if st.aead == nil && headerOK {
		f, err := st.fs().OpenReadWrite(b.path(), vfs.WriteCategoryUnspecified)
		if err != nil {
			return err
		}
		defer f.Close()
		if t, ok := f.(interface{ Truncate(int64) error }); ok {
			if err := t.Truncate(b.size); err != nil {
				return err
			}
			return f.Sync()
		}
	}
	_, err := st.rewrite(b, view[:b.size], false, true)
	if err == nil {
		if hd, herr := readHead(st.fs(), b.path()); herr == nil {
			if h, ok := decodeHeader(hd, blockMagic); ok {
				b.salt = h.salt
			}
		}
	}
	return err
}

// noteBadBlock records that readers found damage in b, for the next
// write (or recovery) to account for.
func (st *fstream) noteBadBlock(b *block) {
	st.badMu.Lock()
	if st.badBlk == nil {
		st.badBlk = make(map[*block]struct{})
	}
	st.badBlk[b] = struct{}{}
	st.badMu.Unlock()
	st.hasBad.Store(true)
}

// noteBad is loadView's report of damaged spans.
func (st *fstream) noteBad(b *block, _ []byte, bad []span) {
	st.p.logf("stream %s/%s: block %d: %d damaged spans", st.cfg.Account, st.cfg.Name, b.index, len(bad))
	st.noteBadBlock(b)
}

// fixBad removes from the state every live message whose frame readers or
// recovery found damaged, records it as lost and recounts. mu held.
func (st *fstream) fixBad() {
	st.badMu.Lock()
	blks := st.badBlk
	st.badBlk = nil
	st.hasBad.Store(false)
	st.badMu.Unlock()
	changed := false
	for b := range blks {
		if !slices.Contains(st.blks, b) || b.nmsgs == 0 {
			continue
		}
		view, err := b.getView()
		if err != nil {
			continue
		}
		ix, err := b.getIndex()
		if err != nil {
			continue
		}
		for q := b.first; q <= b.last; q++ {
			if !b.has(q) {
				continue
			}
			off, _, meta, ok := ix.at(b.first, q)
			if ok {
				if fr, good := frameAtOff(view, off); good && frameKind(fr[4]) == kindMsg && msgSeqOf(fr) == q {
					continue
				}
			}
			b.del.set(q - b.first)
			st.addLost(q, q)
			st.lost.Bytes += metaSize(meta)
			changed = true
		}
	}
	if changed {
		st.rebuildDerived()
		st.changes.Add(1)
	}
}

// rebuildDerived recounts every block and the subject index from the
// blocks' indexes and delete maps, after damage or a replay that could not
// keep them exact.
func (st *fstream) rebuildDerived() {
	st.subjs.reset()
	st.nmsgs, st.nbytes = 0, 0
	for _, b := range st.blks {
		b.nmsgs, b.bytes, b.nttl, b.nage, b.ttlDirty = 0, 0, 0, 0, true
		if b.first == 0 {
			continue
		}
		ix, err := b.getIndex()
		for q := b.first; q <= b.last; q++ {
			if b.del.has(q - b.first) {
				continue
			}
			var subj string
			var meta uint32
			ok := false
			if err == nil {
				_, subj, meta, ok = ix.at(b.first, q)
			}
			if !ok {
				b.del.set(q - b.first)
				continue
			}
			b.nmsgs++
			b.bytes += metaSize(meta)
			switch metaTTL(meta) {
			case ttlClassTTL:
				b.nttl++
			case ttlClassAge:
				b.nage++
			}
			st.nmsgs++
			st.nbytes += metaSize(meta)
			st.subjs.add(subj, q)
		}
	}
	st.first = 0
	if len(st.blks) > 0 {
		st.first = st.blks[0].lo
	}
	st.advanceFirst()
}

// reload drops the in-memory state and recovers it from disk, after a
// write failed and memory may hold frames the files lack. mu held.
//
// The new state is built aside and swapped in only when complete, so that a
// reload that fails too (the disk is still full) leaves readers the state
// they had.
func (st *fstream) reload() error {
	st.logf("reloading after a write failure: %v", st.failure())
	nst := &fstream{p: st.p, dir: st.dir, cfg: st.cfg, aead: st.aead, cipherID: st.cipherID,
		blockSize: st.blockSize, subjs: newSubjects(), cons: st.cons}
	if err := nst.recover(); err != nil {
		for _, b := range nst.blks {
			b.release()
		}
		return err // still failed: the next write tries again
	}
	old := st.blks
	st.blks, st.nextIndex = nst.blks, nst.nextIndex
	st.first, st.last, st.lastTime = nst.first, nst.last, nst.lastTime
	st.nmsgs, st.nbytes, st.subjs, st.lost = nst.nmsgs, nst.nbytes, nst.subjs, nst.lost
	st.tombs, st.touched = nil, nil
	for _, b := range st.blks {
		b.st = st
	}
	for _, b := range old {
		b.release()
	}
	st.failed.Store(nil)
	st.ftSeq.Store(0)
	st.changes.Add(1)
	return nil
}
