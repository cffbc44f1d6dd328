package storagepebble

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
)

// scanBudget is how many messages a wildcard read walks in sequence order
// before it asks the subject index instead: dense matches are found by the
// walk, sparse ones by one seek per matching subject.
const scanBudget = 256

// view reads one stream from a Pebble reader (the DB under the stream's
// read lock, or a Pebble snapshot) with the counters that match it.
// Iterators are made on first use and closed by close.
type view struct {
	r   pebble.Reader
	id  uint32
	c   counters
	cfg *store.StreamConfig
	its [3]*pebble.Iterator // message, subject index, time tables
	k   []byte
}

const (
	itMsg = iota
	itSubj
	itTime
)

func (s *stream) view() *view {
	return &view{r: s.p.db, id: s.id, c: s.c, cfg: &s.cfg}
}

// read runs fn on a view of the stream under its read lock.
func (s *stream) read(fn func(v *view) error) error {
	if err := s.lockR(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	v := s.view()
	defer v.close()
	return fn(v)
}

func (v *view) close() {
	for i, it := range v.its {
		if it != nil {
			_ = it.Close()
			v.its[i] = nil
		}
	}
}

func (v *view) iter(which int) (*pebble.Iterator, error) {
	if it := v.its[which]; it != nil {
		return it, nil
	}
	table := [...]byte{itMsg: tMsg, itSubj: tSubj, itTime: tTime}[which]
	it, err := v.r.NewIter(&pebble.IterOptions{
		LowerBound: tableKey(nil, v.id, table), UpperBound: tableKey(nil, v.id, table+1)})
	if err != nil {
		return nil, err
	}
	v.its[which] = it
	return it, nil
}

// get loads the message at seq; ok is false when there is none.
func (v *view) get(seq uint64) (store.Msg, bool, error) {
	val, closer, err := v.r.Get(msgKey(v.k[:0], v.id, seq))
	if err == pebble.ErrNotFound {
		return store.Msg{}, false, nil
	}
	if err != nil {
		return store.Msg{}, false, err
	}
	defer closer.Close()
	r, err := decodeMsg(val)
	if err != nil {
		return store.Msg{}, false, err
	}
	return r.toMsg(seq), true, nil
}

// msgAt decodes the message under a message-table iterator.
func msgAt(it *pebble.Iterator) (store.Msg, error) {
	val, err := it.ValueAndErr()
	if err != nil {
		return store.Msg{}, err
	}
	r, err := decodeMsg(val)
	if err != nil {
		return store.Msg{}, err
	}
	return r.toMsg(seqSuffix(it.Key())), nil
}

func (v *view) load(seq uint64) (store.Msg, error) {
	if v.c.msgs == 0 || seq < v.c.first || seq > v.c.last {
		return store.Msg{}, v.c.missing(seq)
	}
	m, ok, err := v.get(seq)
	if err == nil && !ok {
		err = v.c.missing(seq)
	}
	return m, err
}

// subjNext returns the first sequence of subj at or after start, or 0.
func (v *view) subjNext(subj string, start uint64) (uint64, error) {
	it, err := v.iter(itSubj)
	if err != nil {
		return 0, err
	}
	v.k = subjKey(v.k[:0], v.id, subj, start)
	if it.SeekGE(v.k) && bytes.HasPrefix(it.Key(), v.k[:len(v.k)-8]) {
		return seqSuffix(it.Key()), nil
	}
	return 0, it.Error()
}

// subjPrev returns the last sequence of subj at or before end, or 0.
func (v *view) subjPrev(subj string, end uint64) (uint64, error) {
	it, err := v.iter(itSubj)
	if err != nil {
		return 0, err
	}
	pfx := subjPrefix(nil, v.id, subj)
	hi := prefixEnd(pfx)
	if end < math.MaxUint64 {
		hi = subjKey(nil, v.id, subj, end+1)
	}
	if it.SeekLT(hi) && bytes.HasPrefix(it.Key(), pfx) {
		return seqSuffix(it.Key()), nil
	}
	return 0, it.Error()
}

// nextMatch returns the first message at or after start matching fs.
func (v *view) nextMatch(fs *filterSet, start uint64) (store.Msg, bool, error) {
	if v.c.msgs == 0 || start > v.c.last {
		return store.Msg{}, false, nil
	}
	start = max(start, v.c.first)
	if fs.literal {
		best := uint64(0)
		for _, f := range fs.lits {
			q, err := v.subjNext(f, start)
			if err != nil {
				return store.Msg{}, false, err
			}
			if q != 0 && (best == 0 || q < best) {
				best = q
			}
		}
		if best == 0 {
			return store.Msg{}, false, nil
		}
		return v.get(best)
	}
	it, err := v.iter(itMsg)
	if err != nil {
		return store.Msg{}, false, err
	}
	budget := scanBudget
	for ok := it.SeekGE(msgKey(v.k[:0], v.id, start)); ok; ok = it.Next() {
		if fs.all {
			m, err := msgAt(it)
			return m, err == nil, err
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return store.Msg{}, false, err
		}
		subj, good := msgSubject(val)
		if !good {
			return store.Msg{}, false, errCorrupt("message %d", seqSuffix(it.Key()))
		}
		if fs.match(string(subj)) {
			m, err := msgAt(it)
			return m, err == nil, err
		}
		if budget--; budget == 0 {
			return v.nextByIndex(fs, seqSuffix(it.Key())+1)
		}
	}
	return store.Msg{}, false, it.Error()
}

// nextByIndex finds the first match at or after from with one seek per
// matching subject whose last message is at or after from.
func (v *view) nextByIndex(fs *filterSet, from uint64) (store.Msg, bool, error) {
	best := uint64(0)
	err := forSubjects(v.r, v.id, fs, func(subj string, st subjState) error {
		if st.last < from {
			return nil
		}
		q := st.first
		if q < from {
			var err error
			if q, err = v.subjNext(subj, from); err != nil {
				return err
			}
		}
		if q != 0 && (best == 0 || q < best) {
			best = q
		}
		return nil
	})
	if err != nil || best == 0 {
		return store.Msg{}, false, err
	}
	return v.get(best)
}

// prevMatch returns the last message at or before end matching fs.
func (v *view) prevMatch(fs *filterSet, end uint64) (store.Msg, bool, error) {
	if v.c.msgs == 0 || end < v.c.first {
		return store.Msg{}, false, nil
	}
	end = min(end, v.c.last)
	if fs.literal {
		return v.prevByIndex(fs, end)
	}
	it, err := v.iter(itMsg)
	if err != nil {
		return store.Msg{}, false, err
	}
	budget := scanBudget
	for ok := it.SeekLT(msgKey(v.k[:0], v.id, end+1)); ok; ok = it.Prev() {
		if fs.all {
			m, err := msgAt(it)
			return m, err == nil, err
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return store.Msg{}, false, err
		}
		subj, good := msgSubject(val)
		if !good {
			return store.Msg{}, false, errCorrupt("message %d", seqSuffix(it.Key()))
		}
		if fs.match(string(subj)) {
			m, err := msgAt(it)
			return m, err == nil, err
		}
		if budget--; budget == 0 {
			return v.prevByIndex(fs, seqSuffix(it.Key())-1)
		}
	}
	return store.Msg{}, false, it.Error()
}

// prevByIndex finds the last match at or before end from the subjects'
// states, seeking only in subjects whose last message is after end.
func (v *view) prevByIndex(fs *filterSet, end uint64) (store.Msg, bool, error) {
	best := uint64(0)
	err := forSubjects(v.r, v.id, fs, func(subj string, st subjState) error {
		if st.first > end {
			return nil
		}
		q := st.last
		if q > end {
			var err error
			if q, err = v.subjPrev(subj, end); err != nil {
				return err
			}
		}
		best = max(best, q)
		return nil
	})
	if err != nil || best == 0 {
		return store.Msg{}, false, err
	}
	return v.get(best)
}

// Load implements store.Reader.
func (s *stream) Load(_ context.Context, seq uint64) (m store.Msg, err error) {
	err = s.read(func(v *view) (err error) {
		m, err = v.load(seq)
		return err
	})
	return m, err
}

// LoadNext implements store.Reader.
func (s *stream) LoadNext(_ context.Context, filters []string, start uint64) (m store.Msg, err error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return m, err
	}
	err = s.read(func(v *view) error {
		var ok bool
		if m, ok, err = v.nextMatch(&fs, start); err == nil && !ok {
			err = fmt.Errorf("%w: no match from %d", store.ErrEOF, start)
		}
		return err
	})
	return m, err
}

