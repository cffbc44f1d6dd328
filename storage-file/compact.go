package storagefile

import (
	"crypto/cipher"
	"encoding/binary"
	"slices"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// minCompact is the smallest block worth rewriting for its dead space.
const minCompact = 64 << 10

// roll seals the active block and starts a new one.
func (st *fstream) roll() error {
	old := st.active()
	if !old.sealed {
		if err := old.flush(); err != nil {
			return err
		}
		if err := old.fsync(); err != nil {
			return err
		}
	}
	nb, err := st.createBlock(st.nextIndex, st.last+1, 0, 0, nil)
	if err != nil {
		return err
	}
	st.nextIndex++
	st.blks = append(st.blks, nb)
	if !old.sealed {
		st.seal(old)
	}
	return nil
}

// seal closes a full block for appends and hands the rest of sealing
// (compression when the stream asks for it, the summary) to the provider's
// sealer, so that writers do not wait for it. Failures there cost only
// speed: the block stays readable uncompressed and without a summary.
func (st *fstream) seal(b *block) {
	b.wmu.Lock()
	b.cmu.Lock()
	f := b.f
	b.f = nil
	b.cmu.Unlock()
	job := sealJob{st: st, b: b, ver: b.ver, compress: st.cfg.Compression == store.S2Compression}
	b.wmu.Unlock()
	if f != nil {
		_ = f.Close()
	}
	b.sealed = true
	st.touched = append(st.touched, b)
	st.sealing.Add(1)
	if !st.p.seals.enqueue(job) {
		st.finishSeal(job)
	}
}

// sealJob is the rest of sealing a block.
type sealJob struct {
	st       *fstream
	b        *block
	ver      uint64
	compress bool
}

// finishSeal compresses a sealed block and writes its summary, unless the
// block went away or its file was replaced meanwhile (whoever replaced it
// wrote its summary).
func (st *fstream) finishSeal(j sealJob) {
	defer st.sealing.Done()
	b := j.b
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.gone || b.ver != j.ver {
		return
	}
	view, err := b.getView()
	if err != nil {
		st.logf("seal block %d: %v", b.index, err)
		return
	}
	size := int64(len(view))
	if j.compress {
		if n, err := st.rewriteLocked(b, view, true, false); err != nil {
			st.logf("compress block %d: %v", b.index, err)
		} else {
			size = n
		}
	}
	st.writeSummary(b, view, size)
}

// sealQueue runs sealJobs on one goroutine.
type sealQueue struct {
	jobs chan sealJob
	done chan struct{}
}

func newSealQueue() *sealQueue {
	s := &sealQueue{jobs: make(chan sealJob, 256), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for j := range s.jobs {
			j.st.finishSeal(j)
		}
	}()
	return s
}

// enqueue hands a job over, or reports false when the queue is full.
func (s *sealQueue) enqueue(j sealJob) bool {
	select {
	case s.jobs <- j:
		return true
	default:
		return false
	}
}

func (s *sealQueue) close() {
	close(s.jobs)
	<-s.done
}

// rewrite is rewriteLocked taking b's file lock.
func (st *fstream) rewrite(b *block, view []byte, compress, must bool) (int64, error) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	return st.rewriteLocked(b, view, compress, must)
}

// rewriteLocked replaces b's file with view (a block's opened frames),
// under a new salt, compressed when compress is set and it saves space.
// Unless must is set, an uncompressed result leaves the file as it is. It
// returns the file's size. wmu held.
func (st *fstream) rewriteLocked(b *block, view []byte, compress, must bool) (int64, error) {
	h := fileHeader{magic: blockMagic, index: b.index, salt: newSalt(), layout: b.layout}
	if st.aead != nil {
		h.flags, h.cipher = flagEncrypted, st.cipherID
	}
	var data []byte
	if compress {
		data = encodeCompressed(view, h, st.aead)
		if len(data) > len(view)*9/10 {
			data, compress = nil, false
		}
	}
	if data == nil {
		if !must {
			return int64(len(view)), nil
		}
		data = sealView(view, h, st.aead)
	}
	if err := writeFileAtomic(st.fs(), b.path(), data); err != nil {
		return 0, err
	}
	_ = st.fs().Remove(b.idxPath())
	b.ver++
	b.cmu.Lock()
	b.salt = h.salt
	b.comp.Store(compress)
	if b.rf != nil && b.rfUsers == 0 {
		_ = b.rf.Close()
	}
	b.rf = nil // a read under way keeps the old handle, which then leaks to the collector
	b.cmu.Unlock()
	return int64(len(data)), nil
}

