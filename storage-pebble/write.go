package storagepebble

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// expiry is ts plus ttl seconds, saturating rather than wrapping.
func expiry(ts, ttl int64) int64 {
	if ttl > (math.MaxInt64-ts)/1e9 {
		return math.MaxInt64
	}
	return ts + ttl*1e9
}

// check validates a new message and applies the discard-new rules.
func (t *txn) check(subj string, hdr, data []byte, ttl int64) error {
	if !subject.ValidLiteral(subj) {
		return fmt.Errorf("%w: subject %q", store.ErrInvalid, subj)
	}
	c := t.cfg
	if ttl != 0 && (ttl < store.TTLNever || !c.AllowMsgTTL) {
		return fmt.Errorf("%w: ttl %d (allow_msg_ttl %v)", store.ErrInvalid, ttl, c.AllowMsgTTL)
	}
	if c.MaxMsgSize > 0 && len(hdr)+len(data) > int(c.MaxMsgSize) {
		return fmt.Errorf("%w: %d > %d", store.ErrMaxMsgSize, len(hdr)+len(data), c.MaxMsgSize)
	}
	if c.Discard != store.DiscardNew {
		return nil
	}
	if c.MaxMsgs > 0 && t.c.msgs >= uint64(c.MaxMsgs) {
		return fmt.Errorf("%w: %d", store.ErrMaxMsgs, c.MaxMsgs)
	}
	if c.MaxBytes > 0 && t.c.bytes+t.size(subj, hdr, data) > uint64(c.MaxBytes) {
		return fmt.Errorf("%w: %d", store.ErrMaxBytes, c.MaxBytes)
	}
	if c.DiscardNewPerSubject && c.MaxMsgsPerSubject > 0 {
		x, err := t.subj(subj)
		if err != nil {
			return err
		}
		if x.n >= uint64(c.MaxMsgsPerSubject) {
			return fmt.Errorf("%w: %s at %d", store.ErrMaxMsgsPerSubject, subj, c.MaxMsgsPerSubject)
		}
	}
	return nil
}

// enforce applies the discard-old limits after an append to subj ("" for
// every subject, after a configuration change).
func (t *txn) enforce(subj string) error {
	c := t.cfg
	if c.MaxMsgsPerSubject > 0 {
		limit := uint64(c.MaxMsgsPerSubject)
		if subj != "" {
			if err := t.trimSubject(subj, limit); err != nil {
				return err
			}
		} else if err := t.trimAllSubjects(limit); err != nil {
			return err
		}
	}
	if c.MaxMsgs > 0 && t.c.msgs > uint64(c.MaxMsgs) {
		limit := uint64(c.MaxMsgs)
		if _, err := t.removeSeqRange(t.c.first, math.MaxUint64, func() bool { return t.c.msgs > limit }); err != nil {
			return err
		}
	}
	if c.MaxBytes > 0 && t.c.bytes > uint64(c.MaxBytes) {
		limit := uint64(c.MaxBytes)
		if _, err := t.removeSeqRange(t.c.first, math.MaxUint64, func() bool { return t.c.bytes > limit }); err != nil {
			return err
		}
	}
	return nil
}

// trimSubject removes subj's oldest messages beyond limit.
func (t *txn) trimSubject(subj string, limit uint64) error {
	x, err := t.subj(subj)
	if err != nil || x.n <= limit {
		return err
	}
	if x.n == limit+1 && !x.firstStale {
		// The common KV case: one message out, and the subject's state
		// says which and how to remove it.
		return t.removeKnown(x.first, subj, x.fe, removeOpts{})
	}
	_, err = t.removeSubjectRange(subj, math.MaxUint64, x.n-limit)
	return err
}

// trimAllSubjects applies the per-subject limit to every subject.
func (t *txn) trimAllSubjects(limit uint64) error {
	return t.eachSubject(nil, func(subj string) error { return t.trimSubject(subj, limit) })
}

// Store implements store.Writer.
func (s *stream) Store(_ context.Context, subj string, hdr, data []byte, ttl int64) (seq uint64, ts int64, err error) {
	err = s.appendTxn(func(t *txn) error {
		if err := t.check(subj, hdr, data, ttl); err != nil {
			return err
		}
		seq, ts = t.c.last+1, time.Now().UnixNano()
		if err := t.appendMsg(subj, hdr, data, ttl, seq, ts); err != nil {
			return err
		}
		return t.enforce(subj)
	})
	if err != nil {
		return 0, 0, err
	}
	return seq, ts, nil
}

