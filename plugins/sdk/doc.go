// Package sdk is what a third party imports to build a Hangar plugin: a
// stream store or a JetStream API family in a binary of its own, which a
// Hangar server starts and talks to over gRPC (hashicorp/go-plugin).
//
// A store plugin's main:
//
//	func main() {
//		sdk.ServeStoreFunc(func(cfg store.ProviderConfig) (store.Provider, error) {
//			return mystore.Open(cfg.Dir, cfg.Sync)
//		})
//	}
//
// and its test, which runs the whole conformance kit of core/store twice:
// directly, and through the same gRPC adapters the server uses:
//
//	func TestConformance(t *testing.T) {
//		sdk.RunConformance(t, sdk.Factory{New: ..., Storage: store.FileStorage})
//	}
//
// An API family plugin's main gets the jsapi.Host through which it calls
// the server's own API:
//
//	func main() {
//		sdk.ServeAPIFamily(func(h jsapi.Host) jsapi.Family { return newFamily(h) })
//	}
//
// The package imports only proto, the leaf contract packages (core/store
// with storetest and snapfmt, core/jsapi, core/jserr, core/subject) and
// plugins/adapter: a plugin never pulls in the server. docs/plugin-authoring.md
// walks through building, testing and deploying one.
package sdk
