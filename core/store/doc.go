// Package store is Hangar's storage contract: the Go interfaces a stream
// store backend implements, the plain types they exchange, the typed errors
// they return and the registry through which backends make themselves known.
//
// The contract mirrors the protobuf services in
// proto/store/v1/store.proto method for method, so that the same backend can
// run in-process (a builtin or a compiled-in third-party store) or out of
// process behind the plugin host. A test in the test module fails when the two
// drift apart.
//
// The package is a leaf: it imports only the standard library and
// core/subject, so a third-party plugin never pulls in the server.
//
// The rules every backend follows (sequence numbering, limits and discard
// policies, expiry, byte accounting, durability, ownership of byte slices)
// are written down in docs/storage-contract.md and proved for each backend by
// the conformance kit in core/store/storetest.
package store
