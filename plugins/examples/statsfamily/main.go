// Command statsfamily is a Hangar API family plugin: it adds
// $JS.API.STREAM.STORE.STATS.<stream> and $JS.API.HANGAR.STATS, which
// report per-stream store statistics computed from STREAM.INFO and
// STREAM.LIST, asked of the server through jsapi.Host.
package main

import (
	"example.com/statsfamily/stats"
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/plugins/sdk"
)

func main() {
	sdk.ServeAPIFamily(func(h jsapi.Host) jsapi.Family { return stats.New(h) })
}
