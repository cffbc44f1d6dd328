// Command badplugin fails the handshake on purpose: it offers protocol
// version 2, or with -cookie expects another magic cookie.
package main

import (
	"os"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/plugins/adapter"
	plugin "github.com/hashicorp/go-plugin"
)

func main() {
	hs := adapter.Handshake
	hs.ProtocolVersion = 2
	if len(os.Args) > 1 && os.Args[1] == "-cookie" {
		hs.ProtocolVersion = adapter.ProtocolVersion
		hs.MagicCookieValue = "some-other-host"
	}
	p, _ := mem.New(store.ProviderConfig{})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{adapter.StorePluginName: &adapter.StorePlugin{Provider: p}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
