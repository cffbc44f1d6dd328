package seg

import (
	"context"
	"fmt"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
)

// load reads e's message from its segment. The returned slices are the
// caller's.
func (s *stream) load(e *entry) (store.Msg, error) {
	sf := s.segs[e.seg]
	if sf == nil {
		return store.Msg{}, fmt.Errorf("%w: segment %d of seq %d is missing", store.ErrCorrupt, e.seg, e.seq)
	}
	typ, body, err := readRecord(sf.f, e.off)
	if err != nil || typ != recMsg {
		return store.Msg{}, fmt.Errorf("%w: seq %d: %v", store.ErrCorrupt, e.seq, err)
	}
	d := &dec{b: body}
	m := store.Msg{Seq: d.u64(), Time: d.i64(), TTL: d.i64(), Subject: d.str(), Header: d.bytes(), Data: d.bytes()}
	if d.err != nil || m.Seq != e.seq {
		return store.Msg{}, fmt.Errorf("%w: seq %d: bad record", store.ErrCorrupt, e.seq)
	}
	if len(m.Header) == 0 {
		m.Header = nil
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	return m, nil
}

// filterSet is a checked filter list.
type filterSet struct {
	filters []string
	all     bool
}

func newFilterSet(filters []string) (filterSet, error) {
	if err := store.ValidateFilters(filters); err != nil {
		return filterSet{}, err
	}
	return filterSet{filters: filters, all: store.MatchesAll(filters)}, nil
}

func (fs *filterSet) match(subj string) bool { return fs.all || store.MatchAny(subj, fs.filters) }

// next returns the first live matching entry at or after start, or nil.
func (st *state) next(fs *filterSet, start uint64) *entry {
	for i := st.startIndex(start); i < len(st.msgs); i++ {
		if e := &st.msgs[i]; !e.del && fs.match(e.subj) {
			return e
		}
	}
	return nil
}

// prev returns the last live matching entry at or before end, or nil.
func (st *state) prev(fs *filterSet, end uint64) *entry {
	for i := st.startIndex(end+1) - 1; i >= st.head; i-- {
		if e := &st.msgs[i]; !e.del && fs.match(e.subj) {
			return e
		}
	}
	return nil
}

// Load implements store.Reader.
func (s *stream) Load(_ context.Context, seq uint64) (store.Msg, error) {
	if err := s.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer s.mu.RUnlock()
	e, err := s.st.live(seq)
	if err != nil {
		return store.Msg{}, err
	}
	return s.load(e)
}

// LoadNext implements store.Reader.
func (s *stream) LoadNext(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := s.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer s.mu.RUnlock()
	if e := s.st.next(&fs, start); e != nil {
		return s.load(e)
	}
	return store.Msg{}, fmt.Errorf("%w: no match from %d", store.ErrEOF, start)
}

// LoadLast implements store.Reader.
func (s *stream) LoadLast(_ context.Context, subj string) (store.Msg, error) {
	var filters []string
	if subj != "" {
		filters = []string{subj}
	}
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := s.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer s.mu.RUnlock()
	if e := s.st.prev(&fs, s.st.last); e != nil {
		return s.load(e)
	}
	return store.Msg{}, fmt.Errorf("%w: no message on %q", store.ErrNotFound, subj)
}

// LoadPrev implements store.Reader.
func (s *stream) LoadPrev(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	if err := s.lockR(); err != nil {
		return store.Msg{}, err
	}
	defer s.mu.RUnlock()
	if e := s.st.prev(&fs, start); e != nil {
		return s.load(e)
	}
	return store.Msg{}, fmt.Errorf("%w: no match at or before %d", store.ErrEOF, start)
}

// LoadRange implements store.Reader.
func (s *stream) LoadRange(_ context.Context, req store.RangeRequest) ([]store.Msg, error) {
	fs, err := newFilterSet(req.Filters)
	if err != nil {
		return nil, err
	}
	if err := s.lockR(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	st := s.st
	end := st.last
	if req.End > 0 && req.End < end {
		end = req.End
	}
	var out []store.Msg
	size := 0
	for i := st.startIndex(req.Start); i < len(st.msgs) && st.msgs[i].seq <= end; i++ {
		e := &st.msgs[i]
		if e.del || !fs.match(e.subj) {
			continue
		}
		n := int(e.hlen + e.dlen)
		if req.MaxBytes > 0 && len(out) > 0 && size+n > req.MaxBytes {
			break
		}
		m, err := s.load(e)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		size += n
		if req.MaxMsgs > 0 && len(out) >= req.MaxMsgs {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no match from %d", store.ErrEOF, req.Start)
	}
	return out, nil
}

// SeqFromTime implements store.Reader.
func (s *stream) SeqFromTime(_ context.Context, ts int64) (uint64, error) {
	if err := s.lockR(); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	st := s.st
	for i := st.head + sort.Search(len(st.msgs)-st.head, func(i int) bool { return st.msgs[st.head+i].ts >= ts }); i < len(st.msgs); i++ {
		if !st.msgs[i].del {
			return st.msgs[i].seq, nil
		}
	}
	return st.last + 1, nil
}

// SubjectForSeq implements store.Reader.
func (s *stream) SubjectForSeq(_ context.Context, seq uint64) (string, error) {
	if err := s.lockR(); err != nil {
		return "", err
	}
	defer s.mu.RUnlock()
	e, err := s.st.live(seq)
	if err != nil {
		return "", err
	}
	return e.subj, nil
}

// State implements store.Stater.
func (s *stream) State(context.Context) (store.StreamState, error) {
	if err := s.lockR(); err != nil {
		return store.StreamState{}, err
	}
	defer s.mu.RUnlock()
	return s.st.streamState(true), nil
}

// FastState implements store.Stater.
func (s *stream) FastState(context.Context) (store.StreamState, error) {
	if err := s.lockR(); err != nil {
		return store.StreamState{}, err
	}
	defer s.mu.RUnlock()
	return s.st.streamState(false), nil
}

// subjects calls fn for each subject matching fs with its live sequences.
func (st *state) subjects(fs *filterSet, fn func(subj string, seqs []uint64)) {
	for subj, seqs := range st.subjs {
		if fs.match(subj) {
			fn(subj, seqs)
		}
	}
}

// FilteredState implements store.Stater.
func (s *stream) FilteredState(_ context.Context, start uint64, filter string) (store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return store.SimpleState{}, err
	}
	if err := s.lockR(); err != nil {
		return store.SimpleState{}, err
	}
	defer s.mu.RUnlock()
	return s.st.filtered(&fs, start), nil
}

func (st *state) filtered(fs *filterSet, start uint64) store.SimpleState {
	var ss store.SimpleState
	st.subjects(fs, func(_ string, seqs []uint64) {
		i := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= start })
		if i == len(seqs) {
			return
		}
		ss.Msgs += uint64(len(seqs) - i)
		if ss.First == 0 || seqs[i] < ss.First {
			ss.First = seqs[i]
		}
		ss.Last = max(ss.Last, seqs[len(seqs)-1])
	})
	return ss
}

