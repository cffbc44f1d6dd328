package storagepebble

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
)

func (v *view) fastState(consumers int) store.StreamState {
	c := &v.c
	st := store.StreamState{
		Msgs: c.msgs, Bytes: c.bytes, FirstSeq: c.first, FirstTime: c.firstTime,
		LastSeq: c.last, LastTime: c.lastTime, NumSubjects: c.subjects, Consumers: consumers,
	}
	if c.msgs > 0 {
		st.NumDeleted = c.last - c.first + 1 - c.msgs
	}
	return st
}

// deleted lists the gaps between live messages and after the last one, by
// walking the message keys.
func (v *view) deleted() ([]store.Range, error) {
	if v.c.msgs == 0 || v.c.last-v.c.first+1 == v.c.msgs {
		return nil, nil
	}
	it, err := v.iter(itMsg)
	if err != nil {
		return nil, err
	}
	var out []store.Range
	prev := v.c.first - 1
	for ok := it.SeekGE(msgKey(v.k[:0], v.id, v.c.first)); ok; ok = it.Next() {
		seq := seqSuffix(it.Key())
		if seq > prev+1 {
			out = append(out, store.Range{First: prev + 1, Last: seq - 1})
		}
		prev = seq
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if v.c.last > prev {
		out = append(out, store.Range{First: prev + 1, Last: v.c.last})
	}
	return out, nil
}

// State implements store.Stater. The deleted ranges come from a walk of the
// message keys, so State costs a scan; FastState does not.
func (s *stream) State(context.Context) (st store.StreamState, err error) {
	err = s.read(func(v *view) error {
		st = v.fastState(s.nConsumers)
		st.Deleted, err = v.deleted()
		return err
	})
	return st, err
}

// FastState implements store.Stater.
func (s *stream) FastState(context.Context) (st store.StreamState, err error) {
	err = s.read(func(v *view) error {
		st = v.fastState(s.nConsumers)
		return nil
	})
	return st, err
}

// countFrom counts live messages with seq >= start, walking the shorter side
// of start.
func (v *view) countFrom(start uint64) (store.SimpleState, error) {
	it, err := v.iter(itMsg)
	if err != nil {
		return store.SimpleState{}, err
	}
	var ss store.SimpleState
	if !it.SeekLT(msgKey(v.k[:0], v.id, v.c.last+1)) {
		return ss, it.Error()
	}
	ss.Last = seqSuffix(it.Key())
	if !it.SeekGE(msgKey(v.k[:0], v.id, start)) {
		return store.SimpleState{}, it.Error()
	}
	ss.First = seqSuffix(it.Key())
	if ss.First-v.c.first < v.c.last-ss.First {
		var before uint64
		for ok := it.SeekGE(msgKey(v.k[:0], v.id, v.c.first)); ok && seqSuffix(it.Key()) < start; ok = it.Next() {
			before++
		}
		ss.Msgs = v.c.msgs - before
	} else {
		for ok := true; ok; ok = it.Next() {
			ss.Msgs++
		}
	}
	return ss, it.Error()
}

// filtered counts matching live messages with seq >= start.
func (v *view) filtered(fs *filterSet, start uint64) (store.SimpleState, error) {
	if v.c.msgs == 0 || start > v.c.last {
		return store.SimpleState{}, nil
	}
	if fs.all {
		if start <= v.c.first {
			ss, err := v.countFrom(v.c.first)
			ss.Msgs = v.c.msgs
			return ss, err
		}
		return v.countFrom(start)
	}
	var ss store.SimpleState
	err := forSubjects(v.r, v.id, fs, func(subj string, st subjState) error {
		if st.last < start {
			return nil
		}
		n, first := st.n, st.first
		if start > st.first {
			var err error
			if n, first, err = v.subjCountFrom(subj, start); err != nil {
				return err
			}
		}
		ss.Msgs += n
		if ss.First == 0 || first < ss.First {
			ss.First = first
		}
		ss.Last = max(ss.Last, st.last)
		return nil
	})
	return ss, err
}

// subjCountFrom counts subj's messages at or after start, and the first.
func (v *view) subjCountFrom(subj string, start uint64) (n, first uint64, err error) {
	it, err := v.iter(itSubj)
	if err != nil {
		return 0, 0, err
	}
	v.k = subjKey(v.k[:0], v.id, subj, start)
	pfx := v.k[:len(v.k)-8]
	for ok := it.SeekGE(v.k); ok && bytes.HasPrefix(it.Key(), pfx); ok = it.Next() {
		if n == 0 {
			first = seqSuffix(it.Key())
		}
		n++
	}
	return n, first, it.Error()
}

// FilteredState implements store.Stater.
func (s *stream) FilteredState(_ context.Context, start uint64, filter string) (ss store.SimpleState, err error) {
	fs, err := filterOne(filter)
	if err != nil {
		return ss, err
	}
	err = s.read(func(v *view) (err error) {
		ss, err = v.filtered(&fs, start)
		return err
	})
	return ss, err
}

// SubjectsState implements store.Stater.
func (s *stream) SubjectsState(_ context.Context, filter string) (map[string]store.SimpleState, error) {
	fs, err := filterOne(filter)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.SimpleState)
	err = s.read(func(v *view) error {
		return forSubjects(v.r, v.id, &fs, func(subj string, st subjState) error {
			out[subj] = store.SimpleState{Msgs: st.n, First: st.first, Last: st.last}
			return nil
		})
	})
	return out, err
}

// SubjectsTotals implements store.Stater.
func (s *stream) SubjectsTotals(_ context.Context, filter string) (map[string]uint64, error) {
	fs, err := filterOne(filter)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64)
	err = s.read(func(v *view) error {
		return forSubjects(v.r, v.id, &fs, func(subj string, st subjState) error {
			out[subj] = st.n
			return nil
		})
	})
	return out, err
}

// NumPending implements store.Stater.
func (s *stream) NumPending(_ context.Context, start uint64, filters []string, lastPerSubject bool) (n, through uint64, err error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return 0, 0, err
	}
	err = s.read(func(v *view) error {
		through = v.c.last
		if !lastPerSubject {
			ss, err := v.filtered(&fs, start)
			n = ss.Msgs
			return err
		}
		return forSubjects(v.r, v.id, &fs, func(_ string, st subjState) error {
			if st.last >= start {
				n++
			}
			return nil
		})
	})
	return n, through, err
}

// MultiLastSeqs implements store.Stater.
func (s *stream) MultiLastSeqs(_ context.Context, filters []string, maxSeq uint64, maxAllowed int) ([]uint64, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return nil, err
	}
	var out []uint64
	err = s.read(func(v *view) error {
		if maxSeq == 0 || maxSeq > v.c.last {
			maxSeq = v.c.last
		}
		return forSubjects(v.r, v.id, &fs, func(subj string, st subjState) error {
			q := st.last
			if q > maxSeq {
				if st.first > maxSeq {
					return nil
				}
				var err error
				if q, err = v.subjPrev(subj, maxSeq); err != nil {
					return err
				}
			}
			out = append(out, q)
			if maxAllowed > 0 && len(out) > maxAllowed {
				return fmt.Errorf("%w: more than %d subjects", store.ErrTooManyResults, maxAllowed)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
