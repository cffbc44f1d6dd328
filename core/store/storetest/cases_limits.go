package storetest

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

func init() {
	register(
		kitCase{"limits/discard", testLimits},
		kitCase{"limits/update-config", testLimitsOnUpdate},
		kitCase{"limits/bytes-accounting", testBytesAccounting},
		kitCase{"expire/max-age", testExpireAge},
		kitCase{"expire/ttl", testExpireTTL},
		kitCase{"expire/expirer", testExpirer},
	)
}

func testLimits(t *testing.T, h *harness) {
	type step struct {
		subj string
		err  error
	}
	sz := h.size("a", nil, []byte("0123456789")) // every step stores 10 bytes
	cases := []struct {
		name   string
		mod    func(*store.StreamConfig)
		steps  []step
		remain []uint64
	}{
		{"max-msgs-old", func(c *store.StreamConfig) { c.MaxMsgs = 3 },
			[]step{{"a", nil}, {"b", nil}, {"a", nil}, {"b", nil}, {"c", nil}}, []uint64{3, 4, 5}},
		{"max-bytes-old", func(c *store.StreamConfig) { c.MaxBytes = int64(2*sz + 1) },
			[]step{{"a", nil}, {"b", nil}, {"c", nil}}, []uint64{2, 3}},
		{"per-subject-old", func(c *store.StreamConfig) { c.MaxMsgsPerSubject = 2 },
			[]step{{"a", nil}, {"b", nil}, {"a", nil}, {"a", nil}, {"b", nil}, {"a", nil}}, []uint64{2, 4, 5, 6}},
		{"max-msgs-new", func(c *store.StreamConfig) { c.MaxMsgs = 2; c.Discard = store.DiscardNew },
			[]step{{"a", nil}, {"b", nil}, {"c", store.ErrMaxMsgs}, {"a", store.ErrMaxMsgs}}, []uint64{1, 2}},
		{"max-bytes-new", func(c *store.StreamConfig) { c.MaxBytes = int64(2 * sz); c.Discard = store.DiscardNew },
			[]step{{"a", nil}, {"b", nil}, {"c", store.ErrMaxBytes}}, []uint64{1, 2}},
		// Without discard_new_per_subject the per-subject limit still drops
		// the subject's oldest message under discard new.
		{"per-subject-discard-new", func(c *store.StreamConfig) { c.MaxMsgsPerSubject = 1; c.Discard = store.DiscardNew },
			[]step{{"a", nil}, {"a", nil}, {"b", nil}}, []uint64{2, 3}},
		{"per-subject-new", func(c *store.StreamConfig) {
			c.MaxMsgsPerSubject = 1
			c.Discard = store.DiscardNew
			c.DiscardNewPerSubject = true
		}, []step{{"a", nil}, {"a", store.ErrMaxMsgsPerSubject}, {"b", nil}, {"b", store.ErrMaxMsgsPerSubject}}, []uint64{1, 2}},
		{"combined-old", func(c *store.StreamConfig) { c.MaxMsgs = 3; c.MaxMsgsPerSubject = 1 },
			[]step{{"a", nil}, {"b", nil}, {"a", nil}, {"c", nil}, {"d", nil}}, []uint64{3, 4, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := h.stream(tc.mod)
			for i, st := range tc.steps {
				_, _, err := s.Store(h.ctx, st.subj, nil, []byte("0123456789"), 0)
				if st.err == nil && err != nil || st.err != nil && !errors.Is(err, st.err) {
					t.Fatalf("step %d (%s): error %v, want %v", i, st.subj, err, st.err)
				}
			}
			if got := liveSeqs(t, s); !slices.Equal(got, tc.remain) {
				t.Fatalf("messages left %v, want %v", got, tc.remain)
			}
			if st := state(t, s); st.Bytes != uint64(len(tc.remain))*sz {
				t.Fatalf("Bytes = %d, want %d", st.Bytes, uint64(len(tc.remain))*sz)
			}
		})
	}
	t.Run("max-msg-size", func(t *testing.T) {
		s := h.stream(func(c *store.StreamConfig) { c.MaxMsgSize = 10 })
		_, _, err := s.Store(h.ctx, "a", []byte("hdr"), []byte("12345678"), 0)
		wantErr(t, "11 bytes over max_msg_size 10", err, store.ErrMaxMsgSize)
		_, _, err = s.Store(h.ctx, "a", []byte("hdr"), []byte("1234567"), 0)
		must(t, err)
		wantSeqs(t, s, 1, 1, 1)
	})
}

