package storagefile

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// Purge implements store.Writer.
func (st *fstream) Purge(ctx context.Context, req store.PurgeRequest) (uint64, error) {
	if req.Subject != "" && !subject.Valid(req.Subject) {
		return 0, fmt.Errorf("%w: purge subject %q", store.ErrInvalid, req.Subject)
	}
	if err := st.lockWCtx(ctx); err != nil {
		return 0, err
	}
	var n uint64
	err := st.unlockCommit(func() (err error) {
		n, err = st.purge(req)
		return err
	})
	return n, err
}

func (st *fstream) purge(req store.PurgeRequest) (uint64, error) {
	all := req.Subject == "" || req.Subject == ">"
	if all && req.Seq == 0 && req.Keep == 0 {
		return st.purgeAll()
	}
	if all {
		if req.Keep >= st.nmsgs {
			return 0, nil
		}
		cut := req.Seq
		if req.Keep > 0 {
			if k := st.nthNewest(req.Keep); cut == 0 || k < cut {
				cut = k
			}
		}
		return st.dropBelow(cut)
	}
	seqs, err := st.purgeTargets(req)
	if err != nil {
		return 0, err
	}
	for i, q := range seqs {
		if err := st.removeSeq(q); err != nil {
			return uint64(i), err
		}
	}
	return uint64(len(seqs)), nil
}

// nthNewest returns the sequence of the n-th newest live message (n ≥ 1).
func (st *fstream) nthNewest(n uint64) uint64 {
	for i := len(st.blks) - 1; i >= 0; i-- {
		b := st.blks[i]
		if b.nmsgs < n {
			n -= b.nmsgs
			continue
		}
		for q := int64(b.last - b.first); ; q-- {
			q = b.del.prevClear(uint64(q))
			if q < 0 {
				break
			}
			if n--; n == 0 {
				return b.first + uint64(q)
			}
		}
	}
	return st.first
}

// purgeTargets lists, ascending, the sequences a subject purge removes.
func (st *fstream) purgeTargets(req store.PurgeRequest) ([]uint64, error) {
	fs, err := newFilterSet([]string{req.Subject})
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	end := st.last
	if req.Keep == 0 && req.Seq > 0 {
		if req.Seq <= st.first {
			return nil, nil
		}
		end = min(end, req.Seq-1)
	}
	err = st.scan(&fs, st.first, end, func(_ *block, q uint64) bool {
		seqs = append(seqs, q)
		return true
	})
	if err != nil {
		return nil, err
	}
	if req.Keep > 0 {
		if req.Keep >= uint64(len(seqs)) {
			return nil, nil
		}
		seqs = seqs[:uint64(len(seqs))-req.Keep]
	}
	if req.Seq > 0 {
		seqs = seqs[:sort.Search(len(seqs), func(i int) bool { return seqs[i] >= req.Seq })]
	}
	return seqs, nil
}

// syncActive makes the active block durable now, before a change that
// removes files relies on its frames.
func (st *fstream) syncActive() error {
	b := st.active()
	if err := b.flush(); err != nil {
		return err
	}
	return b.fsync()
}

// purgeAll removes every message. The markers go to a fresh block, durable
// before the old blocks are deleted.
func (st *fstream) purgeAll() (uint64, error) {
	n := st.nmsgs
	if st.active().size > hdrLen {
		if err := st.roll(); err != nil {
			return 0, err
		}
	}
	if err := st.appendMarker(kindSkip, st.last, st.lastTime); err != nil {
		return 0, err
	}
	if err := st.appendMarker(kindPurge, st.last+1, 0); err != nil {
		return 0, err
	}
	if err := st.syncActive(); err != nil {
		return 0, err
	}
	old := st.blks[:len(st.blks)-1]
	st.blks = slices.Clone(st.blks[len(st.blks)-1:])
	st.dropFiles(old)
	st.subjs.reset()
	st.nmsgs, st.nbytes = 0, 0
	st.first = st.last + 1
	st.touched = nil
	return n, nil
}

// dropFiles releases blocks and deletes their files.
func (st *fstream) dropFiles(blks []*block) {
	for _, b := range blks {
		b.release()
		_ = st.fs().Remove(b.path())
		_ = st.fs().Remove(b.idxPath())
	}
	if len(blks) > 0 {
		st.changes.Add(1)
	}
}

