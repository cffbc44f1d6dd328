package storagefile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// filterSet is a parsed filter list.
type filterSet struct {
	filters []string
	all     bool // matches every subject
	literal bool // every filter is a literal subject
	key     string
}

func newFilterSet(filters []string) (filterSet, error) {
	if err := store.ValidateFilters(filters); err != nil {
		return filterSet{}, err
	}
	fs := filterSet{filters: filters, all: store.MatchesAll(filters), literal: true}
	for _, f := range filters {
		if subject.HasWildcard(f) {
			fs.literal = false
		}
	}
	if !fs.all && !fs.literal {
		if len(filters) == 1 {
			fs.key = filters[0]
		} else {
			fs.key = strings.Join(filters, "\x00")
		}
	}
	return fs, nil
}

func (fs *filterSet) match(subj string) bool {
	if fs.all {
		return true
	}
	if fs.literal {
		for _, f := range fs.filters {
			if f == subj {
				return true
			}
		}
		return false
	}
	return store.MatchAny(subj, fs.filters)
}

// blockMatch answers, for one block's index, whether a subject id matches
// a filter set. Small sets of ids live inline, so a read allocates nothing.
type blockMatch struct {
	all   bool
	nlit  int       // literal filters present in the block: lit[:nlit], or sids
	lit   [4]uint32 //
	sids  []uint32
	small [4]uint64 // wildcard filters over at most 256 subjects: a bit per id
	res   []bool    // wildcard filters over more: cached per index
	wild  bool
}

func (m *blockMatch) none() bool {
	switch {
	case m.all:
		return false
	case m.wild:
		return m.res == nil && m.small == [4]uint64{}
	}
	return m.nlit == 0 && m.sids == nil
}

// single returns the only literal subject id of the set, if it has one.
func (m *blockMatch) single() (uint32, bool) {
	if !m.all && !m.wild && m.nlit == 1 {
		return m.lit[0], true
	}
	return 0, false
}

func (m *blockMatch) match(sid uint32) bool {
	switch {
	case m.all:
		return true
	case m.wild && m.res != nil:
		return m.res[sid]
	case m.wild:
		return sid < 256 && m.small[sid>>6]&(1<<(sid&63)) != 0
	}
	for _, s := range m.lit[:m.nlit] {
		if s == sid {
			return true
		}
	}
	for _, s := range m.sids {
		if s == sid {
			return true
		}
	}
	return false
}

// matcher returns the block match of fs.
func (ix *blkIndex) matcher(fs *filterSet) blockMatch {
	if fs.all {
		return blockMatch{all: true}
	}
	var m blockMatch
	if fs.literal {
		for _, f := range fs.filters {
			if id, ok := ix.ids[f]; ok {
				if m.nlit < len(m.lit) {
					m.lit[m.nlit] = id
					m.nlit++
				} else {
					m.sids = append(m.sids, id)
				}
			}
		}
		return m
	}
	m.wild = true
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if c, ok := ix.mcache[fs.key]; ok && c.n == len(ix.names) {
		m.small, m.res = c.small, c.res
		return m
	}
	c := matchCache{n: len(ix.names)}
	if len(ix.names) <= 256 {
		for i, n := range ix.names {
			if fs.match(n) {
				c.small[i>>6] |= 1 << (i & 63)
			}
		}
	} else {
		res := make([]bool, len(ix.names))
		for i, n := range ix.names {
			if res[i] = fs.match(n); res[i] {
				c.res = res
			}
		}
	}
	if ix.mcache == nil || len(ix.mcache) >= 128 {
		ix.mcache = make(map[string]matchCache)
	}
	ix.mcache[fs.key] = c
	m.small, m.res = c.small, c.res
	return m
}

// narrow shrinks [from, to] with the subject index when the filters are
// literal; ok false means nothing can match.
func (st *fstream) narrow(fs *filterSet, from, to uint64) (uint64, uint64, bool) {
	from, to = max(from, st.first), min(to, st.last)
	if st.nmsgs == 0 || from > to {
		return 0, 0, false
	}
	if fs.all || !fs.literal {
		return from, to, true
	}
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for _, f := range fs.filters {
		if e := st.subjs.get(f); e != nil {
			lo, hi = min(lo, e.first), max(hi, e.last)
		}
	}
	from, to = max(from, lo), min(to, hi)
	return from, to, from <= to
}

