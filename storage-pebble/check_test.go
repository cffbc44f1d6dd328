package storagepebble

import (
	"bytes"
	"fmt"
	"maps"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
)

// checkStream recomputes everything the indexes and counters claim from the
// message table and reports the first disagreement. Tests run it after
// random operations and after simulated crashes.
func checkStream(s *stream) error {
	if err := s.lockR(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	r := s.p.db
	id := s.id
	scan := func(table byte, fn func(k, v []byte) error) error {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: tableKey(nil, id, table), UpperBound: tableKey(nil, id, table+1)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			if err := fn(it.Key(), it.Value()); err != nil {
				return err
			}
		}
		return it.Error()
	}
	var (
		want    counters
		subjs   = map[string]subjState{}
		entries = map[string]entry{} // subject-index key → entry
		times   = map[string][]byte{}
		ttls    = map[string]bool{}
		prev    uint64
	)
	err := scan(tMsg, func(k, v []byte) error {
		seq := seqSuffix(k)
		m, err := decodeMsg(v)
		if err != nil {
			return err
		}
		if want.msgs == 0 {
			want.first, want.firstTime = seq, m.ts
		}
		prev = seq
		size := store.MsgSize(s.cfg.Storage, m.subj, m.hdr, m.data)
		want.msgs++
		want.bytes += size
		if m.ttl == 0 {
			want.age++
		}
		st := subjs[m.subj]
		if st.n == 0 {
			st.first, st.fe = seq, entry{ts: m.ts, ttl: m.ttl, size: size}
		}
		st.n++
		st.last = seq
		subjs[m.subj] = st
		entries[string(subjKey(nil, id, m.subj, seq))] = entry{ts: m.ts, ttl: m.ttl, size: size}
		flag := flagAge
		if m.ttl != 0 {
			flag = flagNoAge
		}
		times[string(timeKey(nil, id, m.ts, seq))] = flag
		if m.ttl > 0 {
			ttls[string(ttlKey(nil, id, expiry(m.ts, m.ttl), seq))] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	c := s.c
	if want.msgs > 0 && prev > c.last {
		return fmt.Errorf("message %d beyond last %d", prev, c.last)
	}
	want.subjects = uint64(len(subjs))
	if want.msgs == 0 {
		want.first, want.firstTime = c.first, 0
	}
	want.last, want.lastTime = c.last, c.lastTime
	if want != c {
		return fmt.Errorf("counters %+v, messages say %+v", c, want)
	}
	stored, err := readCounters(r, id)
	if err != nil {
		return err
	}
	if stored != c {
		return fmt.Errorf("stored counters %+v, memory %+v", stored, c)
	}
	gotSubjs := map[string]subjState{}
	if err := scan(tPer, func(k, v []byte) error {
		st, err := decodeSubjState(v)
		gotSubjs[subjFromPer(k)] = st
		return err
	}); err != nil {
		return err
	}
	if !maps.Equal(gotSubjs, subjs) {
		return fmt.Errorf("per-subject states %v, messages say %v", gotSubjs, subjs)
	}
	gotEntries := map[string]entry{}
	if err := scan(tSubj, func(k, v []byte) error {
		e, err := decodeEntry(v)
		gotEntries[string(k)] = e
		return err
	}); err != nil {
		return err
	}
	if !maps.Equal(gotEntries, entries) {
		return fmt.Errorf("subject index has %d entries, messages say %d", len(gotEntries), len(entries))
	}
	gotTimes := map[string][]byte{}
	if err := scan(tTime, func(k, v []byte) error {
		gotTimes[string(k)] = append([]byte(nil), v...)
		return nil
	}); err != nil {
		return err
	}
	if !maps.EqualFunc(gotTimes, times, bytes.Equal) {
		return fmt.Errorf("time index has %d entries, messages say %d", len(gotTimes), len(times))
	}
	gotTTLs := map[string]bool{}
	if err := scan(tTTL, func(k, _ []byte) error {
		gotTTLs[string(k)] = true
		return nil
	}); err != nil {
		return err
	}
	if !maps.Equal(gotTTLs, ttls) {
		return fmt.Errorf("TTL index has %d entries, messages say %d", len(gotTTLs), len(ttls))
	}
	names, err := consumerNames(r, id)
	if err != nil {
		return err
	}
	if len(names) != s.nConsumers {
		return fmt.Errorf("%d consumers stored, %d counted", len(names), s.nConsumers)
	}
	return nil
}

func readCounters(r pebble.Reader, id uint32) (counters, error) {
	v, ok, err := get(r, tableKey(nil, id, tState))
	if err != nil || !ok {
		return counters{}, fmt.Errorf("no stored counters: %v", err)
	}
	return decodeCounters(v)
}
