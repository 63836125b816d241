#!/usr/bin/env bash
# Runs .github/workflows/nightly.yml's job here the way a hosted runner runs it: its steps in
# order (parsed with PyYAML by .ci/workflow_steps.py), as a non-root user whose Docker is a daemon
# it reaches through the socket's group, with the suite cut to .ci/smoke-suite.toml and two
# targets through RTBENCH_NIGHTLY_SUITE and RTBENCH_NIGHTLY_TARGETS (variables the workflow reads). Only what needs GitHub is stubbed:
# checkout (this repository is the workspace), toolchain actions (the machine's toolchain),
# artifacts, gh and gh-pages (folders under a scratch directory).
#
#   bash .ci/workflow-steps.sh          as root; used by .ci/run
#
# Two nightlies run back to back (the second finds the first's results as its baseline and its
# history artifact), then one with a suite that does not exist, which must fail the job. ci.yml's
# one step is `bash .ci/run` itself, which runs this script: it is linted (check-workflows.sh) and
# its actions checked for stubs, not run from here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
user=rtbench-ci
say() { echo "workflow-steps: $*"; }
[ "$(id -u)" = 0 ] || { say "run as root: it creates the user and gives it Docker access" >&2; exit 2; }

# Docker: rtbench's private daemon (already started by .ci/run), reached by the user through the
# socket's group, as the docker group reaches a runner's daemon.
eval "$(.ci/dockerd.sh env)"
.ci/dockerd.sh start >/dev/null
sock=${DOCKER_HOST#unix://}
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
group=$(stat -c %G "$sock")
if [ "$group" = root ]; then
    getent group rtbench-docker >/dev/null || groupadd rtbench-docker
    group=rtbench-docker
    chgrp "$group" "$sock"
fi
chmod 660 "$sock"
usermod -aG "$group" "$user"

# PyYAML in a venv (the YAML is parsed, not grepped).
venv=/opt/rtbench-workflow-venv
if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pyyaml
fi

# The toolchain actions' stand-in: root's rustup toolchain and crate cache, read-only (/root is
# made traversable, nothing in it writable); cargo works offline from the filled cache, as after
# rust-cache's restore.
cargo_bin=$(dirname "$(command -v cargo)")
case "$cargo_bin" in /root/*) chmod o+x /root ;; esac
tool_path="$cargo_bin:$(dirname "$(command -v go 2>/dev/null || echo /usr/bin/go)"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The checkout's stand-in: this repository is the workspace, owned by the user while the job runs.
owner=$(stat -c %u:%g .)
stub=$(mktemp -d /tmp/rtbench-workflow-XXXXXX)
restore() {
    chown -R "$owner" "$repo"
    rm -rf "$stub"
}
trap restore EXIT
chown -R "$user:" . "$stub"
mkdir -p "$stub/bin"
cat > "$stub/bin/gh" <<'GH'
#!/usr/bin/env bash
# gh stand-in: `run list` names run 1 once a previous job uploaded artifacts; `run download`
# copies that artifact (exit 1 when there is none, as gh does).
set -euo pipefail
case "$1 $2" in
    "run list") if [ -d "$STUB_DIR/artifacts" ]; then echo 1; fi ;;
    "run download")
        shift 2
        name="" dir=.
        while [ $# -gt 0 ]; do
            case "$1" in --name) name=$2; shift ;; --dir) dir=$2; shift ;; esac
            shift
        done
        [ -d "$STUB_DIR/artifacts/$name" ] || { echo "gh: no artifact $name" >&2; exit 1; }
        mkdir -p "$dir" && cp -r "$STUB_DIR/artifacts/$name/." "$dir/" ;;
    *) echo "gh stub: unsupported: $*" >&2; exit 2 ;;
esac
GH
chmod 755 "$stub/bin/gh"
chown -R "$user:" "$stub"

# One nightly job as the user; $1 = the suite. A fresh workspace each time: only the outputs of
# the last job are removed (target/ stays, as rust-cache would restore it).
nightly() {
    rm -rf results/nightly results/upgrades baseline history compare-report trend-report site "$stub/step-summary.md"
    runuser -u "$user" -- env -i HOME="/home/$user" USER="$user" PATH="$tool_path" \
        RUSTUP_HOME="${RUSTUP_HOME:-/root/.rustup}" CARGO_HOME="${CARGO_HOME:-/root/.cargo}" \
        CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never DOCKER_HOST="$DOCKER_HOST" \
        RTBENCH_NIGHTLY_SUITE="$1" RTBENCH_NIGHTLY_TARGETS="$smoke_targets" \
        RTBENCH_NIGHTLY_UPGRADES="$smoke_upgrades" \
        "$venv/bin/python" .ci/workflow_steps.py .github/workflows/nightly.yml nightly "$stub"
}
fail() { say "FAILED: $*" >&2; exit 1; }
# Two targets keep it smoke-sized; `rtbench verify` and the quick suite in .ci/run cover them all.
smoke_targets=axum,go-nethttp
# One runtime-upgrade pair, judged within its own interleaved run.
smoke_upgrades=node-http@22,node-http@24

"$venv/bin/python" .ci/workflow_steps.py --check .github/workflows/ci.yml test

say "nightly 1 of 2 (no baseline, no history yet)"
nightly "$repo/.ci/smoke-suite.toml" || fail "the first nightly job failed"
say "nightly 2 of 2 (baseline and history from the first)"
nightly "$repo/.ci/smoke-suite.toml" || fail "the second nightly job failed"
history="$stub/artifacts/nightly-history/history.jsonl"
runs=$(grep -o '"run_id":"[^"]*"' "$history" | sort -u | wc -l)
[ "$runs" = 2 ] || fail "the history artifact holds $runs runs, expected 2"
grep -q "rtbench trend" "$stub/step-summary.md" || fail "no trend in the job summary"
grep -q "^| " "$stub/artifacts/nightly-report/compare-report/compare.md" \
    || fail "the second nightly compared nothing"
[ -f "$stub/pages/nightly/history.jsonl" ] || fail "the history is not on the pages"
[ -f "$stub/pages/nightly/latest/trend/trend.md" ] || fail "the trend is not on the pages"
[ -f "$stub/artifacts/nightly-results/run.json" ] || fail "no results artifact"
grep -q "within run .*base node-http@22 (v22.23.3), current node-http@24 (v24.21.0)" \
    "$stub/artifacts/nightly-report/compare-report/upgrade-node-http-22_node-http-24.md" \
    || fail "the runtime upgrade was not compared within its run"

say "a nightly whose suite does not exist must fail the job"
if nightly "no-such-suite"; then fail "the job passed without results"; fi
leftover=$(docker ps -aq --filter label=rtbench=1)
[ -z "$leftover" ] || fail "containers left behind: $leftover"
say "ok: nightly.yml ran as $user (2 runs, history of $runs runs, trend and compare published; a failed run fails the job)"
