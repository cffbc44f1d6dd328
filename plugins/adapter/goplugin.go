package adapter

import (
	"context"
	"math"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the plugin protocol version both sides must agree on:
// the major version of the contracts (hangar.store.v1, hangar.api.v1). A
// plugin built against v2 contracts offers 2 and the host refuses it.
const ProtocolVersion = 1

// Handshake is what a Hangar plugin and its host agree on before anything
// else: the magic cookie keeps a plugin binary from being run by hand or by
// another host, and the protocol version keeps incompatible contracts
// apart.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "HANGAR_PLUGIN",
	MagicCookieValue: "d9f3c1b2-hangar-plugin-v1",
}

// Plugin names within a plugin binary's plugin set. A binary serves a store,
// an API family, or both.
const (
	StorePluginName  = "store"
	FamilyPluginName = "family"
)

// StorePlugin is the go-plugin side of a store. A plugin sets Provider and
// serves it; the host dispenses a *grpc.ClientConn and builds its own
// StoreClient on it, so that one client can follow the plugin across
// restarts.
type StorePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Provider store.Provider
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *StorePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	NewGRPCServer(p.Provider).Register(s)
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *StorePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

// FamilyPlugin is the go-plugin side of an API family. A plugin sets Build,
// which receives the jsapi.Host that calls back into the server; the host
// dispenses a *FamilyConn.
type FamilyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Build func(jsapi.Host) jsapi.Family
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *FamilyPlugin) GRPCServer(b *plugin.GRPCBroker, s *grpc.Server) error {
	NewFamilyServer(b, p.Build).Register(s)
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *FamilyPlugin) GRPCClient(_ context.Context, b *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &FamilyConn{Broker: b, Conn: conn}, nil
}

// HostPlugins is the plugin set a host offers: both kinds, so that it can
// ask a binary which ones it serves.
func HostPlugins() plugin.PluginSet {
	return plugin.PluginSet{StorePluginName: &StorePlugin{}, FamilyPluginName: &FamilyPlugin{}}
}

// NewGRPCServerWithLimits is the gRPC server constructor both sides use:
// go-plugin's own client lifts the message size limits, and a batch or a
// large message must not hit the server's 4 MiB default either.
func NewGRPCServerWithLimits(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(math.MaxInt32), grpc.MaxSendMsgSize(math.MaxInt32))
	return grpc.NewServer(opts...)
}

// Interface guards.
var (
	_ plugin.GRPCPlugin = (*StorePlugin)(nil)
	_ plugin.GRPCPlugin = (*FamilyPlugin)(nil)
)
