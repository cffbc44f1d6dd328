package mem

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

func (d *data) pushTTL(exp int64, seq uint64) { heap.Push(&d.ttls, ttlEntry{exp: exp, seq: seq}) }

// check validates a new message and applies the discard-new rules.
func (d *data) check(subj string, hdr, body []byte, ttl int64) error {
	if !subject.ValidLiteral(subj) {
		return fmt.Errorf("%w: subject %q", store.ErrInvalid, subj)
	}
	if ttl != 0 && (ttl < store.TTLNever || !d.cfg.AllowMsgTTL) {
		return fmt.Errorf("%w: ttl %d (allow_msg_ttl %v)", store.ErrInvalid, ttl, d.cfg.AllowMsgTTL)
	}
	c := &d.cfg
	if c.MaxMsgSize > 0 && len(hdr)+len(body) > int(c.MaxMsgSize) {
		return fmt.Errorf("%w: %d > %d", store.ErrMaxMsgSize, len(hdr)+len(body), c.MaxMsgSize)
	}
	if c.Discard != store.DiscardNew {
		return nil
	}
	if c.MaxMsgs > 0 && d.nmsgs >= uint64(c.MaxMsgs) {
		return fmt.Errorf("%w: %d", store.ErrMaxMsgs, c.MaxMsgs)
	}
	if c.MaxBytes > 0 && d.nbytes+d.sizeFn(subj, hdr, body) > uint64(c.MaxBytes) {
		return fmt.Errorf("%w: %d", store.ErrMaxBytes, c.MaxBytes)
	}
	if c.DiscardNewPerSubject && c.MaxMsgsPerSubject > 0 {
		if si := d.subjs[subj]; si != nil && si.count() >= uint64(c.MaxMsgsPerSubject) {
			return fmt.Errorf("%w: %s at %d", store.ErrMaxMsgsPerSubject, subj, c.MaxMsgsPerSubject)
		}
	}
	return nil
}

// enforce applies the discard-old limits after an append to subj ("" for
// all subjects, after a config change).
func (d *data) enforce(subj string) {
	c := &d.cfg
	if c.MaxMsgsPerSubject > 0 {
		limit := uint64(c.MaxMsgsPerSubject)
		trim := func(si *subjIdx) {
			for si.count() > limit {
				d.removeAt(d.index(si.first()))
			}
		}
		if subj != "" {
			if si := d.subjs[subj]; si != nil {
				trim(si)
			}
		} else {
			for _, si := range d.subjs {
				trim(si)
			}
		}
	}
	if c.MaxMsgs > 0 {
		for d.nmsgs > uint64(c.MaxMsgs) {
			d.removeAt(d.head)
		}
	}
	if c.MaxBytes > 0 {
		for d.nbytes > uint64(c.MaxBytes) && d.nmsgs > 0 {
			d.removeAt(d.head)
		}
	}
}

// Store implements store.Writer.
func (s *stream) Store(_ context.Context, subj string, hdr, body []byte, ttl int64) (uint64, int64, error) {
	d, err := s.lockW()
	if err != nil {
		return 0, 0, err
	}
	defer d.mu.Unlock()
	if err := d.check(subj, hdr, body, ttl); err != nil {
		return 0, 0, err
	}
	seq, ts := d.nextSeq(), time.Now().UnixNano()
	d.appendMsg(subj, hdr, body, ttl, seq, ts)
	d.enforce(subj)
	d.compact()
	return seq, ts, nil
}

// StoreBatch implements store.Writer.
func (s *stream) StoreBatch(_ context.Context, msgs []store.NewMsg) ([]store.StoreResult, error) {
	d, err := s.lockW()
	if err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	res := make([]store.StoreResult, len(msgs))
	ts := time.Now().UnixNano()
	for i := range msgs {
		m := &msgs[i]
		if err := d.check(m.Subject, m.Header, m.Data, m.TTL); err != nil {
			res[i].Err = err
			continue
		}
		seq := d.nextSeq()
		d.appendMsg(m.Subject, m.Header, m.Data, m.TTL, seq, ts)
		d.enforce(m.Subject)
		res[i] = store.StoreResult{Seq: seq, Time: ts}
	}
	d.compact()
	return res, nil
}

