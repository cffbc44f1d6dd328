// Package apiv1 is the generated Go code of hangar.api.v1 (api.proto), the
// API family contract of record: the Family service a plugin serves and the
// Host service it calls back. Regenerate it with `make proto`; never edit
// the generated files.
package apiv1
