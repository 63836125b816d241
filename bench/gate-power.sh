#!/usr/bin/env bash
# Measured power and false alarms of `rtbench compare`'s gate (issue 15, item 5).
#
#   bench/gate-power.sh [--pairs N] [--trials "3 5"] [--duration 2s] [--out DIR] [--rtbench BIN]
#
# Method: node-http (native, Node 22) is run under a known handicap: RTBENCH_HANDICAP_NS makes its
# server spin that many ns of CPU per request before answering. First a calibration run (no
# handicap) measures its plaintext req/s R; a drop of f in req/s needs an extra
# (1/(1−f) − 1)/R seconds per request, so −5% and −10% get their own handicaps. Then, for each trial
# count T and each case (A/A: handicap 0 against 0; A/B: 0 against the −5% and −10% handicaps),
# N pairs of runs (a baseline run and a current run, back to back on this machine) are compared
# with the default gates, and the rps verdicts are tallied: regression, no change, inconclusive,
# improvement. Goals: ≥ 90% of 10% drops caught at 5 trials; ≤ 5% false regressions in A/A.
#
# Every figure depends on the machine and what else runs on it: run it on a quiet machine only.
# `--pairs 1 --trials 3 --duration 1s` is a smoke test of the script, not a measurement.
set -euo pipefail
die() { echo "gate-power: $*" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
pairs=10
trials_list="3 5"
duration=2s
out="$root/results/gate-power-$(date -u +%Y%m%dT%H%M%SZ)"
rtbench="$root/target/release/rtbench"
while [ $# -gt 0 ]; do
    case "$1" in
    --pairs) pairs="${2:?}"; shift 2 ;;
    --trials) trials_list="${2:?}"; shift 2 ;;
    --duration) duration="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --rtbench) rtbench="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || die "--pairs: '$pairs' is not a count"
[ -x "$rtbench" ] || die "$rtbench is not built (cargo build --release -p rtbench)"
command -v jq >/dev/null || die "jq not found (apt-get install jq)"
mkdir -p "$out"

suite() { # $1 = trials
    printf 'name = "gate-power"\ntrials = %s\n[[scenario]]\nname = "plaintext"\nvariants = ["c64"]\nduration = "%s"\nwarmup = "500ms"\n' \
        "$1" "$duration" > "$out/suite-$1.toml"
    echo "$out/suite-$1.toml"
}
run() { # $1 = handicap µs, $2 = trials, $3 = out dir
    RTBENCH_HANDICAP_NS="$1" "$rtbench" run --launcher native --targets node-http \
        --suite "$(suite "$2")" --root "$root" --out "$3" --quiet --no-report \
        || die "rtbench run failed ($3)"
}

run 0 1 "$out/calibration"
rps=$(jq '[.trials[] | select(.status == "ok") | .outcome.load.rps] | max' "$out/calibration/run.json")
[ "$rps" != null ] || die "calibration: no ok trial"
handicap() { awk -v r="$rps" -v f="$1" 'BEGIN { printf "%d", (1 / (1 - f) - 1) / r * 1e9 + 0.5 }'; }
h5=$(handicap 0.05)
h10=$(handicap 0.10)
echo "gate-power: calibration ${rps} req/s; handicaps: −5% = ${h5} ns, −10% = ${h10} ns per request"

printf '%-6s %-8s %6s %11s %10s %13s %12s %14s\n' trials case pairs regression "no change" inconclusive improvement \
    "median change" | tee "$out/table.txt"
for t in $trials_list; do
    for case in "A/A:0" "-5%:$h5" "-10%:$h10"; do
        name=${case%%:*}
        h=${case#*:}
        declare -A n=([regression]=0 [no_change]=0 [inconclusive]=0 [improvement]=0)
        changes=()
        for p in $(seq "$pairs"); do
            dir="$out/t$t-$(echo "$name" | tr -c 'a-zA-Z0-9' _)-$p"
            run 0 "$t" "$dir-base"
            run "$h" "$t" "$dir-current"
            set +e
            "$rtbench" compare "$dir-base" "$dir-current" --quiet --json "$dir.json"
            code=$?
            set -e
            [ "$code" -le 1 ] || die "compare failed ($dir)"
            rps_metric='[.cells[].metrics[] | select(.metric == "rps")][0]'
            v=$(jq -r "$rps_metric | .verdict" "$dir.json")
            n[$v]=$(( ${n[$v]:-0} + 1 ))
            changes+=("$(jq -r "$rps_metric | .change" "$dir.json")")
        done
        # The handicap's real effect: the median of the pairs' measured req/s changes.
        median=$(printf '%s\n' "${changes[@]}" | sort -g | awk '{ v[NR] = $1 } END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%+.1f%%", m * 100 }')
        printf '%-6s %-8s %6s %11s %10s %13s %12s %14s\n' "$t" "$name" "$pairs" "${n[regression]}" \
            "${n[no_change]}" "${n[inconclusive]}" "${n[improvement]}" "$median" | tee -a "$out/table.txt"
        unset n
    done
done
echo "gate-power: table in $out/table.txt"
