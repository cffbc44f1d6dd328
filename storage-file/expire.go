package storagefile

import (
	"context"
	"slices"

	"github.com/hangar-mq/hangar/core/store"
)

// Expire implements store.Writer. Blocks keep the count and earliest
// expiry of their TTL messages and the count of the messages max age
// governs, so Expire reads only the blocks that can hold an expired message.
func (st *fstream) Expire(ctx context.Context, now int64) (store.ExpireResult, error) {
	if err := st.lockWCtx(ctx); err != nil {
		return store.ExpireResult{}, err
	}
	var res store.ExpireResult
	err := st.unlockCommit(func() (err error) {
		res, err = st.expire(now)
		return err
	})
	return res, err
}

func (st *fstream) expire(now int64) (store.ExpireResult, error) {
	var res store.ExpireResult
	for _, b := range slices.Clone(st.blks) {
		if b.nttl == 0 || !b.ttlDirty && b.ttlMin > now {
			continue
		}
		if err := st.expireTTL(b, now, &res); err != nil {
			return res, err
		}
	}
	if maxAge := int64(st.cfg.MaxAge); maxAge > 0 {
		emptied := map[string]bool{}
		if err := st.expireAge(now, maxAge, &res, emptied); err != nil {
			return res, err
		}
		for subj := range emptied {
			if st.subjs.get(subj) == nil {
				res.Emptied = append(res.Emptied, subj)
			}
		}
		slices.Sort(res.Emptied)
	}
	next, err := st.nextExpiry()
	res.Next = next
	return res, err
}

// expireTTL removes b's expired TTL messages and makes its earliest expiry
// exact.
func (st *fstream) expireTTL(b *block, now int64, res *store.ExpireResult) error {
	view, err := b.getView()
	if err != nil {
		return err
	}
	tl := st.trailer()
	var minExp int64
	var rerr error
	walkView(view, tl, func(_ int, fr []byte) bool {
		if frameKind(fr[4]) != kindMsg {
			return true
		}
		m, ok := parseMsg(fr, tl)
		if !ok || m.ttl <= 0 || !b.has(m.seq) {
			return true
		}
		exp := m.ts + m.ttl*1e9
		if exp > now {
			if minExp == 0 || exp < minExp {
				minExp = exp
			}
			return true
		}
		res.Msgs++
		res.Bytes += st.size(len(m.subj), len(m.hdr), len(m.data))
		rerr = st.removeLive(b, m.seq)
		return rerr == nil
	})
	b.ttlMin, b.ttlDirty = minExp, false
	return rerr
}

// expireAge removes the messages without TTL older than max age, oldest
// first, stopping at the first that is not.
func (st *fstream) expireAge(now, maxAge int64, res *store.ExpireResult, emptied map[string]bool) error {
	tl := st.trailer()
	for _, b := range slices.Clone(st.blks) {
		if b.nage == 0 {
			continue
		}
		view, err := b.getView()
		if err != nil {
			return err
		}
		stop := false
		var rerr error
		walkView(view, tl, func(_ int, fr []byte) bool {
			if frameKind(fr[4]) != kindMsg {
				return true
			}
			m, ok := parseMsg(fr, tl)
			if !ok || m.ttl != 0 || !b.has(m.seq) {
				return true
			}
			if m.ts+maxAge > now {
				stop = true
				return false
			}
			subj := string(m.subj)
			res.Msgs++
			res.Bytes += st.size(len(m.subj), len(m.hdr), len(m.data))
			if rerr = st.removeLive(b, m.seq); rerr != nil {
				return false
			}
			if st.subjs.get(subj) == nil {
				emptied[subj] = true
			}
			return b.nage > 0
		})
		if rerr != nil {
			return rerr
		}
		if stop {
			return nil
		}
	}
	return nil
}

// nextExpiry is the earliest expiry of a remaining message, or 0.
func (st *fstream) nextExpiry() (int64, error) {
	var next int64
	for _, b := range st.blks {
		if b.nttl == 0 {
			continue
		}
		if b.ttlDirty {
			var res store.ExpireResult
			if err := st.expireTTL(b, -1<<63, &res); err != nil {
				return 0, err
			}
		}
		if next == 0 || b.ttlMin < next {
			next = b.ttlMin
		}
	}
	maxAge := int64(st.cfg.MaxAge)
	if maxAge <= 0 {
		return next, nil
	}
	tl := st.trailer()
	for _, b := range st.blks {
		if b.nage == 0 {
			continue
		}
		view, err := b.getView()
		if err != nil {
			return 0, err
		}
		var found int64
		walkView(view, tl, func(_ int, fr []byte) bool {
			if frameKind(fr[4]) != kindMsg {
				return true
			}
			if m, ok := parseMsg(fr, tl); ok && m.ttl == 0 && b.has(m.seq) {
				found = m.ts + maxAge
				return false
			}
			return true
		})
		if found != 0 {
			if next == 0 || found < next {
				next = found
			}
			return next, nil
		}
	}
	return next, nil
}
