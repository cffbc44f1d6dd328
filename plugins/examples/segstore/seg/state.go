package seg

import (
	"fmt"
	"sort"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// entry is the index entry of one message: everything but its bytes,
// which stay in the segment at (seg, off).
type entry struct {
	seq        uint64
	ts, ttl    int64
	subj       string
	seg        uint32
	off        int64
	hlen, dlen uint32
	size       uint64 // accounted bytes (store.MsgSize)
	rlen       uint32 // length of its record on disk
	del        bool
}

// state is a stream's in-memory index. Every method that changes it is
// deterministic, so replaying the log rebuilds it exactly; the stream's
// lock guards it.
type state struct {
	cfg    store.StreamConfig
	msgs   []entry // ascending seq; removed entries stay until compacted
	head   int     // msgs[head] is the first live entry when nmsgs > 0
	ndel   int     // removed entries at or after head
	first  uint64
	last   uint64
	lastTS int64
	nmsgs  uint64
	nbytes uint64
	disk   int64               // record bytes of the live messages
	subjs  map[string][]uint64 // live sequences of each subject, ascending
	cons   map[string]*consumerData
}

func newState(cfg store.StreamConfig) *state {
	st := &state{subjs: make(map[string][]uint64), cons: make(map[string]*consumerData)}
	st.cfg = cfg
	st.resetSeqs()
	return st
}

// resetSeqs puts an empty stream back to the sequences of a new one.
func (st *state) resetSeqs() {
	st.first, st.last, st.lastTS = 0, 0, 0
	if st.cfg.FirstSeq > 0 {
		st.first, st.last = st.cfg.FirstSeq, st.cfg.FirstSeq-1
	}
}

// index returns the position of seq in msgs (live or removed), or -1.
func (st *state) index(seq uint64) int {
	i := st.head + sort.Search(len(st.msgs)-st.head, func(i int) bool { return st.msgs[st.head+i].seq >= seq })
	if i < len(st.msgs) && st.msgs[i].seq == seq {
		return i
	}
	return -1
}

// startIndex returns the first position with seq >= start.
func (st *state) startIndex(start uint64) int {
	return st.head + sort.Search(len(st.msgs)-st.head, func(i int) bool { return st.msgs[st.head+i].seq >= start })
}

func (st *state) missing(seq uint64) error {
	switch {
	case seq > st.last:
		return fmt.Errorf("%w: seq %d after last %d", store.ErrEOF, seq, st.last)
	case seq < st.first || st.nmsgs == 0:
		return fmt.Errorf("%w: seq %d before first %d", store.ErrNotFound, seq, st.first)
	}
	return fmt.Errorf("%w: seq %d", store.ErrDeleted, seq)
}

// live returns the live entry at seq or the contract's error.
func (st *state) live(seq uint64) (*entry, error) {
	if i := st.index(seq); i >= 0 && !st.msgs[i].del {
		return &st.msgs[i], nil
	}
	return nil, st.missing(seq)
}

// check validates a new message and applies the discard-new rules.
func (st *state) check(subj string, hdr, data []byte, ttl int64) error {
	if !subject.ValidLiteral(subj) {
		return fmt.Errorf("%w: subject %q", store.ErrInvalid, subj)
	}
	c := &st.cfg
	if ttl != 0 && (ttl < store.TTLNever || !c.AllowMsgTTL) {
		return fmt.Errorf("%w: ttl %d (allow_msg_ttl %v)", store.ErrInvalid, ttl, c.AllowMsgTTL)
	}
	if c.MaxMsgSize > 0 && len(hdr)+len(data) > int(c.MaxMsgSize) {
		return fmt.Errorf("%w: %d > %d", store.ErrMaxMsgSize, len(hdr)+len(data), c.MaxMsgSize)
	}
	if c.Discard != store.DiscardNew {
		return nil
	}
	if c.MaxMsgs > 0 && st.nmsgs >= uint64(c.MaxMsgs) {
		return fmt.Errorf("%w: %d", store.ErrMaxMsgs, c.MaxMsgs)
	}
	if c.MaxBytes > 0 && st.nbytes+store.MsgSize(c.Storage, subj, hdr, data) > uint64(c.MaxBytes) {
		return fmt.Errorf("%w: %d", store.ErrMaxBytes, c.MaxBytes)
	}
	if c.DiscardNewPerSubject && c.MaxMsgsPerSubject > 0 && uint64(len(st.subjs[subj])) >= uint64(c.MaxMsgsPerSubject) {
		return fmt.Errorf("%w: %s at %d", store.ErrMaxMsgsPerSubject, subj, c.MaxMsgsPerSubject)
	}
	return nil
}

// applyMsg adds a message that passed every check, then applies the
// discard-old limits.
func (st *state) applyMsg(e entry) {
	st.msgs = append(st.msgs, e)
	st.subjs[e.subj] = append(st.subjs[e.subj], e.seq)
	if st.nmsgs == 0 {
		st.first = e.seq
	}
	st.nmsgs++
	st.nbytes += e.size
	st.disk += int64(e.rlen)
	st.last, st.lastTS = e.seq, e.ts
	st.enforce(e.subj)
	st.compact()
}

// restoreMsg adds a message of a checkpoint, which holds only live
// messages within the limits, and whose sequences it set already.
func (st *state) restoreMsg(e entry) {
	st.msgs = append(st.msgs, e)
	st.subjs[e.subj] = append(st.subjs[e.subj], e.seq)
	if st.nmsgs == 0 {
		st.first = e.seq
	}
	st.nmsgs++
	st.nbytes += e.size
	st.disk += int64(e.rlen)
}

// enforce applies the discard-old limits after an append to subj ("" for
// every subject, after a config change).
func (st *state) enforce(subj string) {
	c := &st.cfg
	if c.MaxMsgsPerSubject > 0 {
		limit := c.MaxMsgsPerSubject
		trim := func(s string) {
			for int64(len(st.subjs[s])) > limit {
				st.removeAt(st.index(st.subjs[s][0]))
			}
		}
		if subj != "" {
			trim(subj)
		} else {
			names := make([]string, 0, len(st.subjs))
			for s := range st.subjs {
				names = append(names, s)
			}
			sort.Strings(names)
			for _, s := range names {
				trim(s)
			}
		}
	}
	for c.MaxMsgs > 0 && st.nmsgs > uint64(c.MaxMsgs) {
		st.removeAt(st.head)
	}
	for c.MaxBytes > 0 && st.nbytes > uint64(c.MaxBytes) && st.nmsgs > 0 {
		st.removeAt(st.head)
	}
}

// removeAt removes the live entry at position i. Positions stay valid
// until compact.
func (st *state) removeAt(i int) uint64 {
	e := &st.msgs[i]
	st.nmsgs--
	st.nbytes -= e.size
	st.disk -= int64(e.rlen)
	seqs := st.subjs[e.subj]
	k := sort.Search(len(seqs), func(k int) bool { return seqs[k] >= e.seq })
	seqs = append(seqs[:k], seqs[k+1:]...)
	if len(seqs) == 0 {
		delete(st.subjs, e.subj)
	} else {
		st.subjs[e.subj] = seqs
	}
	e.del = true
	st.ndel++
	for st.head < len(st.msgs) && st.msgs[st.head].del {
		st.head++
		st.ndel--
	}
	if st.nmsgs == 0 {
		st.first = st.last + 1
	} else {
		st.first = st.msgs[st.head].seq
	}
	return e.size
}

// compact drops removed entries once they dominate.
func (st *state) compact() {
	switch live := len(st.msgs) - st.head - st.ndel; {
	case st.nmsgs == 0:
		st.msgs, st.head, st.ndel = st.msgs[:0], 0, 0
	case st.ndel+st.head > 64 && st.ndel+st.head > live:
		out := make([]entry, 0, live)
		for _, e := range st.msgs[st.head:] {
			if !e.del {
				out = append(out, e)
			}
		}
		st.msgs, st.head, st.ndel = out, 0, 0
	}
}

// removeAll empties the stream, keeping its sequences, and returns the
// count.
func (st *state) removeAll() uint64 {
	n := st.nmsgs
	st.msgs, st.head, st.ndel = nil, 0, 0
	st.subjs = make(map[string][]uint64)
	st.nmsgs, st.nbytes, st.disk = 0, 0, 0
	st.first = st.last + 1
	return n
}

func (st *state) applySkip(seq, n uint64, ts int64) {
	st.last = seq + n - 1
	st.lastTS = ts
	if st.nmsgs == 0 {
		st.first = st.last + 1
	}
}

func (st *state) applyRemove(seq uint64) {
	if i := st.index(seq); i >= 0 && !st.msgs[i].del {
		st.removeAt(i)
		st.compact()
	}
}

func (st *state) applyPurge(req store.PurgeRequest) uint64 {
	all := req.Subject == "" || req.Subject == ">"
	if all && req.Seq == 0 && req.Keep == 0 {
		return st.removeAll()
	}
	var targets []uint64
	if all {
		if req.Keep >= st.nmsgs {
			return 0
		}
		budget := st.nmsgs - req.Keep
		for i := st.head; i < len(st.msgs) && uint64(len(targets)) < budget; i++ {
			if req.Seq > 0 && st.msgs[i].seq >= req.Seq {
				break
			}
			if !st.msgs[i].del {
				targets = append(targets, st.msgs[i].seq)
			}
		}
	} else {
		for s, seqs := range st.subjs {
			if subject.Match(s, req.Subject) {
				targets = append(targets, seqs...)
			}
		}
		sort.Slice(targets, func(i, j int) bool { return targets[i] < targets[j] })
		if req.Keep > 0 {
			if req.Keep >= uint64(len(targets)) {
				return 0
			}
			targets = targets[:uint64(len(targets))-req.Keep]
		}
		if req.Seq > 0 {
			targets = targets[:sort.Search(len(targets), func(i int) bool { return targets[i] >= req.Seq })]
		}
	}
	for _, seq := range targets {
		st.removeAt(st.index(seq))
	}
	st.compact()
	return uint64(len(targets))
}

func (st *state) applyCompact(seq uint64) uint64 {
	if seq > st.last+1 {
		n := st.removeAll()
		st.first, st.last = seq, seq-1
		return n
	}
	var n uint64
	for i := st.head; i < len(st.msgs) && st.msgs[i].seq < seq; i++ {
		if !st.msgs[i].del {
			st.removeAt(i)
			n++
		}
	}
	if st.nmsgs == 0 && seq > st.first {
		st.first = seq
	}
	st.compact()
	return n
}

func (st *state) applyTruncate(seq uint64) {
	if seq >= st.last {
		return
	}
	if seq == 0 {
		st.removeAll()
		st.resetSeqs()
		return
	}
	for i := len(st.msgs) - 1; i >= st.head && st.msgs[i].seq > seq; i-- {
		if !st.msgs[i].del {
			st.removeAt(i)
		}
	}
	cut := st.startIndex(seq + 1)
	st.ndel -= countDel(st.msgs[max(cut, st.head):])
	st.msgs = st.msgs[:max(cut, st.head)]
	st.last, st.lastTS = seq, 0
	if st.nmsgs == 0 {
		st.first = seq + 1
	} else {
		for i := len(st.msgs) - 1; i >= st.head; i-- {
			if !st.msgs[i].del {
				st.lastTS = st.msgs[i].ts
				break
			}
		}
	}
	st.compact()
}

func countDel(es []entry) int {
	n := 0
	for i := range es {
		if es[i].del {
			n++
		}
	}
	return n
}

// checkConfig reports whether cfg may replace the current config.
func (st *state) checkConfig(cfg store.StreamConfig) error {
	if cfg.Account != st.cfg.Account || cfg.Name != st.cfg.Name {
		return fmt.Errorf("%w: cannot rename stream %s/%s", store.ErrInvalid, st.cfg.Account, st.cfg.Name)
	}
	if cfg.Storage != st.cfg.Storage && st.nmsgs > 0 {
		return fmt.Errorf("%w: cannot change storage type of a stream with messages", store.ErrInvalid)
	}
	return nil
}

// applyConfig replaces the config (checked) and applies lowered limits.
func (st *state) applyConfig(cfg store.StreamConfig) {
	first, last := uint64(0), uint64(0)
	if st.cfg.FirstSeq > 0 {
		first, last = st.cfg.FirstSeq, st.cfg.FirstSeq-1
	}
	// A stream that never held a message takes a new first sequence.
	pristine := st.nmsgs == 0 && st.first == first && st.last == last && st.lastTS == 0
	st.cfg = cfg
	if pristine {
		st.resetSeqs()
	}
	st.enforce("")
	st.compact()
}

// expiry is when e expires, or 0 never.
func (st *state) expiry(e *entry) int64 {
	switch {
	case e.ttl > 0:
		return e.ts + e.ttl*1e9
	case e.ttl == 0 && st.cfg.MaxAge > 0:
		return e.ts + int64(st.cfg.MaxAge)
	}
	return 0
}

func (st *state) applyExpire(now int64) store.ExpireResult {
	var res store.ExpireResult
	aged := make(map[string]bool)
	for i := st.head; i < len(st.msgs); i++ {
		e := &st.msgs[i]
		if e.del {
			continue
		}
		if exp := st.expiry(e); exp == 0 || exp > now {
			continue
		}
		if e.ttl == 0 {
			aged[e.subj] = true
		}
		res.Msgs++
		res.Bytes += st.removeAt(i)
	}
	// A subject removed by max age (not by a TTL) that is left empty gets
	// a delete marker from the runtime.
	for subj := range aged {
		if st.subjs[subj] == nil {
			res.Emptied = append(res.Emptied, subj)
		}
	}
	sort.Strings(res.Emptied)
	for i := st.head; i < len(st.msgs); i++ {
		if e := &st.msgs[i]; !e.del {
			if exp := st.expiry(e); exp > 0 && (res.Next == 0 || exp < res.Next) {
				res.Next = exp
			}
		}
	}
	st.compact()
	return res
}

// streamState summarises the stream; deleted ranges only when full.
func (st *state) streamState(full bool) store.StreamState {
	s := store.StreamState{
		Msgs: st.nmsgs, Bytes: st.nbytes, FirstSeq: st.first, LastSeq: st.last, LastTime: st.lastTS,
		NumSubjects: uint64(len(st.subjs)), Consumers: len(st.cons),
	}
	if st.nmsgs == 0 {
		return s
	}
	s.FirstTime = st.msgs[st.head].ts
	s.NumDeleted = st.last - st.first + 1 - st.nmsgs
	if full {
		prev := st.first - 1
		for i := st.head; i < len(st.msgs); i++ {
			if e := &st.msgs[i]; !e.del {
				if e.seq > prev+1 {
					s.Deleted = append(s.Deleted, store.Range{First: prev + 1, Last: e.seq - 1})
				}
				prev = e.seq
			}
		}
		if st.last > prev {
			s.Deleted = append(s.Deleted, store.Range{First: prev + 1, Last: st.last})
		}
	}
	return s
}

// anyExpired reports whether Expire at now would remove something.
func (st *state) anyExpired(now int64) bool {
	for i := st.head; i < len(st.msgs); i++ {
		if e := &st.msgs[i]; !e.del {
			if exp := st.expiry(e); exp > 0 && exp <= now {
				return true
			}
		}
	}
	return false
}
