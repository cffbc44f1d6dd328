package storagefile

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// maxGap is the largest run of skipped sequences kept inside one block; a
// longer one starts a new block, so that a block's delete bitmap stays small.
const maxGap = 1 << 16

// lockW locks the stream for a write: it must be open, reloaded from disk
// after a failed write, with damage found by readers accounted for.
func (st *fstream) lockW() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return fmt.Errorf("%w: stream %s", store.ErrClosed, st.cfg.Name)
	}
	if f := st.failure(); f != nil {
		if err := st.reload(); err != nil {
			st.mu.Unlock()
			return fmt.Errorf("filestore: stream %s failed (%v) and cannot reload: %w", st.cfg.Name, f, err)
		}
	}
	if st.hasBad.Load() {
		st.fixBad()
	}
	return nil
}

// lockWCtx is lockW for a caller whose context may be done already: a
// write that has not started honours cancellation.
func (st *fstream) lockWCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return st.lockW()
}

// fail records a write failure: the stream reloads its state from disk
// before the next write, as memory may hold frames the file lacks.
func (st *fstream) fail(err error) {
	if err != nil {
		st.failed.CompareAndSwap(nil, &failure{err})
	}
}

type failure struct{ err error }

func (st *fstream) failure() error {
	if f := st.failed.Load(); f != nil {
		return f.err
	}
	return nil
}

// commit waits until the active block is durable up to pos under the sync
// policy; the stream is unlocked.
func (st *fstream) commit(b *block, pos int64) error {
	var err error
	if st.bulk.Load() {
		return nil // a restore: blocks are synced as they seal, the rest at the end
	}
	if st.p.always {
		err = st.p.syncer.commit(b, pos)
	} else {
		if err = b.flush(); err == nil {
			st.p.bg.mark(b)
		}
	}
	if err != nil {
		st.fail(err)
		return err
	}
	return nil
}

// endWrite writes the pending tombstones, tidies the blocks the write
// touched and returns what commit must wait for. mu held.
func (st *fstream) endWrite() (*block, int64, error) {
	err := st.flushTombs()
	if err == nil {
		st.maintain()
	}
	if err != nil {
		st.fail(err)
		return nil, 0, err
	}
	b := st.active()
	return b, b.writtenEnd(), nil
}

// newFrame reserves a frame of n bytes in the active block, starting a new
// block first when the frame would not fit or seq would leave a long gap.
func (st *fstream) newFrame(n int, seq uint64) (*block, []byte, uint32, error) {
	b := st.active()
	if b.sealed || b.size > hdrLen && (b.size+int64(n) > st.blockSize || b.first != 0 && seq > b.last+maxGap) {
		if err := st.roll(); err != nil {
			return nil, nil, 0, err
		}
		b = st.active()
	}
	off := uint32(b.size)
	fr, err := b.reserve(n)
	if err != nil {
		return nil, nil, 0, err
	}
	st.p.cache.trim()
	return b, fr, off, nil
}

// endFrame seals a filled frame (a plain block's checksum is computed now,
// an encrypted block's frames are sealed as they are flushed) and publishes
// it.
func (st *fstream) endFrame(b *block, fr []byte, off uint32) {
	if st.aead == nil {
		b.sealer().seal(fr, off)
	}
	b.commitSpace(len(fr))
	st.changes.Add(1)
}

// appendMsg appends a message that passed every check.
func (st *fstream) appendMsg(subj string, hdr, data []byte, ttl int64, seq uint64, ts int64) error {
	n := msgFrameLen(subj, hdr, data, ttl, st.trailer())
	b, fr, off, err := st.newFrame(n, seq)
	if err != nil {
		return err
	}
	putMsg(fr, seq, ts, ttl, subj, hdr, data)
	st.endFrame(b, fr, off)
	ev := event{kind: kindMsg, off: off, flen: uint32(n), seq: seq, ts: ts, ttl: ttl, subj: subj,
		hlen: uint32(len(hdr)), dlen: uint32(len(data))}
	st.applyMsg(b, &ev)
	return nil
}

// appendMarker appends a skip, set-last or purge frame.
func (st *fstream) appendMarker(kind frameKind, seq uint64, ts int64) error {
	n := frameHead + 16 + st.trailer()
	b, fr, off, err := st.newFrame(n, 0)
	if err != nil {
		return err
	}
	putHead(fr, kind)
	binary.LittleEndian.PutUint64(fr[frameHead:], seq)
	binary.LittleEndian.PutUint64(fr[frameHead+8:], uint64(ts))
	st.endFrame(b, fr, off)
	switch kind {
	case kindSkip:
		st.applySkip(b, seq, ts, false)
	case kindSetLast:
		st.applySkip(b, seq, ts, true)
	case kindPurge:
		b.purgeMark = max(b.purgeMark, seq)
	}
	return nil
}