// SubjectsState implements store.Stater.
func (s *stream) SubjectsState(_ context.Context, filter string) (map[string]store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	if err := s.lockR(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make(map[string]store.SimpleState)
	s.st.subjects(&fs, func(subj string, seqs []uint64) {
		out[subj] = store.SimpleState{Msgs: uint64(len(seqs)), First: seqs[0], Last: seqs[len(seqs)-1]}
	})
	return out, nil
}

// SubjectsTotals implements store.Stater.
func (s *stream) SubjectsTotals(_ context.Context, filter string) (map[string]uint64, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	if err := s.lockR(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make(map[string]uint64)
	s.st.subjects(&fs, func(subj string, seqs []uint64) { out[subj] = uint64(len(seqs)) })
	return out, nil
}

// NumPending implements store.Stater.
func (s *stream) NumPending(_ context.Context, start uint64, filters []string, lastPerSubject bool) (uint64, uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return 0, 0, err
	}
	if err := s.lockR(); err != nil {
		return 0, 0, err
	}
	defer s.mu.RUnlock()
	if !lastPerSubject {
		return s.st.filtered(&fs, start).Msgs, s.st.last, nil
	}
	var n uint64
	s.st.subjects(&fs, func(_ string, seqs []uint64) {
		if seqs[len(seqs)-1] >= start {
			n++
		}
	})
	return n, s.st.last, nil
}

// MultiLastSeqs implements store.Stater.
func (s *stream) MultiLastSeqs(_ context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return nil, err
	}
	if err := s.lockR(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if maxSeq == 0 || maxSeq > s.st.last {
		maxSeq = s.st.last
	}
	var out []uint64
	s.st.subjects(&fs, func(_ string, seqs []uint64) {
		if i := sort.Search(len(seqs), func(i int) bool { return seqs[i] > maxSeq }); i > 0 {
			out = append(out, seqs[i-1])
		}
	})
	if maxAllowed > 0 && len(out) > maxAllowed {
		return nil, fmt.Errorf("%w: %d subjects, %d allowed", store.ErrTooManyResults, len(out), maxAllowed)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