// sealView encodes an opened view as an uncompressed file under header h.
func sealView(view []byte, h fileHeader, aead cipher.AEAD) []byte {
	out := make([]byte, len(view))
	copy(out, h.encode())
	copy(out[hdrLen:], view[hdrLen:])
	if aead != nil {
		sl := &sealer{aead: aead, salt: h.salt}
		for off := hdrLen; off < len(out); {
			n := int(getU32(out[off:]))
			sl.seal(out[off:off+n], uint32(off))
			off += n
		}
	}
	return out
}

// writeFileAtomic replaces path with data: a synced temporary file renamed
// over it, then the directory synced.
func writeFileAtomic(fs vfs.FS, path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	return syncDir(fs, fs.PathDir(path))
}

// maintain tidies the sealed blocks a write emptied or thinned: an empty
// block goes away when nothing in it is still needed, a thin one is rewritten
// without its dead frames. mu held.
func (st *fstream) maintain() {
	if len(st.touched) == 0 {
		return
	}
	touched := st.touched
	st.touched = nil
	slices.SortFunc(touched, func(a, b *block) int { return int(int64(a.index) - int64(b.index)) })
	touched = slices.Compact(touched)
	for _, b := range touched {
		if !b.sealed || b.voided || !slices.Contains(st.blks, b) || b == st.active() {
			continue
		}
		var err error
		switch {
		case b.nmsgs == 0 && !st.framesNeeded(b):
			st.removeBlock(b)
		case b.nmsgs == 0 && b.size > hdrLen+4096, b.size > minCompact && b.bytes < uint64(b.size)/2:
			err = st.compactBlock(b)
		}
		if err != nil {
			st.logf("compact block %d: %v", b.index, err)
		}
	}
}

// framesNeeded reports whether an empty block still holds frames recovery
// needs: tombstones of messages an older block still holds, the marker of
// the stream's last sequence, or a purge marker older blocks are under.
func (st *fstream) framesNeeded(b *block) bool {
	older := false
	for _, a := range st.blks {
		if a.index >= b.index {
			break
		}
		if a.first != 0 {
			older = true
			if b.ntomb > 0 && a.first <= b.tombMax && a.last >= b.tombMin {
				return true
			}
		}
	}
	if b.purgeMark > 0 && older {
		return true
	}
	return b.lseq > b.last && st.lastMarkNeeded(b, b.lseq)
}

// lastMarkNeeded reports whether seq, the highest sequence b's frames name,
// is beyond every later block's: then it is where the stream's sequences
// stand and b must keep saying so.
func (st *fstream) lastMarkNeeded(b *block, seq uint64) bool {
	for _, a := range st.blks {
		if a.index > b.index && a.lseq >= seq {
			return false
		}
	}
	return true
}

// removeBlock drops a block and its files.
func (st *fstream) removeBlock(b *block) {
	i := slices.Index(st.blks, b)
	if i < 0 || i == len(st.blks)-1 {
		return
	}
	st.blks = slices.Delete(st.blks, i, i+1)
	b.release()
	_ = st.fs().Remove(b.path())
	_ = st.fs().Remove(b.idxPath())
	st.changes.Add(1)
}

