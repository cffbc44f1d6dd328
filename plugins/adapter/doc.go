// Package adapter turns the Go contracts of core/store and core/jsapi into
// the gRPC contracts of proto/store/v1 and proto/api/v1 and back, and holds
// the go-plugin glue (handshake, plugin set) both sides of a plugin share.
//
// Both directions for stores: NewGRPCServer serves any store.Provider, and
// NewGRPCClient makes a remote one a store.Provider again, so the same
// backend runs in-process or behind a process boundary and the conformance
// kit can prove both. The same for API families: NewFamilyServer serves a
// jsapi.Family (built with a jsapi.Host that calls back over the go-plugin
// broker), and FamilyClient.Family makes the remote family a jsapi.Family.
//
// Errors cross the boundary as kinds (ErrToProto, ProtoToErr) so that
// errors.Is keeps working; a transport failure becomes ErrPluginUnavailable,
// which wraps store.ErrUnavailable.
//
// The package imports only proto, the leaf contract packages (core/store,
// snapfmt, core/jsapi, core/jserr), grpc and go-plugin: plugins/sdk builds
// on it, so nothing of the server may leak in.
package adapter
