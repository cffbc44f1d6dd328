#!/usr/bin/env bash
# Side-by-side core NATS benchmark: nats bench against the reference server
# and hangar in one run, printing msgs/s and the ratio hangar/reference.
#   bench/core.sh            (MSGS=2000000 RUNS=3 SIZE=128 to change)
source "$(dirname "$0")/lib.sh"
MSGS=${MSGS:-2000000}
RUNS=${RUNS:-3}
SIZE=${SIZE:-128}
install_tools
REF=$(free_port); start_ref "$REF"
HAN=$(free_port); start_hangar "$HAN" -js=false

pub_only() { # port
  nats bench pub bench.pub -s "nats://127.0.0.1:$1" --msgs "$MSGS" --size "$SIZE" --no-progress >"$WORK/out" 2>&1
  rate "publisher stats" "$WORK/out"
}
pub_sub() { # port subscribers
  local subs=$2 subj="bench.ps.$RANDOM"
  nats bench sub "$subj" -s "nats://127.0.0.1:$1" --clients "$subs" --msgs "$MSGS" --size "$SIZE" --no-progress >"$WORK/sub" 2>&1 &
  local sp=$!
  sleep 0.5
  nats bench pub "$subj" -s "nats://127.0.0.1:$1" --msgs "$MSGS" --size "$SIZE" --no-progress >"$WORK/out" 2>&1
  wait $sp || true
  if [ "$subs" -gt 1 ]; then rate "subscriber aggregated stats" "$WORK/sub"; else rate "subscriber stats" "$WORK/sub"; fi
}
req_rep() { # port
  local subj="bench.svc.$RANDOM" n=$((MSGS / 20))
  nats bench service serve "$subj" -s "nats://127.0.0.1:$1" --clients 1 --no-progress >"$WORK/svc" 2>&1 &
  local sp=$!
  sleep 0.5
  nats bench service request "$subj" -s "nats://127.0.0.1:$1" --clients 4 --msgs "$n" --size "$SIZE" --no-progress >"$WORK/out" 2>&1
  kill $sp 2>/dev/null; wait $sp 2>/dev/null || true
  rate "aggregated stats" "$WORK/out"
}

run_both() { # name fn args...
  local name=$1; shift
  local r=() h=()
  for _ in $(seq 1 "$RUNS"); do
    r+=("$("$@" "$REF" | tail -1)")
    h+=("$("$@" "$HAN" | tail -1)")
  done
  print_row "$name" "$(printf '%s\n' "${r[@]}" | median)" "$(printf '%s\n' "${h[@]}" | median)"
}

fn_pub() { pub_only "$1"; }
fn_ps1() { pub_sub "$1" 1; }
fn_ps4() { pub_sub "$1" 4; }
fn_rr() { req_rep "$1"; }

echo "core NATS, $MSGS msgs of $SIZE B, median of $RUNS runs, $(nproc) cores; reference nats-server $REF_VERSION"
print_header
run_both "pub only" fn_pub
run_both "pub/sub 1:1 (sub rate)" fn_ps1
run_both "fan-out 1:4 (sub aggregate)" fn_ps4
run_both "request/reply (4 clients)" fn_rr
