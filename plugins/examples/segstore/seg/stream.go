package seg

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
	"github.com/hangar-mq/hangar/core/subject"
)

// stream is an open stream: its index and its log.
type stream struct {
	p   *Provider
	key streamKey
	dir string

	mu     sync.RWMutex // guards everything below
	st     *state
	segs   map[uint32]*segFile
	cur    *segFile // the segment appended to
	size   int64    // bytes of every segment
	dirty  bool     // written since the last sync
	closed error
	cgen   uint64 // last consumer handle generation

	restoring int // checkpoint messages still to come during replay
}

// checkpoint is the first record of a rewritten segment; the live
// messages and the consumers follow it.
type checkpoint struct {
	Config store.StreamConfig
	First  uint64
	Last   uint64
	LastTS int64
	Msgs   int
}

// openStream replays dir's log into a stream. cfg is used when the log is
// empty (a new stream).
func openStream(p *Provider, key streamKey, dir string, cfg store.StreamConfig) (*stream, error) {
	s := &stream{p: p, key: key, dir: dir, segs: make(map[uint32]*segFile)}
	nums, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	// Replay from the newest checkpoint; older segments are what a
	// rewrite left behind before it could delete them.
	start := 0
	for i := len(nums) - 1; i > 0; i-- {
		if f, err := os.Open(filepath.Join(dir, segName(nums[i]))); err == nil {
			typ, _, rerr := readRecord(f, 0)
			f.Close()
			if rerr == nil && typ == recCheckpoint {
				start = i
				break
			}
		}
	}
	for _, n := range nums[:start] {
		_ = os.Remove(filepath.Join(dir, segName(n)))
	}
	nums = nums[start:]
	for i, n := range nums {
		f, err := os.OpenFile(filepath.Join(dir, segName(n)), os.O_RDWR, 0)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		sf := &segFile{n: n, f: f}
		s.segs[n] = sf
		end, err := scan(f, func(typ byte, body []byte, off int64) error { return s.replay(sf, typ, body, off) })
		if err != nil {
			s.closeFiles()
			return nil, fmt.Errorf("%w: %s: %w", store.ErrCorrupt, f.Name(), err)
		}
		if fi, err := f.Stat(); err == nil && fi.Size() > end {
			if i < len(nums)-1 {
				s.closeFiles()
				return nil, fmt.Errorf("%w: %s is damaged at offset %d", store.ErrCorrupt, f.Name(), end)
			}
			// A torn tail: a write that never returned. Cut it off.
			if err := f.Truncate(end); err != nil {
				s.closeFiles()
				return nil, err
			}
		}
		sf.size = end
		s.size += end
		s.cur = sf
	}
	if s.st == nil {
		// A new stream (or one whose first write never completed).
		s.st = newState(cfg)
		if err := s.rotate(); err != nil {
			s.closeFiles()
			return nil, err
		}
		if _, _, err := s.write(newRec(recConfig).json(cfg).done()); err != nil {
			s.closeFiles()
			return nil, err
		}
	}
	return s, nil
}

