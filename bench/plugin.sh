#!/usr/bin/env bash
# In-process versus out-of-process store: nats bench js pub against one
# hangar whose file streams use the built-in file store and one whose file
# streams use the same store served as a go-plugin child process. Prints
# msgs/s and the ratio plugin/in-process.
#   bench/plugin.sh        (MSGS=200000 SYNC_MSGS=5000 RUNS=3)
source "$(dirname "$0")/lib.sh"
MSGS=${MSGS:-200000}
SYNC_MSGS=${SYNC_MSGS:-5000}
RUNS=${RUNS:-3}
install_tools
(cd "$ROOT" && go build -o "$WORK/storeplugin" ./plugins/testdata/storeplugin)
rm -rf "$WORK/inproc" "$WORK/plug"
printf 'jetstream { store_dir: "%s" }\n' "$WORK/inproc" >"$WORK/inproc.conf"
printf 'jetstream { store_dir: "%s", backend: fp }\nplugins { fp { path: "%s", args: ["store.file"] } }\n' \
  "$WORK/plug" "$WORK/storeplugin" >"$WORK/plug.conf"
IN=$(free_port); start_hangar "$IN" -c "$WORK/inproc.conf"
PL=$(free_port); start_hangar "$PL" -c "$WORK/plug.conf"

jspub() { # port mode msgs
  nats bench js pub "$2" bench.p -s "nats://127.0.0.1:$1" --create --purge --storage file --stream bp \
    --msgs "$3" --no-progress >"$WORK/out" 2>&1 || { echo 0; return; }
  rate "publisher stats" "$WORK/out"
}
row() { # name mode msgs
  local a=() b=()
  for _ in $(seq 1 "$RUNS"); do a+=("$(jspub "$IN" "$2" "$3")"); b+=("$(jspub "$PL" "$2" "$3")"); done
  print_row "$1" "$(printf '%s\n' "${a[@]}" | median)" "$(printf '%s\n' "${b[@]}" | median)"
}
echo "file store in-process vs as a go-plugin process, fsync before every ack, median of $RUNS runs"
printf "| %-28s | %12s | %12s | %6s |\n" "scenario (msgs/s)" "in-process" "plugin" "ratio"
printf "|%s|%s|%s|%s|\n" "------------------------------" "--------------" "--------------" "--------"
row "js pub async (batch 500)" async "$MSGS"
row "js pub sync" sync "$SYNC_MSGS"
