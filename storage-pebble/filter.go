package storagepebble

import (
	"bytes"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// filterSet is a parsed filter list.
type filterSet struct {
	filters []string
	all     bool     // matches every subject
	literal bool     // every filter is a literal subject
	lits    []string // the distinct filters, when literal
}

func newFilterSet(filters []string) (filterSet, error) {
	if err := store.ValidateFilters(filters); err != nil {
		return filterSet{}, err
	}
	fs := filterSet{filters: filters, all: store.MatchesAll(filters), literal: true}
	for i, f := range filters {
		if subject.HasWildcard(f) {
			fs.literal = false
		}
		dup := false
		for _, g := range filters[:i] {
			dup = dup || g == f
		}
		if !dup {
			fs.lits = append(fs.lits, f)
		}
	}
	if fs.all {
		fs.literal = false
	}
	return fs, nil
}

// filterOne parses a single filter where "" means all.
func filterOne(f string) (filterSet, error) {
	if f == "" {
		return newFilterSet(nil)
	}
	return newFilterSet([]string{f})
}

func (fs *filterSet) match(subj string) bool {
	if fs.all {
		return true
	}
	if fs.literal {
		for _, f := range fs.lits {
			if f == subj {
				return true
			}
		}
		return false
	}
	return store.MatchAny(subj, fs.filters)
}

// literalPrefix is the part of filter f before its first wildcard token:
// every subject f matches starts with it.
func literalPrefix(f string) string {
	start := 0
	for {
		end := strings.IndexByte(f[start:], '.')
		tok := f[start:]
		if end >= 0 {
			tok = f[start : start+end]
		}
		if tok == "*" || tok == ">" {
			return f[:start]
		}
		if end < 0 {
			return f
		}
		start += end + 1
	}
}

type keyRange struct{ lo, hi []byte }

// ranges returns sorted, disjoint ranges of the per-subject table that hold
// every subject fs matches.
func (fs *filterSet) ranges(id uint32) []keyRange {
	if fs.all {
		return []keyRange{{tableKey(nil, id, tPer), tableKey(nil, id, tPer+1)}}
	}
	rs := make([]keyRange, 0, len(fs.filters))
	for _, f := range fs.filters {
		lo := perKey(nil, id, literalPrefix(f))
		rs = append(rs, keyRange{lo, prefixEnd(lo)})
	}
	sort.Slice(rs, func(i, j int) bool { return bytes.Compare(rs[i].lo, rs[j].lo) < 0 })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if bytes.Compare(r.lo, last.hi) <= 0 {
			if bytes.Compare(r.hi, last.hi) > 0 {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// forSubjects calls fn, once each, for every subject with messages that fs
// matches, with its state: a point lookup per literal filter, else a walk of
// the per-subject table limited to the filters' literal prefixes. An error
// from fn ends the walk and is returned.
func forSubjects(r pebble.Reader, id uint32, fs *filterSet, fn func(subj string, st subjState) error) error {
	if fs.literal {
		for _, f := range fs.lits {
			v, ok, err := get(r, perKey(nil, id, f))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			st, err := decodeSubjState(v)
			if err != nil {
				return err
			}
			if err := fn(f, st); err != nil {
				return err
			}
		}
		return nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: tableKey(nil, id, tPer), UpperBound: tableKey(nil, id, tPer+1)})
	if err != nil {
		return err
	}
	defer it.Close()
	for _, rg := range fs.ranges(id) {
		for ok := it.SeekGE(rg.lo); ok && bytes.Compare(it.Key(), rg.hi) < 0; ok = it.NextPrefix() {
			subj := subjFromPer(it.Key())
			if !fs.match(subj) {
				continue
			}
			st, err := decodeSubjState(it.Value())
			if err != nil {
				return err
			}
			if err := fn(subj, st); err != nil {
				return err
			}
		}
	}
	return it.Error()
}