// replay applies one record of the log.
func (s *stream) replay(sf *segFile, typ byte, body []byte, off int64) error {
	d := &dec{b: body}
	if s.st == nil && typ != recConfig && typ != recCheckpoint {
		return fmt.Errorf("record type %d before the stream's config", typ)
	}
	switch typ {
	case recConfig:
		var cfg store.StreamConfig
		d.json(&cfg)
		if d.err == nil {
			if s.st == nil {
				s.st = newState(cfg)
			} else {
				s.st.applyConfig(cfg)
			}
		}
	case recCheckpoint:
		var cp checkpoint
		d.json(&cp)
		if d.err == nil {
			s.st = newState(cp.Config)
			s.st.first, s.st.last, s.st.lastTS = cp.First, cp.Last, cp.LastTS
			s.restoring = cp.Msgs
		}
	case recMsg:
		e := decodeEntry(d, s.st.cfg.Storage, sf.n, off, body)
		if d.err == nil {
			if s.restoring > 0 {
				s.restoring--
				s.st.restoreMsg(e)
			} else {
				s.st.applyMsg(e)
			}
		}
	case recSkip:
		seq, n, ts := d.u64(), d.u64(), d.i64()
		if d.err == nil {
			s.st.applySkip(seq, n, ts)
		}
	case recRemove:
		if seq := d.u64(); d.err == nil {
			s.st.applyRemove(seq)
		}
	case recPurge:
		req := store.PurgeRequest{Subject: d.str(), Seq: d.u64(), Keep: d.u64()}
		if d.err == nil {
			s.st.applyPurge(req)
		}
	case recCompact:
		if seq := d.u64(); d.err == nil {
			s.st.applyCompact(seq)
		}
	case recTruncate:
		if seq := d.u64(); d.err == nil {
			s.st.applyTruncate(seq)
		}
	case recExpire:
		if now := d.i64(); d.err == nil {
			s.st.applyExpire(now)
		}
	case recConsumer:
		name, meta := d.str(), d.bytes()
		var cs store.ConsumerState
		d.json(&cs)
		if d.err == nil {
			s.st.setConsumer(name, bytes.Clone(meta), cs)
		}
	case recDelCons:
		if name := d.str(); d.err == nil {
			delete(s.st.cons, name)
		}
	default:
		return fmt.Errorf("unknown record type %d", typ)
	}
	return d.err
}

// decodeEntry reads a message record into an index entry.
func decodeEntry(d *dec, storage store.StorageType, seg uint32, off int64, body []byte) entry {
	e := entry{seg: seg, off: off, rlen: uint32(recHeader + 1 + len(body))}
	e.seq, e.ts, e.ttl = d.u64(), d.i64(), d.i64()
	e.subj = d.str()
	hdr, data := d.bytes(), d.bytes()
	e.hlen, e.dlen = uint32(len(hdr)), uint32(len(data))
	e.size = store.MsgSize(storage, e.subj, hdr, data)
	return e
}

