package jetstream

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
)

// jsAccount is an account's JetStream state.
type jsAccount struct {
	rt   *Runtime
	acc  *server.Account
	name string

	// mu guards streams.
	mu      sync.RWMutex
	streams map[string]*Stream

	apiTotal  atomic.Uint64
	apiErrors atomic.Uint64
	memUsed   atomic.Int64
	storeUsed atomic.Int64
	// createMu serialises stream creates and updates so limit and overlap
	// checks see each other.
	createMu  sync.Mutex
	restoring map[string]bool
}

// enableAccount turns JetStream on for a.
func (rt *Runtime) enableAccount(a *server.Account) *jsAccount {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if ja, ok := rt.accounts[a.Name]; ok {
		return ja
	}
	ja := &jsAccount{rt: rt, acc: a, name: a.Name, streams: map[string]*Stream{}}
	rt.accounts[a.Name] = ja
	return ja
}

// limitsFrom converts configured limits; unset (zero or negative) means
// unlimited, reported as -1 like the reference.
func limitsFrom(l *server.JetStreamAccountLimits) jsapi.AccountLimits {
	out := jsapi.AccountLimits{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1,
		MaxAckPending: -1, MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1}
	if l == nil {
		return out
	}
	pos := func(v int64) int64 {
		if v > 0 {
			return v
		}
		return -1
	}
	out.MaxMemory = pos(l.MaxMemory)
	out.MaxStore = pos(l.MaxStore)
	out.MaxStreams = int(pos(int64(l.MaxStreams)))
	out.MaxConsumers = int(pos(int64(l.MaxConsumers)))
	out.MaxAckPending = int(pos(int64(l.MaxAckPending)))
	out.MemoryMaxStreamBytes = pos(l.MemoryMaxStreamBytes)
	out.StoreMaxStreamBytes = pos(l.StoreMaxStreamBytes)
	out.MaxBytesRequired = l.MaxBytesRequired
	return out
}

func (ja *jsAccount) lookupStream(name string) *Stream {
	ja.mu.RLock()
	defer ja.mu.RUnlock()
	return ja.streams[name]
}

func (ja *jsAccount) addStream(s *Stream) {
	ja.mu.Lock()
	ja.streams[s.name] = s
	ja.mu.Unlock()
}

func (ja *jsAccount) removeStream(s *Stream) {
	ja.mu.Lock()
	if ja.streams[s.name] == s {
		delete(ja.streams, s.name)
	}
	ja.mu.Unlock()
}

func (ja *jsAccount) numStreams() int {
	ja.mu.RLock()
	defer ja.mu.RUnlock()
	return len(ja.streams)
}

// streamList returns the streams sorted by name.
func (ja *jsAccount) streamList() []*Stream {
	ja.mu.RLock()
	out := make([]*Stream, 0, len(ja.streams))
	for _, s := range ja.streams {
		out = append(out, s)
	}
	ja.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// getLimits returns the account's current limits; they follow config
// reloads.
func (ja *jsAccount) getLimits() jsapi.AccountLimits {
	return limitsFrom(ja.acc.JetStreamLimits())
}

// usage sums the account's stored and reserved bytes per storage type.
type usage struct {
	mem, store         uint64
	resMem, resStore   uint64
	streams, consumers int
}

func (ja *jsAccount) usage() usage {
	var u usage
	for _, s := range ja.streamList() {
		st := s.fastState()
		cfg := s.config()
		if cfg.Storage == jsapi.MemoryStorage {
			u.mem += st.Bytes
			if cfg.MaxBytes > 0 {
				u.resMem += uint64(cfg.MaxBytes)
			}
		} else {
			u.store += st.Bytes
			if cfg.MaxBytes > 0 {
				u.resStore += uint64(cfg.MaxBytes)
			}
		}
		u.streams++
		u.consumers += s.numConsumers()
	}
	return u
}

// stats is the account's $JS.API.INFO document.
func (ja *jsAccount) stats() *jsapi.AccountStats {
	u := ja.usage()
	return &jsapi.AccountStats{
		Memory: u.mem, Store: u.store, ReservedMemory: u.resMem, ReservedStore: u.resStore,
		Streams: u.streams, Consumers: u.consumers, Limits: ja.getLimits(), Domain: ja.rt.cfg.Domain,
		API: jsapi.APIStats{Level: APILevel, Total: ja.apiTotal.Load(), Errors: ja.apiErrors.Load()},
	}
}

// AccountInfo returns $JS.API.INFO for account, or nil when JetStream is
// not enabled for it.
func (rt *Runtime) AccountInfo(account string) *jsapi.AccountStats {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return nil
	}
	return ja.stats()
}
