// Command segstore is a Hangar store plugin: streams kept in directories
// of append-only segment files. The server starts it once per store
// provider; see docs/plugin-authoring.md.
package main

import (
	"example.com/segstore/seg"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/sdk"
)

func main() {
	sdk.ServeStoreFunc(func(cfg store.ProviderConfig) (store.Provider, error) {
		return seg.Open(cfg)
	})
}