// StoreRaw implements store.Writer.
func (s *stream) StoreRaw(_ context.Context, m store.Msg) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	if m.Seq != 0 && m.Seq != d.nextSeq() {
		return fmt.Errorf("%w: raw seq %d, next %d", store.ErrSequenceMismatch, m.Seq, d.nextSeq())
	}
	if !subject.ValidLiteral(m.Subject) || m.TTL < store.TTLNever {
		return fmt.Errorf("%w: raw message %q ttl %d", store.ErrInvalid, m.Subject, m.TTL)
	}
	ts := m.Time
	if ts == 0 {
		ts = time.Now().UnixNano()
	}
	d.appendMsg(m.Subject, m.Header, m.Data, m.TTL, d.nextSeq(), ts)
	d.enforce(m.Subject)
	d.compact()
	return nil
}

// Skip implements store.Writer.
func (s *stream) Skip(_ context.Context, seq uint64) (uint64, error) {
	d, err := s.lockW()
	if err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	next := d.nextSeq()
	if seq != 0 && seq != next {
		return 0, fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
	}
	d.skip(next, 1)
	return next, nil
}

// skip uses up n sequences from seq, the next one.
func (d *data) skip(seq, n uint64) {
	d.last = seq + n - 1
	d.lastTime = time.Now().UnixNano()
	if d.nmsgs == 0 {
		d.first = d.last + 1
	}
}

// SkipMsgs implements store.Writer.
func (s *stream) SkipMsgs(_ context.Context, seq, n uint64) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	if seq != d.nextSeq() {
		return fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, d.nextSeq())
	}
	if n > 0 {
		d.skip(seq, n)
	}
	return nil
}

// Remove implements store.Writer.
func (s *stream) Remove(_ context.Context, seq uint64) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	i, err := d.liveIndex(seq)
	if err != nil {
		return err
	}
	d.removeAt(i)
	d.compact()
	return nil
}

// Erase implements store.Writer. Readers may alias the message's bytes, so
// the memory store drops them rather than overwriting them in place.
func (s *stream) Erase(ctx context.Context, seq uint64) error { return s.Remove(ctx, seq) }

// Purge implements store.Writer.
func (s *stream) Purge(_ context.Context, req store.PurgeRequest) (uint64, error) {
	if req.Subject != "" && !subject.Valid(req.Subject) {
		return 0, fmt.Errorf("%w: purge subject %q", store.ErrInvalid, req.Subject)
	}
	d, err := s.lockW()
	if err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	all := req.Subject == "" || req.Subject == ">"
	if all && req.Seq == 0 && req.Keep == 0 {
		return d.removeAll(), nil
	}
	var purged uint64
	if all {
		budget := d.nmsgs
		if req.Keep >= budget {
			return 0, nil
		}
		budget -= req.Keep
		for i := d.head; i < d.msgs.len() && purged < budget; i++ {
			if req.Seq > 0 && d.msgs.at(i).seq >= req.Seq {
				break
			}
			if !d.msgs.at(i).deleted {
				d.removeAt(i)
				purged++
			}
		}
	} else {
		for _, seq := range d.purgeTargets(req) {
			d.removeAt(d.index(seq))
			purged++
		}
	}
	d.compact()
	return purged, nil
}

// purgeTargets lists the sequences a subject-filtered purge removes.
func (d *data) purgeTargets(req store.PurgeRequest) []uint64 {
	var seqs []uint64
	if subject.IsLiteral(req.Subject) {
		if si := d.subjs[req.Subject]; si != nil {
			seqs = append(seqs, si.live()...)
		}
	} else {
		for subj, si := range d.subjs {
			if subject.Match(subj, req.Subject) {
				seqs = append(seqs, si.live()...)
			}
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	}
	if req.Keep > 0 {
		if req.Keep >= uint64(len(seqs)) {
			return nil
		}
		seqs = seqs[:uint64(len(seqs))-req.Keep]
	}
	if req.Seq > 0 {
		n := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= req.Seq })
		seqs = seqs[:n]
	}
	return seqs
}

// Compact implements store.Writer.
func (s *stream) Compact(_ context.Context, seq uint64) (uint64, error) {
	d, err := s.lockW()
	if err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	var purged uint64
	if seq > d.last+1 {
		purged = d.removeAll()
		d.first, d.last = seq, seq-1
		return purged, nil
	}
	for i := d.head; i < d.msgs.len() && d.msgs.at(i).seq < seq; i++ {
		if !d.msgs.at(i).deleted {
			d.removeAt(i)
			purged++
		}
	}
	if d.nmsgs == 0 && seq > d.first {
		d.first = seq
	}
	d.compact()
	return purged, nil
}

