// Package jserr holds the JetStream API errors with the reference server's
// HTTP-like code, err_code and description, so that clients matching on
// err_code (and people reading descriptions) see the same thing from
// Hangar. The table lives in errors.json; errors_generated.go is produced
// from it by `go generate`.
//
// The package imports only the standard library: API family plugins use it.
package jserr

//go:generate go run ./internal/gen
