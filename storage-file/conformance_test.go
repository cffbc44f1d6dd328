package storagefile

import (
	"context"
	"encoding/json"
	"github.com/hangar-mq/hangar/core/store/snapfmt"
	"io"
	"testing"
	"time"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/storetest"
)

// factory opens file providers with params and sync policy on disk.
func factory(params Params, sync store.SyncPolicy) storetest.Factory {
	return storetest.Factory{
		New: func(tb testing.TB, dir string) store.Provider {
			raw, err := json.Marshal(params)
			if err != nil {
				tb.Fatal(err)
			}
			p, err := New(store.ProviderConfig{Dir: dir, Sync: sync, Params: raw})
			if err != nil {
				tb.Fatal(err)
			}
			return p
		},
		Storage: store.FileStorage,
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, factory(Params{}, store.SyncPolicy{Always: true}))
}

// TestConformanceSmallBlocks runs the kit with tiny blocks, so that every
// case crosses block boundaries, seals, compacts and removes blocks.
func TestConformanceSmallBlocks(t *testing.T) {
	storetest.Run(t, factory(Params{BlockSize: 1024}, store.SyncPolicy{Always: true}))
}

// TestConformanceTinyCache runs the kit with a cache too small for one
// block, so that views and indexes are evicted and reloaded all the time,
// under readers and writers.
func TestConformanceTinyCache(t *testing.T) {
	storetest.Run(t, factory(Params{BlockSize: 1024, CacheSize: 1}, store.SyncPolicy{Always: true}))
}

// TestConformanceEncryptedCompressed runs the kit on encrypted streams
// whose sealed blocks are compressed, under the interval policy.
func TestConformanceEncryptedCompressed(t *testing.T) {
	f := factory(Params{BlockSize: 2048, Key: "s3cret", Cipher: "aes"}, store.SyncPolicy{Interval: 50 * time.Millisecond})
	inner := f.New
	f.New = func(tb testing.TB, dir string) store.Provider { return compressAll{inner(tb, dir)} }
	storetest.Run(t, f)
}

// compressAll asks for s2 compression on every stream it opens.
type compressAll struct{ store.Provider }

func (c compressAll) Open(ctx context.Context, cfg store.StreamConfig) (store.StreamStore, error) {
	cfg.Compression = store.S2Compression
	return c.Provider.Open(ctx, cfg)
}

func (c compressAll) Restore(ctx context.Context, cfg store.StreamConfig, r io.Reader) (store.StreamStore, error) {
	return snapfmt.RestoreStream(ctx, r, cfg, c)
}
