package subject

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Result is the set of subscriptions that match one literal subject. Plain
// subscribers are in Psubs; queue subscribers are grouped by queue name in
// Qsubs, one slice per group. A Result is shared and must not be modified.
type Result[T comparable] struct {
	Psubs []T
	Qsubs [][]T
	// Queues holds the queue name of each group in Qsubs, index for index.
	Queues []string
}

// Empty reports whether r holds no subscriptions.
func (r *Result[T]) Empty() bool { return r == nil || (len(r.Psubs) == 0 && len(r.Qsubs) == 0) }

// Sublist is a subject-interest index: a trie of tokens holding values (the
// subscriptions) under subjects that may contain wildcards, with a cache of
// match results for literal subjects.
//
// All methods are safe for concurrent use. The cache stays correct under
// concurrent Insert and Remove: a change drops every cached result that it
// could affect and bumps Gen, so callers that keep their own cache can
// detect staleness with one atomic load.
type Sublist[T comparable] struct {
	// mu guards root, cache and count. It is a leaf lock: nothing else is
	// acquired while it is held.
	mu    sync.RWMutex
	root  *level[T]
	cache map[string]*Result[T]
	count int
	gen   atomic.Uint64

	matches atomic.Uint64
	hits    atomic.Uint64
	inserts atomic.Uint64
	removes atomic.Uint64
}

// maxCache bounds the shared match cache. When it is full an arbitrary
// tenth is dropped; Go's map iteration order makes that a cheap random
// eviction.
const maxCache = 4096

type level[T comparable] struct {
	nodes map[string]*node[T]
	pwc   *node[T]
	fwc   *node[T]
}

type node[T comparable] struct {
	next  *level[T]
	psubs []T
	// qsubs maps a queue name to its members.
	qsubs map[string][]T
}

func newLevel[T comparable]() *level[T] { return &level[T]{nodes: make(map[string]*node[T])} }

// NewSublist returns an empty Sublist.
func NewSublist[T comparable]() *Sublist[T] {
	return &Sublist[T]{root: newLevel[T](), cache: make(map[string]*Result[T])}
}

// Gen returns a number that changes on every Insert and Remove.
func (s *Sublist[T]) Gen() uint64 { return s.gen.Load() }

// Count returns the number of values held.
func (s *Sublist[T]) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Stats are the counters /subsz reports.
type Stats struct {
	Count   int
	Cached  int
	Inserts uint64
	Removes uint64
	Matches uint64
	Hits    uint64
}

// Stats returns the index's counters.
func (s *Sublist[T]) Stats() Stats {
	s.mu.RLock()
	st := Stats{Count: s.count, Cached: len(s.cache)}
	s.mu.RUnlock()
	st.Inserts, st.Removes = s.inserts.Load(), s.removes.Load()
	st.Matches, st.Hits = s.matches.Load(), s.hits.Load()
	return st
}

// Insert adds v under subj (which may hold wildcards), in queue group
// queue when queue is not empty. The caller validates subj.
func (s *Sublist[T]) Insert(subj, queue string, v T) {
	s.mu.Lock()
	l := s.root
	var n *node[T]
	for rest := subj; ; {
		tok, more := cut(rest)
		switch tok {
		case "*":
			if l.pwc == nil {
				l.pwc = &node[T]{}
			}
			n = l.pwc
		case ">":
			if l.fwc == nil {
				l.fwc = &node[T]{}
			}
			n = l.fwc
		default:
			n = l.nodes[tok]
			if n == nil {
				n = &node[T]{}
				l.nodes[tok] = n
			}
		}
		if !more {
			break
		}
		rest = rest[len(tok)+1:]
		if n.next == nil {
			n.next = newLevel[T]()
		}
		l = n.next
	}
	if queue == "" {
		n.psubs = append(n.psubs, v)
	} else {
		if n.qsubs == nil {
			n.qsubs = make(map[string][]T)
		}
		n.qsubs[queue] = append(n.qsubs[queue], v)
	}
	s.count++
	s.inserts.Add(1)
	s.invalidate(subj)
	s.gen.Add(1)
	s.mu.Unlock()
}

// Remove deletes v from under subj and queue. It reports whether v was found.
func (s *Sublist[T]) Remove(subj, queue string, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	type step struct {
		l   *level[T]
		n   *node[T]
		tok string
	}
	var path [16]step
	steps := path[:0]
	l := s.root
	var n *node[T]
	for rest := subj; ; {
		if l == nil {
			return false
		}
		tok, more := cut(rest)
		switch tok {
		case "*":
			n = l.pwc
		case ">":
			n = l.fwc
		default:
			n = l.nodes[tok]
		}
		if n == nil {
			return false
		}
		steps = append(steps, step{l, n, tok})
		if !more {
			break
		}
		rest = rest[len(tok)+1:]
		l = n.next
	}
	found := false
	if queue == "" {
		n.psubs, found = removeFrom(n.psubs, v)
	} else if q, ok := n.qsubs[queue]; ok {
		q, found = removeFrom(q, v)
		if len(q) == 0 {
			delete(n.qsubs, queue)
		} else {
			n.qsubs[queue] = q
		}
	}
	if !found {
		return false
	}
	s.count--
	s.removes.Add(1)
	// Prune empty nodes bottom-up so a churn of unique subjects (inboxes)
	// does not grow the trie forever.
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		if len(st.n.psubs) > 0 || len(st.n.qsubs) > 0 || (st.n.next != nil && !st.n.next.empty()) {
			break
		}
		switch st.tok {
		case "*":
			st.l.pwc = nil
		case ">":
			st.l.fwc = nil
		default:
			delete(st.l.nodes, st.tok)
		}
	}
	s.invalidate(subj)
	s.gen.Add(1)
	return true
}

