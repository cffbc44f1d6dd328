package conformance

import (
	"testing"

	"github.com/hangar-mq/hangar/core/store/storetest"
	"github.com/hangar-mq/hangar/plugins/sdk"
)

// TestConformanceOverGRPC runs the kit against every backend of the table
// through the plugin transport: NewGRPCClient(NewGRPCServer(p)) on a unix
// socket in this process. The same backends as go-plugin child processes
// are in plugins' TestPluginConformance.
func TestConformanceOverGRPC(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storetest.Run(t, sdk.OverGRPC(b.factory)) })
	}
}
