#!/usr/bin/env bash
# Throughput and latency of one SOAP request-response process over HTTP.
#
# Builds the release binaries, starts `bpelgate serve` on a free loopback port with a temporary
# deploy and data dir holding benches/packages/OrderAck (receive-assign-reply, in-memory,
# document/literal, ~1 KB request), runs soapload for each connection count and stops the server.
#
# Environment:
#   BENCH_CONNECTIONS  connection counts to run        (default "16 64")
#   BENCH_DURATION     measured time per run           (default 10s)
#   BENCH_WARMUP       warm-up per run                 (default 2s)
#   BENCH_THREADS      soapload worker threads         (default 1)
#   BENCH_NO_BUILD=1   use the binaries already built
#   BENCH_KEEP=1       keep the temporary directory (server log in it)
#   BENCH_SERVER_CMD   a prefix for the server command (e.g. "perf record -g -o /tmp/perf.data")
#   CARGO_TARGET_DIR   where cargo puts the binaries   (default <repo>/target)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
connections="${BENCH_CONNECTIONS:-16 64}"
duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-2s}"
threads="${BENCH_THREADS:-1}"

if [[ "${BENCH_NO_BUILD:-}" != 1 ]]; then
  (cd "$root" && cargo build --release -p bpelgate --bin bpelgate -p bpelgate-benches --bin soapload)
fi
server="$target/release/bpelgate"
load="$target/release/soapload"

work="$(mktemp -d -t bpelgate-bench.XXXXXX)"
mkdir -p "$work/deploy" "$work/data"
cp -r "$root/benches/packages/OrderAck" "$work/deploy/"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP:-}" == 1 ]]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# The work dir as cwd: no conf/bpelgate.toml is picked up, the built-in defaults apply.
# shellcheck disable=SC2086  # BENCH_SERVER_CMD is a word list on purpose.
(cd "$work" && exec ${BENCH_SERVER_CMD:-} "$server" serve --http-port "$port" \
  --deploy-dir "$work/deploy" --data-dir "$work/data" >"$work/server.log" 2>&1) &
pid=$!

base="http://127.0.0.1:$port"
url="$base/services/OrderAckService"
for _ in $(seq 1 200); do
  if curl -fsS -o /dev/null "$url?wsdl" 2>/dev/null; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the server exited:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! curl -fsS -o /dev/null "$url?wsdl"; then
  echo "OrderAckService was not deployed:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

# One request first, to fail loudly on a broken package rather than to report 0 req/s.
reply="$(curl -sS -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "http://bpelgate.example/bench/order/placeOrder"' \
  --data-binary "@$root/benches/packages/order-request.xml" "$url")"
if [[ "$reply" != *"lines"*">3</"*"accepted"* ]]; then
  echo "unexpected reply: $reply" >&2
  exit 1
fi

echo "bpelgate $("$server" --version | awk '{print $2}') on $(nproc) CPUs; OrderAck, $(wc -c <"$root/benches/packages/order-request.xml") byte request"
# Server CPU time (user + system, clock ticks) from /proc: with other work on the machine, CPU
# per request is steadier than req/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0; }
hz="$(getconf CLK_TCK)"
for c in $connections; do
  before="$(cpu_ticks)"
  out="$("$load" --url "$url" --body "$root/benches/packages/order-request.xml" \
    --action "http://bpelgate.example/bench/order/placeOrder" \
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
done