// scan calls fn for each live message matching fs in [from, to], in
// order, until fn returns false. mu held (read or write).
func (st *fstream) scan(fs *filterSet, from, to uint64, fn func(b *block, q uint64) bool) error {
	from, to, ok := st.narrow(fs, from, to)
	if !ok {
		return nil
	}
	_, i := st.blockFor(from)
	for i = max(i, 0); i < len(st.blks); i++ {
		b := st.blks[i]
		if b.nmsgs == 0 || b.last < from {
			continue
		}
		if b.first > to {
			return nil
		}
		lo, hi := max(from, b.first)-b.first, min(to, b.last)-b.first
		var ix *blkIndex
		var m blockMatch
		if !fs.all {
			var err error
			if ix, err = b.getIndex(); err != nil {
				return err
			}
			if m = ix.matcher(fs); m.none() {
				continue
			}
			if id, ok := m.single(); ok {
				// One literal subject: walk its slots only.
				if !st.scanSlots(b, ix.slots(id), lo, hi, fn) {
					return nil
				}
				continue
			}
		}
		for j := b.del.nextClear(lo, hi+1); j <= hi; j = b.del.nextClear(j+1, hi+1) {
			if ix != nil && (j >= uint64(len(ix.offs)) || ix.offs[j] == 0 || !m.match(ix.sids[j])) {
				continue
			}
			if !fn(b, b.first+j) {
				return nil
			}
		}
	}
	return nil
}

// scanBack is scan in descending order, from the high end of the range.
func (st *fstream) scanBack(fs *filterSet, from, to uint64, fn func(b *block, q uint64) bool) error {
	from, to, ok := st.narrow(fs, from, to)
	if !ok {
		return nil
	}
	_, i := st.blockFor(to)
	for ; i >= 0; i-- {
		b := st.blks[i]
		if b.nmsgs == 0 || b.first > to {
			continue
		}
		if b.last < from {
			return nil
		}
		lo, hi := max(from, b.first)-b.first, min(to, b.last)-b.first
		var ix *blkIndex
		var m blockMatch
		if !fs.all {
			var err error
			if ix, err = b.getIndex(); err != nil {
				return err
			}
			if m = ix.matcher(fs); m.none() {
				continue
			}
			if id, ok := m.single(); ok {
				if !st.scanSlotsBack(b, ix.slots(id), lo, hi, fn) {
					return nil
				}
				continue
			}
		}
		for j := b.del.prevClear(hi); j >= int64(lo); j = b.del.prevClear(uint64(j - 1)) {
			u := uint64(j)
			if ix == nil || u < uint64(len(ix.offs)) && ix.offs[u] != 0 && m.match(ix.sids[u]) {
				if !fn(b, b.first+u) {
					return nil
				}
			}
			if j == 0 {
				break
			}
		}
	}
	return nil
}

// scanSlots calls fn for the live slots of list within [lo, hi], in order,
// and reports whether to go on.
func (st *fstream) scanSlots(b *block, list []uint32, lo, hi uint64, fn func(b *block, q uint64) bool) bool {
	i := sort.Search(len(list), func(i int) bool { return uint64(list[i]) >= lo })
	for ; i < len(list) && uint64(list[i]) <= hi; i++ {
		if j := uint64(list[i]); !b.del.has(j) && !fn(b, b.first+j) {
			return false
		}
	}
	return true
}

// scanSlotsBack is scanSlots in descending order.
func (st *fstream) scanSlotsBack(b *block, list []uint32, lo, hi uint64, fn func(b *block, q uint64) bool) bool {
	i := sort.Search(len(list), func(i int) bool { return uint64(list[i]) > hi }) - 1
	for ; i >= 0 && uint64(list[i]) >= lo; i-- {
		if j := uint64(list[i]); !b.del.has(j) && !fn(b, b.first+j) {
			return false
		}
	}
	return true
}

// msgAt loads live message q of b. A damaged frame is reported as lost and
// read as deleted. whole asks for the block's view rather than one frame.
func (st *fstream) msgAt(b *block, q uint64, whole bool) (store.Msg, error) {
	b.cmu.Lock()
	ix, err := b.indexLocked()
	if err != nil {
		b.cmu.Unlock()
		return store.Msg{}, err
	}
	off, _, _, ok := ix.at(b.first, q)
	view := b.view
	b.cmu.Unlock()
	if !ok {
		return st.lostMsg(b, q)
	}
	var fr []byte
	switch {
	case view != nil:
		fr, ok = frameAtOff(view, off)
	case whole || b.compressed() || !b.sealed:
		if view, err = b.getView(); err != nil {
			return store.Msg{}, err
		}
		fr, ok = frameAtOff(view, off)
	default:
		fr, err = b.readFrame(off)
		ok = err == nil
		if err != nil && !errors.Is(err, errBadFrame) {
			return store.Msg{}, err
		}
	}
	if !ok || frameKind(fr[4]) != kindMsg {
		return st.lostMsg(b, q)
	}
	m, ok := parseMsg(fr, b.trailer())
	if !ok || m.seq != q {
		return st.lostMsg(b, q)
	}
	return store.Msg{Subject: unsafeString(m.subj), Header: m.hdr, Data: m.data, Seq: m.seq, Time: m.ts, TTL: m.ttl}, nil
}

