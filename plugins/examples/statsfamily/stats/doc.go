// Package stats is an API family that reports store statistics per
// stream. It is the example API family plugin of
// docs/plugin-authoring.md: it imports only the SDK's contract packages
// (core/jsapi, core/jserr) and reaches the server through jsapi.Host.
package stats
