# Shared by run.sh and cost.sh (sourced): builds the binaries, starts `bpelgate serve` on a free
# loopback port with a temporary deploy and data dir holding benches/packages/OrderAck, waits
# until the service answers, and stops the server on exit.
#
# Uses: root, BENCH_NO_BUILD, BENCH_KEEP, BENCH_SERVER_CMD (a prefix for the server command),
# CARGO_TARGET_DIR. Sets: server, load, work, pid, url, request, action.

target="${CARGO_TARGET_DIR:-$root/target}"
if [[ "${BENCH_NO_BUILD:-}" != 1 ]]; then
  (cd "$root" && cargo build --release -p bpelgate --bin bpelgate -p bpelgate-benches --bin soapload)
fi
server="${BENCH_SERVER:-$target/release/bpelgate}"
load="$target/release/soapload"
request="$root/benches/packages/order-request.xml"
action="http://bpelgate.example/bench/order/placeOrder"

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

url="http://127.0.0.1:$port/services/OrderAckService"
for _ in $(seq 1 600); do
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
reply="$(curl -sS -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: \"$action\"" \
  --data-binary "@$request" "$url")"
if [[ "$reply" != *"lines"*">3</"*"accepted"* ]]; then
  echo "unexpected reply: $reply" >&2
  exit 1
fi