// lostMsg reports a message whose frame is damaged or missing.
func (st *fstream) lostMsg(b *block, q uint64) (store.Msg, error) {
	st.noteBadBlock(b)
	return store.Msg{}, fmt.Errorf("%w: seq %d lost to damage in block %d", store.ErrDeleted, q, b.index)
}

// lockR locks the stream for reading.
func (st *fstream) lockR() error {
	st.mu.RLock()
	if st.closed {
		st.mu.RUnlock()
		return fmt.Errorf("%w: stream %s", store.ErrClosed, st.cfg.Name)
	}
	return nil
}

// Load implements store.Reader.
func (st *fstream) Load(_ context.Context, seq uint64) (store.Msg, error) {
	if err := st.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer st.mu.RUnlock()
	b, _ := st.blockFor(seq)
	if b == nil || !b.has(seq) {
		return store.Msg{}, st.missing(seq)
	}
	return st.msgAt(b, seq, false)
}

// nextMsg returns the first live message matching fs at or after start.
func (st *fstream) nextMsg(fs *filterSet, start uint64) (store.Msg, error) {
	m, found, err := st.firstLive(true, func(fn func(*block, uint64) bool) error {
		return st.scan(fs, start, math.MaxUint64, fn)
	})
	if err != nil {
		return store.Msg{}, err
	}
	if !found {
		return store.Msg{}, fmt.Errorf("%w: no match from %d", store.ErrEOF, start)
	}
	return m, nil
}

// prevMsg returns the last live message matching filters at or before
// start, or ErrEOF.
func (st *fstream) prevMsg(filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	return st.prevMatch(&fs, start)
}

func (st *fstream) prevMatch(fs *filterSet, start uint64) (store.Msg, error) {
	m, found, err := st.firstLive(false, func(fn func(*block, uint64) bool) error {
		return st.scanBack(fs, 0, start, fn)
	})
	if err != nil {
		return store.Msg{}, err
	}
	if !found {
		return store.Msg{}, fmt.Errorf("%w: no match at or before %d", store.ErrEOF, start)
	}
	return m, nil
}

// firstLive returns the first message a scan visits that can be loaded,
// passing over removed ones; whole is msgAt's argument.
func (st *fstream) firstLive(whole bool, scan func(fn func(*block, uint64) bool) error) (store.Msg, bool, error) {
	var out store.Msg
	var ferr error
	found := false
	err := scan(func(b *block, q uint64) bool {
		m, err := st.msgAt(b, q, whole)
		if err != nil {
			if store.IsMissing(err) {
				return true
			}
			ferr = err
			return false
		}
		out, found = m, true
		return false
	})
	if err == nil {
		err = ferr
	}
	return out, found, err
}

// LoadNext implements store.Reader.
func (st *fstream) LoadNext(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := st.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer st.mu.RUnlock()
	return st.nextMsg(&fs, start)
}

// LoadLast implements store.Reader. A literal subject's last message comes
// straight from the subject index, the KV get path.
func (st *fstream) LoadLast(ctx context.Context, subj string) (store.Msg, error) {
	if subj != "" && subject.ValidLiteral(subj) {
		if err := st.lockR(); err != nil {
			return store.Msg{}, err
		}
		e := st.subjs.get(subj)
		if e == nil {
			st.mu.RUnlock()
			return store.Msg{}, fmt.Errorf("%w: no message on %q", store.ErrNotFound, subj)
		}
		if e.stale&staleLast == 0 {
			if b, _ := st.blockFor(e.last); b != nil && b.has(e.last) {
				m, err := st.msgAt(b, e.last, false)
				st.mu.RUnlock()
				if err == nil || !store.IsMissing(err) {
					return m, err
				}
				return st.loadLast(ctx, subj)
			}
		}
		st.mu.RUnlock()
	}
	return st.loadLast(ctx, subj)
}

