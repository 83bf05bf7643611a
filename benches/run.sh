#!/usr/bin/env bash
# Throughput and latency of one SOAP request-response process over HTTP: receive → assign →
# reply (benches/packages/OrderAck, document/literal, ~1 KB request), per store mode:
#
#   memory    OrderAck, <in-memory>true</in-memory>: nothing is written
#   sqlite    OrderAckPersistent (same process, persistent) on the default SQLite file: each
#             request's step commits (group commit) before the reply
#   postgres  OrderAckPersistent on a fresh PostgreSQL database (skipped when unreachable)
#
# For each mode: builds (once), starts `bpelgate serve` on a free loopback port with temporary
# deploy and data dirs, runs soapload for each connection count, stops the server. Prints each
# run, then a table of req/s, p50 and p99 per mode and connection count.
#
# Environment:
#   BENCH_DB           modes to run                    (default "memory sqlite postgres")
#   BENCH_CONNECTIONS  connection counts to run        (default "16 64")
#   BENCH_DURATION     measured time per run           (default 10s)
#   BENCH_WARMUP       warm-up per run                 (default 2s)
#   BENCH_THREADS      soapload worker threads         (default 1)
#   BENCH_PG_URL       PostgreSQL server (a database on it is created per run)
#                                                      (default postgres://postgres@127.0.0.1:5432/test)
#   BENCH_NO_BUILD=1   use the binaries already built
#   BENCH_KEEP=1       keep the temporary directories (server logs in them)
#   BENCH_SERVER       the bpelgate binary to run     (default the one built)
#   BENCH_SERVER_CMD   a prefix for the server command (e.g. "perf record -g -o /tmp/perf.data")
#   CARGO_TARGET_DIR   where cargo puts the binaries   (default <repo>/target)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modes="${BENCH_DB:-memory sqlite postgres}"
connections="${BENCH_CONNECTIONS:-16 64}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-2s}"
threads="${BENCH_THREADS:-1}"
# shellcheck source=common.sh
source "$root/benches/common.sh"

# Server CPU time (user + system, clock ticks) from /proc: CPU per request is less sensitive
# than req/s to the generator sharing the cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0; }
hz="$(getconf CLK_TCK)"

echo "bpelgate $("$server" --version | awk '{print $2}') on $(nproc) CPUs; OrderAck, $(wc -c <"$request") byte request"
table=()
for mode in $modes; do
  bench_mode "$mode"
  if [[ "$store" == postgres ]] && ! pg_reachable; then
    echo "== $mode: SKIPPED, PostgreSQL unreachable at $pg_url"
    table+=("$mode - skipped - -")
    continue
  fi
  start_server "$package" OrderAckService "$store"
  check_order_ack
  echo "== $mode ($package)"
  for c in $connections; do
    before="$(cpu_ticks)"
    out="$("$load" --url "$url" --body "$request" --action "$action" \
      --connections "$c" --duration "$duration" --warmup "$warmup" --threads "$threads" \
      --expect-body "accepted")"
    after="$(cpu_ticks)"
    echo "$out"
    ok="$(echo "$out" | awk '/ ok in /{print $1}')"
    # Warm-up requests used CPU too; count them at the measured rate.
    awk -v t="$((after - before))" -v hz="$hz" -v ok="${ok:-0}" -v d="$duration" -v w="$warmup" '
      function secs(x) { if (x ~ /ms$/) return x / 1000; if (x ~ /m$/) return x * 60; return x + 0 }
      BEGIN { n = ok * (secs(d) + secs(w)) / secs(d);
              if (n > 0) printf "  server CPU: %.1f us/request (%.2f cores)\n", t / hz * 1e6 / n, t / hz / (secs(d) + secs(w)) }'
    rps="$(echo "$out" | awk '/ ok in /{print $(NF-1)}')"
    lat="$(echo "$out" | awk '/latency ms:/{print $4, $8}')"
    table+=("$mode $c ${rps:-0} ${lat:-- -}")
  done
  stop_server
done

echo
printf '%-10s %11s %9s %9s %9s\n' mode connections req/s p50_ms p99_ms
for row in "${table[@]}"; do
  # shellcheck disable=SC2086  # the row is a word list
  printf '%-10s %11s %9s %9s %9s\n' $row
done
