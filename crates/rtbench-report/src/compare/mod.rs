//! Two runs side by side: per cell (target × scenario × variant) and metric, the medians and spread
//! of each side, the relative change of the medians with a bootstrap 95% interval over the trials,
//! and a verdict gated by a noise threshold.
//!
//! Why an interval and a noise floor: on a shared machine two runs of the same build differ by a
//! few percent, and a gate on the point change alone cries wolf. A metric regresses only when the
//! whole interval lies beyond its threshold in the bad direction, so both the trial-to-trial noise
//! (the interval's width) and the run-to-run drift (the threshold) must be overcome.
mod comparison;
mod environment;
mod judge;
mod render;
mod shift;
mod thresholds;
mod within;

pub use comparison::{
    compare, CellComparison, Comparison, MetricComparison, Presence, RunInfo, Settings, SideStats,
    TrialCounts, Undecided,
};
pub use judge::{Verdict, MAX_TRIALS_ESTIMATE};
pub use render::{render, CompareFormat};
pub use shift::CompareShift;
pub use thresholds::{CompareError, Thresholds};
pub use within::{compare_within, Within};

/// Fewer ok trials than this on either side and no interval is computed: with one or two trials
/// the bootstrap can only return the observed values, which says nothing about the noise.
pub const MIN_TRIALS: usize = 3;

/// The confidence level of the interval.
pub const CONFIDENCE: f64 = 0.95;
