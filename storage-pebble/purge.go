package storagepebble

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// doomed is a message a bulk removal collected.
type doomed struct {
	seq  uint64
	subj string
	e    entry
}

// removeSeqRange removes live messages with from <= seq < to in sequence
// order while more (nil: always) allows, and returns how many. The message
// keys go with one range deletion per chunk.
func (t *txn) removeSeqRange(from, to uint64, more func() bool) (uint64, error) {
	var n uint64
	// A trim (more set) usually removes one message per append: collect
	// few first, more as it goes on.
	limit := collectLimit
	if more != nil {
		limit = 1
	}
	batch := make([]doomed, 0, limit)
	for from < to {
		it, err := t.iter()
		if err != nil {
			return n, err
		}
		batch = batch[:0]
		for ok := it.SeekGE(msgKey(t.k[:0], t.s.id, from)); ok && hasTable(it.Key(), tMsg) && len(batch) < limit; ok = it.Next() {
			seq := seqSuffix(it.Key())
			if seq >= to {
				break
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return n, err
			}
			r, err := decodeMsg(v)
			if err != nil {
				return n, err
			}
			batch = append(batch, doomed{seq: seq, subj: r.subj, e: entry{ts: r.ts, ttl: r.ttl, size: t.size(r.subj, r.hdr, r.data)}})
		}
		if err := it.Error(); err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		done := 0
		for _, d := range batch {
			if more != nil && !more() {
				break
			}
			if err := t.removeKnown(d.seq, d.subj, d.e, removeOpts{keepMsgKey: true}); err != nil {
				return n, err
			}
			done++
		}
		if done > 0 {
			t.delRange(msgKey(nil, t.s.id, batch[0].seq), msgKey(nil, t.s.id, batch[done-1].seq+1))
			n += uint64(done)
		}
		if done < len(batch) {
			break
		}
		from = batch[len(batch)-1].seq + 1
		limit = min(2*limit, collectLimit)
		if err := t.flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// removeSubjectRange removes subj's oldest messages below bound, at most max
// of them (0: no limit), and returns how many. The subject-index keys go
// with one range deletion per chunk.
func (t *txn) removeSubjectRange(subj string, bound, max uint64) (uint64, error) {
	var n uint64
	pfx := subjPrefix(nil, t.s.id, subj)
	from := uint64(0)
	batch := make([]doomed, 0, 64)
	for max == 0 || n < max {
		it, err := t.iter()
		if err != nil {
			return n, err
		}
		batch = batch[:0]
		for ok := it.SeekGE(subjKey(t.k[:0], t.s.id, subj, from)); ok && bytes.HasPrefix(it.Key(), pfx); ok = it.Next() {
			seq := seqSuffix(it.Key())
			if seq >= bound || len(batch) == collectLimit || (max > 0 && n+uint64(len(batch)) == max) {
				break
			}
			e, err := decodeEntry(it.Value())
			if err != nil {
				return n, err
			}
			batch = append(batch, doomed{seq: seq, e: e})
		}
		if err := it.Error(); err != nil {
			return n, err
		}
		if len(batch) == 0 {
			break
		}
		for _, d := range batch {
			if err := t.removeKnown(d.seq, subj, d.e, removeOpts{keepSubjKey: true}); err != nil {
				return n, err
			}
		}
		t.delRange(subjKey(nil, t.s.id, subj, batch[0].seq), subjKey(nil, t.s.id, subj, batch[len(batch)-1].seq+1))
		n += uint64(len(batch))
		from = batch[len(batch)-1].seq + 1
		if err := t.flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// eachSubject calls fn for every subject fs (nil: all) matches, as the
// stream was when the walk started.
func (t *txn) eachSubject(fs *filterSet, fn func(subj string) error) error {
	if fs == nil {
		all, _ := newFilterSet(nil)
		fs = &all
	}
	// The walk reads the committed stream, not the batch: a flush in fn
	// replaces the batch, and the subjects to visit are fixed at the start.
	return forSubjects(t.s.p.db, t.s.id, fs, func(subj string, _ subjState) error { return fn(subj) })
}

// removeAll empties the stream with one range deletion over its message
// tables, keeping the sequences, and returns how many messages it held.
func (t *txn) removeAll() uint64 {
	n := t.c.msgs
	t.delRange(tableKey(nil, t.s.id, tMsgsLo), tableKey(nil, t.s.id, tMsgsHi))
	last, lastTime := t.c.last, t.c.lastTime
	t.c = counters{first: last + 1, last: last, lastTime: lastTime}
	t.firstStale = false
	clear(t.subjs)
	t.s.clearCache() // a cache miss is always safe
	t.settled = t.settled[:0]
	t.removed += n
	return n
}

// Purge implements store.Writer.
func (s *stream) Purge(_ context.Context, req store.PurgeRequest) (n uint64, err error) {
	if req.Subject != "" && !subject.Valid(req.Subject) {
		return 0, fmt.Errorf("%w: purge subject %q", store.ErrInvalid, req.Subject)
	}
	err = s.write(func(t *txn) (err error) {
		n, err = t.purge(req)
		return err
	})
	return n, err
}

func (t *txn) purge(req store.PurgeRequest) (uint64, error) {
	all := req.Subject == "" || req.Subject == ">"
	if all && req.Keep == 0 && (req.Seq == 0 || req.Seq > t.c.last && t.c.msgs > 0) {
		return t.removeAll(), nil
	}
	if all {
		if req.Keep >= t.c.msgs {
			return 0, nil
		}
		budget := t.c.msgs - req.Keep
		to := uint64(math.MaxUint64)
		if req.Seq > 0 {
			to = req.Seq
		}
		start := t.c.msgs
		return t.removeSeqRange(t.c.first, to, func() bool { return start-t.c.msgs < budget })
	}
	bound := uint64(math.MaxUint64)
	if req.Seq > 0 {
		bound = req.Seq
	}
	if req.Keep > 0 {
		cut, ok, err := t.keepCut(req.Subject, req.Keep)
		if err != nil || !ok {
			return 0, err
		}
		bound = min(bound, cut)
	}
	if subject.IsLiteral(req.Subject) {
		return t.removeSubjectRange(req.Subject, bound, 0)
	}
	fs, err := newFilterSet([]string{req.Subject})
	if err != nil {
		return 0, err
	}
	var n uint64
	err = t.eachSubject(&fs, func(subj string) error {
		k, err := t.removeSubjectRange(subj, bound, 0)
		n += k
		return err
	})
	return n, err
}

// keepCut returns the sequence of the keep-th newest message matching
// filter; ok is false when fewer match.
func (t *txn) keepCut(filter string, keep uint64) (cut uint64, ok bool, err error) {
	it, err := t.iter()
	if err != nil {
		return 0, false, err
	}
	var seen uint64
	if subject.IsLiteral(filter) {
		pfx := subjPrefix(nil, t.s.id, filter)
		for ok := it.SeekLT(prefixEnd(pfx)); ok && bytes.HasPrefix(it.Key(), pfx); ok = it.Prev() {
			if seen++; seen == keep {
				return seqSuffix(it.Key()), true, nil
			}
		}
		return 0, false, it.Error()
	}
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return 0, false, err
	}
	for ok := it.SeekLT(tableKey(t.k[:0], t.s.id, tMsg+1)); ok && hasTable(it.Key(), tMsg); ok = it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, false, err
		}
		subj, good := msgSubject(v)
		if !good {
			return 0, false, errCorrupt("message %d", seqSuffix(it.Key()))
		}
		if fs.match(string(subj)) {
			if seen++; seen == keep {
				return seqSuffix(it.Key()), true, nil
			}
		}
	}
	return 0, false, it.Error()
}

// Compact implements store.Writer.
func (s *stream) Compact(_ context.Context, seq uint64) (n uint64, err error) {
	err = s.write(func(t *txn) (err error) {
		if seq > t.c.last {
			n = t.removeAll()
			if seq > t.c.last+1 {
				t.c.first, t.c.last = seq, seq-1
			}
			return nil
		}
		if n, err = t.removeSeqRange(t.c.first, seq, nil); err != nil {
			return err
		}
		if t.c.msgs == 0 && seq > t.c.first {
			t.c.first = seq
		}
		return nil
	})
	return n, err
}

// Truncate implements store.Writer.
func (s *stream) Truncate(_ context.Context, seq uint64) error {
	return s.write(func(t *txn) error {
		if seq >= t.c.last {
			return nil
		}
		if seq == 0 {
			t.removeAll()
			t.c = newCounters(t.cfg)
			return nil
		}
		if _, err := t.removeSeqRange(seq+1, math.MaxUint64, nil); err != nil {
			return err
		}
		t.c.last, t.c.lastTime = seq, 0
		if t.c.msgs == 0 {
			t.c.first = seq + 1
			return nil
		}
		it, err := t.iter()
		if err != nil {
			return err
		}
		if !it.SeekLT(msgKey(t.k[:0], t.s.id, seq+1)) || !hasTable(it.Key(), tMsg) {
			return errCorrupt("stream %d counts %d messages but has none up to %d", t.s.id, t.c.msgs, seq)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		r, err := decodeMsg(v)
		if err != nil {
			return err
		}
		t.c.lastTime = r.ts
		return nil
	})
}

// Expire implements store.Writer.
func (s *stream) Expire(_ context.Context, now int64) (res store.ExpireResult, err error) {
	err = s.write(func(t *txn) (err error) {
		res, err = t.expire(now)
		return err
	})
	return res, err
}

func (t *txn) expire(now int64) (store.ExpireResult, error) {
	var res store.ExpireResult
	// Per-message TTLs, by expiry time.
	for {
		seqs, err := t.collectTimed(tTTL, math.MinInt64, now, nil)
		if err != nil {
			return res, err
		}
		for _, seq := range seqs {
			if _, _, err := t.removeSeq(seq); err != nil {
				return res, err
			}
		}
		if err := t.flush(); err != nil {
			return res, err
		}
		if len(seqs) < collectLimit {
			break
		}
	}
	// Max age, by store time; messages with a TTL are skipped.
	if maxAge := int64(t.cfg.MaxAge); maxAge > 0 && t.c.age > 0 {
		aged := map[string]struct{}{}
		from := int64(math.MinInt64)
		for {
			var next int64
			seqs, err := t.collectTimed(tTime, from, now-maxAge, &next)
			if err != nil {
				return res, err
			}
			for _, seq := range seqs {
				ok, subj, err := t.removeSeq(seq)
				if err != nil {
					return res, err
				}
				if ok {
					aged[subj] = struct{}{}
				}
			}
			if err := t.flush(); err != nil {
				return res, err
			}
			if len(seqs) < collectLimit {
				break
			}
			from = next
		}
		for subj := range aged {
			x, err := t.subj(subj)
			if err != nil {
				return res, err
			}
			if x.n == 0 {
				res.Emptied = append(res.Emptied, subj)
			}
		}
		sort.Strings(res.Emptied)
	}
	res.Msgs, res.Bytes = t.removed, t.removedBytes
	next, err := t.nextExpiry()
	res.Next = next
	return res, err
}

// collectTimed returns up to collectLimit sequences from the time or TTL
// table with a time in [from, upTo]; from the time table only those max age
// governs, and *resume is where to continue.
func (t *txn) collectTimed(table byte, from, upTo int64, resume *int64) ([]uint64, error) {
	it, err := t.iter()
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	lo := binaryTimeKey(t.k[:0], t.s.id, table, from)
	for ok := it.SeekGE(lo); ok && hasTable(it.Key(), table) && len(seqs) < collectLimit; ok = it.Next() {
		ts := timeFromKey(it.Key())
		if ts > upTo {
			break
		}
		if table == tTime && !bytes.Equal(it.Value(), flagAge) {
			continue
		}
		seqs = append(seqs, seqSuffix(it.Key()))
		if resume != nil {
			*resume = ts
		}
	}
	return seqs, it.Error()
}

func binaryTimeKey(dst []byte, id uint32, table byte, ts int64) []byte {
	if table == tTTL {
		return ttlKey(dst, id, ts, 0)
	}
	return timeKey(dst, id, ts, 0)
}

// nextExpiry is when the earliest remaining message expires, or 0.
func (t *txn) nextExpiry() (int64, error) {
	it, err := t.iter()
	if err != nil {
		return 0, err
	}
	var next int64
	if it.SeekGE(tableKey(t.k[:0], t.s.id, tTTL)) && hasTable(it.Key(), tTTL) {
		next = timeFromKey(it.Key())
	}
	if maxAge := int64(t.cfg.MaxAge); maxAge > 0 && t.c.age > 0 {
		for ok := it.SeekGE(tableKey(t.k[:0], t.s.id, tTime)); ok && hasTable(it.Key(), tTime); ok = it.Next() {
			if bytes.Equal(it.Value(), flagAge) {
				if exp := timeFromKey(it.Key()) + maxAge; next == 0 || exp < next {
					next = exp
				}
				break
			}
		}
	}
	return next, it.Error()
}
