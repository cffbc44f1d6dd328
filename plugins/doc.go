// Package plugins hosts out-of-process stores and API families over
// hashicorp/go-plugin and adapts them to the core's Go interfaces.
//
// A Host starts the plugin binaries of its Config (named ones, and those
// found in a plugin directory), checks each one's handshake (magic cookie
// and a protocol version equal to the contracts' major version, the binary
// pinned by an optional sha256 checksum, AutoMTLS on the connection) and
// asks what it serves:
//
//   - A store plugin is registered in the core/store registry as
//     "store.<name>", so `jetstream { backend: <name> }` and a stream's
//     `hangar.backend: <name>` pick it like a built-in store. Each provider
//     the runtime creates (store.NewProvider) runs in a process of its own,
//     configured with the provider's directory, sync policy and parameters.
//   - An API family plugin becomes a jsapi.Family (Host.Families) whose
//     handlers call the plugin, and which reaches the runtime through the
//     jsapi.Host given to the Host.
//
// Every process is supervised: health checks, and a crashed plugin is
// restarted with exponential backoff. Meanwhile its stores fail fast with
// ErrPluginUnavailable (a store.ErrUnavailable) instead of hanging; once
// it is back, the streams and consumers that were open are opened again,
// transparently to their holders, and what the plugin acknowledged is
// there. Plugin logs (hclog JSON or plain stderr) go to the Host's Logger.
//
// The wire adapters are in plugins/adapter; what a plugin author imports
// is plugins/sdk; plugins/cli holds `hangar plugins ls` and `check`.
package plugins