// LoadLast implements store.Reader.
func (s *stream) LoadLast(_ context.Context, subj string) (m store.Msg, err error) {
	fs, err := filterOne(subj)
	if err != nil {
		return m, err
	}
	err = s.read(func(v *view) error {
		var ok bool
		if m, ok, err = v.prevMatch(&fs, v.c.last); err == nil && !ok {
			err = fmt.Errorf("%w: no message on %q", store.ErrNotFound, subj)
		}
		return err
	})
	return m, err
}

// LoadPrev implements store.Reader.
func (s *stream) LoadPrev(_ context.Context, filters []string, start uint64) (m store.Msg, err error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return m, err
	}
	err = s.read(func(v *view) error {
		var ok bool
		if m, ok, err = v.prevMatch(&fs, start); err == nil && !ok {
			err = fmt.Errorf("%w: no match at or before %d", store.ErrEOF, start)
		}
		return err
	})
	return m, err
}

// LoadRange implements store.Reader.
func (s *stream) LoadRange(_ context.Context, req store.RangeRequest) (out []store.Msg, err error) {
	fs, err := newFilterSet(req.Filters)
	if err != nil {
		return nil, err
	}
	err = s.read(func(v *view) error {
		out, err = v.loadRange(&fs, req)
		return err
	})
	return out, err
}

