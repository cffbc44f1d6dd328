#!/usr/bin/env bash
# Side-by-side JetStream consume benchmark: nats bench js (fetch, consume,
# ordered) and nats bench kv (put, get) against the reference server and
# hangar in one run, printing msgs/s and the ratio hangar/reference. Streams
# and buckets are memory-backed on both, so the figures compare the consumer
# and API paths rather than the disks.
#   bench/js-consume.sh   (MSGS=500000 KVMSGS=50000 RUNS=3 SIZE=128 to change)
source "$(dirname "$0")/lib.sh"
MSGS=${MSGS:-500000}
KVMSGS=${KVMSGS:-50000}
RUNS=${RUNS:-3}
SIZE=${SIZE:-128}
export NATS_CONTEXT=
install_tools
rm -rf "$WORK/ref-js" "$WORK/hangar-js"
REF=$(free_port); start_ref "$REF" -js -sd "$WORK/ref-js"
HAN=$(free_port); start_hangar "$HAN" -js -sd "$WORK/hangar-js"

n() { # port args...
  local port=$1; shift
  nats -s "nats://127.0.0.1:$port" "$@"
}

# fill PORT: a fresh memory stream holding MSGS messages.
fill() {
  n "$1" stream rm benchstream -f >/dev/null 2>&1 || true
  n "$1" stream add benchstream --subjects bench.js --storage memory --defaults >/dev/null
  n "$1" bench js pub async bench.js --msgs "$MSGS" --size "$SIZE" --no-progress >"$WORK/fill" 2>&1
}

fn_fetch() { # pull consumer, fetch batches of 500, explicit acks
  n "$1" consumer rm benchstream nats-bench -f >/dev/null 2>&1 || true
  n "$1" bench js fetch --msgs "$MSGS" --batch 500 --no-progress >"$WORK/out" 2>&1
  rate "(fetch) stats" "$WORK/out"
}
fn_consume() { # pull consumer through Consume (callback), explicit acks
  n "$1" consumer rm benchstream cons -f >/dev/null 2>&1 || true
  n "$1" consumer add benchstream cons --pull --ack explicit --deliver all --defaults >/dev/null
  n "$1" bench js consume --consumer cons --msgs "$MSGS" --no-progress >"$WORK/out" 2>&1
  rate "(callback) stats" "$WORK/out"
}
fn_ordered() { # ephemeral ordered consumer
  n "$1" bench js ordered --msgs "$MSGS" --no-progress >"$WORK/out" 2>&1
  rate "ordered ephemeral consumer stats" "$WORK/out"
}
fn_kvput() {
  n "$1" kv rm benchbucket -f >/dev/null 2>&1 || true
  n "$1" bench kv put --storage memory --msgs "$KVMSGS" --size "$SIZE" --no-progress >"$WORK/out" 2>&1
  rate "KV putter stats" "$WORK/out"
}
fn_kvget() {
  n "$1" bench kv get --msgs "$KVMSGS" --size "$SIZE" --no-progress >"$WORK/out" 2>&1
  rate "KV getter stats" "$WORK/out"
}

run_both() { # name fn
  local name=$1 fn=$2 r=() h=()
  for _ in $(seq 1 "$RUNS"); do
    r+=("$("$fn" "$REF" | tail -1)")
    h+=("$("$fn" "$HAN" | tail -1)")
  done
  print_row "$name" "$(printf '%s\n' "${r[@]}" | median)" "$(printf '%s\n' "${h[@]}" | median)"
}

echo "JetStream consume, $MSGS msgs of $SIZE B (KV: $KVMSGS), memory storage, median of $RUNS runs, $(nproc) cores; reference nats-server $REF_VERSION"
fill "$REF"
fill "$HAN"
print_header
run_both "js fetch (batch 500)" fn_fetch
run_both "js consume (callback)" fn_consume
run_both "js ordered" fn_ordered
run_both "kv put" fn_kvput
run_both "kv get" fn_kvget
