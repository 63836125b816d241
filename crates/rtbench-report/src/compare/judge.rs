//! The verdict of one metric, and for an undecided one an estimate of the trials that would decide
//! it. Kept apart so the judging rule is a few small functions.
//!
//! The rule (design.md, "Statistics for compare"): regression / improvement when the whole
//! interval lies beyond the gate; no change when the whole interval lies inside ±gate;
//! inconclusive otherwise. An interval that straddles the gate is never "no change": (−21%, −4%)
//! against a 5% gate may well hide a 20% drop.
use serde::Serialize;

use crate::bootstrap::Interval;

/// The outcome for one metric of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval lies beyond the gate in the bad direction.
    Regression,
    /// The whole interval lies beyond the gate in the good direction.
    Improvement,
    /// The whole interval lies inside ±gate.
    NoChange,
    /// The interval reaches across a gate boundary: the trials cannot tell.
    Inconclusive,
    /// The metric has no gate; the interval is shown for information.
    NotGated,
    /// Fewer than [`MIN_TRIALS`](super::MIN_TRIALS) ok trials on a side: no interval, no gate.
    InsufficientTrials,
    /// Only one side measured the metric, or the base median is 0.
    NotComparable,
    /// Beyond the gate, but more than half of the targets moved this metric the same way: a shift
    /// of the machine between the runs (see `shift`), not this target's change. Never fails a job.
    MachineShift,
}

impl Verdict {
    /// The verdict as tables show it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::NoChange => "no change",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotGated => "not gated",
            Verdict::InsufficientTrials => "insufficient trials",
            Verdict::NotComparable => "not comparable",
            Verdict::MachineShift => "machine-wide shift",
        }
    }
}

/// The verdict of interval `i` against gate `t`. The boundaries are strict: an interval end lying
/// exactly on the gate is not beyond it (so not a regression), and not inside it either (so not
/// "no change"): such an interval is inconclusive.
pub(crate) fn judge(i: Interval, t: f64, higher_is_better: bool) -> Verdict {
    let (worse, better) = if higher_is_better {
        (i.hi < -t, i.lo > t)
    } else {
        (i.lo > t, i.hi < -t)
    };
    if worse {
        Verdict::Regression
    } else if better {
        Verdict::Improvement
    } else if -t < i.lo && i.hi < t {
        Verdict::NoChange
    } else {
        Verdict::Inconclusive
    }
}

/// No estimate above this: a cell that needs more trials than this per side is, for a nightly job,
/// one that cannot be decided (the change sits on the gate).
pub const MAX_TRIALS_ESTIMATE: usize = 200;

