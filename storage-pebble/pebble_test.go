package storagepebble

import (
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

// factory opens providers with the given sync policy on a real directory.
func factory(sync store.SyncPolicy) storetest.Factory {
	return storetest.Factory{
		New: func(tb testing.TB, dir string) store.Provider {
			p, err := New(store.ProviderConfig{Dir: dir, Sync: sync})
			if err != nil {
				tb.Fatal(err)
			}
			return p
		},
		Storage: store.FileStorage,
	}
}

// TestConformance runs the kit with Hangar's default (sync before every
// acknowledgement) and with interval syncing.
func TestConformance(t *testing.T) {
	t.Run("sync-always", func(t *testing.T) { storetest.Run(t, factory(store.SyncPolicy{Always: true})) })
	t.Run("sync-interval", func(t *testing.T) {
		storetest.Run(t, factory(store.SyncPolicy{Interval: 50 * time.Millisecond}))
	})
}
