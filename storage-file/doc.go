// Package storagefile is the native file store for `storage: file` streams:
// append-only checksummed message blocks with group-committed fsync.
package storagefile
