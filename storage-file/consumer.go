package storagefile

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hangar-mq/hangar/core/store"
)

// consumer is one consumer's state and its log file: a full frame (meta
// and state) followed by delivered, ack and meta frames, each appended and
// made durable as the stream's blocks are, and rewritten as one full frame
// when the deltas outgrow it.
type consumer struct {
	st   *fstream
	name string
	path string

	mu    sync.Mutex // guards the fields below; taken after fstream.mu
	meta  []byte
	state store.ConsumerState
	gen   uint64 // generation of the open handle; 0 when none is open
	gone  bool
	salt  [8]byte
	pend  []byte // frames appended but not written
	size  int64  // file size once pend is written
	base  int64  // logical position of the file's start: positions survive rewrites
	delta int64  // bytes of delta frames since the full frame
	full  int64  // size of the full frame

	wmu     sync.Mutex // serialises writes; taken before mu
	f       vfs.File
	flushed int64
	synced  int64
	ferr    error
	scratch []byte
}

// handle is an open consumer store.
type handle struct {
	c   *consumer
	gen uint64
}

func (st *fstream) consumerPath(name string) string {
	return st.fs().PathJoin(st.obsDir(), escapeName(name)+".dat")
}

// OpenConsumer implements store.ConsumerStores.
func (st *fstream) OpenConsumer(_ context.Context, name string, meta []byte) (store.ConsumerStore, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty consumer name", store.ErrInvalid)
	}
	if err := st.lockW(); err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	c := st.cons[name]
	if c == nil {
		c = &consumer{st: st, name: name, path: st.consumerPath(name), meta: slices.Clone(meta)}
		if err := c.rewrite(); err != nil {
			return nil, err
		}
		st.cons[name] = c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != 0 {
		return nil, fmt.Errorf("%w: consumer %s is open", store.ErrExists, name)
	}
	if meta != nil && string(meta) != string(c.meta) {
		c.meta = slices.Clone(meta)
		c.appendLocked(kindConsMeta, c.meta)
		if err := c.commitLocked(); err != nil {
			return nil, err
		}
	}
	c.gen = st.p.gen.Add(1)
	return &handle{c: c, gen: c.gen}, nil
}

