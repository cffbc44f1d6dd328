// Package storagepebble is Hangar's Pebble-indexed stream store, registered
// as "store.pebble": a backend of the core/store contract for deployments
// with many subjects (KV buckets with millions of keys) that want fast
// last-by-subject and filtered reads and memory bounded by configuration.
//
// One Pebble instance per provider directory holds every stream, so streams
// share one WAL (and its group commit), one block cache and one set of
// memtables. Each stream's keys start with a compact numeric id kept in a
// catalog key. Messages are keyed by sequence; a subject index keyed by
// (subject, sequence) serves filtered reads and subject purges; per-subject
// state (count, first, last) serves last-by-subject and subject totals in one
// lookup; a time index serves max age and SeqFromTime; a TTL index serves
// per-message expiry. In memory a stream keeps only its configuration and a
// few counters, which every batch also writes, so recovery is reading them.
//
// Durability is Pebble's WAL: with the Always sync policy each write returns
// after a synced commit, and concurrent commits share WAL syncs; with an
// interval, commits skip the sync and a background loop syncs.
//
// Loaded messages are copies: their bytes stay valid for as long as the
// caller keeps them. The layout, tuning and trade-offs are described in
// docs/pebble-store.md.
package storagepebble