func testLimitsOnUpdate(t *testing.T, h *harness) {
	s := h.stream(nil)
	putAll(t, s, "a", "b", "a", "b", "a", "c", "a")
	c, err := s.Config(h.ctx)
	must(t, err)
	c.MaxMsgsPerSubject = 2
	must(t, s.UpdateConfig(h.ctx, c))
	if got := liveSeqs(t, s); !slices.Equal(got, []uint64{2, 4, 5, 6, 7}) {
		t.Fatalf("after max_msgs_per_subject 2: %v", got)
	}
	c.MaxMsgs = 3
	c.Discard = store.DiscardNew // lowered limits apply whatever the policy
	must(t, s.UpdateConfig(h.ctx, c))
	if got := liveSeqs(t, s); !slices.Equal(got, []uint64{5, 6, 7}) {
		t.Fatalf("after max_msgs 3: %v", got)
	}
	_, _, err = s.Store(h.ctx, "d", nil, nil, 0)
	wantErr(t, "discard new after update", err, store.ErrMaxMsgs)
}

func testBytesAccounting(t *testing.T, h *harness) {
	s := h.stream(nil)
	hdr := []byte("NATS/1.0\r\nX: y\r\n\r\n")
	var want uint64
	for i := range 20 {
		subj := strings.Repeat("s", i+1)
		data := []byte(strings.Repeat("d", i*7))
		var hh []byte
		if i%2 == 0 {
			hh = hdr
		}
		_, _, err := s.Store(h.ctx, subj, hh, data, 0)
		must(t, err)
		want += h.size(subj, hh, data)
	}
	if st := state(t, s); st.Bytes != want {
		t.Fatalf("Bytes = %d, want %d", st.Bytes, want)
	}
	must(t, s.Remove(h.ctx, 3))
	want -= h.size("sss", hdr, []byte(strings.Repeat("d", 14)))
	if st := state(t, s); st.Bytes != want {
		t.Fatalf("Bytes after Remove = %d, want %d", st.Bytes, want)
	}
}

func testExpireAge(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.MaxAge = time.Hour })
	res, err := s.Expire(h.ctx, time.Now().UnixNano())
	must(t, err)
	if res.Msgs != 0 || res.Next != 0 {
		t.Fatalf("Expire on an empty stream = %+v", res)
	}
	times := map[uint64]int64{}
	for i, subj := range []string{"k.a", "k.b", "k.a", "k.c"} {
		must(t, s.StoreRaw(h.ctx, store.Msg{Subject: subj, Data: []byte("v"), Time: int64(i+1) * 1e9}))
		times[uint64(i+1)] = int64(i+1) * 1e9
	}
	hour := int64(time.Hour)
	res, err = s.Expire(h.ctx, times[1]+hour-1)
	must(t, err)
	if res.Msgs != 0 || res.Next != times[1]+hour {
		t.Fatalf("Expire before the first expiry = %+v", res)
	}
	res, err = s.Expire(h.ctx, times[2]+hour)
	must(t, err)
	want := store.ExpireResult{Msgs: 2, Bytes: 2 * h.size("k.a", nil, []byte("v")), Emptied: []string{"k.b"}, Next: times[3] + hour}
	if res.Msgs != want.Msgs || res.Bytes != want.Bytes || !slices.Equal(res.Emptied, want.Emptied) || res.Next != want.Next {
		t.Fatalf("Expire = %+v, want %+v", res, want)
	}
	wantSeqs(t, s, 2, 3, 4)
	res, err = s.Expire(h.ctx, times[4]+hour)
	must(t, err)
	if res.Msgs != 2 || !slices.Equal(res.Emptied, []string{"k.a", "k.c"}) || res.Next != 0 {
		t.Fatalf("Expire of the rest = %+v", res)
	}
	wantSeqs(t, s, 0, 5, 4)
}

