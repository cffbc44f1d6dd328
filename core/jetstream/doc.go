// Package jetstream is the JetStream domain runtime: per-account streams and
// their stores, the publish pipeline (preconditions, dedupe, limits,
// retention), the API router that dispatches $JS.API requests to the
// registered families, advisories and monitoring.
//
// Every change to a stream is an operation executed in order by the
// stream's single executor goroutine (ingest.go). On one server the
// executor applies it directly; the replication seam (ops.go) is where a
// cluster will propose it to the stream's RAFT group instead. Apply reads
// no clock: timestamps travel in the op.
package jetstream
