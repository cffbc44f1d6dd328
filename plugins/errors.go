package plugins

import (
	"errors"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/adapter"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc"
)

// ErrPluginUnavailable means a plugin cannot serve a call now: it crashed,
// is restarting, or did not answer in time. It wraps store.ErrUnavailable,
// which the runtime turns into a 503-class JetStream error ("JetStream
// system temporarily unavailable", err_code 10008) without dropping the
// stream.
var ErrPluginUnavailable = adapter.ErrPluginUnavailable

// ErrIncompatible means a plugin binary failed the handshake: a protocol
// version other than ProtocolVersion, a wrong magic cookie (not a Hangar
// plugin), or a checksum that does not match.
var ErrIncompatible = errors.New("plugins: incompatible plugin")

// ProtocolVersion is the plugin protocol this host speaks: the major
// version of hangar.store.v1 and hangar.api.v1.
const ProtocolVersion = adapter.ProtocolVersion

// NewGRPCClient returns a store.Provider served over conn by
// NewGRPCServer on the other side.
func NewGRPCClient(conn grpc.ClientConnInterface) store.Provider { return adapter.NewGRPCClient(conn) }

// NewGRPCServer returns a server for p; register it with its Register
// method on a grpc.Server.
func NewGRPCServer(p store.Provider) *adapter.StoreServer { return adapter.NewGRPCServer(p) }

// ErrToProto encodes a store error for the wire, keeping its kind.
func ErrToProto(err error) *storev1.Error { return adapter.ErrToProto(err) }

// ProtoToErr rebuilds a store error from the wire; errors.Is matches the
// original sentinel.
func ProtoToErr(e *storev1.Error) error { return adapter.ProtoToErr(e) }
