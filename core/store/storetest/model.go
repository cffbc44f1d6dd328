package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// model is the contract written as plainly as possible: a sorted slice of
// live messages. The kit compares backends against it.
type model struct {
	cfg       store.StreamConfig
	storage   store.StorageType
	msgs      []store.Msg
	first     uint64
	last      uint64
	lastTime  int64
	timeKnown bool // false after a skip, whose time is the backend's clock
}

func newModel(cfg store.StreamConfig, storage store.StorageType) *model {
	m := &model{cfg: cfg, storage: storage, timeKnown: true}
	m.reset()
	return m
}

func (m *model) reset() {
	m.msgs, m.first, m.last, m.lastTime, m.timeKnown = nil, 0, 0, 0, true
	if m.cfg.FirstSeq > 0 {
		m.first, m.last = m.cfg.FirstSeq, m.cfg.FirstSeq-1
	}
}

func (m *model) size(x *store.Msg) uint64 {
	return store.MsgSize(m.storage, x.Subject, x.Header, x.Data)
}

func (m *model) bytes() (n uint64) {
	for i := range m.msgs {
		n += m.size(&m.msgs[i])
	}
	return n
}

func (m *model) idx(seq uint64) int {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].Seq >= seq })
	if i < len(m.msgs) && m.msgs[i].Seq == seq {
		return i
	}
	return -1
}

func (m *model) add(x store.Msg) {
	if len(m.msgs) == 0 {
		m.first = x.Seq
	}
	m.msgs = append(m.msgs, x)
	m.last, m.lastTime, m.timeKnown = x.Seq, x.Time, true
}

func (m *model) removeIdx(i int) {
	m.msgs = slices.Delete(m.msgs, i, i+1)
	if len(m.msgs) == 0 {
		m.first = m.last + 1
	} else {
		m.first = m.msgs[0].Seq
	}
}

func (m *model) missing(seq uint64) error {
	switch {
	case seq > m.last:
		return store.ErrEOF
	case seq < m.first || len(m.msgs) == 0:
		return store.ErrNotFound
	}
	return store.ErrDeleted
}

func (m *model) remove(seq uint64) error {
	i := m.idx(seq)
	if i < 0 {
		return m.missing(seq)
	}
	m.removeIdx(i)
	return nil
}

func (m *model) count(subj string) (n uint64) {
	for i := range m.msgs {
		if m.msgs[i].Subject == subj {
			n++
		}
	}
	return n
}

// check is the validation and discard-new part of Store.
func (m *model) check(x *store.Msg) error {
	c := &m.cfg
	switch {
	case !subject.ValidLiteral(x.Subject):
		return store.ErrInvalid
	case x.TTL != 0 && (x.TTL < store.TTLNever || !c.AllowMsgTTL):
		return store.ErrInvalid
	case c.MaxMsgSize > 0 && len(x.Header)+len(x.Data) > int(c.MaxMsgSize):
		return store.ErrMaxMsgSize
	case c.Discard != store.DiscardNew:
		return nil
	case c.MaxMsgs > 0 && uint64(len(m.msgs)) >= uint64(c.MaxMsgs):
		return store.ErrMaxMsgs
	case c.MaxBytes > 0 && m.bytes()+m.size(x) > uint64(c.MaxBytes):
		return store.ErrMaxBytes
	case c.DiscardNewPerSubject && c.MaxMsgsPerSubject > 0 && m.count(x.Subject) >= uint64(c.MaxMsgsPerSubject):
		return store.ErrMaxMsgsPerSubject
	}
	return nil
}

// store appends x at the next sequence with the time the backend gave it.
func (m *model) store(x store.Msg) (uint64, error) {
	if err := m.check(&x); err != nil {
		return 0, err
	}
	x.Seq = m.last + 1
	m.add(x)
	m.enforce(x.Subject)
	return x.Seq, nil
}