func (l *level[T]) empty() bool { return len(l.nodes) == 0 && l.pwc == nil && l.fwc == nil }

func removeFrom[T comparable](xs []T, v T) ([]T, bool) {
	for i, x := range xs {
		if x == v {
			last := len(xs) - 1
			// Copy-on-write: a Result built earlier may share this backing
			// array, so never shift elements in place.
			out := make([]T, 0, last)
			out = append(out, xs[:i]...)
			out = append(out, xs[i+1:]...)
			return out, true
		}
	}
	return xs, false
}

// invalidate drops cached results that subj could change. Held: s.mu.
func (s *Sublist[T]) invalidate(subj string) {
	if len(s.cache) == 0 {
		return
	}
	if !HasWildcard(subj) {
		delete(s.cache, subj)
		return
	}
	for k := range s.cache {
		if Match(k, subj) {
			delete(s.cache, k)
		}
	}
}

// MatchUncached is Match without touching the cache: for subjects that are
// used once (request inboxes, ack replies), where caching only churns.
func (s *Sublist[T]) MatchUncached(subj string) *Result[T] {
	s.matches.Add(1)
	s.mu.RLock()
	if r, ok := s.cache[subj]; ok {
		s.mu.RUnlock()
		s.hits.Add(1)
		return r
	}
	r := &Result[T]{}
	var qidx map[string]int
	matchLevel(s.root, subj, r, &qidx)
	s.mu.RUnlock()
	return r
}

// Match returns the subscriptions interested in the literal subject subj.
// The returned Result is shared; callers must not modify it.
func (s *Sublist[T]) Match(subj string) *Result[T] {
	s.matches.Add(1)
	s.mu.RLock()
	if r, ok := s.cache[subj]; ok {
		s.mu.RUnlock()
		s.hits.Add(1)
		return r
	}
	gen := s.gen.Load()
	r := &Result[T]{}
	var qidx map[string]int
	matchLevel(s.root, subj, r, &qidx)
	s.mu.RUnlock()

	s.mu.Lock()
	// Only cache if nothing changed since the walk; otherwise the result
	// could miss a concurrent Insert.
	if s.gen.Load() == gen {
		if len(s.cache) >= maxCache {
			n := maxCache / 10
			for k := range s.cache {
				delete(s.cache, k)
				if n--; n == 0 {
					break
				}
			}
		}
		s.cache[subj] = r
	}
	s.mu.Unlock()
	return r
}

func matchLevel[T comparable](l *level[T], subj string, r *Result[T], qidx *map[string]int) {
	for l != nil {
		tok, more := cut(subj)
		if l.fwc != nil {
			addNode(r, l.fwc, qidx)
		}
		if l.pwc != nil {
			if more {
				matchLevel(l.pwc.next, subj[len(tok)+1:], r, qidx)
			} else {
				addNode(r, l.pwc, qidx)
			}
		}
		n := l.nodes[tok]
		if n == nil {
			return
		}
		if !more {
			addNode(r, n, qidx)
			return
		}
		subj = subj[len(tok)+1:]
		l = n.next
	}
}

func addNode[T comparable](r *Result[T], n *node[T], qidx *map[string]int) {
	r.Psubs = append(r.Psubs, n.psubs...)
	for q, members := range n.qsubs {
		if len(members) == 0 {
			continue
		}
		if *qidx == nil {
			*qidx = make(map[string]int)
		}
		if i, ok := (*qidx)[q]; ok {
			merged := make([]T, 0, len(r.Qsubs[i])+len(members))
			merged = append(append(merged, r.Qsubs[i]...), members...)
			r.Qsubs[i] = merged
			continue
		}
		(*qidx)[q] = len(r.Qsubs)
		r.Qsubs = append(r.Qsubs, members)
		r.Queues = append(r.Queues, q)
	}
}

// cut returns the first token of s and whether more tokens follow.
func cut(s string) (string, bool) {
	if i := strings.IndexByte(s, Sep); i >= 0 {
		return s[:i], true
	}
	return s, false
}

// All calls fn for every value with its subject and queue, in no order.
func (s *Sublist[T]) All(fn func(subj, queue string, v T)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var walk func(l *level[T], prefix string)
	visit := func(n *node[T], subj string) {
		for _, v := range n.psubs {
			fn(subj, "", v)
		}
		for q, vs := range n.qsubs {
			for _, v := range vs {
				fn(subj, q, v)
			}
		}
		if n.next != nil {
			walk(n.next, subj+".")
		}
	}
	walk = func(l *level[T], prefix string) {
		for tok, n := range l.nodes {
			visit(n, prefix+tok)
		}
		if l.pwc != nil {
			visit(l.pwc, prefix+"*")
		}
		if l.fwc != nil {
			visit(l.fwc, prefix+">")
		}
	}
	walk(s.root, "")
}

// HasInterest reports whether any value matches the literal subject subj.
func (s *Sublist[T]) HasInterest(subj string) bool {
	return !s.Match(subj).Empty()
}
