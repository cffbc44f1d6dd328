// Package test holds cross-module suites: integration tests with the real
// NATS clients, conformance kits, differential checks and benchmarks.
package test
