// Package storev1 is the generated Go code of hangar.store.v1
// (store.proto), the storage contract of record. Regenerate it with
// `make proto`; never edit the generated files.
package storev1
