#!/usr/bin/env bash
# Instructions per request of the server, counted by valgrind (callgrind): deterministic, so it
# compares two builds on a busy machine where req/s and CPU time do not.
#
# Starts the server under callgrind, sends BENCH_WARM requests, zeroes the counters, sends
# BENCH_REQUESTS more over BENCH_CONNECTIONS connections, dumps, and prints instructions per
# request and the top functions (inclusive) of that window.
#
# Environment: BENCH_REQUESTS (default 2000), BENCH_WARM (default 300), BENCH_CONNECTIONS
# (default 4), BENCH_DB (one mode of run.sh: memory, sqlite or postgres; default memory),
# BENCH_NO_BUILD, BENCH_KEEP, CARGO_TARGET_DIR; the callgrind output is left in
# BENCH_OUT (default /tmp/bpelgate-callgrind.out).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requests="${BENCH_REQUESTS:-2000}"
warm="${BENCH_WARM:-300}"
connections="${BENCH_CONNECTIONS:-4}"
out="${BENCH_OUT:-/tmp/bpelgate-callgrind.out}"
rm -f "$out" "$out".*
BENCH_SERVER_CMD="valgrind --tool=callgrind --callgrind-out-file=$out --dump-instr=no"
# shellcheck source=common.sh
source "$root/benches/common.sh"
bench_mode "${BENCH_DB:-memory}"
start_server "$package" OrderAckService "$store"
check_order_ack

"$load" --url "$url" --body "$request" --action "$action" --connections "$connections" \
  --requests "$warm" --expect-body accepted --summary >/dev/null
callgrind_control -z "$pid" >/dev/null
"$load" --url "$url" --body "$request" --action "$action" --connections "$connections" \
  --requests "$requests" --expect-body accepted --summary
callgrind_control -d "$pid" >/dev/null
dump="$(ls -t "$out".* 2>/dev/null | head -1)"
total="$(awk '/^(summary|totals):/{print $2; exit}' "$dump")"
echo "instructions/request: $((total / requests))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '1,/^-- Auto/p' \
  | grep -E '^ *[0-9,]+ ' | head -"${BENCH_TOP:-40}" | cut -c1-180
