package storagefile

import (
	"encoding/binary"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

const stateMagic = "HNGRSTAT\x01"

// streamState is a decoded state file: the stream's in-memory summary as
// it was when every frame before the checkpoint (ckIndex, ckSize) was
// durable. Recovery trusts it when the blocks it names are still there,
// unchanged, and replays only the frames after the checkpoint.
type streamState struct {
	first, last   uint64
	lastTime      int64
	nmsgs, nbytes uint64
	nextIndex     uint32
	ckIndex       uint32
	ckSize        int64
	blocks        []*block
	subjs         []stateSubj
	lostMsgs      []uint64
	lostBytes     uint64
	hasLost       bool
}

type stateSubj struct {
	name           string
	n, first, last uint64
	stale          uint8
}

// encodeState encodes the stream's summary. mu held (read).
func (st *fstream) encodeState() []byte {
	var p []byte
	u := func(v uint64) { p = binary.AppendUvarint(p, v) }
	i := func(v int64) { p = binary.AppendVarint(p, v) }
	u(st.first)
	u(st.last)
	i(st.lastTime)
	u(st.nmsgs)
	u(st.nbytes)
	u(uint64(st.nextIndex))
	act := st.active()
	u(uint64(act.index))
	u(uint64(act.size))
	u(uint64(len(st.blks)))
	for _, b := range st.blks {
		u(uint64(b.index))
		u(uint64(b.layout))
		for _, v := range []uint64{b.lo, b.first, b.last, b.nmsgs, b.bytes, b.nttl, b.nage, b.lseq,
			b.purgeMark, uint64(b.ntomb), b.tombMin, b.tombMax, uint64(b.size)} {
			u(v)
		}
		i(b.tsFirst)
		i(b.ttlMin)
		var flags byte
		if b.ttlDirty {
			flags |= 1
		}
		if b.sealed {
			flags |= 2
		}
		if b.compressed() {
			flags |= 4
		}
		p = append(p, flags)
		p = appendRuns(p, &b.del, b.last-b.first+1, b.first != 0)
	}
	u(uint64(st.subjs.live))
	st.subjs.each(func(name string, e *subjEntry) bool {
		p = appendBytes(p, []byte(name))
		u(e.n)
		u(e.first)
		u(e.last)
		p = append(p, e.stale)
		return true
	})
	if st.lost != nil {
		u(1)
		u(uint64(len(st.lost.Msgs)))
		for _, q := range st.lost.Msgs {
			u(q)
		}
		u(st.lost.Bytes)
	} else {
		u(0)
	}
	return append([]byte(stateMagic), sealBlob(st.aead, p, []byte(stateMagic))...)
}

// appendRuns encodes a delete map as runs of set bits.
func appendRuns(p []byte, d *dmap, n uint64, has bool) []byte {
	var runs []uint64
	if has {
		for j := d.nextSet(0, n); j < n; {
			k := d.nextClear(j, n)
			runs = append(runs, j, k-j)
			j = d.nextSet(k, n)
		}
	}
	p = binary.AppendUvarint(p, uint64(len(runs)/2))
	for _, v := range runs {
		p = binary.AppendUvarint(p, v)
	}
	return p
}

// decodeState reads a state file; ok false means it is damaged.
func (st *fstream) decodeState(raw []byte) (*streamState, bool) {
	if len(raw) < len(stateMagic) || string(raw[:len(stateMagic)]) != stateMagic {
		return nil, false
	}
	p, ok := openBlob(st.aead, raw[len(stateMagic):], []byte(stateMagic))
	if !ok {
		return nil, false
	}
	d := decoder{b: p}
	s := &streamState{}
	s.first, s.last, s.lastTime = d.uvarint(), d.uvarint(), d.varint()
	s.nmsgs, s.nbytes = d.uvarint(), d.uvarint()
	s.nextIndex = uint32(d.uvarint())
	s.ckIndex, s.ckSize = uint32(d.uvarint()), int64(d.uvarint())
	nb := d.uvarint()
	if d.err || nb > uint64(len(p)) {
		return nil, false
	}
	for range nb {
		b := &block{st: st, index: uint32(d.uvarint()), layout: uint32(d.uvarint())}
		vals := make([]uint64, 13)
		for j := range vals {
			vals[j] = d.uvarint()
		}
		b.lo, b.first, b.last, b.nmsgs, b.bytes, b.nttl, b.nage, b.lseq = vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7]
		b.purgeMark, b.ntomb, b.tombMin, b.tombMax, b.size = vals[8], int(vals[9]), vals[10], vals[11], int64(vals[12])
		b.tsFirst, b.ttlMin = d.varint(), d.varint()
		if len(d.b) < 1 {
			return nil, false
		}
		flags := d.b[0]
		d.b = d.b[1:]
		b.ttlDirty, b.sealed = flags&1 != 0, flags&2 != 0
		b.comp.Store(flags&4 != 0)
		nr := d.uvarint()
		if nr > uint64(len(p)) {
			return nil, false
		}
		for range nr {
			j, n := d.uvarint(), d.uvarint()
			if d.err || n == 0 || j+n > b.last-b.first+1 {
				return nil, false
			}
			b.del.setRange(j, j+n-1)
		}
		if d.err || b.first != 0 && (b.last < b.first || b.del.n+b.nmsgs != b.last-b.first+1) {
			return nil, false
		}
		s.blocks = append(s.blocks, b)
	}
	ns := d.uvarint()
	if d.err || ns > uint64(len(p)) {
		return nil, false
	}
	s.subjs = make([]stateSubj, ns)
	for j := range s.subjs {
		e := &s.subjs[j]
		e.name = string(d.bytes())
		e.n, e.first, e.last = d.uvarint(), d.uvarint(), d.uvarint()
		if len(d.b) < 1 {
			return nil, false
		}
		e.stale = d.b[0]
		d.b = d.b[1:]
	}
	if d.uvarint() == 1 {
		s.hasLost = true
		n := d.uvarint()
		if n > uint64(len(p)) {
			return nil, false
		}
		for range n {
			s.lostMsgs = append(s.lostMsgs, d.uvarint())
		}
		s.lostBytes = d.uvarint()
	}
	return s, !d.err && len(d.b) == 0
}

// writeState writes the state file: the summary as of now, once the frames
// it counts are durable.
func (st *fstream) writeState() error {
	st.stateBusy.Lock()
	defer st.stateBusy.Unlock()
	st.mu.RLock()
	if st.closed {
		st.mu.RUnlock()
		return nil
	}
	data := st.encodeState()
	b := st.active()
	changes := st.changes.Load()
	st.mu.RUnlock()
	return st.persistState(data, b, changes)
}

// persistState writes an encoded state once the active block b it counts
// is durable.
func (st *fstream) persistState(data []byte, b *block, changes int64) error {
	if err := b.flush(); err != nil {
		return err
	}
	if err := b.fsync(); err != nil {
		return err
	}
	if err := writeFileAtomic(st.fs(), st.statePath(), data); err != nil {
		return err
	}
	st.changes.Add(-changes)
	st.stateAt.Store(time.Now().UnixNano())
	return nil
}

// stateDue reports whether the state file is worth rewriting.
func (st *fstream) stateDue(every time.Duration) bool {
	n := st.changes.Load()
	return n > 0 && (time.Since(time.Unix(0, st.stateAt.Load())) >= every || n > 1<<20)
}

// lostData returns the lost messages as a store value.
func (s *streamState) lostData() *store.LostData {
	if !s.hasLost {
		return nil
	}
	return &store.LostData{Msgs: s.lostMsgs, Bytes: s.lostBytes}
}
