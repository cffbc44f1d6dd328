package snapfmt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hangar-mq/hangar/core/store"
)

// Reader reads a snapshot frame by frame.
type Reader struct {
	fr  *frameReader
	hdr Header
}

// NewReader reads and checks the magic and the header frame of a snapshot.
func NewReader(r io.Reader) (*Reader, error) {
	fr, err := newFrameReader(r)
	if err != nil {
		return nil, err
	}
	typ, raw, err := fr.next()
	if err != nil {
		return nil, err
	}
	if typ != frameHeader {
		return nil, corrupt("first frame is type %d, want header", typ)
	}
	rd := &Reader{fr: fr}
	if err := json.Unmarshal(raw, &rd.hdr); err != nil {
		return nil, corrupt("header: %v", err)
	}
	if rd.hdr.Version != Version {
		return nil, fmt.Errorf("%w: snapshot header version %d", store.ErrUnsupported, rd.hdr.Version)
	}
	return rd, nil
}

// Header returns the snapshot's header.
func (rd *Reader) Header() Header { return rd.hdr }

// Stats counts what a snapshot held.
type Stats struct {
	Msgs      uint64
	Deleted   []store.Range
	Consumers []store.ConsumerInfo
}

// RestoreInto stores the rest of the snapshot into target, which must be
// empty with its next sequence at or below the snapshot's first message. It
// stores each message with StoreRaw, fills the gaps with SkipMsgs, ends at the
// snapshot's LastSeq, and creates the consumers. A nil target only reads and
// checks the snapshot. Damage anywhere, including a whole-snapshot digest
// mismatch found at the end, is store.ErrCorrupt; target then holds a partial
// restore the caller should delete.
func (rd *Reader) RestoreInto(ctx context.Context, target store.StreamStore) (Stats, error) {
	var (
		st   Stats
		next uint64
	)
	if target != nil {
		fs, err := target.FastState(ctx)
		if err != nil {
			return st, err
		}
		next = fs.LastSeq + 1
	}
	for {
		typ, raw, err := rd.fr.next()
		if err != nil {
			return st, err
		}
		d := &dec{b: raw}
		switch typ {
		case frameMsgs:
			if err := ctx.Err(); err != nil {
				return st, err
			}
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				m := d.msg()
				if d.err != nil {
					break
				}
				st.Msgs++
				if target == nil {
					continue
				}
				if m.Seq < next {
					return st, fmt.Errorf("%w: snapshot message %d, target next %d", store.ErrSequenceMismatch, m.Seq, next)
				}
				if m.Seq > next {
					if err := target.SkipMsgs(ctx, next, m.Seq-next); err != nil {
						return st, err
					}
				}
				if err := target.StoreRaw(ctx, m); err != nil {
					return st, err
				}
				next = m.Seq + 1
			}
		case frameDeleted:
			for n := d.uvarint(); n > 0 && d.err == nil; n-- {
				st.Deleted = append(st.Deleted, store.Range{First: d.uvarint(), Last: d.uvarint()})
			}
		case frameConsumer:
			ci := d.consumer()
			if d.err == nil {
				st.Consumers = append(st.Consumers, ci)
			}
		case frameEnd:
			return st, rd.finish(ctx, d, st, target, next)
		default:
			return st, corrupt("unexpected frame type %d", typ)
		}
		if d.err != nil || len(d.b) != 0 {
			return st, corrupt("frame type %d: malformed payload", typ)
		}
	}
}

// finish checks the end frame, then completes the target's sequences and
// consumers.
func (rd *Reader) finish(ctx context.Context, d *dec, st Stats, target store.StreamStore, next uint64) error {
	nmsgs, ncons := d.uvarint(), d.uvarint()
	if d.err != nil || len(d.b) != digestLen {
		return corrupt("malformed end frame")
	}
	if !bytes.Equal(d.b, rd.fr.sum.Sum(nil)) {
		return corrupt("whole-snapshot digest mismatch")
	}
	if nmsgs != st.Msgs || ncons != uint64(len(st.Consumers)) {
		return corrupt("end frame counts %d/%d, read %d/%d", nmsgs, ncons, st.Msgs, len(st.Consumers))
	}
	if target == nil {
		return nil
	}
	if last := rd.hdr.State.LastSeq; last >= next && last > 0 {
		if err := target.SkipMsgs(ctx, next, last-next+1); err != nil {
			return err
		}
	}
	// An empty stream can have its first sequence past LastSeq+1's start
	// (a purged new stream reports 1/0); Compact carries that over.
	if first := rd.hdr.State.FirstSeq; rd.hdr.State.Msgs == 0 && first > 0 {
		fs, err := target.FastState(ctx)
		if err != nil {
			return err
		}
		if fs.Msgs == 0 && fs.FirstSeq < first {
			if _, err := target.Compact(ctx, first); err != nil {
				return err
			}
		}
	}
	for _, ci := range st.Consumers {
		cs, err := target.OpenConsumer(ctx, ci.Name, ci.Meta)
		if err != nil {
			return err
		}
		err = cs.Update(ctx, ci.State)
		if cerr := cs.Close(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Restore reads the snapshot in r into target; see Reader.RestoreInto.
func Restore(ctx context.Context, r io.Reader, target store.StreamStore) (Header, error) {
	rd, err := NewReader(r)
	if err != nil {
		return Header{}, err
	}
	_, err = rd.RestoreInto(ctx, target)
	return rd.hdr, err
}

// Verify reads a whole snapshot and checks every checksum without storing it.
func Verify(r io.Reader) (Header, Stats, error) {
	rd, err := NewReader(r)
	if err != nil {
		return Header{}, Stats{}, err
	}
	st, err := rd.RestoreInto(context.Background(), nil)
	return rd.hdr, st, err
}

// RestoreStream is a generic Provider.Restore: it creates the stream of cfg
// in p (ErrExists when it exists), restores the snapshot into it with the
// retention limits lifted, then applies cfg. An empty cfg.Name takes the
// snapshot's own configuration. On failure the new stream is deleted.
func RestoreStream(ctx context.Context, r io.Reader, cfg store.StreamConfig, p store.Provider) (store.StreamStore, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg = rd.hdr.Config.StreamConfig()
	}
	list, err := p.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.Account == cfg.Account && c.Name == cfg.Name {
			return nil, fmt.Errorf("%w: stream %s/%s", store.ErrExists, cfg.Account, cfg.Name)
		}
	}
	relaxed := cfg
	relaxed.MaxMsgs, relaxed.MaxBytes, relaxed.MaxMsgsPerSubject, relaxed.MaxMsgSize = 0, 0, 0, 0
	relaxed.Discard, relaxed.DiscardNewPerSubject, relaxed.FirstSeq = store.DiscardOld, false, 0
	s, err := p.Open(ctx, relaxed)
	if err != nil {
		return nil, err
	}
	if _, err = rd.RestoreInto(ctx, s); err == nil {
		err = s.UpdateConfig(ctx, cfg)
	}
	if err != nil {
		if derr := s.Delete(ctx); derr != nil {
			err = fmt.Errorf("%w (and deleting the partial stream: %w)", err, derr)
		}
		return nil, err
	}
	return s, nil
}