// rotate starts a new segment.
func (s *stream) rotate() error {
	n := uint32(1)
	if s.cur != nil {
		n = s.cur.n + 1
		if s.dirty {
			if err := s.cur.f.Sync(); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(filepath.Join(s.dir, segName(n)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.cur = &segFile{n: n, f: f}
	s.segs[n] = s.cur
	return nil
}

// reserve makes room in the current segment and returns where the next
// bytes go.
func (s *stream) reserve() (uint32, int64, error) {
	if s.cur.size >= s.p.segSize {
		if err := s.rotate(); err != nil {
			return 0, 0, err
		}
	}
	return s.cur.n, s.cur.size, nil
}

// write appends records to the log as one write and makes them durable
// under the sync policy: fsync now, or by the provider's syncer within its
// interval. It returns where the first record went.
func (s *stream) write(buf []byte) (uint32, int64, error) {
	n, off, err := s.reserve()
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.cur.f.WriteAt(buf, off); err != nil {
		// Leave no half record behind for the next write to follow.
		_ = s.cur.f.Truncate(off)
		return 0, 0, fmt.Errorf("segstore: write: %w", err)
	}
	s.cur.size += int64(len(buf))
	s.size += int64(len(buf))
	if s.p.syncEach {
		if err := s.cur.f.Sync(); err != nil {
			return 0, 0, s.fail(err)
		}
	} else {
		s.dirty = true
	}
	return n, off, nil
}

// fail closes a stream whose log may no longer match its index (a write
// or sync failed after the index moved on). Opening it again replays the
// log, which is the truth.
func (s *stream) fail(err error) error {
	e := fmt.Errorf("%w: segstore: %s failed, open the stream again: %w", store.ErrClosed, s.key.name, err)
	s.shut(e)
	go s.p.forget(s)
	return e
}

// sync flushes what was written; the caller holds mu.
func (s *stream) sync() error {
	if !s.dirty || s.cur == nil {
		return nil
	}
	if err := s.cur.f.Sync(); err != nil {
		return fmt.Errorf("segstore: sync: %w", err)
	}
	s.dirty = false
	return nil
}

// maybeRewrite rewrites the log as one checkpoint segment once dead
// records dominate it. A failure leaves the old segments in place.
func (s *stream) maybeRewrite() {
	if s.size < s.p.segSize || s.size < 4*(s.st.disk+4096) {
		return
	}
	if err := s.rewrite(); err != nil {
		s.p.log("segstore: rewriting %s: %v", s.dir, err)
	}
}

func (s *stream) rewrite() error {
	n := s.cur.n + 1
	final := filepath.Join(s.dir, segName(n))
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	st := s.st
	cp := checkpoint{Config: st.cfg, First: st.first, Last: st.last, LastTS: st.lastTS, Msgs: int(st.nmsgs)}
	buf := newRec(recCheckpoint).json(cp).done()
	offs := make([]int64, 0, st.nmsgs)
	for i := st.head; i < len(st.msgs); i++ {
		e := &st.msgs[i]
		if e.del {
			continue
		}
		raw := make([]byte, e.rlen)
		if _, err := s.segs[e.seg].f.ReadAt(raw, e.off); err != nil {
			return fail(err)
		}
		offs = append(offs, int64(len(buf)))
		buf = append(buf, raw...)
	}
	for name, c := range st.cons {
		buf = append(buf, consumerRecord(name, c)...)
	}
	if _, err := f.Write(buf); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := syncDir(s.dir); err != nil {
		return fail(err)
	}
	// From here the checkpoint is the log: replay starts at it.
	old := s.segs
	s.segs = map[uint32]*segFile{n: {n: n, f: f, size: int64(len(buf))}}
	s.cur, s.size, s.dirty = s.segs[n], int64(len(buf)), false
	k := 0
	for i := st.head; i < len(st.msgs); i++ {
		if e := &st.msgs[i]; !e.del {
			e.seg, e.off = n, offs[k]
			k++
		}
	}
	for _, sf := range old {
		sf.f.Close()
		// By number: f.Name() of a rewritten segment is its temporary name.
		os.Remove(filepath.Join(s.dir, segName(sf.n)))
	}
	return nil
}

func (s *stream) closeFiles() {
	for _, sf := range s.segs {
		sf.f.Close()
	}
}

// lockW locks the stream for a change.
func (s *stream) lockW() error {
	s.mu.Lock()
	if s.closed != nil {
		s.mu.Unlock()
		return s.closed
	}
	return nil
}

// lockR locks the stream for reading.
func (s *stream) lockR() error {
	s.mu.RLock()
	if s.closed != nil {
		s.mu.RUnlock()
		return s.closed
	}
	return nil
}

// Store implements store.Writer.
func (s *stream) Store(ctx context.Context, subj string, hdr, data []byte, ttl int64) (uint64, int64, error) {
	res, err := s.StoreBatch(ctx, []store.NewMsg{{Subject: subj, Header: hdr, Data: data, TTL: ttl}})
	if err != nil {
		return 0, 0, err
	}
	return res[0].Seq, res[0].Time, res[0].Err
}

// StoreBatch implements store.Writer: one write and one sync for the
// batch. Each message is checked against the index as the ones before it
// left it, so the index moves first; if the write then fails, the stream
// closes (see fail) and nothing of the batch was acknowledged.
func (s *stream) StoreBatch(_ context.Context, msgs []store.NewMsg) ([]store.StoreResult, error) {
	if err := s.lockW(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	segN, off, err := s.reserve()
	if err != nil {
		return nil, err
	}
	st := s.st
	res := make([]store.StoreResult, len(msgs))
	ts := time.Now().UnixNano()
	var buf []byte
	firstOK := -1
	for i := range msgs {
		m := &msgs[i]
		if err := st.check(m.Subject, m.Header, m.Data, m.TTL); err != nil {
			res[i].Err = err
			continue
		}
		sm := store.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data, Seq: st.last + 1, Time: ts, TTL: m.TTL}
		rec := msgRecord(&sm)
		st.applyMsg(msgEntry(&sm, st.cfg.Storage, segN, off+int64(len(buf)), len(rec)))
		buf = append(buf, rec...)
		res[i] = store.StoreResult{Seq: sm.Seq, Time: ts}
		if firstOK < 0 {
			firstOK = i
		}
	}
	if len(buf) == 0 {
		return res, nil
	}
	if _, _, err := s.write(buf); err != nil {
		s.fail(err)
		return res[:firstOK], err
	}
	s.maybeRewrite()
	return res, nil
}

// msgEntry is the index entry of m, whose record of rlen bytes is at off
// in segment seg.
func msgEntry(m *store.Msg, storage store.StorageType, seg uint32, off int64, rlen int) entry {
	return entry{seq: m.Seq, ts: m.Time, ttl: m.TTL, subj: m.Subject, seg: seg, off: off,
		hlen: uint32(len(m.Header)), dlen: uint32(len(m.Data)), rlen: uint32(rlen),
		size: store.MsgSize(storage, m.Subject, m.Header, m.Data)}
}

// StoreRaw implements store.Writer.
func (s *stream) StoreRaw(_ context.Context, m store.Msg) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	st := s.st
	if m.Seq != 0 && m.Seq != st.last+1 {
		return fmt.Errorf("%w: raw seq %d, next %d", store.ErrSequenceMismatch, m.Seq, st.last+1)
	}
	if err := validRaw(m); err != nil {
		return err
	}
	m.Seq = st.last + 1
	if m.Time == 0 {
		m.Time = time.Now().UnixNano()
	}
	rec := msgRecord(&m)
	segN, off, err := s.write(rec)
	if err != nil {
		return err
	}
	st.applyMsg(msgEntry(&m, st.cfg.Storage, segN, off, len(rec)))
	s.maybeRewrite()
	return nil
}

// Skip implements store.Writer.
func (s *stream) Skip(_ context.Context, seq uint64) (uint64, error) {
	if err := s.lockW(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	next := s.st.last + 1
	if seq != 0 && seq != next {
		return 0, fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
	}
	return next, s.skip(next, 1)
}

func (s *stream) skip(seq, n uint64) error {
	ts := time.Now().UnixNano()
	if _, _, err := s.write(newRec(recSkip).u64(seq).u64(n).i64(ts).done()); err != nil {
		return err
	}
	s.st.applySkip(seq, n, ts)
	return nil
}

// SkipMsgs implements store.Writer.
func (s *stream) SkipMsgs(_ context.Context, seq, n uint64) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if seq != s.st.last+1 {
		return fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, s.st.last+1)
	}
	if n == 0 {
		return nil
	}
	return s.skip(seq, n)
}

// Remove implements store.Writer.
func (s *stream) Remove(_ context.Context, seq uint64) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, err := s.st.live(seq); err != nil {
		return err
	}
	if _, _, err := s.write(newRec(recRemove).u64(seq).done()); err != nil {
		return err
	}
	s.st.applyRemove(seq)
	s.maybeRewrite()
	return nil
}

// Erase implements store.Writer as Remove: the bytes stay in the segment
// until the next rewrite (Capabilities.SecureErase is false).
func (s *stream) Erase(ctx context.Context, seq uint64) error { return s.Remove(ctx, seq) }

// logged runs a change that the log records as rec and apply performs.
func (s *stream) logged(rec []byte, apply func()) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, _, err := s.write(rec); err != nil {
		return err
	}
	apply()
	s.maybeRewrite()
	return nil
}

