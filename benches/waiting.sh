#!/usr/bin/env bash
# Many instances waiting on a receive (issue 5: 100,000 waiting instances, resident memory
# under 300 MB, a message to any one of them handled in under 10 ms at p99).
#
# Builds (once), starts `bpelgate serve` with benches/packages/Waiting (persistent): one-way
# `open(key)` creates an instance correlated on key that then waits for request-response
# `poke(key)`. Creates BENCH_INSTANCES instances over BENCH_CREATE_CONNECTIONS connections,
# lets the server settle (the dehydrator drops idle instances beyond [dehydration] max-count
# from memory), reads the server's resident memory (VmRSS, and VmHWM, the peak), then pokes
# BENCH_POKES random distinct instances over BENCH_POKE_CONNECTIONS connections and reports
# their latency, and the memory again.
#
# Environment:
#   BENCH_DB                  sqlite or postgres (default sqlite)
#   BENCH_INSTANCES           waiting instances to create (default 100000)
#   BENCH_CREATE_CONNECTIONS  connections for the creates (default 64)
#   BENCH_POKES               correlated requests measured (default 5000)
#   BENCH_POKE_CONNECTIONS    connections for them (default 8)
#   BENCH_SETTLE              seconds between creating and measuring (default 5)
#   BENCH_PG_URL, BENCH_NO_BUILD, BENCH_KEEP, BENCH_SERVER, BENCH_SERVER_CMD, CARGO_TARGET_DIR
#                             as for run.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
store="${BENCH_DB:-sqlite}"
instances="${BENCH_INSTANCES:-100000}"
create_connections="${BENCH_CREATE_CONNECTIONS:-64}"
pokes="${BENCH_POKES:-5000}"
poke_connections="${BENCH_POKE_CONNECTIONS:-8}"
settle="${BENCH_SETTLE:-5}"
# shellcheck source=common.sh
source "$root/benches/common.sh"

if [[ "$store" != sqlite && "$store" != postgres ]]; then
  echo "BENCH_DB must be sqlite or postgres" >&2
  exit 2
fi
if [[ "$store" == postgres ]] && ! pg_reachable; then
  echo "SKIPPED: PostgreSQL unreachable at $pg_url"
  exit 0
fi

# The server's own memory; the generator runs as a separate process.
memory() {
  awk '/^VmRSS:/{rss = $2} /^VmHWM:/{hwm = $2}
       END {printf "RSS %.1f MB (peak %.1f MB)", rss / 1024, hwm / 1024}' "/proc/$pid/status"
}

echo "bpelgate $("$server" --version | awk '{print $2}') on $(nproc) CPUs; Waiting on $store"
start_server Waiting WaitingService "$store"
echo "idle with the package deployed: $(memory)"

"$waitload" --url "$url" create --count "$instances" --connections "$create_connections"
echo "after creating $instances instances: $(memory)"
sleep "$settle"
echo "after ${settle}s settling: $(memory)"

"$waitload" --url "$url" poke --count "$instances" --requests "$pokes" \
  --connections "$poke_connections"
echo "after the pokes: $(memory)"
