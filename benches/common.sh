# Shared by run.sh, cost.sh and waiting.sh (sourced). Builds the release binaries and defines:
#
#   start_server PACKAGE SERVICE STORE
#       starts `bpelgate serve` on a free loopback port with a temporary deploy and data dir
#       holding benches/packages/PACKAGE, waits until SERVICE answers `?wsdl`. STORE is
#       `sqlite` (the default database file in the data dir) or `postgres` (a fresh database
#       created next to BENCH_PG_URL's, dropped by stop_server). Sets: pid, url, work.
#   stop_server
#       stops it (SIGINT, like Ctrl-C) and cleans up; also run on exit.
#   bench_mode MODE
#       memory | sqlite | postgres → sets package (OrderAck or OrderAckPersistent) and store.
#   pg_reachable
#       whether BENCH_PG_URL answers (psql).
#
# Uses: root, BENCH_NO_BUILD, BENCH_KEEP, BENCH_SERVER, BENCH_SERVER_CMD (a prefix for the
# server command), BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
# CARGO_TARGET_DIR. Sets: server, load, waitload, request, action.

target="${CARGO_TARGET_DIR:-$root/target}"
if [[ "${BENCH_NO_BUILD:-}" != 1 ]]; then
  (cd "$root" && cargo build --release -p bpelgate --bin bpelgate \
    -p bpelgate-benches --bin soapload --bin waitload)
fi
server="${BENCH_SERVER:-$target/release/bpelgate}"
load="$target/release/soapload"
waitload="$target/release/waitload"
request="$root/benches/packages/order-request.xml"
action="http://bpelgate.example/bench/order/placeOrder"
pg_url="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The persistent OrderAck variant must stay the same process as the in-memory one.
for f in OrderAck.bpel OrderAck.wsdl; do
  if ! cmp -s "$root/benches/packages/OrderAck/$f" "$root/benches/packages/OrderAckPersistent/$f"; then
    echo "benches/packages/OrderAckPersistent/$f differs from OrderAck/$f" >&2
    exit 1
  fi
done

bench_mode() {
  case "$1" in
    memory) package=OrderAck store=sqlite ;;
    sqlite) package=OrderAckPersistent store=sqlite ;;
    postgres) package=OrderAckPersistent store=postgres ;;
    *)
      echo "unknown mode '$1' (memory, sqlite or postgres)" >&2
      exit 2
      ;;
  esac
}

pg_reachable() {
  psql "$pg_url" -qAtc 'SELECT 1' >/dev/null 2>&1
}

pid=""
work=""
pg_db=""

stop_server() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
  if [[ -n "$pg_db" ]]; then
    psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    pg_db=""
  fi
  if [[ -n "$work" ]]; then
    if [[ "${BENCH_KEEP:-}" == 1 ]]; then
      echo "kept $work"
    else
      rm -rf "$work"
    fi
    work=""
  fi
}
trap stop_server EXIT

start_server() {
  local pkg="$1" service="$2" store="$3"
  work="$(mktemp -d -t bpelgate-bench.XXXXXX)"
  mkdir -p "$work/deploy" "$work/data"
  cp -r "$root/benches/packages/$pkg" "$work/deploy/"
  local db_args=()
  if [[ "$store" == postgres ]]; then
    pg_db="bpelgate_bench_$$_$RANDOM"
    psql "$pg_url" -qc "CREATE DATABASE $pg_db" >/dev/null
    db_args=(--database-url "${pg_url%/*}/$pg_db")
  fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

  # The work dir as cwd: no conf/bpelgate.toml is picked up, the built-in defaults apply.
  # shellcheck disable=SC2086  # BENCH_SERVER_CMD is a word list on purpose.
  (cd "$work" && exec ${BENCH_SERVER_CMD:-} "$server" serve --http-port "$port" \
    --deploy-dir "$work/deploy" --data-dir "$work/data" "${db_args[@]}" >"$work/server.log" 2>&1) &
  pid=$!

  url="http://127.0.0.1:$port/services/$service"
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
    echo "$service was not deployed:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
}

# One OrderAck request, to fail loudly on a broken package or store rather than report 0 req/s.
check_order_ack() {
  local reply
  reply="$(curl -sS -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: \"$action\"" \
    --data-binary "@$request" "$url")"
  if [[ "$reply" != *"lines"*">3</"*"accepted"* ]]; then
    echo "unexpected reply: $reply" >&2
    tail -20 "$work/server.log" >&2
    exit 1
  fi
}