// StoreBatch implements store.Writer. An internal failure stores none of the
// batch and returns no results.
func (s *stream) StoreBatch(_ context.Context, msgs []store.NewMsg) ([]store.StoreResult, error) {
	res := make([]store.StoreResult, len(msgs))
	if len(msgs) == 0 {
		return res, s.write(func(*txn) error { return nil })
	}
	err := s.appendTxn(func(t *txn) error {
		ts := time.Now().UnixNano()
		for i := range msgs {
			m := &msgs[i]
			if err := t.check(m.Subject, m.Header, m.Data, m.TTL); err != nil {
				if !store.IsLimit(err) && !errors.Is(err, store.ErrInvalid) {
					return err
				}
				res[i].Err = err
				continue
			}
			seq := t.c.last + 1
			if err := t.appendMsg(m.Subject, m.Header, m.Data, m.TTL, seq, ts); err != nil {
				return err
			}
			if err := t.enforce(m.Subject); err != nil {
				return err
			}
			res[i] = store.StoreResult{Seq: seq, Time: ts}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// StoreRaw implements store.Writer.
func (s *stream) StoreRaw(_ context.Context, m store.Msg) error {
	return s.appendTxn(func(t *txn) error {
		next := t.c.last + 1
		if m.Seq != 0 && m.Seq != next {
			return fmt.Errorf("%w: raw seq %d, next %d", store.ErrSequenceMismatch, m.Seq, next)
		}
		if !subject.ValidLiteral(m.Subject) || m.TTL < store.TTLNever {
			return fmt.Errorf("%w: raw message %q ttl %d", store.ErrInvalid, m.Subject, m.TTL)
		}
		ts := m.Time
		if ts == 0 {
			ts = time.Now().UnixNano()
		}
		if err := t.appendMsg(m.Subject, m.Header, m.Data, m.TTL, next, ts); err != nil {
			return err
		}
		return t.enforce(m.Subject)
	})
}

// skip uses up n sequences from the next one.
func (t *txn) skip(n uint64) {
	t.c.last += n
	t.c.lastTime = time.Now().UnixNano()
	if t.c.msgs == 0 {
		t.c.first = t.c.last + 1
	}
}

// Skip implements store.Writer.
func (s *stream) Skip(_ context.Context, seq uint64) (next uint64, err error) {
	err = s.write(func(t *txn) error {
		next = t.c.last + 1
		if seq != 0 && seq != next {
			return fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
		}
		t.skip(1)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

// SkipMsgs implements store.Writer.
func (s *stream) SkipMsgs(_ context.Context, seq, n uint64) error {
	return s.write(func(t *txn) error {
		if next := t.c.last + 1; seq != next {
			return fmt.Errorf("%w: skip %d, next %d", store.ErrSequenceMismatch, seq, next)
		}
		if n > 0 {
			t.skip(n)
		}
		return nil
	})
}

// Remove implements store.Writer.
func (s *stream) Remove(_ context.Context, seq uint64) error {
	return s.write(func(t *txn) error {
		if t.c.msgs == 0 || seq < t.c.first || seq > t.c.last {
			return t.c.missing(seq)
		}
		ok, _, err := t.removeSeq(seq)
		if err == nil && !ok {
			err = t.c.missing(seq)
		}
		return err
	})
}

// Erase implements store.Writer. Pebble keeps overwritten and deleted
// values in older files until compaction, so bytes cannot be overwritten in
// place: Erase is Remove and SecureErase is not offered.
func (s *stream) Erase(ctx context.Context, seq uint64) error { return s.Remove(ctx, seq) }

// UpdateConfig implements store.Writer.
func (s *stream) UpdateConfig(_ context.Context, cfg store.StreamConfig) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errClosed()
	}
	pending, err := s.updateConfig(cfg)
	return s.unlockWait(pending, err)
}

// updateConfig replaces the configuration, persists it and applies lowered
// limits. The caller holds s.mu and waits for the returned batch.
func (s *stream) updateConfig(cfg store.StreamConfig) (*pebble.Batch, error) {
	if cfg.Account != s.cfg.Account || cfg.Name != s.cfg.Name {
		return nil, fmt.Errorf("%w: cannot rename stream %s/%s", store.ErrInvalid, s.cfg.Account, s.cfg.Name)
	}
	if cfg.Storage != s.cfg.Storage && s.c.msgs > 0 {
		return nil, fmt.Errorf("%w: cannot change storage type of a stream with messages", store.ErrInvalid)
	}
	fresh := newCounters(&s.cfg)
	pristine := s.c.msgs == 0 && s.c.first == fresh.first && s.c.last == fresh.last && s.c.lastTime == 0
	old := s.cfg
	s.setConfig(cfg)
	t := s.newTxn(false)
	t.set(tableKey(nil, s.id, tConfig), encodeRecord(&s.cfg, s.restoring))
	if pristine {
		t.c = newCounters(&s.cfg)
	}
	err := t.enforce("")
	var pending *pebble.Batch
	if err == nil {
		pending, err = t.commit()
	} else {
		t.abort()
	}
	if err != nil {
		s.cfg = old
	}
	return pending, err
}

// Sync implements store.Writer.
func (s *stream) Sync(context.Context) error {
	if err := s.lockR(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.p.syncNow()
}
