//! The verdict of one metric: only an interval wholly beyond the gate counts. Kept apart so the
//! judging rule is one small function.
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
    /// The interval reaches inside the gate.
    NoChange,
    /// The metric has no gate; the interval is shown for information.
    NotGated,
    /// Fewer than [`MIN_TRIALS`](super::MIN_TRIALS) ok trials on a side: no interval, no gate.
    InsufficientTrials,
    /// Only one side measured the metric, or the base median is 0.
    NotComparable,
}

impl Verdict {
    /// The verdict as tables show it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::NoChange => "no change",
            Verdict::NotGated => "not gated",
            Verdict::InsufficientTrials => "insufficient trials",
            Verdict::NotComparable => "not comparable",
        }
    }
}

/// The verdict of interval `i` against gate `t`: only an interval wholly beyond the gate counts.
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
    } else {
        Verdict::NoChange
    }
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
        assert_eq!(judge(interval(-0.21, -0.04), 0.05, true), Verdict::NoChange);
        assert_eq!(
            judge(interval(0.06, 0.09), 0.05, true),
            Verdict::Improvement
        );
        // latency: a rise is bad.
        assert_eq!(
            judge(interval(0.11, 0.20), 0.10, false),
            Verdict::Regression
        );
        assert_eq!(judge(interval(0.09, 0.20), 0.10, false), Verdict::NoChange);
        assert_eq!(
            judge(interval(-0.3, -0.11), 0.10, false),
            Verdict::Improvement
        );
    }
}