// dropBelow removes every message below cut and returns how many.
func (st *fstream) dropBelow(cut uint64) (uint64, error) {
	if st.nmsgs == 0 || cut <= st.first {
		return 0, nil
	}
	if cut > st.last {
		return st.purgeAll()
	}
	before := st.nmsgs
	if err := st.appendMarker(kindSkip, st.last, st.lastTime); err != nil {
		return 0, err
	}
	if err := st.appendMarker(kindPurge, cut, 0); err != nil {
		return 0, err
	}
	if err := st.syncActive(); err != nil {
		return 0, err
	}
	for _, b := range slices.Clone(st.blks) {
		if b.nmsgs > 0 && b.first < cut {
			st.purgeBlockBelow(b, cut)
			if b.sealed {
				st.touched = append(st.touched, b)
			}
		}
	}
	return before - st.nmsgs, nil
}

// Compact implements store.Writer.
func (st *fstream) Compact(ctx context.Context, seq uint64) (uint64, error) {
	if err := st.lockWCtx(ctx); err != nil {
		return 0, err
	}
	var n uint64
	err := st.unlockCommit(func() (err error) {
		if seq > st.last+1 {
			if n, err = st.purgeAll(); err != nil {
				return err
			}
			if err = st.appendMarker(kindSetLast, seq-1, st.lastTime); err != nil {
				return err
			}
			return st.appendMarker(kindPurge, seq, 0)
		}
		n, err = st.dropBelow(seq)
		if st.nmsgs == 0 && seq > st.first {
			st.first = seq
		}
		return err
	})
	return n, err
}

// Truncate implements store.Writer.
func (st *fstream) Truncate(ctx context.Context, seq uint64) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	return st.unlockCommit(func() error { return st.truncate(seq) })
}

// truncate removes every message above seq. The cut block's survivors, the
// tombstones older blocks still need and the new last sequence go to a new
// block whose header voids the cut block and every later one, so that the
// change is atomic on disk.
func (st *fstream) truncate(seq uint64) error {
	if seq >= st.last {
		return nil
	}
	st.ftSeq.Store(0) // sequences above seq will be used again
	bk, k := st.blockFor(seq)
	if seq == 0 || bk == nil {
		return st.resetBlocks(seq)
	}
	for _, b := range st.blks[k:] {
		if err := st.dropAbove(b, seq); err != nil {
			return err
		}
	}
	tl := st.trailer()
	nv := make([]byte, hdrLen, bk.size)
	var tombs []tombEntry
	var purge uint64
	var lastTS int64
	for i, b := range st.blks[k:] {
		view, err := b.getView()
		if err != nil {
			return err
		}
		walkView(view, tl, func(_ int, fr []byte) bool {
			switch frameKind(fr[4]) {
			case kindMsg:
				if q := msgSeqOf(fr); i == 0 && q <= seq && b.has(q) {
					nv = append(nv, fr...)
					lastTS = int64(binary.LittleEndian.Uint64(fr[16:]))
				}
			case kindTomb:
				ents, _ := parseTombBody(fr[frameHead : len(fr)-tl])
				for _, e := range ents {
					if e.seq <= seq && st.olderHolds(bk, e.seq) {
						tombs = append(tombs, e)
					}
				}
			case kindPurge:
				purge = max(purge, binary.LittleEndian.Uint64(fr[frameHead:]))
			}
			return true
		})
	}
	if len(tombs) > 0 {
		nv = appendFrame(nv, kindTomb, appendTombBody(nil, tombs), tl, st.aead == nil)
	}
	if purge > 0 && k > 0 {
		nv = appendFrame(nv, kindPurge, marker(purge, 0), tl, st.aead == nil)
	}
	nv = appendFrame(nv, kindSetLast, marker(seq, lastTS), tl, st.aead == nil)
	nb, err := st.createBlock(st.nextIndex, bk.lo, bk.index, st.active().index, nv[hdrLen:])
	if err != nil {
		return err
	}
	st.nextIndex++
	if err := st.indexNewBlock(nb); err != nil {
		return err
	}
	old := st.blks[k:]
	st.blks = append(slices.Clone(st.blks[:k]), nb)
	st.voidFiles(old)
	st.last, st.lastTime = seq, 0
	if st.nmsgs == 0 {
		st.first = seq + 1
	} else if m, err := st.prevMsg(nil, seq); err == nil {
		st.lastTime = m.Time
	}
	return nil
}

// dropAbove removes b's live messages above seq from the state.
func (st *fstream) dropAbove(b *block, seq uint64) error {
	if b.nmsgs == 0 || b.last <= seq {
		return nil
	}
	ix, err := b.getIndex()
	if err != nil {
		return err
	}
	for q := max(b.first, seq+1); q <= b.last; q++ {
		if !b.has(q) {
			continue
		}
		_, subj, meta, ok := ix.at(b.first, q)
		if !ok {
			b.del.set(q - b.first)
			continue
		}
		st.deleteIn(b, q, subj, metaSize(meta), metaTTL(meta))
	}
	return nil
}

