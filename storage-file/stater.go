package storagefile

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/hangar-mq/hangar/core/store"
)

func (st *fstream) fastState() store.StreamState {
	s := store.StreamState{
		Msgs: st.nmsgs, Bytes: st.nbytes,
		FirstSeq: st.first, LastSeq: st.last, LastTime: st.lastTime,
		NumSubjects: uint64(st.subjs.live),
		Consumers:   len(st.cons),
	}
	if st.nmsgs > 0 {
		s.NumDeleted = st.last - st.first + 1 - st.nmsgs
		s.FirstTime = st.firstTime()
	}
	if st.lost != nil {
		l := *st.lost
		l.Msgs = slices.Clone(l.Msgs)
		s.Lost = &l
	}
	return s
}

// firstTime is the time of the first message, cached while first stays.
// Readers may race to fill the cache; they store the same values.
func (st *fstream) firstTime() int64 {
	if st.ftSeq.Load() == st.first {
		return st.ftTime.Load()
	}
	b, _ := st.blockFor(st.first)
	if b == nil {
		return 0
	}
	m, err := st.msgAt(b, st.first, false)
	if err != nil {
		return 0
	}
	st.ftSeq.Store(0)
	st.ftTime.Store(m.Time)
	st.ftSeq.Store(st.first)
	return m.Time
}

// deleted lists the sequences without a message between first and last.
func (st *fstream) deleted() []store.Range {
	if st.nmsgs == 0 {
		return nil
	}
	var out []store.Range
	prev := st.first - 1
	for _, b := range st.blks {
		if b.nmsgs == 0 {
			continue
		}
		n := b.last - b.first + 1
		for j := b.del.nextClear(0, n); j < n; {
			if q := b.first + j; q > prev+1 {
				out = append(out, store.Range{First: prev + 1, Last: q - 1})
			}
			k := b.del.nextSet(j, n)
			prev = b.first + k - 1
			j = b.del.nextClear(k, n)
		}
	}
	if st.last > prev {
		out = append(out, store.Range{First: prev + 1, Last: st.last})
	}
	return out
}

// lockRFixed locks for reading after accounting for damage readers found,
// which needs the write lock.
func (st *fstream) lockRFixed() error {
	if st.hasBad.Load() {
		if err := st.lockW(); err != nil {
			return err
		}
		st.mu.Unlock()
	}
	return st.lockR()
}

// State implements store.Stater.
func (st *fstream) State(context.Context) (store.StreamState, error) {
	if err := st.lockRFixed(); err != nil {
		return store.StreamState{}, err
	}
	defer st.mu.RUnlock()
	s := st.fastState()
	s.Deleted = st.deleted()
	return s, nil
}

// FastState implements store.Stater.
func (st *fstream) FastState(context.Context) (store.StreamState, error) {
	if err := st.lockRFixed(); err != nil {
		return store.StreamState{}, err
	}
	defer st.mu.RUnlock()
	return st.fastState(), nil
}

// filtered counts the live messages at or after start matching fs.
func (st *fstream) filtered(fs *filterSet, start uint64) (store.SimpleState, error) {
	var ss store.SimpleState
	if st.nmsgs == 0 || start > st.last {
		return ss, nil
	}
	start = max(start, st.first)
	if fs.all {
		for _, b := range st.blks {
			if b.nmsgs == 0 || b.last < start {
				continue
			}
			n := b.nmsgs
			if b.first < start {
				n -= (start - b.first) - b.del.countSet(0, start-b.first)
			}
			if n == 0 {
				continue
			}
			if ss.Msgs == 0 {
				ss.First = b.first + b.del.nextClear(max(start, b.first)-b.first, b.last-b.first+1)
			}
			ss.Msgs += n
			if p := b.del.prevClear(b.last - b.first); p >= 0 {
				ss.Last = b.first + uint64(p)
			}
		}
		return ss, nil
	}
	err := st.scan(fs, start, math.MaxUint64, func(_ *block, q uint64) bool {
		ss.First = q
		return false
	})
	if err != nil || ss.First == 0 {
		return store.SimpleState{}, err
	}
	err = st.scanBack(fs, start, math.MaxUint64, func(_ *block, q uint64) bool {
		ss.Last = q
		return false
	})
	if err != nil {
		return store.SimpleState{}, err
	}
	if start <= st.first {
		// The whole stream: the subject index has the counts.
		st.subjs.each(func(name string, e *subjEntry) bool {
			if fs.match(name) {
				ss.Msgs += e.n
			}
			return true
		})
		return ss, nil
	}
	err = st.scan(fs, ss.First, ss.Last, func(*block, uint64) bool {
		ss.Msgs++
		return true
	})
	return ss, err
}