/// How many ok trials per side would likely decide an inconclusive interval `i` against gate `t`,
/// measured with `n_base` and `n_current` trials. `None` when the estimate exceeds
/// [`MAX_TRIALS_ESTIMATE`] (the change lies on the gate itself).
///
/// The estimate: keep the interval's centre `c` (its midpoint) and shrink its half-width `h` the
/// way a standard error shrinks, with `sqrt(1/n_base + 1/n_current)`. The interval is decided once
/// the half-width is smaller than the distance `d = | |c| − t |` from the centre to the nearest gate
/// boundary (then it lies wholly beyond the gate, or wholly inside it). With `n` trials on both
/// sides the half-width is `h · sqrt((2/n) / (1/n_base + 1/n_current))`, so
/// `n > 2 / ((d/h)² · (1/n_base + 1/n_current))`; with equal sides, `n > n_base · (h/d)²`.
///
/// It is an estimate, not a promise: it assumes the centre stays put and the trial noise is what
/// these trials showed. A bootstrap over 3 trials also has a floor on its width, so the first
/// extra trials often help more than this says.
pub(crate) fn trials_to_decide(
    i: Interval,
    t: f64,
    n_base: usize,
    n_current: usize,
) -> Option<usize> {
    let centre = (i.lo + i.hi) / 2.0;
    let half = (i.hi - i.lo) / 2.0;
    let distance = (centre.abs() - t).abs();
    if n_base == 0 || n_current == 0 || distance <= 0.0 || !half.is_finite() {
        return None;
    }
    let inverse_sum = 1.0 / n_base as f64 + 1.0 / n_current as f64;
    let needed = 2.0 / ((distance / half).powi(2) * inverse_sum);
    // Strictly more than `needed`, and at least one more than the larger side already has.
    let n = (needed.floor() as usize + 1).max(n_base.max(n_current) + 1);
    (n <= MAX_TRIALS_ESTIMATE).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(lo: f64, hi: f64) -> Interval {
        Interval { lo, hi }
    }

    #[test]
    fn judge_needs_the_whole_interval_beyond_the_gate() {
        // rps: a drop is bad.
        assert_eq!(
            judge(interval(-0.21, -0.18), 0.05, true),
            Verdict::Regression
        );
        // Reaches from a 21% drop to a 4% drop: it may be a regression, it may be noise.
        assert_eq!(
            judge(interval(-0.21, -0.04), 0.05, true),
            Verdict::Inconclusive
        );
        assert_eq!(
            judge(interval(0.06, 0.09), 0.05, true),
            Verdict::Improvement
        );
        assert_eq!(judge(interval(-0.04, 0.03), 0.05, true), Verdict::NoChange);
        // latency: a rise is bad.
        assert_eq!(
            judge(interval(0.11, 0.20), 0.10, false),
            Verdict::Regression
        );
        assert_eq!(
            judge(interval(0.09, 0.20), 0.10, false),
            Verdict::Inconclusive
        );
        assert_eq!(
            judge(interval(-0.3, -0.11), 0.10, false),
            Verdict::Improvement
        );
        assert_eq!(judge(interval(-0.09, 0.09), 0.10, false), Verdict::NoChange);
    }

    /// Each verdict at its boundaries, both directions: an end exactly on the gate is neither
    /// beyond it nor inside it.
    #[test]
    fn verdicts_at_their_boundaries() {
        let t = 0.05;
        let eps = 1e-9;
        for higher_is_better in [true, false] {
            // `bad` is the sign of a change in the bad direction.
            let bad = if higher_is_better { -1.0 } else { 1.0 };
            let span = |a: f64, b: f64| interval(a.min(b), a.max(b));
            let v = |a: f64, b: f64| judge(span(a, b), t, higher_is_better);
            // Regression: the near end just beyond the gate; on it, inconclusive.
            assert_eq!(v(bad * (t + eps), bad * 0.3), Verdict::Regression);
            assert_eq!(v(bad * t, bad * 0.3), Verdict::Inconclusive);
            // Improvement, mirrored.
            assert_eq!(v(-bad * (t + eps), -bad * 0.3), Verdict::Improvement);
            assert_eq!(v(-bad * t, -bad * 0.3), Verdict::Inconclusive);
            // No change: both ends just inside; either end on the gate, inconclusive.
            assert_eq!(v(-(t - eps), t - eps), Verdict::NoChange);
            assert_eq!(v(-t, t - eps), Verdict::Inconclusive);
            assert_eq!(v(-(t - eps), t), Verdict::Inconclusive);
            // A point interval.
            assert_eq!(v(0.0, 0.0), Verdict::NoChange);
            // Wider than the whole gate on both sides.
            assert_eq!(v(-0.3, 0.3), Verdict::Inconclusive);
        }
    }

    #[test]
    fn trials_to_decide_scales_with_the_square_of_the_width() {
        // Centre −12.5%, half-width 8.5%, 7.5 points from the gate: 3 a side → 3·(8.5/7.5)² = 3.85.
        assert_eq!(
            trials_to_decide(interval(-0.21, -0.04), 0.05, 3, 3),
            Some(4)
        );
        // Centre −3%, half-width 6.5%: 2 points inside the gate → 5·(6.5/2)² = 52.8.
        assert_eq!(
            trials_to_decide(interval(-0.095, 0.035), 0.05, 5, 5),
            Some(53)
        );
        // Twice the width needs four times the trials: 3·(4.5/4)² = 3.8, 3·(9/4)² = 15.2.
        let narrow = trials_to_decide(interval(-0.055, 0.035), 0.05, 3, 3);
        let wide = trials_to_decide(interval(-0.10, 0.08), 0.05, 3, 3);
        assert_eq!((narrow, wide), (Some(4), Some(16)));
        // Unequal sides: 1/3 + 1/5 in place of 2/n.
        assert_eq!(
            trials_to_decide(interval(-0.21, -0.04), 0.05, 3, 5),
            Some(6)
        );
        // Centred on the gate: no number of trials decides it.
        assert_eq!(trials_to_decide(interval(-0.10, 0.0), 0.05, 5, 5), None);
        // Past the cap.
        assert_eq!(trials_to_decide(interval(-0.2, 0.12), 0.05, 5, 5), None);
    }
}