// Consumers implements store.ConsumerStores.
func (st *fstream) Consumers(context.Context) ([]store.ConsumerInfo, error) {
	if err := st.lockR(); err != nil {
		return nil, err
	}
	defer st.mu.RUnlock()
	out := make([]store.ConsumerInfo, 0, len(st.cons))
	for _, c := range st.cons {
		c.mu.Lock()
		out = append(out, store.ConsumerInfo{Name: c.name, Meta: slices.Clone(c.meta), State: c.state.Clone()})
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteConsumer implements store.ConsumerStores.
func (st *fstream) DeleteConsumer(_ context.Context, name string) error {
	if err := st.lockW(); err != nil {
		return err
	}
	defer st.mu.Unlock()
	return st.deleteConsumer(name)
}

func (st *fstream) deleteConsumer(name string) error {
	c := st.cons[name]
	if c == nil {
		return fmt.Errorf("%w: consumer %s", store.ErrNotFound, name)
	}
	delete(st.cons, name)
	c.shut(true)
	if err := st.fs().Remove(c.path); err != nil {
		return fmt.Errorf("filestore: delete consumer %s: %w", name, err)
	}
	return st.syncDir(st.obsDir())
}

// shut invalidates the consumer's handle and closes its file; gone marks
// it deleted.
func (c *consumer) shut(gone bool) {
	_ = c.flush()
	_ = c.fsync()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen = 0
	c.gone = c.gone || gone
	if c.f != nil {
		_ = c.f.Close()
		c.f = nil
	}
	if c.ferr == nil {
		c.ferr = fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
	}
}

// lock locks the consumer when the handle is still open.
func (h *handle) lock() (*consumer, error) {
	c := h.c
	c.mu.Lock()
	if c.gone || c.gen != h.gen {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
	}
	return c, nil
}

// update applies a change under the consumer's lock, logs it and waits
// until it is durable under the sync policy.
func (h *handle) update(change func(c *consumer) error) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	if err := change(c); err != nil {
		c.mu.Unlock()
		return err
	}
	// A log that failed to write (a full disk) is rewritten whole, with
	// this change, once it can be: memory has what the file may lack.
	if c.delta > max(64<<10, 4*c.full) || c.ferr != nil {
		c.mu.Unlock()
		return c.compact()
	}
	pos := c.base + c.size
	c.mu.Unlock()
	return c.st.p.commitFile(c, pos)
}

// UpdateDelivered implements store.ConsumerStore.
func (h *handle) UpdateDelivered(_ context.Context, dseq, sseq, dc uint64, ts int64) error {
	return h.update(func(c *consumer) error {
		if err := c.state.ApplyDelivered(dseq, sseq, dc, ts); err != nil {
			return err
		}
		b := binary.AppendUvarint(nil, dseq)
		b = binary.AppendUvarint(b, sseq)
		b = binary.AppendUvarint(b, dc)
		c.appendLocked(kindConsDelivered, binary.AppendVarint(b, ts))
		return nil
	})
}

// UpdateAcks implements store.ConsumerStore.
func (h *handle) UpdateAcks(_ context.Context, dseq, sseq uint64) error {
	return h.update(func(c *consumer) error {
		if err := c.state.ApplyAcks(dseq, sseq); err != nil {
			return err
		}
		c.appendLocked(kindConsAck, binary.AppendUvarint(binary.AppendUvarint(nil, dseq), sseq))
		return nil
	})
}

// Update implements store.ConsumerStore.
func (h *handle) Update(_ context.Context, state store.ConsumerState) error {
	if err := state.Validate(); err != nil {
		return err
	}
	return h.update(func(c *consumer) error {
		c.state = state.Clone()
		c.appendLocked(kindConsFull, c.fullBody())
		return nil
	})
}

// State implements store.ConsumerStore.
func (h *handle) State(context.Context) (store.ConsumerState, error) {
	c, err := h.lock()
	if err != nil {
		return store.ConsumerState{}, err
	}
	defer c.mu.Unlock()
	return c.state.Clone(), nil
}

// SetMeta implements store.ConsumerStore.
func (h *handle) SetMeta(_ context.Context, meta []byte) error {
	return h.update(func(c *consumer) error {
		c.meta = slices.Clone(meta)
		c.appendLocked(kindConsMeta, c.meta)
		return nil
	})
}

// Meta implements store.ConsumerStore.
func (h *handle) Meta(context.Context) ([]byte, error) {
	c, err := h.lock()
	if err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return c.meta, nil
}

// Close implements store.ConsumerStore.
func (h *handle) Close(context.Context) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	c.gen = 0
	c.mu.Unlock()
	return c.syncNow()
}

// Delete implements store.ConsumerStore. It needs the stream's lock, which
// comes before the consumer's.
func (h *handle) Delete(context.Context) error {
	c, err := h.lock()
	if err != nil {
		return err
	}
	c.mu.Unlock()
	st := c.st
	if err := st.lockW(); err != nil {
		return err
	}
	defer st.mu.Unlock()
	if st.cons[c.name] != c {
		return fmt.Errorf("%w: consumer %s", store.ErrClosed, c.name)
	}
	return st.deleteConsumer(c.name)
}

