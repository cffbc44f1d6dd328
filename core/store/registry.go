package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// SyncPolicy says when a provider makes writes durable.
type SyncPolicy struct {
	// Always syncs before every write returns.
	Always bool
	// Interval syncs in the background at this period when not Always; 0
	// leaves it to the backend's default.
	Interval time.Duration
}

// ProviderConfig is what a provider is created with.
type ProviderConfig struct {
	// Dir is the provider's root directory (unused by memory backends).
	Dir string
	// Sync is the durability policy.
	Sync SyncPolicy
	// Params holds backend-specific settings as JSON, decoded strictly by the
	// backend.
	Params json.RawMessage
}

// ProviderInfo registers a backend.
type ProviderInfo struct {
	// ID is dotted and lowercase, e.g. "store.memory".
	ID string
	// New creates a provider.
	New func(cfg ProviderConfig) (Provider, error)
}

var registry struct {
	mu sync.RWMutex
	m  map[string]ProviderInfo
}

// Register makes a backend available under info.ID. It is meant for init
// functions and panics on an empty or duplicate ID or a nil New.
func Register(info ProviderInfo) {
	if info.ID == "" || info.New == nil {
		panic("store: Register needs an ID and a New function")
	}
	if info.ID != strings.ToLower(info.ID) {
		panic(fmt.Sprintf("store: provider ID %q must be lowercase", info.ID))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.m[info.ID]; dup {
		panic(fmt.Sprintf("store: provider %q registered twice", info.ID))
	}
	if registry.m == nil {
		registry.m = make(map[string]ProviderInfo)
	}
	registry.m[info.ID] = info
}

// Lookup returns the backend registered under id.
func Lookup(id string) (ProviderInfo, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	info, ok := registry.m[id]
	return info, ok
}

// Registered returns the IDs of every registered backend, sorted.
func Registered() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	ids := make([]string, 0, len(registry.m))
	for id := range registry.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// NewProvider creates a provider of the backend registered under id.
func NewProvider(id string, cfg ProviderConfig) (Provider, error) {
	info, ok := Lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: no store provider %q", ErrNotFound, id)
	}
	return info.New(cfg)
}
