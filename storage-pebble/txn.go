package storagepebble

import (
	"bytes"
	"errors"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
)

// Large removals are committed in chunks so a batch stays bounded; each
// chunk carries the counters and subject states it produced, so a crash
// between chunks leaves a consistent stream (part of the removal done).
// (Variables so tests can make chunks small.)
var (
	chunkBytes   = 8 << 20
	chunkOps     = uint32(64 << 10)
	collectLimit = 512
)

// subjTx is a subject's state while a transaction changes it. A stale
// first is a lower bound and a stale last an upper bound of the real one;
// both are resolved by a seek when needed or at commit.
type subjTx struct {
	subjState
	firstStale, lastStale bool
	dirty                 bool
	le                    entry // the last message's index entry, when leKnown
	leKnown               bool
}

// txn is one write to a stream: an indexed batch (so the write reads its own
// changes), the counters it produces and the subject states it touched.
type txn struct {
	s          *stream
	cfg        *store.StreamConfig
	b          *pebble.Batch
	indexed    bool          // b is an indexed batch, which reads see
	r          pebble.Reader // b when indexed, else the DB
	c          counters
	firstStale bool
	subjs      map[string]*subjTx
	wrote      bool

	it     *pebble.Iterator
	itOpts pebble.IterOptions
	gen    uint64 // bumped by every write
	itGen  uint64 // the gen the iterator's view of the batch includes

	k, k2 []byte // scratch keys

	// settled are the subject states this transaction's commits wrote,
	// for the stream's cache once the commit is applied.
	settled []settledSubj

	// What removals did, for Expire's result.
	removed, removedBytes uint64
}

type settledSubj struct {
	subj string
	st   subjState // n == 0: the subject is gone
}

// newTxn starts a transaction. A plain append to a stream without
// discard-old limits reads nothing it wrote itself, so it skips the cost of
// an indexed batch.
func (s *stream) newTxn(appendOnly bool) *txn {
	c := &s.cfg
	t := &txn{s: s, cfg: c, c: s.c, subjs: make(map[string]*subjTx)}
	t.indexed = !appendOnly || c.MaxMsgs > 0 || c.MaxBytes > 0 || c.MaxMsgsPerSubject > 0
	t.newBatch()
	t.itOpts = pebble.IterOptions{LowerBound: appendID(nil, s.id), UpperBound: streamEnd(s.id)}
	return t
}

func (t *txn) newBatch() {
	if t.indexed {
		t.b = t.s.p.db.NewIndexedBatch()
		t.r = t.b
	} else {
		t.b = t.s.p.db.NewBatch()
		t.r = t.s.p.db
	}
}

func (t *txn) set(k, v []byte) {
	_ = t.b.Set(k, v, nil)
	t.gen++
	t.wrote = true
}

func (t *txn) del(k []byte) {
	_ = t.b.Delete(k, nil)
	t.gen++
	t.wrote = true
}

func (t *txn) delRange(lo, hi []byte) {
	_ = t.b.DeleteRange(lo, hi, nil)
	t.gen++
	t.wrote = true
}

// iter returns the transaction's iterator with a view of every write so
// far. Writes made later are not seen until the next call, which also
// unpositions it.
func (t *txn) iter() (*pebble.Iterator, error) {
	if !t.indexed {
		return nil, errors.New("pebble store: internal error: a transaction without an indexed batch needs to read")
	}
	if t.it == nil {
		it, err := t.b.NewIter(&t.itOpts)
		if err != nil {
			return nil, err
		}
		t.it, t.itGen = it, t.gen
	} else if t.itGen != t.gen {
		t.it.SetOptions(&t.itOpts)
		t.itGen = t.gen
	}
	return t.it, nil
}

func (t *txn) closeIter() {
	if t.it != nil {
		_ = t.it.Close()
		t.it = nil
	}
}

// subj returns the state of subj as of this transaction.
func (t *txn) subj(subj string) (*subjTx, error) {
	if x := t.subjs[subj]; x != nil {
		return x, nil
	}
	x := &subjTx{}
	if st, ok := t.s.subjCache[subj]; ok {
		x.subjState = st
	} else {
		// The batch holds no write of subj's state yet (those come at
		// finish), so the DB's is current even when the batch is not read.
		t.k = perKey(t.k[:0], t.s.id, subj)
		v, ok, err := get(t.r, t.k)
		if err != nil {
			return nil, err
		}
		if ok {
			if x.subjState, err = decodeSubjState(v); err != nil {
				return nil, err
			}
		}
	}
	t.subjs[subj] = x
	return x, nil
}

func (t *txn) size(subj string, hdr, data []byte) uint64 {
	return store.MsgSize(t.cfg.Storage, subj, hdr, data)
}

