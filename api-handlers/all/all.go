// Package all registers every built-in API family with the JetStream
// runtime; cmd/hangar imports it.
package all

import (
	_ "github.com/hangar-mq/hangar/api-handlers/account"  // $JS.API.INFO, ACCOUNT.*
	_ "github.com/hangar-mq/hangar/api-handlers/consumer" // CONSUMER.*
	_ "github.com/hangar-mq/hangar/api-handlers/direct"   // DIRECT.GET.*
	_ "github.com/hangar-mq/hangar/api-handlers/stream"   // STREAM.*
)
