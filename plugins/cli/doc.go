// Package cli holds the logic of `hangar plugins ls` and `hangar plugins
// check PATH` as functions that write to an io.Writer, so that cmd/app
// only parses flags and calls them.
package cli
