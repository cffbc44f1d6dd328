// Package snapfmt is Hangar's backend-neutral stream snapshot format, and a
// generic writer and restorer built only on the store contract, so any
// backend can implement Snapshot and Provider.Restore by calling Write and
// RestoreStream, and a snapshot taken from one backend restores into any
// other.
//
// A snapshot is the 8-byte magic "HNGRSNAP", a version byte, then frames.
// Each frame is a 14-byte head (type, flags, raw length, stored length, and
// the CRC-32C of the raw payload) followed by its payload, compressed with s2
// when that saves space. The frames are, in order: one header (JSON: format
// version, creation time, stream configuration and state), message frames
// (binary batches of seq, time, TTL, subject, header and data), one frame of
// deleted ranges, one frame per consumer (name, configuration bytes, state),
// and an end frame holding the counts and the SHA-256 of every earlier frame's
// type and raw payload. Any mismatch is store.ErrCorrupt.
package snapfmt
