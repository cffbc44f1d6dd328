// Package storetest is the conformance kit of the storage contract: Run
// proves that a backend behaves as core/store specifies, and Bench measures
// its hot paths. Every backend calls both, built-in or third-party, in
// process or behind the plugin transport:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Factory{
//			New: func(tb testing.TB, dir string) store.Provider { ... },
//			Storage: store.FileStorage,
//		})
//	}
//
// The kit imports only the contract, the memory store (the other side of the
// cross-backend snapshot tests) and pgregory.net/rapid, so importing it does
// not pull in the server. Set HANGAR_LONG=1 to add the million-message cases.
package storetest
