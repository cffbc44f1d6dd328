// Package subject implements NATS subject rules: validation of literal and
// wildcard subjects, matching a literal against a filter, overlap between
// filters, and the Sublist interest index used by the router.
//
// The package imports only the standard library so that the contract
// packages (core/store) and third-party plugins can use it.
package subject
