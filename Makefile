.PHONY: build test proto bench-core

build:
	go build -o bin/hangar ./cmd/hangar

test:
	./scripts/test.sh

# proto regenerates the Go code of the .proto files under proto/.
proto:
	./scripts/gen-proto.sh

bench-core:
	./bench/core.sh
