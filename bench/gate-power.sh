#!/usr/bin/env bash
# Measured power and false alarms of `rtbench compare`'s gate (issue 15, item 5).
#
#   bench/gate-power.sh [--mode "runs within"] [--pairs N] [--trials "3 5"] [--duration D] [--warmup W]
#                       [--out DIR] [--cases "A/A -5% -10%"] [--handicaps "NS5 NS10"] [--rtbench BIN]
#                       [--slices N]
#
# --duration and --warmup default to the plaintext scenario's own (10 s after 2 s, what the nightly
# gates on): the power of a shortened cell (e.g. 2s after 500ms, faster to tally) is not the
# nightly's.
#
# --handicaps skips the calibration and uses these ns for −5% and −10% (e.g. an earlier run's).
#
# Method: node-http (native, Node 22) is run under a known handicap: RTBENCH_HANDICAP_NS makes its
# server spin that many ns of CPU per request before answering. First a calibration run (no
# handicap) measures its plaintext req/s R; a drop of f in req/s needs an extra
# (1/(1−f) − 1)/R seconds per request, so −5% and −10% get their own handicaps, each then measured
# in one interleaved run and rescaled to the drop it should give. Then, for each trial
# count T and each case (A/A: handicap 0 against 0; A/B: 0 against the −5% and −10% handicaps),
# N pairs of runs (a baseline run and a current run, back to back on this machine) are compared
# with the default gates, and the rps verdicts are tallied: regression, no change, inconclusive,
# improvement. Goals: ≥ 90% of 10% drops caught at 5 trials; ≤ 5% false regressions in A/A.
#
# Two modes (--mode, default both):
#   runs    each pair is two runs back to back, `rtbench compare BASE CURRENT` (the nightly's
#           run-to-run gate; between-run machine shifts land in the interval).
#   within  each pair is ONE run of node-http and a copy of it, node-http-handicap, interleaved
#           round by round, judged by `rtbench compare RUN --within node-http,node-http-handicap`
#           (the version-upgrade gate; paired by round). The copy lives in a scratch root under
#           the output folder (its own target.toml, provisioned once), so the real targets stay as
#           they are. --slices N runs them with `rtbench run --slices N`: both up at once, each
#           cell's measured window taken in N alternating slices (the table's mode reads within/sN).
#
# Every figure depends on the machine and what else runs on it: run it on a quiet machine only.
# `--pairs 1 --trials 3 --duration 1s --warmup 200ms` is a smoke test of the script, not a measurement.
set -euo pipefail
die() { echo "gate-power: $*" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
pairs=10
modes="runs within"
cases="A/A -5% -10%"
handicaps=""
trials_list="3 5"
duration=""
warmup=""
slices=""
out="$root/results/gate-power-$(date -u +%Y%m%dT%H%M%SZ)"
rtbench="$root/target/release/rtbench"
while [ $# -gt 0 ]; do
    case "$1" in
    --mode) modes="${2:?}"; shift 2 ;;
    --cases) cases="${2:?}"; shift 2 ;;
    --handicaps) handicaps="${2:?}"; shift 2 ;;
    --pairs) pairs="${2:?}"; shift 2 ;;
    --trials) trials_list="${2:?}"; shift 2 ;;
    --duration) duration="${2:?}"; shift 2 ;;
    --warmup) warmup="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --rtbench) rtbench="${2:?}"; shift 2 ;;
    --slices) slices="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || die "--pairs: '$pairs' is not a count"
[ -z "$slices" ] || [[ "$slices" =~ ^[1-9][0-9]*$ ]] || die "--slices: '$slices' is not a count"
for m in $modes; do [ "$m" = runs ] || [ "$m" = within ] || die "--mode: '$m' is neither runs nor within"; done
[ -x "$rtbench" ] || die "$rtbench is not built (cargo build --release -p rtbench)"
command -v jq >/dev/null || die "jq not found (apt-get install jq)"
mkdir -p "$out"

suite() { # $1 = trials; the scenario's own duration and warm-up unless --duration / --warmup
    {
        printf 'name = "gate-power"\ntrials = %s\n[[scenario]]\nname = "plaintext"\nvariants = ["c64"]\n' "$1"
        [ -z "$duration" ] || printf 'duration = "%s"\n' "$duration"
        [ -z "$warmup" ] || printf 'warmup = "%s"\n' "$warmup"
    } > "$out/suite-$1.toml"
    echo "$out/suite-$1.toml"
}
run() { # $1 = handicap ns, $2 = trials, $3 = out dir
    RTBENCH_HANDICAP_NS="$1" "$rtbench" run --launcher native --targets node-http \
        --suite "$(suite "$2")" --root "$root" --out "$3" --quiet --no-report \
        || die "rtbench run failed ($3)"
}

# The scratch root of the within mode: the real scenarios, node-http itself, and a copy of it
# whose server spins $GATE_POWER_HANDICAP_NS per request (node-http keeps RTBENCH_HANDICAP_NS=0).
scratch="$out/root"
mkdir -p "$scratch/targets"
ln -sfn "$root/scenarios" "$scratch/scenarios"
ln -sfn "$root/targets/node-http" "$scratch/targets/node-http"
rm -rf "$scratch/targets/node-http-handicap"
cp -r "$root/targets/node-http" "$scratch/targets/node-http-handicap"
sed -i -e 's/^name = "node-http"$/name = "node-http-handicap"/' \
    -e 's/^start = "exec /start = "export RTBENCH_HANDICAP_NS=\\"${GATE_POWER_HANDICAP_NS:-0}\\"; exec /' \
    "$scratch/targets/node-http-handicap/target.toml"
