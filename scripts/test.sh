#!/usr/bin/env bash
# Runs the whole test suite of every module in the workspace. Installs the
# tools the suites drive (the nats CLI) when missing. Exits non-zero if any
# test fails. HANGAR_LONG=1 adds the long suites (soak, 1M-message stores).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
if ! nats --version 2>/dev/null | grep -q '0.5.0'; then
  (cd /tmp && go install github.com/nats-io/natscli/nats@v0.5.0)
fi
mods=$(go list -m -f '{{.Dir}}')
pkgs=()
for d in $mods; do pkgs+=("$d/..."); done
echo "== go vet"
go vet "${pkgs[@]}"
echo "== go test (race) core"
go test -race -count=1 ./core/...
echo "== go test all modules"
go test -count=1 -timeout 20m "${pkgs[@]}"