func testExpireTTL(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.MaxAge = 3 * time.Second; c.AllowMsgTTL = true })
	const t0 = int64(1_000_000_000_000)
	msgs := []store.Msg{
		{Subject: "ttl.1", TTL: 1, Time: t0},
		{Subject: "ttl.10", TTL: 10, Time: t0},
		{Subject: "never", TTL: store.TTLNever, Time: t0},
		{Subject: "age", TTL: 0, Time: t0},
		{Subject: "ttl.1", TTL: 1, Time: t0 + 1e9},
	}
	for _, m := range msgs {
		must(t, s.StoreRaw(h.ctx, m))
	}
	steps := []struct {
		now     int64
		removed uint64
		emptied []string
		next    int64
		left    []uint64
	}{
		{t0 + 999_999_999, 0, nil, t0 + 1e9, []uint64{1, 2, 3, 4, 5}},
		{t0 + 1e9, 1, nil, t0 + 2e9, []uint64{2, 3, 4, 5}},
		{t0 + 2e9, 1, nil, t0 + 3e9, []uint64{2, 3, 4}},
		// A TTL-expired subject gets no marker; an age-expired one does.
		{t0 + 3e9, 1, []string{"age"}, t0 + 10e9, []uint64{2, 3}},
		{t0 + 1e12, 1, nil, 0, []uint64{3}},
	}
	for i, st := range steps {
		res, err := s.Expire(h.ctx, st.now)
		must(t, err)
		if res.Msgs != st.removed || !slices.Equal(res.Emptied, st.emptied) || res.Next != st.next {
			t.Fatalf("step %d: Expire = %+v, want %d removed, emptied %v, next %d", i, res, st.removed, st.emptied, st.next)
		}
		if got := liveSeqs(t, s); !slices.Equal(got, st.left) {
			t.Fatalf("step %d: left %v, want %v", i, got, st.left)
		}
	}
	// A store-assigned time works the same way.
	seq, ts, err := s.Store(h.ctx, "ttl.2", nil, nil, 2)
	must(t, err)
	res, err := s.Expire(h.ctx, ts+2e9)
	must(t, err)
	if res.Msgs != 1 {
		t.Fatalf("Expire of seq %d at ts+2s = %+v", seq, res)
	}
	if tot, _ := s.SubjectsTotals(h.ctx, ""); !maps.Equal(tot, map[string]uint64{"never": 1}) {
		t.Fatalf("left %v", tot)
	}
}

func testExpirer(t *testing.T, h *harness) {
	s := h.stream(func(c *store.StreamConfig) { c.MaxAge = 50 * time.Millisecond; c.AllowMsgTTL = true })
	putAll(t, s, "a", "b")
	expired := make(chan store.ExpireResult, 16)
	e := store.NewExpirer(s, store.ExpirerOptions{OnExpire: func(r store.ExpireResult) { expired <- r }})
	e.Start()
	defer e.Stop()
	var total uint64
	deadline := time.After(5 * time.Second)
	for total < 2 {
		select {
		case r := <-expired:
			total += r.Msgs
		case <-deadline:
			t.Fatalf("expirer removed %d of 2 messages in 5s", total)
		}
	}
	// A short TTL stored later is picked up once scheduled.
	_, ts, err := s.Store(h.ctx, "c", nil, nil, 1)
	must(t, err)
	e.Schedule(ts + 1e9)
	select {
	case r := <-expired:
		if r.Msgs != 1 {
			t.Fatalf("second expiry %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TTL message not expired within 5s")
	}
	wantSeqs(t, s, 0, 4, 3)
}
