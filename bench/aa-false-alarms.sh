#!/usr/bin/env bash
# A/A false-alarm rate of `rtbench compare`: two runs of the same build must compare clean.
#
#   bench/aa-false-alarms.sh [OPTIONS] RUN_DIR RUN_DIR [RUN_DIR RUN_DIR ...]
#       Pairs the run folders in order (1st vs 2nd, 3rd vs 4th, ...) and compares each pair.
#   bench/aa-false-alarms.sh [OPTIONS] --produce N
#       First makes 2N runs of the same build with `rtbench run` (into --out), then pairs them.
#
# Options:
#   --produce N          make 2N runs first (sequentially; nothing else should load the machine)
#   --suite SUITE        suite for --produce (default bench/aa-suite.toml: plaintext+json, 5 trials;
#                        `quick` has 1 trial a cell, which compare never gates)
#   --out DIR            where produced runs and compare outputs go (default results/aa-<UTC stamp>)
#   --rtbench BIN        the rtbench binary (default target/release/rtbench, built when missing)
#   --run-args "ARGS"    extra arguments for `rtbench run` (e.g. "--launcher docker --targets axum")
#   --max-rate PCT       exit 1 when the false-alarm rate is above PCT (default 5)
#   --                   everything after is passed to `rtbench compare` (e.g. --gate p99=15%)
#
# Output: one line per compare (exit code and compare's summary), then
#   "A/A false alarms: K of N compares (R%) ..." — a false alarm is a compare that exits 1.
# A compare that exits 2 (unreadable run) is counted apart and makes this script exit 2.
set -euo pipefail

die() {
    echo "aa-false-alarms: $*" >&2
    exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
produce=0
suite="$root/bench/aa-suite.toml"
out=""
rtbench="$root/target/release/rtbench"
run_args=""
max_rate=5
runs=()
compare_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --produce) produce="${2:?--produce needs N}"; shift 2 ;;
    --suite) suite="${2:?--suite needs a name or file}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --rtbench) rtbench="${2:?--rtbench needs a path}"; shift 2 ;;
    --run-args) run_args="${2-}"; shift 2 ;;
    --max-rate) max_rate="${2:?--max-rate needs a percentage}"; shift 2 ;;
    --) shift; compare_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) runs+=("$1"); shift ;;
    esac
done
[[ "$produce" =~ ^[0-9]+$ ]] || die "--produce: '$produce' is not a count"
[[ "$max_rate" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--max-rate: '$max_rate' is not a percentage"
[ -n "$out" ] || out="$root/results/aa-$(date -u +%Y%m%dT%H%M%SZ)"

if [ ! -x "$rtbench" ]; then
    [ "$rtbench" = "$root/target/release/rtbench" ] || die "--rtbench: $rtbench is not executable"
    echo "aa-false-alarms: building rtbench (release)" >&2
    (cd "$root" && cargo build --release --quiet -p rtbench) || die "cargo build failed"
fi

mkdir -p "$out"
if [ "$produce" -gt 0 ]; then
    for i in $(seq 1 $((2 * produce))); do
        dir="$out/run-$(printf %02d "$i")"
        echo "aa-false-alarms: run $i of $((2 * produce)) → $dir" >&2
        # shellcheck disable=SC2086 # run_args is a list of words by design
        (cd "$root" && "$rtbench" run --suite "$suite" --out "$dir" --quiet --no-report $run_args) ||
            die "rtbench run failed for $dir"
        runs+=("$dir")
    done
fi

[ "${#runs[@]}" -ge 2 ] || die "need at least two run folders (or --produce N); see --help"
[ $(("${#runs[@]}" % 2)) -eq 0 ] || echo "aa-false-alarms: odd number of runs; the last one is unused" >&2

pairs=0 alarms=0 errors=0 insufficient=0
for ((i = 0; i + 1 < ${#runs[@]}; i += 2)); do
    base="${runs[i]}" current="${runs[i + 1]}"
    pairs=$((pairs + 1))
    json="$out/compare-$(printf %02d "$pairs").json"
    set +e
    text=$("$rtbench" compare "$base" "$current" --json "$json" "${compare_args[@]}" 2>&1)
    code=$?
    set -e
    summary=$(printf '%s\n' "$text" | tail -n 1)
    case "$code" in
    0) ;;
    1) alarms=$((alarms + 1)) ;;
    *) errors=$((errors + 1)) ;;
    esac
    if [ -f "$json" ] && [ "$code" -le 1 ]; then
        n=$(grep -c '"verdict": "insufficient_trials"' "$json" || true)
        insufficient=$((insufficient + n))
    fi
    printf 'pair %d: %s vs %s → exit %d: %s\n' "$pairs" "$base" "$current" "$code" "$summary"
done

rate=$(awk -v a="$alarms" -v n="$pairs" 'BEGIN { printf "%.1f", n ? 100 * a / n : 0 }')
echo "A/A false alarms: $alarms of $pairs compares ($rate%) exited 1; $errors exited 2 (errors)"
if [ "$insufficient" -gt 0 ]; then
    echo "warning: $insufficient metric rows had fewer than 3 trials a side and were never gated:" \
        "use a suite with trials >= 3 (e.g. bench/aa-suite.toml) for a meaningful rate" >&2
fi
[ "$errors" -eq 0 ] || exit 2
awk -v r="$rate" -v m="$max_rate" 'BEGIN { exit !(r <= m) }' || {
    echo "aa-false-alarms: rate $rate% is above --max-rate $max_rate%" >&2
    exit 1
}
