// Package conformance runs the store conformance kit against every built-in
// backend. A new backend adds one factory line to backends.
package conformance

import (
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/core/store/storetest"
	storagefile "github.com/hangar-mq/hangar/storage-file"
	storagepebble "github.com/hangar-mq/hangar/storage-pebble"
)

// backends lists the factories the kit runs against.
var backends = []struct {
	name    string
	factory storetest.Factory
}{
	{"memory", storetest.Factory{New: newMem, Storage: store.MemoryStorage}},
	// The memory store with the file byte accounting, as a stand-in for a
	// disk backend's numbers until one is added here.
	{"memory-file-accounting", storetest.Factory{New: newMem, Storage: store.FileStorage}},
	{"pebble", storetest.Factory{New: newPebble, Storage: store.FileStorage}},
	{"file", storetest.Factory{New: newFile, Storage: store.FileStorage}},
}

func newMem(tb testing.TB, _ string) store.Provider {
	p, err := store.NewProvider(mem.ID, store.ProviderConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// newFile opens the native file store in dir with the default (sync
// always) policy.
func newFile(tb testing.TB, dir string) store.Provider {
	p, err := store.NewProvider(storagefile.ID, store.ProviderConfig{Dir: dir, Sync: store.SyncPolicy{Always: true}})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// newPebble opens the Pebble store in dir with Hangar's default sync policy.
func newPebble(tb testing.TB, dir string) store.Provider {
	p, err := store.NewProvider(storagepebble.ID, store.ProviderConfig{Dir: dir, Sync: store.SyncPolicy{Always: true}})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storetest.Run(t, b.factory) })
	}
}

func BenchmarkStore(b *testing.B) {
	for _, be := range backends[:1] {
		b.Run(be.name, func(b *testing.B) { storetest.Bench(b, be.factory) })
	}
}
