package sdk

import (
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/storetest"
	"github.com/hangar-mq/hangar/plugins/adapter"
)

// Factory makes the providers the conformance kit tests: New opens a
// provider rooted at dir (a fresh temporary directory, or the same one
// again to test persistence); Storage selects the byte accounting the kit
// expects.
type Factory = storetest.Factory

// RunConformance runs the conformance kit of core/store against the
// provider f makes, twice: "direct", in-process, and "grpc", through the
// very adapters the server uses to talk to a plugin (on a unix socket in
// this process). A store that passes both behaves as the server expects
// once deployed as a plugin; `hangar plugins check` then tries the binary
// itself.
func RunConformance(t *testing.T, f Factory) {
	t.Run("direct", func(t *testing.T) { storetest.Run(t, f) })
	t.Run("grpc", func(t *testing.T) { storetest.Run(t, OverGRPC(f)) })
}

// OverGRPC returns a factory whose providers are f's seen through the
// plugin transport (NewGRPCClient(NewGRPCServer(p)) on a unix socket).
func OverGRPC(f Factory) Factory {
	return Factory{Storage: f.Storage, New: func(tb testing.TB, dir string) store.Provider {
		tb.Helper()
		c, stop, err := adapter.Loopback(f.New(tb, dir))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(stop)
		return c
	}}
}

// Bench runs the kit's benchmarks (appends single and batched, loads,
// purges) against f's providers.
func Bench(b *testing.B, f Factory) { storetest.Bench(b, f) }