func (st *fstream) trailer() int { return (&sealer{aead: st.aead}).trailer() }

// flushTombs writes the deletes of the current write as one frame.
func (st *fstream) flushTombs() error {
	if len(st.tombs) == 0 {
		return nil
	}
	body := appendTombBody(st.tombBuf[:0], st.tombs)
	st.tombBuf = body
	n := frameHead + len(body) + st.trailer()
	b, fr, off, err := st.newFrame(n, 0)
	if err != nil {
		return err
	}
	putHead(fr, kindTomb)
	copy(fr[frameHead:], body)
	st.endFrame(b, fr, off)
	for _, e := range st.tombs {
		b.noteTomb(e.seq)
	}
	st.tombs = st.tombs[:0]
	return nil
}

// removeLive removes live message seq of b, leaving a tombstone to write.
func (st *fstream) removeLive(b *block, seq uint64) error {
	ix, err := b.getIndex()
	if err != nil {
		return err
	}
	_, subj, meta, ok := ix.at(b.first, seq)
	if !ok {
		st.noteBadBlock(b)
		st.fixBad()
		return nil
	}
	st.tombs = append(st.tombs, tombEntry{seq: seq, subj: subj, size: uint32(metaSize(meta)), class: metaTTL(meta)})
	st.deleteIn(b, seq, subj, metaSize(meta), metaTTL(meta))
	if b.sealed {
		st.touched = append(st.touched, b)
	}
	return nil
}

// removeSeq removes seq when it is live.
func (st *fstream) removeSeq(seq uint64) error {
	b, _ := st.blockFor(seq)
	if b == nil || !b.has(seq) {
		return st.missing(seq)
	}
	return st.removeLive(b, seq)
}

func (st *fstream) missing(seq uint64) error {
	switch {
	case seq > st.last:
		return fmt.Errorf("%w: seq %d after last %d", store.ErrEOF, seq, st.last)
	case seq < st.first || st.nmsgs == 0:
		return fmt.Errorf("%w: seq %d before first %d", store.ErrNotFound, seq, st.first)
	}
	return fmt.Errorf("%w: seq %d", store.ErrDeleted, seq)
}

// check validates a new message and applies the discard-new rules.
func (st *fstream) check(subj string, hdr, data []byte, ttl int64) error {
	if !subject.ValidLiteral(subj) || len(subj) > maxSubject {
		return fmt.Errorf("%w: subject %q", store.ErrInvalid, subj)
	}
	c := &st.cfg
	if ttl != 0 && (ttl < store.TTLNever || !c.AllowMsgTTL) {
		return fmt.Errorf("%w: ttl %d (allow_msg_ttl %v)", store.ErrInvalid, ttl, c.AllowMsgTTL)
	}
	if c.MaxMsgSize > 0 && len(hdr)+len(data) > int(c.MaxMsgSize) {
		return fmt.Errorf("%w: %d > %d", store.ErrMaxMsgSize, len(hdr)+len(data), c.MaxMsgSize)
	}
	if len(hdr)+len(data) > maxFrame/2 {
		return fmt.Errorf("%w: message of %d bytes", store.ErrMaxMsgSize, len(hdr)+len(data))
	}
	if c.Discard != store.DiscardNew {
		return nil
	}
	if c.MaxMsgs > 0 && st.nmsgs >= uint64(c.MaxMsgs) {
		return fmt.Errorf("%w: %d", store.ErrMaxMsgs, c.MaxMsgs)
	}
	if c.MaxBytes > 0 && st.nbytes+st.size(len(subj), len(hdr), len(data)) > uint64(c.MaxBytes) {
		return fmt.Errorf("%w: %d", store.ErrMaxBytes, c.MaxBytes)
	}
	if c.DiscardNewPerSubject && c.MaxMsgsPerSubject > 0 {
		if e := st.subjs.get(subj); e != nil && e.n >= uint64(c.MaxMsgsPerSubject) {
			return fmt.Errorf("%w: %s at %d", store.ErrMaxMsgsPerSubject, subj, c.MaxMsgsPerSubject)
		}
	}
	return nil
}

