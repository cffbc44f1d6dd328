module github.com/hangar-mq/hangar/storage-file

go 1.26

replace (
	github.com/hangar-mq/hangar/api-handlers => ../api-handlers
	github.com/hangar-mq/hangar/cluster => ../cluster
	github.com/hangar-mq/hangar/cmd => ../cmd
	github.com/hangar-mq/hangar/core => ../core
	github.com/hangar-mq/hangar/plugins => ../plugins
	github.com/hangar-mq/hangar/proto => ../proto
	github.com/hangar-mq/hangar/storage-pebble => ../storage-pebble
	github.com/hangar-mq/hangar/test => ../test
)
