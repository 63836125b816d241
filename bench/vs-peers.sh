#!/usr/bin/env bash
# rtbench's load engine against its peers (wrk, oha) on one hello-world server.
#
# Builds release, starts a hello-world server pinned to SERVER_CPU (the Axum reference target when
# targets/axum exists, else rtbench-load's example hello_server), then alternates wrk, oha (when
# installed) and rtbench, each pinned to CLIENT_CPU with taskset, with the same connections and
# duration, for ROUNDS rounds (the order rotates every round). Prints per client the median req/s,
# the median client CPU per request (user+sys from /usr/bin/time, over the client's whole process),
# the median max RSS, and the ratios rtbench/wrk and rtbench/oha (rtbench-uring/rtbench-epoll too).
#
# Compare clients by CPU per request, not by req/s alone: on a saturated server, req/s also depends
# on how the client's timing lets the server batch. Run it on an otherwise idle machine.
#
# IO names rtbench's I/O backends to run (`rtbench load --io`), each as a client of its own
# (rtbench-epoll, rtbench-uring) in the same rotation: IO="epoll uring" compares them side by side
# and prints uring/epoll ratios.
#
# Usage: bench/vs-peers.sh            (env: DURATION=5 CONNS=64 ROUNDS=3 SERVER_CPU=1 CLIENT_CPU=0
#                                        PORT=18080 URL_PATH=/plaintext IO=epoll)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
PORT=${PORT:-18080}
URL_PATH=${URL_PATH:-/plaintext}
IO=${IO:-epoll}
URL="http://127.0.0.1:${PORT}${URL_PATH}"
WORK=$(mktemp -d)
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

RTBENCH_CLIENTS=()
for io in $IO; do
    case $io in
    epoll | uring) RTBENCH_CLIENTS+=("rtbench-$io") ;;
    *) echo "vs-peers: IO='$IO': each word must be epoll or uring" >&2; exit 2 ;;
    esac
done
[[ ${#RTBENCH_CLIENTS[@]} -gt 0 ]] || { echo "vs-peers: IO is empty: give epoll, uring or both" >&2; exit 2; }

need() { command -v "$1" >/dev/null || { echo "vs-peers: $1 is required ($2)" >&2; exit 2; }; }
need taskset "apt-get install util-linux"
need wrk "apt-get install wrk"
[[ -x /usr/bin/time ]] || { echo "vs-peers: /usr/bin/time is required (apt-get install time)" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p rtbench
RTBENCH="$ROOT/target/release/rtbench"

if [[ -f "$ROOT/targets/axum/Cargo.toml" ]]; then
    SERVER_NAME="targets/axum"
    SERVER_BIN=$(cargo build --release --manifest-path "$ROOT/targets/axum/Cargo.toml" \
        --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
    [[ -x "$SERVER_BIN" ]] || { echo "vs-peers: building targets/axum failed" >&2; exit 2; }
    SERVER_CMD=("$SERVER_BIN")
else
    SERVER_NAME="rtbench-load example hello_server (targets/axum not present)"
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p rtbench-load --example hello_server
    SERVER_CMD=("$ROOT/target/release/examples/hello_server" "$PORT")
fi

echo "== server: $SERVER_NAME on CPU $SERVER_CPU, $URL" >&2
PORT=$PORT WORKERS=1 taskset -c "$SERVER_CPU" "${SERVER_CMD[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "vs-peers: server died:" >&2; cat "$WORK/server.log" >&2; exit 2; }
    sleep 0.1
done
curl -sf -o /dev/null "$URL" || { echo "vs-peers: $URL does not answer 200" >&2; exit 2; }

CLIENTS=(wrk "${RTBENCH_CLIENTS[@]}")
if command -v oha >/dev/null; then CLIENTS=(wrk oha "${RTBENCH_CLIENTS[@]}"); else echo "== oha not installed (cargo install oha --locked): skipped" >&2; fi

# Runs one client; prints "req/s cpu_seconds max_rss_kb".
run_client() {
    local client=$1 out="$WORK/out" t="$WORK/time" rps
    case $client in
    wrk)
        /usr/bin/time -f "%U %S %M" -o "$t" taskset -c "$CLIENT_CPU" \
            wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL" >"$out" 2>&1
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
        ;;
    oha)
        /usr/bin/time -f "%U %S %M" -o "$t" taskset -c "$CLIENT_CPU" \
            oha --no-tui -c "$CONNS" -z "${DURATION}s" "$URL" >"$out" 2>&1
        rps=$(awk '/Requests\/sec:/ {print $2; exit}' "$out")
        ;;
    rtbench-*)
        /usr/bin/time -f "%U %S %M" -o "$t" taskset -c "$CLIENT_CPU" \
            "$RTBENCH" load "$URL" -c "$CONNS" -d "${DURATION}s" --cpus "$CLIENT_CPU" \
            --io "${client#rtbench-}" --json >"$out" 2>&1
        rps=$(grep -o '"rps": *[0-9.e+]*' "$out" | awk -F: '{print $2+0}')
        ;;
    esac
    if [[ -z "$rps" ]]; then
        echo "vs-peers: $client printed no rate:" >&2
        cat "$out" >&2
        exit 2
    fi
    awk -v rps="$rps" 'END {print rps, $1 + $2, $3}' "$t"
}

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
    n=${#CLIENTS[@]}
    for i in $(seq 0 $((n - 1))); do
        client=${CLIENTS[$(((i + round - 1) % n))]}
        line=$(run_client "$client")
        echo "round $round  $client  $line  (req/s cpu_s max_rss_kb)" >&2
        RESULTS[$client]+="$line"$'\n'
        sleep 1
    done
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo
echo "vs-peers: $SERVER_NAME, $CONNS connections, ${DURATION}s x $ROUNDS rounds, server CPU $SERVER_CPU, client CPU $CLIENT_CPU"
printf "%-14s %12s %22s %14s\n" client "req/s" "client CPU ns/request" "max RSS MB"
declare -A RPS NS RSS
for client in "${CLIENTS[@]}"; do
    rows=${RESULTS[$client]}
    RPS[$client]=$(awk 'NF {print $1}' <<<"$rows" | median)
    NS[$client]=$(awk -v d="$DURATION" 'NF {print $2 * 1e9 / ($1 * d)}' <<<"$rows" | median)
    RSS[$client]=$(awk 'NF {print $3 / 1024}' <<<"$rows" | median)
    printf "%-14s %12.0f %22.0f %14.1f\n" "$client" "${RPS[$client]}" "${NS[$client]}" "${RSS[$client]}"
done
ratio() {
    awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" -v c="${NS[$1]}" -v d="${NS[$2]}" -v n="$1/$2" \
        'BEGIN {printf "%s: req/s %.2fx, CPU per request %.2fx\n", n, a / b, c / d}'
}
for rt in "${RTBENCH_CLIENTS[@]}"; do
    for peer in wrk oha; do
        if [[ -n "${RPS[$peer]:-}" ]]; then ratio "$rt" "$peer"; fi
    done
done
if [[ -n "${RPS[rtbench-uring]:-}" && -n "${RPS[rtbench-epoll]:-}" ]]; then
    ratio rtbench-uring rtbench-epoll
fi
