package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

func init() {
	register(
		kitCase{"concurrency/readers-during-appends", testConcurrentReaders},
		kitCase{"concurrency/writers", testConcurrentWriters},
		kitCase{"long/million", testMillion},
	)
}

// seqPayload is the data of the message a stress case stores at seq.
func seqPayload(seq uint64) []byte {
	b := make([]byte, 8, 40)
	binary.BigEndian.PutUint64(b, seq)
	return append(b, "the quick brown fox jumps"...)
}

func checkPayload(m store.Msg) error {
	if !bytes.Equal(m.Data, seqPayload(m.Seq)) || m.Subject != fmt.Sprintf("st.%d", m.Seq%7) {
		return fmt.Errorf("message %d has subject %q and data %x", m.Seq, m.Subject, m.Data)
	}
	return nil
}

func testConcurrentReaders(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.MaxMsgs = 3000 })
	const total = 6000
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	reader := func(fn func(ctx context.Context) error) {
		defer wg.Done()
		ctx := context.Background()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := fn(ctx); err != nil {
				errs <- err
				return
			}
		}
	}
	wg.Add(4)
	go reader(func(ctx context.Context) error {
		st, err := s.FastState(ctx)
		if err != nil || st.Msgs == 0 {
			return err
		}
		m, err := s.Load(ctx, st.LastSeq)
		if store.IsMissing(err) {
			return nil // removed by the limit meanwhile
		}
		if err != nil {
			return err
		}
		return checkPayload(m)
	})
	go reader(func(ctx context.Context) error {
		m, err := s.LoadNext(ctx, []string{"st.3"}, 0)
		if errors.Is(err, store.ErrEOF) {
			return nil
		}
		if err != nil {
			return err
		}
		return checkPayload(m)
	})
	go reader(func(ctx context.Context) error {
		msgs, err := s.LoadRange(ctx, store.RangeRequest{Filters: []string{"st.*"}, MaxMsgs: 100})
		if errors.Is(err, store.ErrEOF) {
			return nil
		}
		for i, m := range msgs {
			if i > 0 && m.Seq <= msgs[i-1].Seq {
				return fmt.Errorf("LoadRange out of order at %d", m.Seq)
			}
			if err := checkPayload(m); err != nil {
				return err
			}
		}
		return err
	})
	go reader(func(ctx context.Context) error {
		if _, err := s.SubjectsTotals(ctx, "st.>"); err != nil {
			return err
		}
		if _, _, err := s.NumPending(ctx, 1, []string{"st.1", "st.2"}, false); err != nil {
			return err
		}
		m, err := s.LoadLast(ctx, "st.5")
		if store.IsMissing(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return checkPayload(m)
	})
	for seq := uint64(1); seq <= total; {
		batch := make([]store.NewMsg, 0, 16)
		for range 16 {
			if seq+uint64(len(batch)) > total {
				break
			}
			q := seq + uint64(len(batch))
			batch = append(batch, store.NewMsg{Subject: fmt.Sprintf("st.%d", q%7), Data: seqPayload(q)})
		}
		if seq%3 == 0 {
			for _, m := range batch {
				put(t, s, m.Subject, string(m.Data))
			}
		} else {
			res, err := s.StoreBatch(h.ctx, batch)
			must(t, err)
			for i, r := range res {
				if r.Err != nil || r.Seq != seq+uint64(i) {
					t.Fatalf("batch result %d = %+v", i, r)
				}
			}
		}
		seq += uint64(len(batch))
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantSeqs(t, s, 3000, total-2999, total)
}

func testConcurrentWriters(t *testing.T, h *harness) {
	s := h.stream(nil)
	const writers, each = 4, 500
	var wg sync.WaitGroup
	seqs := make([][]uint64, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq, _, err := s.Store(context.Background(), fmt.Sprintf("w.%d", w), nil, []byte{byte(i)}, 0)
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for w := range writers {
		for i, seq := range seqs[w] {
			if seen[seq] || (i > 0 && seq <= seqs[w][i-1]) {
				t.Fatalf("writer %d got seq %d twice or out of order", w, seq)
			}
			seen[seq] = true
		}
	}
	wantSeqs(t, s, writers*each, 1, writers*each)
	for w := range writers {
		if ss, _ := s.FilteredState(h.ctx, 0, fmt.Sprintf("w.%d", w)); ss.Msgs != each {
			t.Fatalf("subject w.%d has %d messages", w, ss.Msgs)
		}
	}
}

func testMillion(t *testing.T, h *harness) {
	if !Long() {
		t.Skip("set HANGAR_LONG=1 for the million-message case")
	}
	const n = 1_000_000
	s := h.stream(nil)
	start := time.Now()
	data := make([]byte, 64)
	batch := make([]store.NewMsg, 256)
	for seq := 0; seq < n; seq += len(batch) {
		for i := range batch {
			batch[i] = store.NewMsg{Subject: fmt.Sprintf("m.%d", (seq+i)%1000), Data: data}
		}
		if _, err := s.StoreBatch(h.ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("stored %d messages in %v", n, time.Since(start))
	st := wantSeqs(t, s, n+(256-n%256)%256, 1, n+(256-n%256)%256)
	total := st.Msgs
	if st.NumSubjects != 1000 {
		t.Fatalf("NumSubjects = %d", st.NumSubjects)
	}
	m, err := s.LoadNext(h.ctx, []string{"m.999"}, 500_000)
	must(t, err)
	if m.Subject != "m.999" || m.Seq < 500_000 {
		t.Fatalf("LoadNext = %d %s", m.Seq, m.Subject)
	}
	ss, err := s.FilteredState(h.ctx, 0, "m.12")
	must(t, err)
	purged, err := s.Purge(h.ctx, store.PurgeRequest{Subject: "m.12"})
	must(t, err)
	if purged != ss.Msgs {
		t.Fatalf("purged %d, filtered state said %d", purged, ss.Msgs)
	}
	for seq := uint64(1000); seq < 200_000; seq += 3 {
		_ = s.Remove(h.ctx, seq)
	}
	st = state(t, s)
	if st.Msgs+st.NumDeleted != total {
		t.Fatalf("msgs %d + deleted %d != %d", st.Msgs, st.NumDeleted, total)
	}
	var buf bytes.Buffer
	must(t, s.Snapshot(h.ctx, &buf, store.SnapshotOptions{}))
	dst, err := h.p.Restore(h.ctx, h.cfg(), &buf)
	must(t, err)
	if got := state(t, dst); got.Msgs != st.Msgs || got.LastSeq != st.LastSeq {
		t.Fatalf("restored %+v", got)
	}
	t.Logf("total %v", time.Since(start))
}
