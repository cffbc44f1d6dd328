package mem

import (
	"context"
	"fmt"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
)

func (d *data) fastState() store.StreamState {
	st := store.StreamState{
		Msgs: d.nmsgs, Bytes: d.nbytes,
		FirstSeq: d.first, FirstTime: d.firstTime(),
		LastSeq: d.last, LastTime: d.lastTime,
		NumSubjects: uint64(len(d.subjs)),
		Consumers:   len(d.consumers),
	}
	if d.nmsgs > 0 {
		st.NumDeleted = d.last - d.first + 1 - d.nmsgs
	}
	return st
}

// deleted lists the gaps between live messages, and after the last one.
func (d *data) deleted() []store.Range {
	if d.nmsgs == 0 {
		return nil
	}
	var out []store.Range
	prev := d.first - 1
	for i := d.head; i < d.msgs.len(); i++ {
		m := d.msgs.at(i)
		if m.deleted {
			continue
		}
		if m.seq > prev+1 {
			out = append(out, store.Range{First: prev + 1, Last: m.seq - 1})
		}
		prev = m.seq
	}
	if d.last > prev {
		out = append(out, store.Range{First: prev + 1, Last: d.last})
	}
	return out
}

// State implements store.Stater.
func (s *stream) State(context.Context) (store.StreamState, error) {
	d, err := s.lockR()
	if err != nil {
		return store.StreamState{}, err
	}
	defer d.mu.RUnlock()
	st := d.fastState()
	st.Deleted = d.deleted()
	return st, nil
}

// FastState implements store.Stater.
func (s *stream) FastState(context.Context) (store.StreamState, error) {
	d, err := s.lockR()
	if err != nil {
		return store.StreamState{}, err
	}
	defer d.mu.RUnlock()
	return d.fastState(), nil
}

// countFrom counts live messages with seq >= start and their first and last.
func (d *data) countFrom(start uint64) store.SimpleState {
	i := d.startIndex(start)
	if i >= d.msgs.len() {
		return store.SimpleState{}
	}
	ss := store.SimpleState{First: d.msgs.at(i).seq, Last: d.msgs.at(d.msgs.len() - 1).seq}
	if i-d.head < (d.msgs.len()-d.head)/2 {
		// Fewer slots before start: count what is gone.
		var before uint64
		for j := d.head; j < i; j++ {
			if !d.msgs.at(j).deleted {
				before++
			}
		}
		ss.Msgs = d.nmsgs - before
	} else {
		for j := i; j < d.msgs.len(); j++ {
			if !d.msgs.at(j).deleted {
				ss.Msgs++
			}
		}
	}
	for ; d.msgs.at(i).deleted; i++ {
	}
	ss.First = d.msgs.at(i).seq
	return ss
}

// filtered counts matching live messages with seq >= start.
func (d *data) filtered(fs *filterSet, start uint64) store.SimpleState {
	if d.nmsgs == 0 || start > d.last {
		return store.SimpleState{}
	}
	if fs.all {
		return d.countFrom(start)
	}
	var ss store.SimpleState
	d.subjects(fs, func(_ string, si *subjIdx) {
		n, f, l := si.countRange(start, d.last)
		if n == 0 {
			return
		}
		ss.Msgs += n
		if ss.First == 0 || f < ss.First {
			ss.First = f
		}
		ss.Last = max(ss.Last, l)
	})
	return ss
}

// FilteredState implements store.Stater.
func (s *stream) FilteredState(_ context.Context, start uint64, filter string) (store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return store.SimpleState{}, err
	}
	d, err := s.lockR()
	if err != nil {
		return store.SimpleState{}, err
	}
	defer d.mu.RUnlock()
	return d.filtered(&fs, start), nil
}

// SubjectsState implements store.Stater.
func (s *stream) SubjectsState(_ context.Context, filter string) (map[string]store.SimpleState, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	d, err := s.lockR()
	if err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	out := make(map[string]store.SimpleState)
	d.subjects(&fs, func(subj string, si *subjIdx) {
		out[subj] = store.SimpleState{Msgs: si.count(), First: si.first(), Last: si.last()}
	})
	return out, nil
}

// SubjectsTotals implements store.Stater.
func (s *stream) SubjectsTotals(_ context.Context, filter string) (map[string]uint64, error) {
	fs, err := newFilterSet([]string{filter})
	if err != nil {
		return nil, err
	}
	d, err := s.lockR()
	if err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	out := make(map[string]uint64)
	d.subjects(&fs, func(subj string, si *subjIdx) { out[subj] = si.count() })
	return out, nil
}

// NumPending implements store.Stater.
func (s *stream) NumPending(_ context.Context, start uint64, filters []string, lastPerSubject bool) (uint64, uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return 0, 0, err
	}
	d, err := s.lockR()
	if err != nil {
		return 0, 0, err
	}
	defer d.mu.RUnlock()
	if !lastPerSubject {
		return d.filtered(&fs, start).Msgs, d.last, nil
	}
	var n uint64
	d.subjects(&fs, func(_ string, si *subjIdx) {
		if si.last() >= start {
			n++
		}
	})
	return n, d.last, nil
}

// MultiLastSeqs implements store.Stater.
func (s *stream) MultiLastSeqs(_ context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return nil, err
	}
	d, err := s.lockR()
	if err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	if maxSeq == 0 || maxSeq > d.last {
		maxSeq = d.last
	}
	var out []uint64
	d.subjects(&fs, func(_ string, si *subjIdx) {
		if q, ok := si.lastAtOrBefore(maxSeq); ok {
			out = append(out, q)
		}
	})
	if maxAllowed > 0 && len(out) > maxAllowed {
		return nil, fmt.Errorf("%w: %d subjects, %d allowed", store.ErrTooManyResults, len(out), maxAllowed)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