grep -q '^name = "node-http-handicap"$' "$scratch/targets/node-http-handicap/target.toml" &&
    grep -q '^start = "export RTBENCH_HANDICAP_NS' "$scratch/targets/node-http-handicap/target.toml" ||
    die "targets/node-http/target.toml changed shape: cannot derive node-http-handicap from it"
run_within() { # $1 = handicap ns, $2 = trials, $3 = out dir
    GATE_POWER_HANDICAP_NS="$1" RTBENCH_HANDICAP_NS=0 RTBENCH_CACHE="$root/.cache" "$rtbench" run \
        --launcher native --targets node-http,node-http-handicap --suite "$(suite "$2")" \
        --root "$scratch" --out "$3" --quiet --no-report ${slices:+--slices "$slices"} ||
        die "rtbench run failed ($3)"
}

if [ -n "$handicaps" ]; then
    read -r h5 h10 <<<"$handicaps"
    [[ "$h5" =~ ^[0-9]+$ && "$h10" =~ ^[0-9]+$ ]] || die "--handicaps: '$handicaps' is not two ns counts"
    echo "gate-power: handicaps as given: −5% = ${h5} ns, −10% = ${h10} ns per request"
else
    run 0 1 "$out/calibration"
    rps=$(jq '[.trials[] | select(.status == "ok") | .outcome.load.rps] | max' "$out/calibration/run.json")
    [ "$rps" != null ] || die "calibration: no ok trial"
    handicap() { awk -v r="$rps" -v f="$1" 'BEGIN { printf "%d", (1 / (1 - f) - 1) / r * 1e9 + 0.5 }'; }
    h5=$(handicap 0.05)
    h10=$(handicap 0.10)
    echo "gate-power: calibration ${rps} req/s; nominal handicaps: −5% = ${h5} ns, −10% = ${h10} ns per request"
    # The spin's own calls (and the machine) make the nominal handicaps miss: measure both nominal
    # handicaps' real drops (one interleaved run of 5 trials each), fit extra time per request = k ×
    # handicap through both points (least squares through the origin: one noisy point cannot swing
    # it alone) and solve for −5% and −10%.
    measured_change() { # $1 = handicap ns → the paired median change in req/s
        run_within "$1" 5 "$out/calibration-$1" >&2
        set +e
        "$rtbench" compare "$out/calibration-$1" --within node-http,node-http-handicap --quiet \
            --json "$out/calibration-$1.json" >&2
        [ $? -le 1 ] || die "calibration compare failed"
        set -e
        jq -r '[.cells[].metrics[] | select(.metric == "rps")][0].change' "$out/calibration-$1.json"
    }
    c5=$(measured_change "$h5")
    c10=$(measured_change "$h10")
    echo "gate-power: nominal $h5 ns measured $c5, nominal $h10 ns measured $c10 (paired median changes)"
    read -r h5 h10 < <(awk -v h1="$h5" -v h2="$h10" -v c1="$c5" -v c2="$c10" 'BEGIN {
        e1 = 1 / (1 + c1) - 1; e2 = 1 / (1 + c2) - 1     # extra time per request, in units of 1/R
        k = (e1 * h1 + e2 * h2) / (h1 * h1 + h2 * h2)
        if (k <= 0) { print h1, h2; exit }                 # no usable fit: keep the nominal ones
        printf "%d %d\n", (1 / 0.95 - 1) / k + 0.5, (1 / 0.90 - 1) / k + 0.5 }')
    echo "gate-power: calibrated handicaps: −5% = ${h5} ns, −10% = ${h10} ns per request"
fi

printf '%-10s %-6s %-8s %6s %11s %10s %13s %12s %14s\n' mode trials case pairs regression "no change" \
    inconclusive improvement "median change" | tee "$out/table.txt"
for mode in $modes; do
for t in $trials_list; do
    for name in $cases; do
        case "$name" in
        A/A) h=0 ;;
        -5%) h=$h5 ;;
        -10%) h=$h10 ;;
        *) die "--cases: '$name' is none of A/A -5% -10%" ;;
        esac
        declare -A n=([regression]=0 [no_change]=0 [inconclusive]=0 [improvement]=0)
        changes=()
        for p in $(seq "$pairs"); do
            dir="$out/$mode-t$t-$(echo "$name" | tr -c 'a-zA-Z0-9' _)-$p"
            set +e
            if [ "$mode" = runs ]; then
                run 0 "$t" "$dir-base"
                run "$h" "$t" "$dir-current"
                "$rtbench" compare "$dir-base" "$dir-current" --quiet --json "$dir.json"
            else
                run_within "$h" "$t" "$dir"
                "$rtbench" compare "$dir" --within node-http,node-http-handicap --quiet --json "$dir.json"
            fi
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
        label=$mode
        [ "$mode" = runs ] || [ -z "$slices" ] || label="within/s$slices"
        printf '%-10s %-6s %-8s %6s %11s %10s %13s %12s %14s\n' "$label" "$t" "$name" "$pairs" \
            "${n[regression]}" "${n[no_change]}" "${n[inconclusive]}" "${n[improvement]}" "$median" |
            tee -a "$out/table.txt"
        unset n
    done
done
done
echo "gate-power: table in $out/table.txt"
