// Package proto holds Hangar's contracts of record: the versioned .proto
// files and their generated Go code. Nothing here depends on the server.
package proto