// appendMsg writes a message that passed every check at seq and ts.
func (t *txn) appendMsg(subj string, hdr, data []byte, ttl int64, seq uint64, ts int64) error {
	x, err := t.subj(subj)
	if err != nil {
		return err
	}
	e := entry{ts: ts, ttl: ttl, size: t.size(subj, hdr, data)}
	id := t.s.id
	t.k = msgKey(t.k[:0], id, seq)
	t.k2 = appendMsgValue(t.k2[:0], ts, ttl, subj, hdr, data)
	t.set(t.k, t.k2)
	t.k = subjKey(t.k[:0], id, subj, seq)
	t.k2 = appendEntry(t.k2[:0], e)
	t.set(t.k, t.k2)
	flag := flagAge
	if ttl != 0 {
		flag = flagNoAge
	}
	t.set(timeKey(t.k[:0], id, ts, seq), flag)
	if ttl > 0 {
		t.set(ttlKey(t.k[:0], id, expiry(ts, ttl), seq), nil)
	}
	if x.n == 0 {
		x.first, x.fe, x.firstStale = seq, e, false
		t.c.subjects++
	}
	x.n++
	x.last, x.lastStale, x.dirty = seq, false, true
	x.le, x.leKnown = e, true
	c := &t.c
	if c.msgs == 0 {
		c.first, c.firstTime, t.firstStale = seq, ts, false
	}
	c.msgs++
	c.bytes += e.size
	c.last, c.lastTime = seq, ts
	if ttl == 0 {
		c.age++
	}
	return nil
}

// Time-index values: whether max age governs the message (TTL 0).
var (
	flagAge   = []byte{0}
	flagNoAge = []byte{1}
)

// removeOpts say which of a message's keys a caller deletes with a range.
type removeOpts struct{ keepMsgKey, keepSubjKey bool }

// removeKnown removes the live message seq of subj described by e.
func (t *txn) removeKnown(seq uint64, subj string, e entry, o removeOpts) error {
	x, err := t.subj(subj)
	if err != nil {
		return err
	}
	if x.n == 0 {
		return errCorrupt("removing seq %d of subject %q, which has no messages", seq, subj)
	}
	id := t.s.id
	if !o.keepMsgKey {
		t.del(msgKey(t.k[:0], id, seq))
	}
	if !o.keepSubjKey {
		t.del(subjKey(t.k[:0], id, subj, seq))
	}
	t.del(timeKey(t.k[:0], id, e.ts, seq))
	if e.ttl > 0 {
		t.del(ttlKey(t.k[:0], id, expiry(e.ts, e.ttl), seq))
	}
	x.n--
	x.dirty = true
	if x.n == 0 {
		t.c.subjects--
	} else {
		if seq <= x.first {
			x.firstStale = true
		}
		if seq >= x.last {
			x.lastStale, x.leKnown = true, false
		}
		if x.n == 1 && x.firstStale && !x.lastStale && x.leKnown {
			// One left, and it is the last: no seek needed.
			x.first, x.fe, x.firstStale = x.last, x.le, false
		}
	}
	c := &t.c
	c.msgs--
	c.bytes -= e.size
	if e.ttl == 0 {
		c.age--
	}
	if c.msgs == 0 {
		c.first, c.firstTime, t.firstStale = c.last+1, 0, false
	} else if seq == c.first {
		t.firstStale = true
	}
	t.removed++
	t.removedBytes += e.size
	return nil
}

// removeSeq removes the message at seq; ok is false when there is none.
func (t *txn) removeSeq(seq uint64) (ok bool, subj string, err error) {
	v, ok, err := get(t.r, msgKey(t.k[:0], t.s.id, seq))
	if err != nil || !ok {
		return false, "", err
	}
	r, err := decodeMsg(v)
	if err != nil {
		return false, "", err
	}
	e := entry{ts: r.ts, ttl: r.ttl, size: t.size(r.subj, r.hdr, r.data)}
	return true, r.subj, t.removeKnown(seq, r.subj, e, removeOpts{})
}

// first returns the stream's first sequence, seeking it when stale.
func (t *txn) first() (uint64, error) {
	if !t.firstStale {
		return t.c.first, nil
	}
	it, err := t.iter()
	if err != nil {
		return 0, err
	}
	if !it.SeekGE(msgKey(t.k[:0], t.s.id, t.c.first)) || !hasTable(it.Key(), tMsg) {
		if err := it.Error(); err != nil {
			return 0, err
		}
		return 0, errCorrupt("stream %d counts %d messages but has none from %d", t.s.id, t.c.msgs, t.c.first)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, err
	}
	r, err := decodeMsg(v)
	if err != nil {
		return 0, err
	}
	t.c.first, t.c.firstTime, t.firstStale = seqSuffix(it.Key()), r.ts, false
	return t.c.first, nil
}