func (v *view) loadRange(fs *filterSet, req store.RangeRequest) ([]store.Msg, error) {
	end := v.c.last
	if req.End > 0 && req.End < end {
		end = req.End
	}
	var out []store.Msg
	size := 0
	add := func(m store.Msg) bool {
		sz := len(m.Header) + len(m.Data)
		if req.MaxBytes > 0 && len(out) > 0 && size+sz > req.MaxBytes {
			return false
		}
		out = append(out, m)
		size += sz
		return req.MaxMsgs <= 0 || len(out) < req.MaxMsgs
	}
	if fs.all {
		it, err := v.iter(itMsg)
		if err != nil {
			return nil, err
		}
		for ok := it.SeekGE(msgKey(v.k[:0], v.id, max(req.Start, v.c.first))); ok && seqSuffix(it.Key()) <= end; ok = it.Next() {
			m, err := msgAt(it)
			if err != nil {
				return nil, err
			}
			if !add(m) {
				break
			}
		}
		if err := it.Error(); err != nil {
			return nil, err
		}
	} else {
		for seq := req.Start; seq <= end; {
			m, ok, err := v.nextMatch(fs, seq)
			if err != nil {
				return nil, err
			}
			if !ok || m.Seq > end || !add(m) {
				break
			}
			seq = m.Seq + 1
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no match from %d", store.ErrEOF, req.Start)
	}
	return out, nil
}

// SeqFromTime implements store.Reader: the time index gives the first
// message stored at or after ts.
func (s *stream) SeqFromTime(_ context.Context, ts int64) (seq uint64, err error) {
	err = s.read(func(v *view) error {
		it, err := v.iter(itTime)
		if err != nil {
			return err
		}
		seq = v.c.last + 1
		if it.SeekGE(timeKey(v.k[:0], v.id, ts, 0)) {
			seq = seqSuffix(it.Key())
		}
		return it.Error()
	})
	return seq, err
}

// SubjectForSeq implements store.Reader.
func (s *stream) SubjectForSeq(_ context.Context, seq uint64) (subj string, err error) {
	err = s.read(func(v *view) error {
		if v.c.msgs == 0 || seq < v.c.first || seq > v.c.last {
			return v.c.missing(seq)
		}
		val, closer, err := v.r.Get(msgKey(v.k[:0], v.id, seq))
		if err == pebble.ErrNotFound {
			return v.c.missing(seq)
		}
		if err != nil {
			return err
		}
		defer closer.Close()
		b, ok := msgSubject(val)
		if !ok {
			return errCorrupt("message %d", seq)
		}
		subj = string(b)
		return nil
	})
	return subj, err
}
