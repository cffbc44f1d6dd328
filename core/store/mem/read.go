package mem

import (
	"context"
	"fmt"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

func (m *msg) out() store.Msg {
	sm := store.Msg{Subject: m.subj, Seq: m.seq, Time: m.ts, TTL: m.ttl}
	if m.hlen > 0 {
		sm.Header = m.hdr()
	}
	if len(m.buf) > int(m.hlen) {
		sm.Data = m.data()
	}
	return sm
}

// filterSet is a parsed filter list.
type filterSet struct {
	filters []string
	all     bool // matches every subject
	literal bool // every filter is a literal subject
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

// subjects calls fn for each indexed subject the set matches, once each.
func (d *data) subjects(fs *filterSet, fn func(subj string, si *subjIdx)) {
	if fs.literal && !fs.all && len(fs.filters) < len(d.subjs) {
		for i, f := range fs.filters {
			if si := d.subjs[f]; si != nil && !dupBefore(fs.filters, i) {
				fn(f, si)
			}
		}
		return
	}
	for subj, si := range d.subjs {
		if fs.match(subj) {
			fn(subj, si)
		}
	}
}

func dupBefore(fs []string, i int) bool {
	for _, f := range fs[:i] {
		if f == fs[i] {
			return true
		}
	}
	return false
}

// nextMatch returns the slot of the first live matching message with seq >=
// start, or -1.
func (d *data) nextMatch(fs *filterSet, start uint64) int {
	if d.nmsgs == 0 || start > d.last {
		return -1
	}
	if fs.literal && !fs.all {
		best := uint64(0)
		d.subjects(fs, func(_ string, si *subjIdx) {
			if q, ok := si.firstAtOrAfter(start); ok && (best == 0 || q < best) {
				best = q
			}
		})
		if best == 0 {
			return -1
		}
		return d.index(best)
	}
	// Scan a while; when matches are sparse, ask the subject index instead.
	budget := 64 + 4*len(d.subjs)
	for i := d.startIndex(start); i < d.msgs.len(); i++ {
		m := d.msgs.at(i)
		if !m.deleted && fs.match(m.subj) {
			return i
		}
		if budget--; budget == 0 && !fs.all {
			best := uint64(0)
			from := m.seq + 1
			d.subjects(fs, func(_ string, si *subjIdx) {
				if q, ok := si.firstAtOrAfter(from); ok && (best == 0 || q < best) {
					best = q
				}
			})
			if best == 0 {
				return -1
			}
			return d.index(best)
		}
	}
	return -1
}

// prevMatch returns the slot of the last live matching message with seq <=
// end, or -1.
func (d *data) prevMatch(fs *filterSet, end uint64) int {
	if d.nmsgs == 0 || end < d.first {
		return -1
	}
	end = min(end, d.last)
	if !fs.all {
		best := uint64(0)
		d.subjects(fs, func(_ string, si *subjIdx) {
			if q, ok := si.lastAtOrBefore(end); ok && q > best {
				best = q
			}
		})
		if best == 0 {
			return -1
		}
		return d.index(best)
	}
	i := d.startIndex(end + 1)
	for i--; i >= d.head; i-- {
		if !d.msgs.at(i).deleted {
			return i
		}
	}
	return -1
}

// Load implements store.Reader.
func (s *stream) Load(_ context.Context, seq uint64) (store.Msg, error) {
	d, err := s.lockR()
	if err != nil {
		return store.Msg{}, err
	}
	defer d.mu.RUnlock()
	i, err := d.liveIndex(seq)
	if err != nil {
		return store.Msg{}, err
	}
	return d.msgs.at(i).out(), nil
}

// LoadNext implements store.Reader.
func (s *stream) LoadNext(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	d, err := s.lockR()
	if err != nil {
		return store.Msg{}, err
	}
	defer d.mu.RUnlock()
	if i := d.nextMatch(&fs, start); i >= 0 {
		return d.msgs.at(i).out(), nil
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
	d, err := s.lockR()
	if err != nil {
		return store.Msg{}, err
	}
	defer d.mu.RUnlock()
	if i := d.prevMatch(&fs, d.last); i >= 0 {
		return d.msgs.at(i).out(), nil
	}
	return store.Msg{}, fmt.Errorf("%w: no message on %q", store.ErrNotFound, subj)
}

// LoadPrev implements store.Reader.
func (s *stream) LoadPrev(_ context.Context, filters []string, start uint64) (store.Msg, error) {
	fs, err := newFilterSet(filters)
	if err != nil {
		return store.Msg{}, err
	}
	d, err := s.lockR()
	if err != nil {
		return store.Msg{}, err
	}
	defer d.mu.RUnlock()
	if i := d.prevMatch(&fs, start); i >= 0 {
		return d.msgs.at(i).out(), nil
	}
	return store.Msg{}, fmt.Errorf("%w: no match at or before %d", store.ErrEOF, start)
}

// LoadRange implements store.Reader.
func (s *stream) LoadRange(_ context.Context, req store.RangeRequest) ([]store.Msg, error) {
	fs, err := newFilterSet(req.Filters)
	if err != nil {
		return nil, err
	}
	d, err := s.lockR()
	if err != nil {
		return nil, err
	}
	defer d.mu.RUnlock()
	end := d.last
	if req.End > 0 && req.End < end {
		end = req.End
	}
	var out []store.Msg
	bytes := 0
	for seq := req.Start; seq <= end; {
		i := d.nextMatch(&fs, seq)
		if i < 0 || d.msgs.at(i).seq > end {
			break
		}
		m := d.msgs.at(i)
		sz := len(m.buf)
		if req.MaxBytes > 0 && len(out) > 0 && bytes+sz > req.MaxBytes {
			break
		}
		out = append(out, m.out())
		bytes += sz
		if req.MaxMsgs > 0 && len(out) >= req.MaxMsgs {
			break
		}
		if fs.all {
			// Walk the slice directly rather than searching per message.
			for i++; i < d.msgs.len() && d.msgs.at(i).seq <= end; i++ {
				m := d.msgs.at(i)
				if m.deleted {
					continue
				}
				if req.MaxBytes > 0 && bytes+len(m.buf) > req.MaxBytes {
					return out, nil
				}
				out = append(out, m.out())
				bytes += len(m.buf)
				if req.MaxMsgs > 0 && len(out) >= req.MaxMsgs {
					return out, nil
				}
			}
			break
		}
		seq = m.seq + 1
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no match from %d", store.ErrEOF, req.Start)
	}
	return out, nil
}

// SeqFromTime implements store.Reader.
func (s *stream) SeqFromTime(_ context.Context, ts int64) (uint64, error) {
	d, err := s.lockR()
	if err != nil {
		return 0, err
	}
	defer d.mu.RUnlock()
	for i := d.msgs.search(d.head, func(m *msg) bool { return m.ts >= ts }); i < d.msgs.len(); i++ {
		if m := d.msgs.at(i); !m.deleted {
			return m.seq, nil
		}
	}
	return d.last + 1, nil
}

// SubjectForSeq implements store.Reader.
func (s *stream) SubjectForSeq(_ context.Context, seq uint64) (string, error) {
	d, err := s.lockR()
	if err != nil {
		return "", err
	}
	defer d.mu.RUnlock()
	i, err := d.liveIndex(seq)
	if err != nil {
		return "", err
	}
	return d.msgs.at(i).subj, nil
}