// Truncate implements store.Writer.
func (s *stream) Truncate(_ context.Context, seq uint64) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	if seq >= d.last {
		return nil
	}
	if seq == 0 {
		d.removeAll()
		d.resetSeqs()
		return nil
	}
	// removeAt trims removed slots off the tail, so re-read the length.
	for n := d.msgs.len(); n > d.head && d.msgs.at(n-1).seq > seq; n = d.msgs.len() {
		if d.msgs.at(n - 1).deleted {
			d.msgs.pop()
			d.ndel--
			continue
		}
		d.removeAt(n - 1)
	}
	d.last, d.lastTime = seq, 0
	if d.nmsgs == 0 {
		d.first = seq + 1
	} else {
		d.lastTime = d.msgs.at(d.msgs.len() - 1).ts
	}
	d.compact()
	return nil
}

// UpdateConfig implements store.Writer.
func (s *stream) UpdateConfig(_ context.Context, cfg store.StreamConfig) error {
	d, err := s.lockW()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	return d.updateConfig(cfg)
}

func (d *data) updateConfig(cfg store.StreamConfig) error {
	if cfg.Account != d.cfg.Account || cfg.Name != d.cfg.Name {
		return fmt.Errorf("%w: cannot rename stream %s/%s", store.ErrInvalid, d.cfg.Account, d.cfg.Name)
	}
	if cfg.Storage != d.cfg.Storage && d.nmsgs > 0 {
		return fmt.Errorf("%w: cannot change storage type of a stream with messages", store.ErrInvalid)
	}
	// A stream that never held a message takes a new first sequence.
	first, last := uint64(0), uint64(0)
	if d.cfg.FirstSeq > 0 {
		first, last = d.cfg.FirstSeq, d.cfg.FirstSeq-1
	}
	pristine := d.nmsgs == 0 && d.first == first && d.last == last && d.lastTime == 0
	d.setConfig(cfg)
	if pristine {
		d.resetSeqs()
	}
	d.enforce("")
	d.compact()
	return nil
}

// Expire implements store.Writer.
func (s *stream) Expire(_ context.Context, now int64) (store.ExpireResult, error) {
	d, err := s.lockW()
	if err != nil {
		return store.ExpireResult{}, err
	}
	defer d.mu.Unlock()
	var res store.ExpireResult
	for len(d.ttls) > 0 && d.ttls[0].exp <= now {
		e := heap.Pop(&d.ttls).(ttlEntry)
		if i := d.ttlSlot(e); i >= 0 {
			res.Msgs++
			res.Bytes += d.removeAt(i)
		}
	}
	if maxAge := int64(d.cfg.MaxAge); maxAge > 0 {
		var emptied map[string]struct{}
		for i := d.head; i < d.msgs.len() && d.nAge > 0; i++ {
			m := d.msgs.at(i)
			if m.deleted || m.ttl != 0 {
				continue
			}
			if m.ts+maxAge > now {
				break
			}
			subj := m.subj
			res.Msgs++
			res.Bytes += d.removeAt(i)
			if d.subjs[subj] == nil {
				if emptied == nil {
					emptied = make(map[string]struct{})
				}
				emptied[subj] = struct{}{}
			}
		}
		for subj := range emptied {
			if d.subjs[subj] == nil {
				res.Emptied = append(res.Emptied, subj)
			}
		}
		sort.Strings(res.Emptied)
	}
	res.Next = d.nextExpiry()
	d.compact()
	return res, nil
}

// ttlSlot returns the slot of the live message e stands for, or -1 when e
// is stale.
func (d *data) ttlSlot(e ttlEntry) int {
	i := d.index(e.seq)
	if i < 0 || d.msgs.at(i).deleted || d.msgs.at(i).ttl <= 0 || d.msgs.at(i).ts+d.msgs.at(i).ttl*1e9 != e.exp {
		return -1
	}
	return i
}

// nextExpiry is the earliest expiry of a remaining message, or 0.
func (d *data) nextExpiry() int64 {
	var next int64
	for len(d.ttls) > 0 {
		if d.ttlSlot(d.ttls[0]) >= 0 {
			next = d.ttls[0].exp
			break
		}
		heap.Pop(&d.ttls)
	}
	if maxAge := int64(d.cfg.MaxAge); maxAge > 0 && d.nAge > 0 {
		for i := d.head; i < d.msgs.len(); i++ {
			if m := d.msgs.at(i); !m.deleted && m.ttl == 0 {
				if exp := m.ts + maxAge; next == 0 || exp < next {
					next = exp
				}
				break
			}
		}
	}
	return next
}

// Sync implements store.Writer; memory has nothing to flush.
func (s *stream) Sync(context.Context) error {
	d, err := s.lockR()
	if err != nil {
		return err
	}
	d.mu.RUnlock()
	return nil
}
