package mem

import (
	"fmt"
	"sync"

	"github.com/hangar-mq/hangar/core/store"
)

// msg is one slot of the message slice. A removed message keeps its seq (the
// slice stays sorted for binary search) and drops its bytes.
type msg struct {
	seq     uint64
	ts      int64
	ttl     int64
	subj    string
	buf     []byte // header followed by data
	hlen    int32
	deleted bool
}

func (m *msg) hdr() []byte  { return m.buf[:m.hlen:m.hlen] }
func (m *msg) data() []byte { return m.buf[m.hlen:] }

// data is a stream's state. It outlives the handles opened on it until the
// stream is deleted or the provider closed.
type data struct {
	mu sync.RWMutex // guards everything below; taken after provider.mu

	cfg    store.StreamConfig
	sizeFn func(string, []byte, []byte) uint64
	gen    uint64 // generation of the open handle; 0 when none is open
	gone   bool   // deleted or provider closed

	msgs msgList // ascending seq; msgs.at(head) is the first live one when nmsgs > 0
	head int
	ndel int // removed slots in msgs[head:]

	first, last uint64
	lastTime    int64
	nmsgs       uint64
	nbytes      uint64
	nAge        int // live messages with TTL 0, which max age governs
	subjs       map[string]*subjIdx
	ttls        ttlHeap

	consumers map[string]*consumerData
}

// stream is an open handle on a stream's data.
type stream struct {
	p   *Provider
	d   *data
	gen uint64
}

func newData(cfg store.StreamConfig) *data {
	d := &data{subjs: make(map[string]*subjIdx), consumers: make(map[string]*consumerData)}
	d.setConfig(cfg)
	d.resetSeqs()
	return d
}

func (d *data) setConfig(cfg store.StreamConfig) {
	cfg.Meta = append([]byte(nil), cfg.Meta...)
	d.cfg = cfg
	d.sizeFn = store.FileMsgSize
	if cfg.Storage == store.MemoryStorage {
		d.sizeFn = store.MemMsgSize
	}
}

// resetSeqs puts an empty stream back to the sequences of a new one.
func (d *data) resetSeqs() {
	d.first, d.last, d.lastTime = 0, 0, 0
	if d.cfg.FirstSeq > 0 {
		d.first, d.last = d.cfg.FirstSeq, d.cfg.FirstSeq-1
	}
}

// nextSeq is the sequence the next message gets.
func (d *data) nextSeq() uint64 { return d.last + 1 }

// lockW locks d for writing when the handle is still open.
func (s *stream) lockW() (*data, error) {
	d := s.d
	d.mu.Lock()
	if d.gone || d.gen != s.gen {
		d.mu.Unlock()
		return nil, fmt.Errorf("%w: stream %s", store.ErrClosed, d.cfg.Name)
	}
	return d, nil
}

// lockR locks d for reading when the handle is still open.
func (s *stream) lockR() (*data, error) {
	d := s.d
	d.mu.RLock()
	if d.gone || d.gen != s.gen {
		d.mu.RUnlock()
		return nil, fmt.Errorf("%w: stream %s", store.ErrClosed, d.cfg.Name)
	}
	return d, nil
}

// index returns the slot of seq in msgs, live or removed, or -1.
func (d *data) index(seq uint64) int {
	if d.head >= d.msgs.len() {
		return -1
	}
	base := d.msgs.at(d.head).seq
	if seq < base {
		return -1
	}
	if off := seq - base; off < uint64(d.msgs.len()-d.head) {
		if i := d.head + int(off); d.msgs.at(i).seq == seq {
			return i
		}
	}
	i := d.msgs.search(d.head, func(m *msg) bool { return m.seq >= seq })
	if i < d.msgs.len() && d.msgs.at(i).seq == seq {
		return i
	}
	return -1
}

// liveIndex returns the slot of the live message at seq, or the contract's
// error for a missing one.
func (d *data) liveIndex(seq uint64) (int, error) {
	if i := d.index(seq); i >= 0 && !d.msgs.at(i).deleted {
		return i, nil
	}
	return -1, d.missing(seq)
}