// compactBlock rewrites a sealed block keeping its live messages and the
// frames recovery still needs. The logical content does not change.
func (st *fstream) compactBlock(b *block) error {
	view, err := b.getView()
	if err != nil {
		return err
	}
	tl := st.trailer()
	nv := make([]byte, hdrLen, len(view)/2+hdrLen)
	copy(nv, view[:hdrLen])
	var (
		first, last, lastMark, purge uint64
		markTS                       int64
		markKind                     frameKind
		tombs                        []tombEntry
	)
	walkView(view, tl, func(_ int, fr []byte) bool {
		switch k := frameKind(fr[4]); k {
		case kindMsg, kindErased:
			seq := msgSeqOf(fr)
			if seq >= lastMark && k == kindMsg {
				// A removed message still marks how far sequences went.
				lastMark, markKind = seq, kindSkip
				markTS = int64(binary.LittleEndian.Uint64(fr[16:]))
			}
			if k == kindMsg && b.has(seq) {
				if first == 0 {
					first = seq
				}
				last = seq
				nv = append(nv, fr...)
			}
		case kindTomb:
			ents, _ := parseTombBody(fr[frameHead : len(fr)-tl])
			for _, e := range ents {
				if st.olderHolds(b, e.seq) {
					tombs = append(tombs, e)
				}
			}
		case kindSkip, kindSetLast:
			if seq := binary.LittleEndian.Uint64(fr[frameHead:]); seq >= lastMark {
				lastMark, markKind = seq, k
				markTS = int64(binary.LittleEndian.Uint64(fr[frameHead+8:]))
			}
		case kindPurge:
			purge = max(purge, binary.LittleEndian.Uint64(fr[frameHead:]))
		}
		return true
	})
	if len(tombs) > 0 {
		body := appendTombBody(nil, tombs)
		nv = appendFrame(nv, kindTomb, body, tl, st.aead == nil)
	}
	if lastMark > last && st.lastMarkNeeded(b, lastMark) {
		nv = appendFrame(nv, markKind, marker(lastMark, markTS), tl, st.aead == nil)
	}
	if purge > 0 && st.hasOlder(b) {
		nv = appendFrame(nv, kindPurge, marker(purge, 0), tl, st.aead == nil)
	}
	if len(nv) == hdrLen {
		st.removeBlock(b)
		return nil
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.layout = newLayout() // the frames move
	size, err := st.rewriteLocked(b, nv, st.cfg.Compression == store.S2Compression, true)
	if err != nil {
		return err
	}
	// Same messages, new places: rebuild the physical bookkeeping.
	var del dmap
	for q := first; first != 0 && q <= last; q++ {
		if !b.has(q) {
			del.set(q - first)
		}
	}
	b.first, b.last, b.del = first, last, del
	b.ntomb, b.tombMin, b.tombMax = 0, 0, 0
	for _, e := range tombs {
		b.noteTomb(e.seq)
	}
	b.cmu.Lock()
	b.view, b.ix = nv, nil
	b.size = int64(len(nv))
	b.chargeLocked()
	b.cmu.Unlock()
	st.writeSummary(b, nv, size)
	st.changes.Add(1)
	return nil
}

// olderHolds reports whether a block older than b may hold a frame of seq.
func (st *fstream) olderHolds(b *block, seq uint64) bool {
	for _, a := range st.blks {
		if a.index >= b.index {
			return false
		}
		if a.first != 0 && seq >= a.first && seq <= a.last {
			return true
		}
	}
	return false
}

func (st *fstream) hasOlder(b *block) bool {
	return len(st.blks) > 0 && st.blks[0] != b
}

func marker(seq uint64, ts int64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, seq)
	return binary.LittleEndian.AppendUint64(b, uint64(ts))
}

// appendFrame appends a frame of kind with body to an opened view; plain
// views get their checksum.
func appendFrame(view []byte, kind frameKind, body []byte, tl int, plain bool) []byte {
	start := len(view)
	view, fr := grow(view, frameHead+len(body)+tl)
	putHead(fr, kind)
	copy(fr[frameHead:], body)
	if plain {
		(&sealer{}).seal(fr, uint32(start))
	}
	return view
}
