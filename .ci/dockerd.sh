#!/usr/bin/env bash
# Start or stop a private Docker daemon for rtbench's container launcher.
#
#   .ci/dockerd.sh start   start dockerd unless one already answers at $RTBENCH_DOCKER_HOST; wait until ready
#   .ci/dockerd.sh stop    stop the daemon this script started (found by its pidfile), nothing else
#   .ci/dockerd.sh env     print `export DOCKER_HOST=...` for eval
#
# The daemon runs without iptables or the default bridge (every rtbench container uses --network host), with its own
# data root, exec root and socket, so it never touches a system Docker and its images persist between runs.
set -euo pipefail

SOCK_PATH="${RTBENCH_DOCKER_SOCK:-/run/rtbench-docker.sock}"
DATA_ROOT="${RTBENCH_DOCKER_DATA_ROOT:-/var/lib/rtbench-docker}"
EXEC_ROOT="${RTBENCH_DOCKER_EXEC_ROOT:-/run/rtbench-docker}"
PIDFILE="${RTBENCH_DOCKER_PIDFILE:-/run/rtbench-dockerd.pid}"
LOG="${RTBENCH_DOCKER_LOG:-/tmp/rtbench-dockerd.log}"
HOST_URL="unix://$SOCK_PATH"

answers() {
    DOCKER_HOST="$HOST_URL" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start() {
    if answers; then
        echo "dockerd: already answering at $HOST_URL"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "dockerd: not found, installing docker.io with apt-get"
            # A fresh machine may have no package lists yet.
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1 || {
                apt-get update -q >/dev/null
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
            }
        else
            echo "dockerd: not found: install docker.io (apt-get install docker.io)" >&2
            return 1
        fi
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "dockerd: starting a daemon needs root" >&2
        return 1
    fi
    # A stale pidfile from a killed run would make dockerd refuse to start.
    if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        rm -f "$PIDFILE"
    fi
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    setsid dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2 \
        --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" -H "$HOST_URL" --pidfile "$PIDFILE" \
        >"$LOG" 2>&1 </dev/null &
    local pid=$!
    for _ in $(seq 1 300); do
        if answers; then
            echo "dockerd: ready at $HOST_URL (pid $pid, data root $DATA_ROOT, log $LOG)"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "dockerd: exited during start; last log lines:" >&2
            tail -n 20 "$LOG" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "dockerd: not ready after 30 s; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    return 1
}

stop() {
    if [ ! -f "$PIDFILE" ]; then
        echo "dockerd: no pidfile at $PIDFILE, nothing of ours to stop"
        return 0
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$PIDFILE"
        echo "dockerd: pid $pid already gone"
        return 0
    fi
    # Remove rtbench's containers first so no server outlives the daemon's shutdown.
    local ids
    ids="$(DOCKER_HOST="$HOST_URL" docker ps -aq --filter label=rtbench=1 2>/dev/null || true)"
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        DOCKER_HOST="$HOST_URL" docker rm -f $ids >/dev/null 2>&1 || true
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "dockerd: stopped (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    echo "dockerd: killed (pid $pid) after 15 s"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) echo "export DOCKER_HOST=$HOST_URL" ;;
*)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
