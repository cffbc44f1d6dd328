#!/usr/bin/env bash
# Side-by-side JetStream publish benchmark: nats bench js pub (sync and
# async batched) against the reference server and hangar in one run, for
# memory and file storage, at the same sync policy and at each server's
# default. Prints msgs/s and the ratio hangar/reference.
#   bench/js.sh            (MSGS=200000 SYNC_MSGS=20000 RUNS=3 SIZE=128)
source "$(dirname "$0")/lib.sh"
MSGS=${MSGS:-200000}
SYNC_MSGS=${SYNC_MSGS:-20000}
RUNS=${RUNS:-3}
SIZE=${SIZE:-128}
install_tools

conf() { # file store_dir extra
  printf 'jetstream {\n  store_dir: "%s"\n  %s\n}\n' "$2" "$3" >"$1"
}
conf "$WORK/ref-default.conf" "$WORK/ref-default" ""
conf "$WORK/ref-always.conf" "$WORK/ref-always" "sync_interval: always"
conf "$WORK/han-default.conf" "$WORK/han-default" ""
conf "$WORK/han-interval.conf" "$WORK/han-interval" "sync_interval: 2m"
rm -rf "$WORK"/ref-default "$WORK"/ref-always "$WORK"/han-default "$WORK"/han-interval

REF_DEF=$(free_port); start_ref "$REF_DEF" -c "$WORK/ref-default.conf"
REF_ALW=$(free_port); start_ref "$REF_ALW" -c "$WORK/ref-always.conf"
HAN_DEF=$(free_port); start_hangar "$HAN_DEF" -c "$WORK/han-default.conf"
HAN_INT=$(free_port); start_hangar "$HAN_INT" -c "$WORK/han-interval.conf"

jspub() { # port mode storage msgs
  nats bench js pub "$2" "bench.$3" -s "nats://127.0.0.1:$1" --create --purge --storage "$3" --stream "bench_$3" \
    --msgs "$4" --size "$SIZE" --no-progress >"$WORK/out" 2>&1 || { echo 0; return; }
  rate "publisher stats" "$WORK/out"
}

row() { # name refport hanport mode storage msgs
  local r=() h=()
  for _ in $(seq 1 "$RUNS"); do
    r+=("$(jspub "$2" "$4" "$5" "$6")")
    h+=("$(jspub "$3" "$4" "$5" "$6")")
  done
  print_row "$1" "$(printf '%s\n' "${r[@]}" | median)" "$(printf '%s\n' "${h[@]}" | median)"
}

echo "JetStream publish, $SIZE B, median of $RUNS runs, $(nproc) cores; reference nats-server $REF_VERSION"
echo "async: $MSGS msgs in batches of 500; sync: $SYNC_MSGS msgs"
echo "reference default = sync_interval 2m; hangar default = fsync before every ack"
print_header
row "memory async"                   "$REF_DEF" "$HAN_DEF" async memory "$MSGS"
row "memory sync"                    "$REF_DEF" "$HAN_DEF" sync  memory "$SYNC_MSGS"
row "file async, both interval 2m"   "$REF_DEF" "$HAN_INT" async file   "$MSGS"
row "file async, both always"        "$REF_ALW" "$HAN_DEF" async file   "$MSGS"
row "file async, both defaults"      "$REF_DEF" "$HAN_DEF" async file   "$MSGS"
row "file sync, both interval 2m"    "$REF_DEF" "$HAN_INT" sync  file   "$SYNC_MSGS"
row "file sync, both always"         "$REF_ALW" "$HAN_DEF" sync  file   "$SYNC_MSGS"
row "file sync, both defaults"       "$REF_DEF" "$HAN_DEF" sync  file   "$SYNC_MSGS"
