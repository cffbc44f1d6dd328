package subject

import (
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"
)

type sub struct{ id int }

func ids(r *Result[*sub]) []int {
	var out []int
	for _, s := range r.Psubs {
		out = append(out, s.id)
	}
	for _, q := range r.Qsubs {
		for _, s := range q {
			out = append(out, -s.id)
		}
	}
	sort.Ints(out)
	return out
}

func TestSublistMatch(t *testing.T) {
	sl := NewSublist[*sub]()
	subs := map[string]*sub{}
	for i, s := range []string{"foo", "foo.bar", "foo.*", "foo.>", ">", "*.bar", "*", "foo.*.baz", "a.b.c"} {
		subs[s] = &sub{i + 1}
		sl.Insert(s, "", subs[s])
	}
	cases := []struct {
		subj string
		want []string
	}{
		{"foo", []string{"foo", ">", "*"}},
		{"foo.bar", []string{"foo.bar", "foo.*", "foo.>", ">", "*.bar"}},
		{"foo.x.baz", []string{"foo.>", ">", "foo.*.baz"}},
		{"bar", []string{">", "*"}},
		{"a.b.c", []string{">", "a.b.c"}},
		{"a.b", []string{">"}},
	}
	for _, tc := range cases {
		t.Run(tc.subj, func(t *testing.T) {
			for round := 0; round < 2; round++ { // second round hits the cache
				var want []int
				for _, w := range tc.want {
					want = append(want, subs[w].id)
				}
				sort.Ints(want)
				if got := ids(sl.Match(tc.subj)); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("round %d: got %v want %v", round, got, want)
				}
			}
		})
	}
	if sl.Count() != 9 {
		t.Fatalf("count %d", sl.Count())
	}
	for s, v := range subs {
		if !sl.Remove(s, "", v) {
			t.Fatalf("remove %s", s)
		}
	}
	if sl.Count() != 0 || !sl.root.empty() {
		t.Fatalf("not empty after removes")
	}
	if !sl.Match("foo.bar").Empty() {
		t.Fatal("stale cache after remove")
	}
}

func TestSublistQueues(t *testing.T) {
	sl := NewSublist[*sub]()
	a, b, c, d := &sub{1}, &sub{2}, &sub{3}, &sub{4}
	sl.Insert("foo.*", "q1", a)
	sl.Insert("foo.bar", "q1", b)
	sl.Insert("foo.>", "q2", c)
	sl.Insert("foo.bar", "", d)
	r := sl.Match("foo.bar")
	if len(r.Psubs) != 1 || len(r.Qsubs) != 2 {
		t.Fatalf("got %d psubs %d groups", len(r.Psubs), len(r.Qsubs))
	}
	for i, q := range r.Queues {
		n := len(r.Qsubs[i])
		if (q == "q1" && n != 2) || (q == "q2" && n != 1) {
			t.Fatalf("group %s has %d", q, n)
		}
	}
	if sl.Remove("foo.*", "q2", a) {
		t.Fatal("removed from wrong queue")
	}
	sl.Remove("foo.*", "q1", a)
	r = sl.Match("foo.bar")
	for i, q := range r.Queues {
		if q == "q1" && len(r.Qsubs[i]) != 1 {
			t.Fatal("q1 should have one member")
		}
	}
}

// TestSublistConcurrentCache checks that a cached result never misses a
// subscription that was inserted before the Match began.
func TestSublistConcurrentCache(t *testing.T) {
	sl := NewSublist[*sub]()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				sl.Match(fmt.Sprintf("s.%d", r.Intn(20)))
			}
		}(w)
	}
	for i := 0; i < 2000; i++ {
		s := &sub{i}
		subj := fmt.Sprintf("s.%d", i%20)
		if i%3 == 0 {
			subj = "s.*"
		}
		sl.Insert(subj, "", s)
		found := false
		for _, p := range sl.Match(fmt.Sprintf("s.%d", i%20)).Psubs {
			found = found || p == s
		}
		if !found {
			close(stop)
			t.Fatalf("insert %d not visible", i)
		}
		sl.Remove(subj, "", s)
		for _, p := range sl.Match(fmt.Sprintf("s.%d", i%20)).Psubs {
			if p == s {
				close(stop)
				t.Fatalf("remove %d not visible", i)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkSublistMatchCached(b *testing.B) {
	sl := NewSublist[*sub]()
	for i := 0; i < 1000; i++ {
		sl.Insert(fmt.Sprintf("foo.%d.bar", i), "", &sub{i})
	}
	sl.Insert("foo.*.bar", "", &sub{-1})
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sl.Match("foo.22.bar")
		}
	})
}

func BenchmarkSublistMatchUncached(b *testing.B) {
	sl := NewSublist[*sub]()
	for i := 0; i < 1000; i++ {
		sl.Insert(fmt.Sprintf("foo.%d.bar", i), "", &sub{i})
	}
	subjects := make([]string, 100000)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("foo.%d.bar", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sl.Match(subjects[i%len(subjects)])
	}
}
