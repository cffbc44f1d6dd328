// Package seg is a stream store built only on Hangar's plugin SDK and its
// contract packages: the example third-party store of
// docs/plugin-authoring.md.
//
// Each stream is a directory of append-only segment files. Every change is
// one record appended to the newest segment (a message with the sequence
// and time it was given, a removal, a purge request, a config...) and is
// made durable before the call returns: fsync per call by default, or
// in the background at the provider's sync interval. Nothing else is kept
// on disk: at open, the records are replayed into an in-memory index
// (sequence, subject, time, TTL and the record's place on disk per
// message; per-subject sequence lists; consumer states), and a message's
// bytes are read from its segment when loaded. Replaying a record does
// what doing it did, so the index comes back exactly.
//
// A torn tail (a record cut short by a crash, which was never
// acknowledged) is cut off at open. When dead records dominate, the live
// state is rewritten as one checkpoint segment and the old segments are
// removed.
//
// It favours being short and obviously right over speed: scans where a
// production store would keep more indexes.
package seg
