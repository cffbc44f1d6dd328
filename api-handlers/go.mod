module github.com/hangar-mq/hangar/api-handlers

go 1.26.0

replace (
	github.com/hangar-mq/hangar/cluster => ../cluster
	github.com/hangar-mq/hangar/cmd => ../cmd
	github.com/hangar-mq/hangar/core => ../core
	github.com/hangar-mq/hangar/plugins => ../plugins
	github.com/hangar-mq/hangar/proto => ../proto
	github.com/hangar-mq/hangar/storage-file => ../storage-file
	github.com/hangar-mq/hangar/storage-pebble => ../storage-pebble
	github.com/hangar-mq/hangar/test => ../test
)

require github.com/hangar-mq/hangar/core v0.0.0-00010101000000-000000000000

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
