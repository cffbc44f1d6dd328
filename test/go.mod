module github.com/hangar-mq/hangar/test

go 1.26

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

require github.com/hangar-mq/hangar/core v0.0.0-00010101000000-000000000000

require (
	github.com/klauspost/compress v1.20.3 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
