package snapfmt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// Write writes a snapshot of s to w using only the store contract: the
// configuration and state at the start, the messages up to that state's
// LastSeq, read in batches with LoadRange, the deleted ranges, and the
// consumers unless opts.NoConsumers. Writers are not blocked; a message
// removed while Write runs may or may not be in the snapshot.
func Write(ctx context.Context, w io.Writer, s store.StreamStore, opts store.SnapshotOptions) error {
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	st, err := s.State(ctx)
	if err != nil {
		return err
	}
	fw, err := newFrameWriter(w)
	if err != nil {
		return err
	}
	hdr, err := json.Marshal(Header{
		Version: Version, Created: time.Now().UTC(), Config: configToJSON(cfg),
		State: StateSummary{Msgs: st.Msgs, Bytes: st.Bytes, FirstSeq: st.FirstSeq, FirstTime: st.FirstTime,
			LastSeq: st.LastSeq, LastTime: st.LastTime, NumDeleted: st.NumDeleted},
	})
	if err != nil {
		return err
	}
	if err := fw.frame(frameHeader, hdr); err != nil {
		return err
	}
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	nmsgs, err := writeMsgs(ctx, fw, s, st, chunk)
	if err != nil {
		return err
	}
	var del []byte
	del = binary.AppendUvarint(del, uint64(len(st.Deleted)))
	for _, r := range st.Deleted {
		del = binary.AppendUvarint(del, r.First)
		del = binary.AppendUvarint(del, r.Last)
	}
	if err := fw.frame(frameDeleted, del); err != nil {
		return err
	}
	var ncons uint64
	if !opts.NoConsumers {
		cons, err := s.Consumers(ctx)
		if err != nil {
			return err
		}
		for i := range cons {
			if err := fw.frame(frameConsumer, appendConsumer(nil, &cons[i])); err != nil {
				return err
			}
		}
		ncons = uint64(len(cons))
	}
	end := binary.AppendUvarint(nil, nmsgs)
	end = binary.AppendUvarint(end, ncons)
	end = fw.sum.Sum(end)
	if err := fw.frame(frameEnd, end); err != nil {
		return err
	}
	return fw.w.Flush()
}

// writeMsgs writes the messages from st.FirstSeq through st.LastSeq in
// frames of about chunk raw bytes and returns how many it wrote.
func writeMsgs(ctx context.Context, fw *frameWriter, s store.StreamStore, st store.StreamState, chunk int) (uint64, error) {
	if st.Msgs == 0 {
		return 0, nil
	}
	var (
		n     uint64
		count uint64
		buf   []byte
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		payload := binary.AppendUvarint(make([]byte, 0, len(buf)+10), count)
		payload = append(payload, buf...)
		buf, count = buf[:0], 0
		return fw.frame(frameMsgs, payload)
	}
	for next := st.FirstSeq; next <= st.LastSeq; {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		msgs, err := s.LoadRange(ctx, store.RangeRequest{Start: next, End: st.LastSeq, MaxMsgs: 4096, MaxBytes: chunk})
		if errors.Is(err, store.ErrEOF) {
			break
		}
		if err != nil {
			return n, err
		}
		for i := range msgs {
			buf = appendMsg(buf, &msgs[i])
			count++
			n++
			if len(buf) >= chunk {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		next = msgs[len(msgs)-1].Seq + 1
	}
	return n, flush()
}

// digestLen is the length of the whole-snapshot digest.
const digestLen = sha256.Size