// loadLast is LoadLast by a backward scan.
func (st *fstream) loadLast(_ context.Context, subj string) (store.Msg, error) {
	var filters []string
	if subj != "" {
		filters = []string{subj}
	}
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := st.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer st.mu.RUnlock()
	hi := st.last
	if !fs.all && !fs.literal {
		hi = 0
		st.subjs.each(func(name string, e *subjEntry) bool {
			if e.last > hi && fs.match(name) {
				hi = e.last
			}
			return true
		})
	}
	m, err := st.prevMatch(&fs, hi)
	if errors.Is(err, store.ErrEOF) {
		return store.Msg{}, fmt.Errorf("%w: no message on %q", store.ErrNotFound, subj)
	}
	return m, err
}

// LoadPrev implements store.Reader.
func (st *fstream) LoadPrev(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := st.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer st.mu.RUnlock()
	return st.prevMatch(&fs, start)
}

// LoadRange implements store.Reader.
func (st *fstream) LoadRange(_ context.Context, req store.RangeRequest) ([]store.Msg, error) {
	fs, err := newFilterSet(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := st.lockR(); err != nil {
		return nil, err
	}
	defer st.mu.RUnlock()
	end := uint64(math.MaxUint64)
	if req.End > 0 {
		end = req.End
	}
	var out []store.Msg
	var ferr error
	size := 0
	err = st.scan(&fs, req.Start, end, func(b *block, q uint64) bool {
		m, err := st.msgAt(b, q, true)
		if err != nil {
			if store.IsMissing(err) {
				return true
			}
			ferr = err
			return false
		}
		sz := len(m.Header) + len(m.Data)
		if req.MaxBytes > 0 && len(out) > 0 && size+sz > req.MaxBytes {
			return false
		}
		if out == nil {
			out = make([]store.Msg, 0, min(max(req.MaxMsgs, 16), 1024))
		}
		out = append(out, m)
		size += sz
		return req.MaxMsgs <= 0 || len(out) < req.MaxMsgs
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no match from %d", store.ErrEOF, req.Start)
	}
	return out, nil
}

// SeqFromTime implements store.Reader.
func (st *fstream) SeqFromTime(_ context.Context, ts int64) (uint64, error) {
	if err := st.lockR(); err != nil {
		return 0, err
	}
	defer st.mu.RUnlock()
	all := filterSet{all: true}
	res := st.last + 1
	var ferr error
	start := st.first
	// Skip the blocks that end before ts: times grow with sequences.
	for i := len(st.blks) - 1; i >= 0; i-- {
		if b := st.blks[i]; b.nmsgs > 0 && b.tsFirst < ts {
			start = max(start, b.first)
			break
		}
	}
	err := st.scan(&all, start, math.MaxUint64, func(b *block, q uint64) bool {
		m, err := st.msgAt(b, q, true)
		if err != nil {
			if store.IsMissing(err) {
				return true
			}
			ferr = err
			return false
		}
		if m.Time >= ts {
			res = q
			return false
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	return res, err
}

// SubjectForSeq implements store.Reader.
func (st *fstream) SubjectForSeq(_ context.Context, seq uint64) (string, error) {
	if err := st.lockR(); err != nil {
		return "", err
	}
	defer st.mu.RUnlock()
	b, _ := st.blockFor(seq)
	if b == nil || !b.has(seq) {
		return "", st.missing(seq)
	}
	ix, err := b.getIndex()
	if err != nil {
		return "", err
	}
	if _, subj, _, ok := ix.at(b.first, seq); ok {
		return subj, nil
	}
	_, err = st.lostMsg(b, seq)
	return "", err
}

// subjectFirst returns the first live sequence of subj, fixing a stale
// entry. mu held for writing.
func (st *fstream) subjectFirst(subj string, e *subjEntry) (uint64, bool) {
	if e.stale&staleFirst == 0 {
		return e.first, true
	}
	fs := filterSet{filters: []string{subj}, literal: true}
	var found uint64
	_ = st.scan(&fs, e.first, e.last, func(_ *block, q uint64) bool {
		found = q
		return false
	})
	if found == 0 {
		return 0, false
	}
	if e = st.subjs.get(subj); e != nil {
		e.first = found
		e.stale &^= staleFirst
	}
	return found, true
}

// subjectLast returns the last live sequence of subj at or below max.
func (st *fstream) subjectLast(subj string, e *subjEntry, maxSeq uint64) (uint64, bool) {
	if e.stale&staleLast == 0 && e.last <= maxSeq {
		return e.last, true
	}
	fs := filterSet{filters: []string{subj}, literal: true}
	var found uint64
	_ = st.scanBack(&fs, e.first, min(maxSeq, e.last), func(_ *block, q uint64) bool {
		found = q
		return false
	})
	return found, found != 0
}
