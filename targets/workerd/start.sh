#!/bin/sh
# rtbench reference server: workerd. Checks the contract's environment (workerd itself cannot: the Worker only sees
# requests), then execs workerd so that this process is the server.
# Env: HOST, PORT, WORKERS, UPSTREAM_URL; WORKERD is the binary (default: the one npm installed into RTBENCH_CACHE).
fail() { echo "workerd: $1" >&2; exit 2; }
decimal() { case "$1" in '' | *[!0-9]*) return 1 ;; *) [ "${#1}" -le 9 ] ;; esac; }

HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8088}
decimal "$PORT" && [ "$PORT" -le 65535 ] || fail "PORT=\"$PORT\" is not an integer in 0..=65535"
WORKERS=${WORKERS:-1}
decimal "$WORKERS" || fail "WORKERS=\"$WORKERS\" is not an integer in 1..=1024"
# One workerd process runs its isolates on one thread; more would be more processes, which workerd does not manage.
[ "$WORKERS" -eq 1 ] || fail "WORKERS=$WORKERS: workerd serves from one thread (WORKERS must be 1)"
case "${UPSTREAM_URL:-}" in
  '' | http://?* | https://?*) ;;
  *) fail "UPSTREAM_URL=\"$UPSTREAM_URL\" is not a URL" ;;
esac
export UPSTREAM_URL=${UPSTREAM_URL:-}
WORKERD=${WORKERD:-$RTBENCH_CACHE/node_modules/@cloudflare/workerd-linux-64/bin/workerd}
echo "workerd pid $$ listening on $HOST:$PORT"
exec "$WORKERD" serve config.capnp --socket-addr "http=$HOST:$PORT"
