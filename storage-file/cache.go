package storagefile

import (
	"slices"
	"sync"
	"sync/atomic"
)

// cache bounds the memory the provider's blocks hold for reading: loaded
// views and indexes. Blocks report what they hold with set; when the total
// passes the limit, trim evicts the least recently used until it is back
// under 90% of it. The active blocks' unwritten frames are never evicted.
type cache struct {
	limit int64
	clock atomic.Uint64
	total atomic.Int64

	mu     sync.Mutex // guards blocks; taken without any block's cmu
	blocks map[*block]int64
	trimMu sync.Mutex // one trim at a time
}

func newCache(limit int64) *cache {
	return &cache{limit: limit, blocks: make(map[*block]int64)}
}

func (c *cache) tick() uint64 { return c.clock.Add(1) }

// set adds delta to b's charge. It is called with b's cmu held, so it only
// books; trim evicts later, without it.
func (c *cache) set(b *block, delta int64) {
	if delta == 0 {
		return
	}
	c.mu.Lock()
	n := c.blocks[b] + delta
	if n <= 0 {
		delete(c.blocks, b)
	} else {
		c.blocks[b] = n
	}
	c.mu.Unlock()
	c.total.Add(delta)
}

// forget drops b, which is going away.
func (c *cache) forget(b *block) {
	c.mu.Lock()
	n := c.blocks[b]
	delete(c.blocks, b)
	c.mu.Unlock()
	c.total.Add(-n)
}

// trim evicts the least recently used blocks while the cache is over its
// limit. Callers hold no block's cmu.
func (c *cache) trim() {
	if c.total.Load() <= c.limit || !c.trimMu.TryLock() {
		return
	}
	defer c.trimMu.Unlock()
	c.mu.Lock()
	cands := make([]*block, 0, len(c.blocks))
	for b := range c.blocks {
		cands = append(cands, b)
	}
	c.mu.Unlock()
	slices.SortFunc(cands, func(a, b *block) int {
		ua, ub := a.used.Load(), b.used.Load()
		switch {
		case ua < ub:
			return -1
		case ua > ub:
			return 1
		}
		return 0
	})
	target := c.limit * 9 / 10
	for _, b := range cands {
		if c.total.Load() <= target {
			return
		}
		if freed := b.evict(); freed > 0 {
			c.set(b, -freed)
		}
	}
}
