package jetstream

import (
	"sync"
	"sync/atomic"

	"github.com/hangar-mq/hangar/core/store"
)

// consumerSet holds a stream's consumers. The consumer model lives in
// consumer*.go; these hooks are how the stream tells its consumers that
// messages arrived, were purged or expired.
type consumerSet struct {
	mu sync.RWMutex
	m  map[string]*Consumer
	// createMu serialises consumer creates so limit and work-queue checks
	// see each other.
	createMu sync.Mutex
	// removals counts stream changes that remove messages consumers may
	// not have delivered yet (purges, expiry, deletes, rollups); consumers
	// recount their pending messages when it moves.
	removals atomic.Uint64
	// noInterest collects, during one store run of an interest stream, the
	// sequences nobody is interested in.
	noInterest []uint64
}

func (cs *consumerSet) init() { cs.m = map[string]*Consumer{} }

func (cs *consumerSet) list() []*Consumer {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	out := make([]*Consumer, 0, len(cs.m))
	for _, c := range cs.m {
		out = append(out, c)
	}
	return out
}

func (cs *consumerSet) lookup(name string) *Consumer {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.m[name]
}

func (cs *consumerSet) add(c *Consumer) {
	cs.mu.Lock()
	cs.m[c.name] = c
	cs.mu.Unlock()
}

func (cs *consumerSet) remove(name string) *Consumer {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[name]
	delete(cs.m, name)
	return c
}

// removeIf removes c if it is still the consumer under its name.
func (cs *consumerSet) removeIf(c *Consumer) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m[c.name] != c {
		return false
	}
	delete(cs.m, c.name)
	return true
}

// notify wakes consumers after new messages were stored.
func (cs *consumerSet) notify() {
	cs.mu.RLock()
	for _, c := range cs.m {
		c.kick()
	}
	cs.mu.RUnlock()
}

func (cs *consumerSet) purged(req store.PurgeRequest) {
	cs.removals.Add(1)
	for _, c := range cs.list() {
		c.streamPurged(req)
	}
}

func (cs *consumerSet) expired() {
	cs.removals.Add(1)
	for _, c := range cs.list() {
		c.kick()
	}
}

// removed tells consumers that messages went away outside a purge (a
// message delete, a rollup).
func (cs *consumerSet) removed() {
	cs.removals.Add(1)
	cs.notify()
}

func (s *Stream) numConsumers() int {
	s.cons.mu.RLock()
	defer s.cons.mu.RUnlock()
	return len(s.cons.m)
}