// Purge implements store.Writer.
func (s *stream) Purge(_ context.Context, req store.PurgeRequest) (uint64, error) {
	if err := store.ValidateFilters([]string{req.Subject}); err != nil {
		return 0, err
	}
	var n uint64
	err := s.logged(newRec(recPurge).str(req.Subject).u64(req.Seq).u64(req.Keep).done(), func() { n = s.st.applyPurge(req) })
	return n, err
}

// Compact implements store.Writer.
func (s *stream) Compact(_ context.Context, seq uint64) (uint64, error) {
	var n uint64
	err := s.logged(newRec(recCompact).u64(seq).done(), func() { n = s.st.applyCompact(seq) })
	return n, err
}

// Truncate implements store.Writer.
func (s *stream) Truncate(_ context.Context, seq uint64) error {
	return s.logged(newRec(recTruncate).u64(seq).done(), func() { s.st.applyTruncate(seq) })
}

// UpdateConfig implements store.Writer.
func (s *stream) UpdateConfig(_ context.Context, cfg store.StreamConfig) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.updateConfig(cfg)
}

func (s *stream) updateConfig(cfg store.StreamConfig) error {
	if err := s.st.checkConfig(cfg); err != nil {
		return err
	}
	cfg.Meta = bytes.Clone(cfg.Meta)
	// meta.json first: after a crash between the two writes, the server
	// opens the stream with the new config, which is then applied again.
	if err := writeMeta(s.dir, cfg); err != nil {
		return err
	}
	if _, _, err := s.write(newRec(recConfig).json(cfg).done()); err != nil {
		return err
	}
	s.st.applyConfig(cfg)
	s.maybeRewrite()
	return nil
}

