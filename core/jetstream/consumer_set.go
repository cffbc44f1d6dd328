package jetstream

import (
	"sync"

	"github.com/hangar-mq/hangar/core/store"
)

// consumerSet holds a stream's consumers. The consumer model lives in
// consumer*.go; these hooks are how the stream tells its consumers that
// messages arrived, were purged or expired.
type consumerSet struct {
	mu sync.RWMutex
	m  map[string]*Consumer
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

// notify wakes consumers after new messages were stored.
func (cs *consumerSet) notify() {
	cs.mu.RLock()
	for _, c := range cs.m {
		c.kick()
	}
	cs.mu.RUnlock()
}

func (cs *consumerSet) purged(req store.PurgeRequest) {
	for _, c := range cs.list() {
		c.streamPurged(req)
	}
}

func (cs *consumerSet) expired() {
	for _, c := range cs.list() {
		c.kick()
	}
}

func (s *Stream) numConsumers() int {
	s.cons.mu.RLock()
	defer s.cons.mu.RUnlock()
	return len(s.cons.m)
}