// enforce applies the discard-old limits: per subject, messages, bytes.
func (m *model) enforce(subj string) {
	c := &m.cfg
	if c.MaxMsgsPerSubject > 0 {
		var subjs []string
		if subj != "" {
			subjs = []string{subj}
		} else {
			for i := range m.msgs {
				subjs = append(subjs, m.msgs[i].Subject)
			}
		}
		for _, sj := range subjs {
			for m.count(sj) > uint64(c.MaxMsgsPerSubject) {
				for i := range m.msgs {
					if m.msgs[i].Subject == sj {
						m.removeIdx(i)
						break
					}
				}
			}
		}
	}
	for c.MaxMsgs > 0 && uint64(len(m.msgs)) > uint64(c.MaxMsgs) {
		m.removeIdx(0)
	}
	for c.MaxBytes > 0 && m.bytes() > uint64(c.MaxBytes) && len(m.msgs) > 0 {
		m.removeIdx(0)
	}
}

func (m *model) skip(n uint64) {
	m.last += n
	m.timeKnown = false
	if len(m.msgs) == 0 {
		m.first = m.last + 1
	}
}

func (m *model) purge(req store.PurgeRequest) uint64 {
	all := req.Subject == "" || req.Subject == ">"
	if all && req.Seq == 0 && req.Keep == 0 {
		n := uint64(len(m.msgs))
		m.msgs = nil
		m.first = m.last + 1
		return n
	}
	var match []uint64
	for i := range m.msgs {
		if all || subject.Match(m.msgs[i].Subject, req.Subject) {
			match = append(match, m.msgs[i].Seq)
		}
	}
	if req.Keep > 0 {
		if req.Keep >= uint64(len(match)) {
			return 0
		}
		match = match[:uint64(len(match))-req.Keep]
	}
	var n uint64
	for _, seq := range match {
		if req.Seq == 0 || seq < req.Seq {
			m.removeIdx(m.idx(seq))
			n++
		}
	}
	return n
}

func (m *model) compact(seq uint64) uint64 {
	if seq > m.last+1 {
		n := uint64(len(m.msgs))
		m.msgs = nil
		m.first, m.last = seq, seq-1
		return n
	}
	var n uint64
	for len(m.msgs) > 0 && m.msgs[0].Seq < seq {
		m.removeIdx(0)
		n++
	}
	if len(m.msgs) == 0 && seq > m.first {
		m.first = seq
	}
	return n
}

func (m *model) truncate(seq uint64) {
	if seq >= m.last {
		return
	}
	if seq == 0 {
		m.reset()
		return
	}
	for len(m.msgs) > 0 && m.msgs[len(m.msgs)-1].Seq > seq {
		m.msgs = m.msgs[:len(m.msgs)-1]
	}
	m.last, m.lastTime, m.timeKnown = seq, 0, true
	if len(m.msgs) == 0 {
		m.first = seq + 1
	} else {
		m.lastTime = m.msgs[len(m.msgs)-1].Time
	}
}

// expiry is when x expires, or 0 for never.
func (m *model) expiry(x *store.Msg) int64 {
	switch {
	case x.TTL > 0:
		return x.Time + x.TTL*1e9
	case x.TTL == 0 && m.cfg.MaxAge > 0:
		return x.Time + int64(m.cfg.MaxAge)
	}
	return 0
}

func (m *model) expire(now int64) store.ExpireResult {
	var res store.ExpireResult
	aged := map[string]bool{}
	var keep []store.Msg
	for i := range m.msgs {
		x := &m.msgs[i]
		if exp := m.expiry(x); exp != 0 && exp <= now {
			res.Msgs++
			res.Bytes += m.size(x)
			if x.TTL == 0 {
				aged[x.Subject] = true
			}
			continue
		}
		keep = append(keep, *x)
	}
	m.msgs = keep
	if len(m.msgs) == 0 {
		m.first = m.last + 1
	} else {
		m.first = m.msgs[0].Seq
	}
	for subj := range aged {
		if m.count(subj) == 0 {
			res.Emptied = append(res.Emptied, subj)
		}
	}
	sort.Strings(res.Emptied)
	for i := range m.msgs {
		if exp := m.expiry(&m.msgs[i]); exp != 0 && (res.Next == 0 || exp < res.Next) {
			res.Next = exp
		}
	}
	return res
}