// resolve makes x's first and last exact.
func (t *txn) resolve(subj string, x *subjTx) error {
	if x.n == 0 || !x.firstStale && !x.lastStale {
		return nil
	}
	if x.n == 1 && x.firstStale != x.lastStale {
		if x.lastStale {
			x.last, x.le, x.leKnown = x.first, x.fe, true
		} else {
			if !x.leKnown {
				v, ok, err := get(t.r, subjKey(t.k[:0], t.s.id, subj, x.last))
				if err != nil {
					return err
				}
				if !ok {
					return errCorrupt("subject %q last %d is not indexed", subj, x.last)
				}
				if x.le, err = decodeEntry(v); err != nil {
					return err
				}
				x.leKnown = true
			}
			x.first, x.fe = x.last, x.le
		}
		x.firstStale, x.lastStale = false, false
		return nil
	}
	it, err := t.iter()
	if err != nil {
		return err
	}
	pfx := subjPrefix(nil, t.s.id, subj)
	if x.firstStale {
		if !it.SeekGE(subjKey(t.k[:0], t.s.id, subj, x.first)) || !bytes.HasPrefix(it.Key(), pfx) {
			return t.lostSubject(it, subj)
		}
		if x.fe, err = decodeEntry(it.Value()); err != nil {
			return err
		}
		x.first, x.firstStale = seqSuffix(it.Key()), false
	}
	if x.lastStale {
		hi := prefixEnd(pfx)
		if x.last < math.MaxUint64 {
			hi = subjKey(t.k[:0], t.s.id, subj, x.last+1)
		}
		if !it.SeekLT(hi) || !bytes.HasPrefix(it.Key(), pfx) {
			return t.lostSubject(it, subj)
		}
		if x.le, err = decodeEntry(it.Value()); err != nil {
			return err
		}
		x.last, x.lastStale, x.leKnown = seqSuffix(it.Key()), false, true
	}
	return nil
}

func (t *txn) lostSubject(it *pebble.Iterator, subj string) error {
	if err := it.Error(); err != nil {
		return err
	}
	return errCorrupt("subject %q of stream %d counts messages the index does not hold", subj, t.s.id)
}

// finish writes the subject states and counters into the batch.
func (t *txn) finish() error {
	for subj, x := range t.subjs {
		if !x.dirty {
			continue
		}
		t.k = perKey(t.k[:0], t.s.id, subj)
		if x.n == 0 {
			t.del(t.k)
			t.settled = append(t.settled, settledSubj{subj: subj})
			continue
		}
		if err := t.resolve(subj, x); err != nil {
			return err
		}
		t.k = perKey(t.k[:0], t.s.id, subj)
		t.set(t.k, appendSubjState(t.k2[:0], x.subjState))
		t.settled = append(t.settled, settledSubj{subj: subj, st: x.subjState})
	}
	clear(t.subjs)
	if _, err := t.first(); err != nil {
		return err
	}
	if t.wrote || t.c != t.s.c {
		t.set(tableKey(t.k[:0], t.s.id, tState), appendCounters(t.k2[:0], &t.c))
	}
	return nil
}

// commit applies the transaction. The returned batch, if any, must be
// passed to Provider.wait once the stream's lock is released.
func (t *txn) commit() (*pebble.Batch, error) {
	if err := t.finish(); err != nil {
		t.abort()
		return nil, err
	}
	t.closeIter()
	if !t.wrote {
		_ = t.b.Close()
		t.b = nil
		return nil, nil
	}
	pending, err := t.s.p.apply(t.b, !t.s.bulk.Load())
	t.b = nil
	if err != nil {
		return nil, err
	}
	t.applied()
	return pending, nil
}

// applied publishes what a commit wrote to the stream's memory.
func (t *txn) applied() {
	t.s.c = t.c
	t.s.cacheSubjects(t.settled)
	t.settled = t.settled[:0]
}

// flush commits what the transaction holds so far without waiting for a
// sync, when the batch has grown past a chunk, and starts a new batch. A
// later commit's sync covers it (the WAL is written in order).
func (t *txn) flush() error {
	if t.b.Len() < chunkBytes && t.b.Count() < chunkOps {
		return nil
	}
	if err := t.finish(); err != nil {
		return err
	}
	t.closeIter()
	if _, err := t.s.p.apply(t.b, false); err != nil {
		t.b = nil
		return err
	}
	t.applied()
	t.newBatch()
	t.wrote = false
	return nil
}

// abort drops what the transaction has not committed.
func (t *txn) abort() {
	t.closeIter()
	if t.b != nil {
		_ = t.b.Close()
		t.b = nil
	}
}

func hasTable(k []byte, table byte) bool { return len(k) > idLen && k[idLen] == table }
