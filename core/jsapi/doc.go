// Package jsapi is the JetStream API surface as Go types: the JSON shapes
// of configs, infos, requests and replies (field names as the reference
// server spells them), the API subjects, and the API family contract that
// built-in and plugin families implement.
//
// It is a leaf: it imports only the standard library and core/jserr, so an
// out-of-process family built on the plugin SDK never pulls in the server.
package jsapi
