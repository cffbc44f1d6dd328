module github.com/hangar-mq/hangar/proto

go 1.26.0

replace (
	github.com/hangar-mq/hangar/api-handlers => ../api-handlers
	github.com/hangar-mq/hangar/cluster => ../cluster
	github.com/hangar-mq/hangar/cmd => ../cmd
	github.com/hangar-mq/hangar/core => ../core
	github.com/hangar-mq/hangar/plugins => ../plugins
	github.com/hangar-mq/hangar/storage-file => ../storage-file
	github.com/hangar-mq/hangar/storage-pebble => ../storage-pebble
	github.com/hangar-mq/hangar/test => ../test
)

require (
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)
