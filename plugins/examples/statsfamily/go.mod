module example.com/statsfamily

go 1.26.0

require (
	github.com/hangar-mq/hangar/core v0.0.0-00010101000000-000000000000
	github.com/hangar-mq/hangar/plugins v0.0.0-00010101000000-000000000000
)

require (
	github.com/fatih/color v1.13.0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/hangar-mq/hangar/proto v0.0.0-00010101000000-000000000000 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/hashicorp/go-plugin v1.8.0 // indirect
	github.com/hashicorp/yamux v0.1.2 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.17 // indirect
	github.com/oklog/run v1.1.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

// A third party would require published versions; this example builds
// against the workspace it lives in.
replace (
	github.com/hangar-mq/hangar/core => ../../../core
	github.com/hangar-mq/hangar/plugins => ../..
	github.com/hangar-mq/hangar/proto => ../../../proto
)
