// Command storeplugin serves a built-in store of this workspace as a
// plugin, for the host's tests: the backend's registry ID is the first
// argument (store.memory by default).
package main

import (
	"os"

	"github.com/hangar-mq/hangar/core/store"
	_ "github.com/hangar-mq/hangar/core/store/mem"
	"github.com/hangar-mq/hangar/plugins/sdk"
	_ "github.com/hangar-mq/hangar/storage-file"
	_ "github.com/hangar-mq/hangar/storage-pebble"
)

func main() {
	id := "store.memory"
	if len(os.Args) > 1 {
		id = os.Args[1]
	}
	// While this file exists the plugin dies at start, for the backoff
	// test.
	if f := os.Getenv("STOREPLUGIN_CRASH_FILE"); f != "" {
		if _, err := os.Stat(f); err == nil {
			os.Exit(3)
		}
	}
	sdk.ServeStoreFunc(func(cfg store.ProviderConfig) (store.Provider, error) {
		sdk.Log().Noticef("serving %s in %s", id, cfg.Dir)
		return store.NewProvider(id, cfg)
	})
}