// enforce applies the discard-old limits after an append to subj ("" for
// every subject, after a configuration change).
func (st *fstream) enforce(subj string) error {
	c := &st.cfg
	if c.MaxMsgsPerSubject > 0 {
		limit := uint64(c.MaxMsgsPerSubject)
		if subj != "" {
			if err := st.trimSubject(subj, limit); err != nil {
				return err
			}
		} else {
			var over []string
			st.subjs.each(func(name string, e *subjEntry) bool {
				if e.n > limit {
					over = append(over, name)
				}
				return true
			})
			for _, s := range over {
				if err := st.trimSubject(s, limit); err != nil {
					return err
				}
			}
		}
	}
	for c.MaxMsgs > 0 && st.nmsgs > uint64(c.MaxMsgs) {
		if err := st.removeSeq(st.first); err != nil {
			return err
		}
	}
	for c.MaxBytes > 0 && st.nbytes > uint64(c.MaxBytes) && st.nmsgs > 0 {
		if err := st.removeSeq(st.first); err != nil {
			return err
		}
	}
	return nil
}

// trimSubject removes the oldest messages of subj beyond limit.
func (st *fstream) trimSubject(subj string, limit uint64) error {
	for {
		e := st.subjs.get(subj)
		if e == nil || e.n <= limit {
			return nil
		}
		seq, ok := st.subjectFirst(subj, e)
		if !ok {
			return fmt.Errorf("%w: filestore: subject %q has no message to trim", store.ErrCorrupt, subj)
		}
		b, _ := st.blockFor(seq)
		if err := st.removeLive(b, seq); err != nil {
			return err
		}
	}
}

// Store implements store.Writer.
func (st *fstream) Store(ctx context.Context, subj string, hdr, data []byte, ttl int64) (uint64, int64, error) {
	if err := st.lockWCtx(ctx); err != nil {
		return 0, 0, err
	}
	if err := st.check(subj, hdr, data, ttl); err != nil {
		st.mu.Unlock()
		return 0, 0, err
	}
	seq, ts := st.last+1, time.Now().UnixNano()
	err := st.appendMsg(subj, hdr, data, ttl, seq, ts)
	if err == nil {
		err = st.enforce(subj)
	}
	var b *block
	var pos int64
	if err == nil {
		b, pos, err = st.endWrite()
	}
	st.mu.Unlock()
	if err != nil {
		st.fail(err)
		return 0, 0, err
	}
	if err := st.commit(b, pos); err != nil {
		return 0, 0, err
	}
	return seq, ts, nil
}

// StoreBatch implements store.Writer.
func (st *fstream) StoreBatch(ctx context.Context, msgs []store.NewMsg) ([]store.StoreResult, error) {
	if err := st.lockWCtx(ctx); err != nil {
		return nil, err
	}
	res := make([]store.StoreResult, len(msgs))
	ts := time.Now().UnixNano()
	var err error
	done := 0
	for i := range msgs {
		m := &msgs[i]
		if cerr := st.check(m.Subject, m.Header, m.Data, m.TTL); cerr != nil {
			res[i].Err = cerr
			done = i + 1
			continue
		}
		seq := st.last + 1
		if err = st.appendMsg(m.Subject, m.Header, m.Data, m.TTL, seq, ts); err == nil {
			err = st.enforce(m.Subject)
		}
		if err != nil {
			break
		}
		res[i] = store.StoreResult{Seq: seq, Time: ts}
		done = i + 1
	}
	var b *block
	var pos int64
	if err == nil {
		b, pos, err = st.endWrite()
	}
	st.mu.Unlock()
	if err == nil {
		err = st.commit(b, pos)
		if err != nil {
			done = 0
		}
	}
	if err != nil {
		st.fail(err)
		return res[:done], err
	}
	return res, nil
}

// StoreRaw implements store.Writer.
func (st *fstream) StoreRaw(ctx context.Context, m store.Msg) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	if m.Seq != 0 && m.Seq != st.last+1 {
		st.mu.Unlock()
		return fmt.Errorf("%w: raw seq %d, next %d", store.ErrSequenceMismatch, m.Seq, st.last+1)
	}
	if !subject.ValidLiteral(m.Subject) || len(m.Subject) > maxSubject || m.TTL < store.TTLNever {
		st.mu.Unlock()
		return fmt.Errorf("%w: raw message %q ttl %d", store.ErrInvalid, m.Subject, m.TTL)
	}
	ts := m.Time
	if ts == 0 {
		ts = time.Now().UnixNano()
	}
	return st.unlockCommit(func() error {
		if err := st.appendMsg(m.Subject, m.Header, m.Data, m.TTL, st.last+1, ts); err != nil {
			return err
		}
		return st.enforce(m.Subject)
	})
}