// Expire implements store.Writer.
func (s *stream) Expire(_ context.Context, now int64) (store.ExpireResult, error) {
	if err := s.lockW(); err != nil {
		return store.ExpireResult{}, err
	}
	defer s.mu.Unlock()
	// Only log an expiry that removes something: the expirer calls often.
	if !s.st.anyExpired(now) {
		return s.st.applyExpire(now), nil
	}
	if _, _, err := s.write(newRec(recExpire).i64(now).done()); err != nil {
		return store.ExpireResult{}, err
	}
	res := s.st.applyExpire(now)
	s.maybeRewrite()
	return res, nil
}

// Sync implements store.Writer.
func (s *stream) Sync(context.Context) error {
	if err := s.lockW(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	return s.sync()
}

// Snapshot implements store.Snapshotter with the SDK's generic writer.
func (s *stream) Snapshot(ctx context.Context, w io.Writer, opts store.SnapshotOptions) error {
	return snapfmt.Write(ctx, w, s, opts)
}

// Config implements store.StreamStore.
func (s *stream) Config(context.Context) (store.StreamConfig, error) {
	if err := s.lockR(); err != nil {
		return store.StreamConfig{}, err
	}
	defer s.mu.RUnlock()
	return s.st.cfg, nil
}

// Close implements store.StreamStore.
func (s *stream) Close(context.Context) error {
	if err := s.lockW(); err != nil {
		return err
	}
	err := s.sync()
	s.shut(fmt.Errorf("%w: stream %s", store.ErrClosed, s.key.name))
	s.mu.Unlock()
	s.p.forget(s)
	return err
}

// shut closes the files and invalidates the stream's handles; mu held.
func (s *stream) shut(why error) {
	s.closed = why
	s.closeFiles()
	for _, c := range s.st.cons {
		c.gen = 0
	}
}

// Delete implements store.StreamStore.
func (s *stream) Delete(ctx context.Context) error {
	return s.p.Delete(ctx, s.key.account, s.key.name)
}

func validRaw(m store.Msg) error {
	if !subject.ValidLiteral(m.Subject) || m.TTL < store.TTLNever {
		return fmt.Errorf("%w: raw message %q ttl %d", store.ErrInvalid, m.Subject, m.TTL)
	}
	return nil
}