// fullBody encodes the meta and the whole state. mu held.
func (c *consumer) fullBody() []byte {
	b := appendBytes(nil, c.meta)
	s := &c.state
	for _, v := range []uint64{s.Delivered.Consumer, s.Delivered.Stream, s.AckFloor.Consumer, s.AckFloor.Stream} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Pending)))
	for _, sseq := range sortedKeys(s.Pending) {
		p := s.Pending[sseq]
		b = binary.AppendUvarint(b, sseq)
		b = binary.AppendUvarint(b, p.Sequence)
		b = binary.AppendVarint(b, p.Timestamp)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Redelivered)))
	for _, sseq := range sortedKeys(s.Redelivered) {
		b = binary.AppendUvarint(b, sseq)
		b = binary.AppendUvarint(b, s.Redelivered[sseq])
	}
	return b
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// applyFrame applies one logged frame; false means it does not decode.
func (c *consumer) applyFrame(kind frameKind, body []byte) bool {
	d := decoder{b: body}
	switch kind {
	case kindConsFull:
		meta := d.bytes()
		var s store.ConsumerState
		s.Delivered.Consumer, s.Delivered.Stream = d.uvarint(), d.uvarint()
		s.AckFloor.Consumer, s.AckFloor.Stream = d.uvarint(), d.uvarint()
		if n := d.uvarint(); n > 0 && n <= uint64(len(body)) {
			s.Pending = make(map[uint64]store.Pending, n)
			for ; n > 0 && !d.err; n-- {
				sseq := d.uvarint()
				s.Pending[sseq] = store.Pending{Sequence: d.uvarint(), Timestamp: d.varint()}
			}
		}
		if n := d.uvarint(); n > 0 && n <= uint64(len(body)) {
			s.Redelivered = make(map[uint64]uint64, n)
			for ; n > 0 && !d.err; n-- {
				sseq := d.uvarint()
				s.Redelivered[sseq] = d.uvarint()
			}
		}
		if d.err {
			return false
		}
		c.meta, c.state = slices.Clone(meta), s
	case kindConsDelivered:
		dseq, sseq, dc, ts := d.uvarint(), d.uvarint(), d.uvarint(), d.varint()
		if d.err {
			return false
		}
		_ = c.state.ApplyDelivered(dseq, sseq, dc, ts)
	case kindConsAck:
		dseq, sseq := d.uvarint(), d.uvarint()
		if d.err {
			return false
		}
		_ = c.state.ApplyAcks(dseq, sseq)
	case kindConsMeta:
		c.meta = slices.Clone(body)
	default:
		return false
	}
	return true
}

// appendLocked logs a frame. mu held.
func (c *consumer) appendLocked(kind frameKind, body []byte) {
	tl := c.st.trailer()
	n := frameHead + len(body) + tl
	start := len(c.pend)
	c.pend, _ = grow(c.pend, n)
	fr := c.pend[start:]
	putHead(fr, kind)
	copy(fr[frameHead:], body)
	c.size += int64(n)
	if kind == kindConsFull {
		c.full, c.delta = int64(n), 0
	} else {
		c.delta += int64(n)
	}
}

// commitLocked waits for durability with mu held, for the rare callers
// that hold it (OpenConsumer).
func (c *consumer) commitLocked() error {
	pos := c.base + c.size
	c.mu.Unlock()
	err := c.st.p.commitFile(c, pos)
	c.mu.Lock()
	return err
}

// flush implements syncable.
func (c *consumer) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.ferr != nil || c.f == nil {
		err := c.ferr
		c.mu.Unlock()
		return err
	}
	data, off := c.pend, c.flushed
	c.pend = nil
	c.mu.Unlock()
	if len(data) == 0 {
		return nil
	}
	sl := &sealer{aead: c.st.aead, salt: c.salt}
	for p := 0; p < len(data); {
		n := int(getU32(data[p:]))
		sl.seal(data[p:p+n], uint32(off)+uint32(p))
		p += n
	}
	_, err := c.f.WriteAt(data, off)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.ferr = fmt.Errorf("filestore: write consumer %s: %w", c.name, err)
		return c.ferr
	}
	c.flushed = off + int64(len(data))
	return nil
}

// fsync implements syncable.
func (c *consumer) fsync() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	target, f, err, synced := c.flushed, c.f, c.ferr, c.synced
	c.mu.Unlock()
	if err != nil || f == nil || synced >= target {
		return err
	}
	if err := f.Sync(); err != nil {
		c.mu.Lock()
		c.ferr = fmt.Errorf("filestore: sync consumer %s: %w", c.name, err)
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	c.synced = max(c.synced, target)
	c.mu.Unlock()
	return nil
}

// durable implements syncable.
func (c *consumer) durable(pos int64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base+c.synced >= pos {
		return true, nil
	}
	return false, c.ferr
}