func (d *data) missing(seq uint64) error {
	switch {
	case seq > d.last:
		return fmt.Errorf("%w: seq %d after last %d", store.ErrEOF, seq, d.last)
	case seq < d.first || d.nmsgs == 0:
		return fmt.Errorf("%w: seq %d before first %d", store.ErrNotFound, seq, d.first)
	default:
		return fmt.Errorf("%w: seq %d", store.ErrDeleted, seq)
	}
}

// startIndex returns the first slot with seq >= start.
func (d *data) startIndex(start uint64) int {
	n := d.msgs.len() - d.head
	if n == 0 {
		return d.head
	}
	base := d.msgs.at(d.head).seq
	if start <= base {
		return d.head
	}
	if off := start - base; off < uint64(n) && d.msgs.at(d.head+int(off)).seq == start {
		return d.head + int(off)
	}
	return d.msgs.search(d.head, func(m *msg) bool { return m.seq >= start })
}

// appendMsg stores a message that passed every check at seq and ts.
func (d *data) appendMsg(subj string, hdr, body []byte, ttl int64, seq uint64, ts int64) {
	var buf []byte
	if n := len(hdr) + len(body); n > 0 {
		buf = make([]byte, n)
		copy(buf, hdr)
		copy(buf[len(hdr):], body)
	}
	d.msgs.push(msg{seq: seq, ts: ts, ttl: ttl, subj: subj, buf: buf, hlen: int32(len(hdr))})
	si := d.subjs[subj]
	if si == nil {
		si = &subjIdx{}
		d.subjs[subj] = si
	}
	si.seqs = append(si.seqs, seq)
	if d.nmsgs == 0 {
		d.first = seq
	}
	d.nmsgs++
	d.nbytes += d.sizeFn(subj, hdr, body)
	d.last, d.lastTime = seq, ts
	switch {
	case ttl > 0:
		d.pushTTL(ts+ttl*1e9, seq)
	case ttl == 0:
		d.nAge++
	}
}

// removeAt removes the live message in slot i. It never moves the slice, so
// callers may keep scanning; they call compact when done.
func (d *data) removeAt(i int) (size uint64) {
	m := d.msgs.at(i)
	size = d.sizeFn(m.subj, m.hdr(), m.data())
	d.nmsgs--
	d.nbytes -= size
	si := d.subjs[m.subj]
	si.remove(m.seq)
	if si.count() == 0 {
		delete(d.subjs, m.subj)
	}
	if m.ttl == 0 {
		d.nAge--
	}
	m.buf, m.subj, m.deleted = nil, "", true
	d.ndel++
	for d.head < d.msgs.len() && d.msgs.at(d.head).deleted {
		d.head++
		d.ndel--
	}
	for n := d.msgs.len(); n > d.head && d.msgs.at(n-1).deleted; n-- {
		d.msgs.pop()
		d.ndel--
	}
	if d.nmsgs == 0 {
		d.first = d.last + 1
	} else {
		d.first = d.msgs.at(d.head).seq
	}
	return size
}

// compact squeezes removed slots out of msgs once they dominate it, and
// frees the blocks before head.
func (d *data) compact() {
	live := d.msgs.len() - d.head - d.ndel
	switch {
	case d.nmsgs == 0:
		d.msgs.reset()
		d.head, d.ndel = 0, 0
		d.ttls = d.ttls[:0]
	case d.ndel > 64 && d.ndel > live:
		var out msgList
		for i := d.head; i < d.msgs.len(); i++ {
			if m := d.msgs.at(i); !m.deleted {
				out.push(*m)
			}
		}
		d.msgs, d.head, d.ndel = out, 0, 0
	case d.head >= blockLen:
		k := d.head &^ blockMask
		d.msgs.dropFront(k)
		d.head -= k
	}
}

// removeAll empties the stream, keeping the sequences, and returns the count.
func (d *data) removeAll() uint64 {
	n := d.nmsgs
	d.msgs.reset()
	d.head, d.ndel = 0, 0
	d.subjs = make(map[string]*subjIdx)
	d.ttls = nil
	d.nmsgs, d.nbytes, d.nAge = 0, 0, 0
	d.first = d.last + 1
	return n
}

// firstTime is the time of the first live message.
func (d *data) firstTime() int64 {
	if d.nmsgs == 0 {
		return 0
	}
	return d.msgs.at(d.head).ts
}
