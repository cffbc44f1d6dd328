module github.com/hangar-mq/hangar/test

go 1.26.0

replace (
	github.com/hangar-mq/hangar/api-handlers => ../api-handlers
	github.com/hangar-mq/hangar/cluster => ../cluster
	github.com/hangar-mq/hangar/cmd => ../cmd
	github.com/hangar-mq/hangar/core => ../core
	github.com/hangar-mq/hangar/plugins => ../plugins
	github.com/hangar-mq/hangar/proto => ../proto
	github.com/hangar-mq/hangar/storage-file => ../storage-file
	github.com/hangar-mq/hangar/storage-pebble => ../storage-pebble
)

require (
	github.com/klauspost/compress v1.20.0 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
