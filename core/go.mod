module github.com/hangar-mq/hangar/core

go 1.26.0

replace (
	github.com/hangar-mq/hangar/api-handlers => ../api-handlers
	github.com/hangar-mq/hangar/cluster => ../cluster
	github.com/hangar-mq/hangar/cmd => ../cmd
	github.com/hangar-mq/hangar/plugins => ../plugins
	github.com/hangar-mq/hangar/proto => ../proto
	github.com/hangar-mq/hangar/storage-file => ../storage-file
	github.com/hangar-mq/hangar/storage-pebble => ../storage-pebble
	github.com/hangar-mq/hangar/test => ../test
)

require (
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
