.PHONY: build test proto bench-core

build:
	go build -o bin/hangar ./cmd/hangar

test:
	./scripts/test.sh

proto:
	./scripts/gen-proto.sh

bench-core:
	./bench/core.sh