func (m *model) state() store.StreamState {
	st := store.StreamState{Msgs: uint64(len(m.msgs)), Bytes: m.bytes(), FirstSeq: m.first, LastSeq: m.last, LastTime: m.lastTime}
	subjs := map[string]bool{}
	prev := m.first - 1
	for i := range m.msgs {
		x := &m.msgs[i]
		subjs[x.Subject] = true
		if x.Seq > prev+1 {
			st.Deleted = append(st.Deleted, store.Range{First: prev + 1, Last: x.Seq - 1})
		}
		prev = x.Seq
	}
	if len(m.msgs) > 0 {
		st.FirstTime = m.msgs[0].Time
		if m.last > prev {
			st.Deleted = append(st.Deleted, store.Range{First: prev + 1, Last: m.last})
		}
		st.NumDeleted = m.last - m.first + 1 - st.Msgs
	}
	st.NumSubjects = uint64(len(subjs))
	return st
}

func (m *model) filtered(start uint64, filters []string) store.SimpleState {
	var ss store.SimpleState
	for i := range m.msgs {
		x := &m.msgs[i]
		if x.Seq >= start && store.MatchAny(x.Subject, filters) {
			if ss.Msgs == 0 {
				ss.First = x.Seq
			}
			ss.Msgs++
			ss.Last = x.Seq
		}
	}
	return ss
}

func (m *model) totals(filter string) map[string]uint64 {
	out := map[string]uint64{}
	for i := range m.msgs {
		if store.MatchAny(m.msgs[i].Subject, []string{filter}) {
			out[m.msgs[i].Subject]++
		}
	}
	return out
}

// lastPerSubject maps each matching subject to its last sequence <= maxSeq.
func (m *model) lastPerSubject(filters []string, maxSeq uint64) map[string]uint64 {
	out := map[string]uint64{}
	for i := range m.msgs {
		x := &m.msgs[i]
		if x.Seq <= maxSeq && store.MatchAny(x.Subject, filters) {
			out[x.Subject] = x.Seq
		}
	}
	return out
}

// compareModel checks the backend's state, messages and subject totals
// against the model.
func compareModel(t failer, s store.StreamStore, m *model) {
	t.Helper()
	ctx := context.Background()
	got := state(t, s)
	want := m.state()
	if got.Msgs != want.Msgs || got.Bytes != want.Bytes || got.FirstSeq != want.FirstSeq ||
		got.LastSeq != want.LastSeq || got.NumSubjects != want.NumSubjects || got.NumDeleted != want.NumDeleted ||
		got.FirstTime != want.FirstTime || (m.timeKnown && got.LastTime != want.LastTime) ||
		!slices.Equal(got.Deleted, want.Deleted) {
		t.Fatalf("state mismatch:\n got %+v\nwant %+v", got, want)
	}
	if tot, err := s.SubjectsTotals(ctx, ""); err != nil || (len(tot) > 0 || len(m.totals("")) > 0) && !maps.Equal(tot, m.totals("")) {
		t.Fatalf("SubjectsTotals = %v, %v; want %v", tot, err, m.totals(""))
	}
	lo := m.first
	if lo > 2 {
		lo -= 2
	}
	for seq := lo; seq <= m.last+2; seq++ {
		x, err := s.Load(ctx, seq)
		if i := m.idx(seq); i >= 0 {
			w := &m.msgs[i]
			if err != nil || x.Seq != seq || x.Subject != w.Subject || !bytes.Equal(x.Data, w.Data) ||
				!bytes.Equal(x.Header, w.Header) || x.Time != w.Time || x.TTL != w.TTL {
				t.Fatalf("Load(%d) = %+v, %v; want %+v", seq, x, err, *w)
			}
		} else if want := m.missing(seq); !errors.Is(err, want) {
			t.Fatalf("Load(%d) error %v, want %v", seq, err, want)
		}
	}
}

func (m *model) String() string {
	return fmt.Sprintf("model{first %d last %d msgs %d}", m.first, m.last, len(m.msgs))
}
