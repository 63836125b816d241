//! rtbench's report: reads a run folder's `run.json`, computes per-cell statistics over the
//! trials, and renders tables and charts (work in progress: statistics first).
//!
//! Statistics live in one place ([`Spread`], [`group_trials`] and the functions beside them);
//! renderers and compare only format what they return.
//!
//! ```
//! use rtbench_report::{median, Spread};
//! assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
//! let s = Spread::of(&[90.0, 100.0, 110.0]).unwrap();
//! assert_eq!((s.min, s.median, s.max), (90.0, 100.0, 110.0));
//! ```
mod bootstrap;
mod compare;
mod stats;

pub use bootstrap::{median_change_interval, Interval, Rng, DEFAULT_RESAMPLES, DEFAULT_SEED};
pub use compare::{
    compare, load_run, render, CellComparison, CompareError, CompareFormat, Comparison, Metric,
    MetricComparison, Presence, RunInfo, Settings, SideStats, Thresholds, TrialCounts, Verdict,
    CONFIDENCE, MIN_TRIALS,
};
pub use stats::{
    group_trials, max, mean, median, min, quantile, sorted, stddev, Cell, CellKey, Spread,
};
