# Shared helpers for the side-by-side benchmark scripts: install the
# reference server and the nats CLI at pinned versions, build hangar, start
# and stop servers on free loopback ports.
set -euo pipefail

REF_VERSION=${REF_VERSION:-v2.15.2}
CLI_VERSION=${CLI_VERSION:-v0.5.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-$ROOT/.bench}
GOBIN=$(go env GOPATH)/bin
export PATH=$GOBIN:$PATH
mkdir -p "$WORK"

install_tools() {
  if ! nats-server --version 2>/dev/null | grep -q "${REF_VERSION#v}"; then
    echo "installing nats-server $REF_VERSION" >&2
    (cd /tmp && go install "github.com/nats-io/nats-server/v2@$REF_VERSION")
  fi
  if ! nats --version 2>/dev/null | grep -q "${CLI_VERSION#v}"; then
    echo "installing nats CLI $CLI_VERSION" >&2
    (cd /tmp && go install "github.com/nats-io/natscli/nats@$CLI_VERSION")
  fi
  (cd "$ROOT" && go build -o "$WORK/hangar" ./cmd/hangar)
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  return 1
}

# start_ref PORT [extra args]; start_hangar PORT [extra args]
start_ref() {
  local port=$1; shift
  nats-server -a 127.0.0.1 -p "$port" "$@" >"$WORK/ref-$port.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
}
start_hangar() {
  local port=$1; shift
  "$WORK/hangar" -a 127.0.0.1 -p "$port" -m 0 "$@" >"$WORK/hangar-$port.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
}

# rate LINE-PATTERN FILE: the msgs/sec figure of the first matching line.
rate() {
  grep -a "$1" "$2" | head -1 | sed -E 's/.*stats: ([0-9,]+) msgs\/sec.*/\1/' | tr -d ,
}

median() { sort -n | awk '{a[NR]=$1} END{ if (NR==0) {print 0} else if (NR%2) {print a[(NR+1)/2]} else {print int((a[NR/2]+a[NR/2+1])/2)} }'; }

print_row() { # name ref hangar
  awk -v n="$1" -v r="$2" -v h="$3" 'BEGIN{ratio = (r>0)? h/r : 0; printf "| %-28s | %12d | %12d | %6.2f |\n", n, r, h, ratio}'
}
print_header() {
  printf "| %-28s | %12s | %12s | %6s |\n" "scenario (msgs/s)" "reference" "hangar" "ratio"
  printf "|%s|%s|%s|%s|\n" "------------------------------" "--------------" "--------------" "--------"
}
