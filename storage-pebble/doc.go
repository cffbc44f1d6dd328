// Package storagepebble is a stream store indexed by Pebble, for deployments
// with many subjects that want bounded memory and an LSM.
package storagepebble
