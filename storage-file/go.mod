module github.com/hangar-mq/hangar/storage-file

go 1.26.0

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

require (
	github.com/cockroachdb/pebble/v2 v2.1.7
	github.com/hangar-mq/hangar/core v0.0.0-00010101000000-000000000000
	github.com/klauspost/compress v1.20.3
	golang.org/x/crypto v0.58.0
)

require (
	github.com/cockroachdb/crlib v0.0.0-20241112164430-1264a2edc35b // indirect
	github.com/cockroachdb/errors v1.11.3 // indirect
	github.com/cockroachdb/logtags v0.0.0-20230118201751-21c54148d20b // indirect
	github.com/cockroachdb/redact v1.1.5 // indirect
	github.com/getsentry/sentry-go v0.27.0 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/rogpeppe/go-internal v1.9.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

// cockroachdb/errors (via pebble) requires a genproto from before googleapis/rpc
// became its own module; in the workspace that version makes
// google.golang.org/genproto/googleapis/rpc/status ambiguous for the grpc users.
exclude google.golang.org/genproto v0.0.0-20230410155749-daa745c078e1
