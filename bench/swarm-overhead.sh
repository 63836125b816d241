#!/usr/bin/env bash
# The swarm path's cost (issue 16's goals): req/s of one agent run through Docker Swarm against a
# plain `rtbench load` on the same server, alternating rounds; then the start skew of 3 agents.
#
#   bench/swarm-overhead.sh [--rounds N] [--duration 5s] [--rtbench BIN]
#
# Server: the go-nethttp target's binary from .cache (provision it first, e.g. `rtbench verify
# go-nethttp --launcher native`), pinned to CPU 1; every client pinned to CPU 0 (--cpus 0), 64
# connections. The swarm side runs `rtbench load --agents 1` (agent image built by `rtbench images`)
# on a single-node swarm this script initialises and leaves. Needs a Docker daemon (DOCKER_HOST)
# that is in no swarm. Prints each round, then medians and the ratio swarm/plain; the goal is
# within 5%. Skew: `--agents 3` rounds; the goal is ≤ 5 ms. Quiet machine only.
set -euo pipefail
die() { echo "swarm-overhead: $*" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=5
duration=5s
rtbench="$root/target/release/rtbench"
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="${2:?}"; shift 2 ;;
    --duration) duration="${2:?}"; shift 2 ;;
    --rtbench) rtbench="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds: '$rounds' is not a count"
[ -x "$rtbench" ] || die "$rtbench is not built (cargo build --release -p rtbench)"
server_bin="$root/.cache/targets/go-nethttp/go-nethttp"
[ -x "$server_bin" ] || die "$server_bin missing: rtbench verify go-nethttp --launcher native provisions it"
command -v jq >/dev/null || die "jq not found (apt-get install jq)"
[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = inactive ] || die "this daemon is already in a swarm"

port=18391
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    docker swarm leave --force >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
HOST=127.0.0.1 PORT=$port WORKERS=1 taskset -c 1 "$server_bin" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || die "go-nethttp did not answer on port $port"
docker swarm init --advertise-addr 127.0.0.1 >/dev/null
url="http://127.0.0.1:$port/plaintext"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
plain=()
swarm=()
for r in $(seq "$rounds"); do
    p=$("$rtbench" load "$url" -c 64 -d "$duration" --cpus 0 --json | jq '.summary.rps // .rps')
    s=$("$rtbench" load "$url" --agents 1 -c 64 -d "$duration" --cpus 0 --agents-start-in 3s --json \
        | jq '.summary.rps')
    echo "round $r: plain $p req/s, swarm (1 agent) $s req/s"
    plain+=("$p")
    swarm+=("$s")
done
mp=$(printf '%s\n' "${plain[@]}" | median)
ms=$(printf '%s\n' "${swarm[@]}" | median)
awk -v p="$mp" -v s="$ms" 'BEGIN { printf "median: plain %.0f req/s, swarm %.0f req/s, swarm/plain %.3f\n", p, s, s / p }'

skews=()
for r in $(seq "$rounds"); do
    k=$("$rtbench" load "$url" --agents 3 -c 12 -d 2s --cpus 0 --agents-start-in 4s --json | jq '.start_skew_ms')
    echo "round $r: start skew across 3 agents $k ms"
    skews+=("$k")
done
echo "median start skew: $(printf '%s\n' "${skews[@]}" | median) ms (max $(printf '%s\n' "${skews[@]}" | sort -g | tail -1) ms)"
