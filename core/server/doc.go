// Package server is Hangar's core NATS server: the client protocol (parser,
// connections, write coalescing, slow-consumer handling), accounts with
// their subject-interest indexes, internal subscriptions for the JetStream
// runtime, logging and the monitoring endpoints.
//
// Lock order (see core/LOCKS.md): Server.mu, then Account.mu, then
// client.mu; a Sublist lock is a leaf and is never held while taking any
// other lock.
package server
