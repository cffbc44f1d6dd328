package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeExpirable expires "messages" that are just expiry times.
type fakeExpirable struct {
	mu    sync.Mutex
	exps  []int64
	calls int
	fail  bool
}

func (f *fakeExpirable) add(at time.Time) {
	f.mu.Lock()
	f.exps = append(f.exps, at.UnixNano())
	f.mu.Unlock()
}

func (f *fakeExpirable) Expire(_ context.Context, now int64) (ExpireResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return ExpireResult{}, errors.New("boom")
	}
	var res ExpireResult
	keep := f.exps[:0]
	for _, e := range f.exps {
		if e <= now {
			res.Msgs++
			continue
		}
		keep = append(keep, e)
		if res.Next == 0 || e < res.Next {
			res.Next = e
		}
	}
	f.exps = keep
	return res, nil
}

func (f *fakeExpirable) left() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.exps)
}

func TestExpirer(t *testing.T) {
	f := &fakeExpirable{}
	now := time.Now()
	f.add(now.Add(30 * time.Millisecond))
	f.add(now.Add(60 * time.Millisecond))
	removed := make(chan uint64, 10)
	e := NewExpirer(f, ExpirerOptions{OnExpire: func(r ExpireResult) { removed <- r.Msgs }})
	e.Start()
	defer e.Stop()
	var total uint64
	for total < 2 {
		select {
		case n := <-removed:
			total += n
		case <-time.After(3 * time.Second):
			t.Fatalf("expired %d of 2", total)
		}
	}
	// Idle now: nothing runs until Schedule.
	at := time.Now().Add(20 * time.Millisecond)
	f.add(at)
	e.Schedule(at.UnixNano())
	select {
	case <-removed:
	case <-time.After(3 * time.Second):
		t.Fatal("scheduled expiry did not run")
	}
	if f.left() != 0 {
		t.Fatalf("%d left", f.left())
	}
	// A later Schedule does not delay an earlier deadline.
	at = time.Now().Add(20 * time.Millisecond)
	f.add(at)
	e.Schedule(at.UnixNano())
	e.Schedule(at.Add(time.Hour).UnixNano())
	select {
	case <-removed:
	case <-time.After(3 * time.Second):
		t.Fatal("earlier deadline lost")
	}
}

func TestExpirerErrors(t *testing.T) {
	f := &fakeExpirable{fail: true}
	errs := make(chan error, 10)
	e := NewExpirer(f, ExpirerOptions{OnError: func(err error) { errs <- err }, RetryAfter: 10 * time.Millisecond})
	e.Start()
	for range 2 {
		select {
		case <-errs:
		case <-time.After(3 * time.Second):
			t.Fatal("no retry after an error")
		}
	}
	e.Stop()
	e.Stop() // idempotent
}
