// Package server is Hangar's core NATS server: the client protocol (parser,
// connections, write coalescing, slow-consumer handling), accounts with
// their subject-interest indexes, internal subscriptions for the JetStream
// runtime, logging and the monitoring endpoints.
//
// Authentication (users, bcrypt, tokens, nkeys, no_auth_user) and the
// compiled permissions live in an auth state that a reload swaps whole.
// Accounts are isolated; messages cross only through imports, which are
// subscriptions whose handler forwards into the other account inline on
// the publisher's goroutine, with the publisher's delivery context (a
// service import's responses come back through the exporter's _R_ table).
// The system account answers the $SYS.REQ requests and carries the
// connect/disconnect events.
//
// Lock order (see core/LOCKS.md): Server.reloadMu, Server.mu, then
// Account.mu, then client.mu; a Sublist lock, the sysState lock and a
// respTable lock are leaves and are never held while taking another lock.
package server