// syncNow writes and syncs everything logged.
func (c *consumer) syncNow() error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.fsync()
}

// compact rewrites the log as one full frame.
func (c *consumer) compact() error {
	c.wmu.Lock()
	c.mu.Lock()
	err := c.rewriteLocked()
	c.mu.Unlock()
	c.wmu.Unlock()
	return err
}

// rewrite creates or replaces the log with one full frame.
func (c *consumer) rewrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rewriteLocked()
}

// rewriteLocked writes a new log under a new salt, synced and renamed into
// place. wmu and mu held.
func (c *consumer) rewriteLocked() error {
	fs := c.st.fs()
	h := fileHeader{magic: consumerMagic, salt: newSalt()}
	if c.st.aead != nil {
		h.flags, h.cipher = flagEncrypted, c.st.cipherID
	}
	tl := c.st.trailer()
	body := c.fullBody()
	data := h.encode()
	start := len(data)
	data, fr := grow(data, frameHead+len(body)+tl)
	putHead(fr, kindConsFull)
	copy(fr[frameHead:], body)
	(&sealer{aead: c.st.aead, salt: h.salt}).seal(fr, uint32(start))
	if err := mkdirAllSync(fs, c.st.obsDir()); err != nil {
		return err
	}
	if err := writeFileAtomic(fs, c.path, data); err != nil {
		return fmt.Errorf("filestore: write consumer %s: %w", c.name, err)
	}
	f, err := fs.OpenReadWrite(c.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("filestore: open consumer %s: %w", c.name, err)
	}
	if c.f != nil {
		_ = c.f.Close()
	}
	c.f, c.salt, c.ferr = f, h.salt, nil
	c.pend = nil
	c.base += c.size - int64(len(data))
	c.size, c.flushed, c.synced = int64(len(data)), int64(len(data)), int64(len(data))
	c.full, c.delta = int64(len(fr)), 0
	return nil
}

// loadConsumers reads every consumer log of the stream.
func (st *fstream) loadConsumers() error {
	fs := st.fs()
	names, err := fs.List(st.obsDir())
	if err != nil {
		return nil // no consumers yet
	}
	for _, fn := range names {
		if strings.HasSuffix(fn, ".tmp") {
			_ = fs.Remove(fs.PathJoin(st.obsDir(), fn))
			continue
		}
		base, ok := strings.CutSuffix(fn, ".dat")
		if !ok {
			continue
		}
		name, ok := unescapeName(base)
		if !ok {
			continue
		}
		c := &consumer{st: st, name: name, path: fs.PathJoin(st.obsDir(), fn)}
		if err := c.load(); err != nil {
			return err
		}
		st.cons[name] = c
	}
	return nil
}

// load replays a consumer log. A damaged or torn tail is dropped and the
// log rewritten, so that nothing is appended after damage.
func (c *consumer) load() error {
	raw, err := readAll(c.st.fs(), c.path)
	if err != nil {
		return fmt.Errorf("filestore: read consumer %s: %w", c.name, err)
	}
	h, ok := decodeHeader(raw, consumerMagic)
	if !ok {
		c.st.logf("consumer %s: damaged log header; its state is lost", c.name)
		return c.rewrite()
	}
	sl := &sealer{aead: c.st.aead, salt: h.salt}
	bad, end := openFrames(raw, hdrLen, sl)
	clean := len(bad) == 0 && end == len(raw)
	for off := hdrLen; off < end; {
		n := int(getU32(raw[off:]))
		k := frameKind(raw[off+4])
		if k == kindBad || !c.applyFrame(k, raw[off+frameHead:off+n-sl.trailer()]) {
			clean = false
			break
		}
		off += n
	}
	if !clean {
		c.st.logf("consumer %s: damaged log; kept the state up to the damage", c.name)
		return c.rewrite()
	}
	f, err := c.st.fs().OpenReadWrite(c.path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	c.f, c.salt = f, h.salt
	c.size, c.flushed, c.synced = int64(len(raw)), int64(len(raw)), int64(len(raw))
	c.full, c.delta = int64(len(c.fullBody())), int64(len(raw))
	return nil
}