// indexNewBlock builds the bookkeeping of a block created with frames
// whose messages the stream already counts.
func (st *fstream) indexNewBlock(nb *block) error {
	view, err := nb.getView()
	if err != nil {
		return err
	}
	viewEvents(view, st.trailer(), 0, func(ev *event) {
		switch ev.kind {
		case kindMsg:
			st.blockAdd(nb, ev)
		case kindTomb:
			nb.noteTomb(ev.seq)
		case kindSkip, kindSetLast:
			nb.lseq = max(nb.lseq, ev.seq)
		case kindPurge:
			nb.purgeMark = max(nb.purgeMark, ev.seq)
		}
	})
	return nil
}

// voidFiles drops blocks a void header superseded.
func (st *fstream) voidFiles(blks []*block) {
	for _, b := range blks {
		b.cmu.Lock()
		b.voided = true
		b.cmu.Unlock()
	}
	st.dropFiles(blks)
	if err := st.syncDir(st.msgDir()); err != nil {
		st.logf("sync after truncate: %v", err)
	}
}

// resetBlocks empties the stream back to a new stream's sequences (seq 0),
// or to last = seq when every message is above seq.
func (st *fstream) resetBlocks(seq uint64) error {
	lo := seq + 1
	if seq == 0 {
		lo = max(st.cfg.FirstSeq, 1)
	}
	var content []byte
	if seq > 0 {
		content = appendFrame(nil, kindSetLast, marker(seq, 0), st.trailer(), st.aead == nil)
	}
	nb, err := st.createBlock(st.nextIndex, lo, st.blks[0].index, st.active().index, content)
	if err != nil {
		return err
	}
	st.nextIndex++
	if err := st.indexNewBlock(nb); err != nil {
		return err
	}
	old := st.blks
	st.blks = []*block{nb}
	st.voidFiles(old)
	st.subjs.reset()
	st.nmsgs, st.nbytes = 0, 0
	if seq == 0 {
		st.resetSeqs()
	} else {
		st.first, st.last, st.lastTime = seq+1, seq, 0
	}
	return nil
}

// eraseFrame overwrites the frame of the removed message seq of b. A plain
// block is overwritten in place; an encrypted or compressed one, whose frames
// cannot be rewritten in place, is rewritten without it.
func (st *fstream) eraseFrame(b *block, seq uint64) error {
	if st.aead != nil || b.compressed() {
		if b == st.active() {
			if err := st.roll(); err != nil {
				return err
			}
		}
		return st.compactBlock(b)
	}
	if err := b.flush(); err != nil {
		return err
	}
	ix, err := b.getIndex()
	if err != nil {
		return err
	}
	i := seq - b.first
	if i >= uint64(len(ix.offs)) || ix.offs[i] == 0 {
		return nil
	}
	off := ix.offs[i]
	view, err := b.getView()
	if err != nil {
		return err
	}
	fr, ok := frameAtOff(view, off)
	if !ok {
		return nil
	}
	ef := make([]byte, len(fr))
	putHead(ef, kindErased)
	binary.LittleEndian.PutUint64(ef[frameHead:], seq)
	(&sealer{}).seal(ef, off)
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.compressed() {
		// The sealer compressed the block meanwhile: rewrite it instead.
		b.wmu.Unlock()
		defer b.wmu.Lock()
		return st.compactBlock(b)
	}
	if err := st.overwriteLocked(b, ef, int64(off)); err != nil {
		return err
	}
	b.ver++ // a seal job still to come must not compress the old frames
	// Readers may hold the old view: the erased one is a copy.
	nv := slices.Clone(view)
	copy(nv[off:], ef)
	b.cmu.Lock()
	b.view = nv
	b.chargeLocked()
	b.cmu.Unlock()
	if b.sealed {
		st.writeSummary(b, nv, int64(len(nv)))
	}
	return nil
}

// overwriteLocked writes data at off of b's file and syncs it. wmu held.
func (st *fstream) overwriteLocked(b *block, data []byte, off int64) error {
	f := b.f
	if f == nil {
		var err error
		if f, err = st.fs().OpenReadWrite(b.path(), vfs.WriteCategoryUnspecified); err != nil {
			return err
		}
		defer f.Close()
	}
	if _, err := f.WriteAt(data, off); err != nil {
		return err
	}
	return f.Sync()
}
