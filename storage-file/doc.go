// Package storagefile is the native file store for `storage: file` streams,
// registered as "store.file".
//
// A stream is a directory of append-only message blocks. Every frame of a
// block (a message, a batch of deletes, a skip or purge marker) carries a
// CRC-32C, or an AEAD tag when the stream is encrypted. Deletes are
// tombstone frames that name the subject and size of what they delete, so
// that recovery never needs the deleted message; a block whose messages are
// mostly gone is rewritten without them. A sealed block gets a summary file
// (its frames without payloads) and, when the stream asks for it, s2
// compression; the stream's state file, written on close and after half a
// minute of changes, lets recovery replay only what followed it.
//
// Writes are durable when they return: appends go to the active block's
// in-memory view and the provider's group commit writes and fsyncs every
// waiting file in one round, so concurrent writers of any stream share
// fsyncs and a lone writer waits for exactly one. With an interval sync
// policy writes reach the OS before returning and a background task syncs
// them.
//
// Locks, in the order they are taken: Provider.mu, then a stream's mu
// (readers share it; writers, recovery and compaction hold it alone), then a
// block's wmu (file writes and replacements), then the block's cmu (its
// cache fields and write offsets). The syncer's mutex comes before any
// block's cmu, the cache's after it; a consumer's wmu before its mu, and its
// mu after the stream's.
// The provider's goroutines (group commit leaders, the interval syncer, the
// sealer, the state writer) never take a stream's mu while holding a block
// lock.
//
// docs/file-store.md describes the formats, the recovery and what each sync
// policy survives.
package storagefile
