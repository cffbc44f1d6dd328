package integration

import "github.com/hangar-mq/hangar/core/store"

// availableFileBackends lists the registered persistent backends that can
// back file streams.
func availableFileBackends() []string {
	var out []string
	for _, id := range []string{"file", "pebble"} {
		if _, ok := store.Lookup("store." + id); ok {
			out = append(out, id)
		}
	}
	return out
}
