#!/usr/bin/env bash
# Regenerates the Go code of every .proto under proto/ (store/v1, api/v1 and
# any later family: new files are picked up by the find below). Run from anywhere:
# `make proto` or `scripts/gen-proto.sh`. Needs protoc (Debian's
# protobuf-compiler); the Go plugins are installed at pinned versions.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.bin"
mkdir -p "$bin"

need() { # tool version package
	if [[ ! -x "$bin/$1" ]] || [[ "$(cat "$bin/$1.version" 2>/dev/null)" != "$2" ]]; then
		GOBIN="$bin" GOWORK=off go install "$3@$2"
		echo "$2" >"$bin/$1.version"
	fi
}
need protoc-gen-go "$PROTOC_GEN_GO_VERSION" google.golang.org/protobuf/cmd/protoc-gen-go
need protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" google.golang.org/grpc/cmd/protoc-gen-go-grpc

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }

cd "$root/proto"
mapfile -t files < <(find . -name '*.proto' | sed 's|^\./||' | sort)
PATH="$bin:$PATH" protoc -I . \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	"${files[@]}"
echo "generated: ${files[*]}"