// FilteredState implements store.Stater.
func (st *fstream) FilteredState(_ context.Context, start uint64, filter string) (store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return store.SimpleState{}, err
	}
	if err := st.lockRFixed(); err != nil {
		return store.SimpleState{}, err
	}
	defer st.mu.RUnlock()
	return st.filtered(&fs, start)
}

// firstOf returns the first live sequence of subj without fixing a stale
// entry.
func (st *fstream) firstOf(subj string, e *subjEntry) uint64 {
	if e.stale&staleFirst == 0 {
		return e.first
	}
	fs := filterSet{filters: []string{subj}, literal: true}
	var found uint64
	_ = st.scan(&fs, e.first, e.last, func(_ *block, q uint64) bool {
		found = q
		return false
	})
	return found
}

// SubjectsState implements store.Stater.
func (st *fstream) SubjectsState(_ context.Context, filter string) (map[string]store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	if err := st.lockRFixed(); err != nil {
		return nil, err
	}
	defer st.mu.RUnlock()
	out := make(map[string]store.SimpleState)
	st.subjs.each(func(name string, e *subjEntry) bool {
		if fs.match(name) {
			last, _ := st.subjectLast(name, e, math.MaxUint64)
			out[string([]byte(name))] = store.SimpleState{Msgs: e.n, First: st.firstOf(name, e), Last: last}
		}
		return true
	})
	return out, nil
}

// SubjectsTotals implements store.Stater.
func (st *fstream) SubjectsTotals(_ context.Context, filter string) (map[string]uint64, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	if err := st.lockRFixed(); err != nil {
		return nil, err
	}
	defer st.mu.RUnlock()
	out := make(map[string]uint64)
	st.subjs.each(func(name string, e *subjEntry) bool {
		if fs.match(name) {
			out[string([]byte(name))] = e.n
		}
		return true
	})
	return out, nil
}

// NumPending implements store.Stater.
func (st *fstream) NumPending(_ context.Context, start uint64, filters []string, lastPerSubject bool) (uint64, uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return 0, 0, err
	}
	if err := st.lockRFixed(); err != nil {
		return 0, 0, err
	}
	defer st.mu.RUnlock()
	if !lastPerSubject {
		ss, err := st.filtered(&fs, start)
		return ss.Msgs, st.last, err
	}
	var n uint64
	st.subjs.each(func(name string, e *subjEntry) bool {
		if e.last >= start && fs.match(name) {
			if last, ok := st.subjectLast(name, e, math.MaxUint64); ok && last >= start {
				n++
			}
		}
		return true
	})
	return n, st.last, nil
}

// MultiLastSeqs implements store.Stater.
func (st *fstream) MultiLastSeqs(_ context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return nil, err
	}
	if err := st.lockRFixed(); err != nil {
		return nil, err
	}
	defer st.mu.RUnlock()
	if maxSeq == 0 || maxSeq > st.last {
		maxSeq = st.last
	}
	var out []uint64
	st.subjs.each(func(name string, e *subjEntry) bool {
		if fs.match(name) {
			if q, ok := st.subjectLast(name, e, maxSeq); ok {
				out = append(out, q)
			}
		}
		return true
	})
	if maxAllowed > 0 && len(out) > maxAllowed {
		return nil, fmt.Errorf("%w: %d subjects, %d allowed", store.ErrTooManyResults, len(out), maxAllowed)
	}
	slices.Sort(out)
	return out, nil
}