// unlockCommit runs a locked change, ends the write, unlocks and commits.
func (st *fstream) unlockCommit(change func() error) error {
	err := change()
	var b *block
	var pos int64
	if err == nil {
		b, pos, err = st.endWrite()
	}
	st.mu.Unlock()
	if err != nil {
		st.fail(err)
		return err
	}
	return st.commit(b, pos)
}

// Skip implements store.Writer.
func (st *fstream) Skip(ctx context.Context, seq uint64) (uint64, error) {
	if err := st.lockWCtx(ctx); err != nil {
		return 0, err
	}
	next := st.last + 1
	if seq != 0 && seq != next {
		st.mu.Unlock()
		return 0, fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
	}
	err := st.unlockCommit(func() error { return st.appendMarker(kindSkip, next, time.Now().UnixNano()) })
	return next, err
}

// SkipMsgs implements store.Writer.
func (st *fstream) SkipMsgs(ctx context.Context, seq, n uint64) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	if seq != st.last+1 {
		next := st.last + 1
		st.mu.Unlock()
		return fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
	}
	if n == 0 {
		st.mu.Unlock()
		return nil
	}
	return st.unlockCommit(func() error { return st.appendMarker(kindSkip, seq+n-1, time.Now().UnixNano()) })
}

// Remove implements store.Writer.
func (st *fstream) Remove(ctx context.Context, seq uint64) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	b, _ := st.blockFor(seq)
	if b == nil || !b.has(seq) {
		err := st.missing(seq)
		st.mu.Unlock()
		return err
	}
	return st.unlockCommit(func() error { return st.removeLive(b, seq) })
}

// Erase implements store.Writer: the message is removed and its bytes are
// overwritten in its block file (a plain block in place, an encrypted or
// compressed one by rewriting the block without it).
func (st *fstream) Erase(ctx context.Context, seq uint64) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	b, _ := st.blockFor(seq)
	if b == nil || !b.has(seq) {
		err := st.missing(seq)
		st.mu.Unlock()
		return err
	}
	return st.unlockCommit(func() error {
		if err := st.removeLive(b, seq); err != nil {
			return err
		}
		if err := st.flushTombs(); err != nil {
			return err
		}
		return st.eraseFrame(b, seq)
	})
}

// UpdateConfig implements store.Writer.
func (st *fstream) UpdateConfig(ctx context.Context, cfg store.StreamConfig) error {
	if err := st.lockWCtx(ctx); err != nil {
		return err
	}
	return st.unlockCommit(func() error { return st.updateConfig(cfg) })
}

// updateConfig validates cfg, persists it and applies lowered limits.
func (st *fstream) updateConfig(cfg store.StreamConfig) error {
	if cfg.Account != st.cfg.Account || cfg.Name != st.cfg.Name {
		return fmt.Errorf("%w: cannot rename stream %s/%s", store.ErrInvalid, st.cfg.Account, st.cfg.Name)
	}
	if cfg.Storage != st.cfg.Storage && st.nmsgs > 0 {
		return fmt.Errorf("%w: cannot change storage type of a stream with messages", store.ErrInvalid)
	}
	first, last := uint64(0), uint64(0)
	if st.cfg.FirstSeq > 0 {
		first, last = st.cfg.FirstSeq, st.cfg.FirstSeq-1
	}
	pristine := st.nmsgs == 0 && st.first == first && st.last == last && st.lastTime == 0
	cfg.Meta = append([]byte(nil), cfg.Meta...)
	if err := st.p.writeMeta(st.dir, cfg, st.aead); err != nil {
		return err
	}
	st.cfg = cfg
	if pristine {
		st.resetSeqs()
	}
	return st.enforce("")
}

// Sync implements store.Writer.
func (st *fstream) Sync(context.Context) error {
	st.mu.RLock()
	if st.closed {
		st.mu.RUnlock()
		return fmt.Errorf("%w: stream %s", store.ErrClosed, st.cfg.Name)
	}
	b := st.active()
	cons := make([]*consumer, 0, len(st.cons))
	for _, c := range st.cons {
		cons = append(cons, c)
	}
	st.mu.RUnlock()
	err := b.flush()
	if err == nil {
		err = b.fsync()
	}
	for _, c := range cons {
		if cerr := c.syncNow(); err == nil {
			err = cerr
		}
	}
	st.fail(err)
	return err
}
