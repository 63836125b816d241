//! Statistics over trials: the only place figures are computed. Renderers and compare read what
//! these functions return and only format it.
//!
//! Every function takes the raw per-trial values and returns `None` for an empty slice, so a cell
//! with no finished trial can never be mistaken for a measured zero.

use std::collections::BTreeMap;

use rtbench_results::{Trial, TrialStatus};

pub use rtbench_results::{median, sorted};

/// Arithmetic mean.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Smallest value.
pub fn min(values: &[f64]) -> Option<f64> {
    values.iter().copied().min_by(f64::total_cmp)
}

/// Largest value.
pub fn max(values: &[f64]) -> Option<f64> {
    values.iter().copied().max_by(f64::total_cmp)
}

/// Sample standard deviation (n − 1 denominator); 0 for a single value.
pub fn stddev(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    if values.len() < 2 {
        return Some(0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

pub use rtbench_results::quantile;

/// Centre and spread of one metric over the trials of one cell.
///
/// Error bars in the report are drawn from `min` to `max` of the trials: with the usual 3–5
/// trials an interquartile range is barely defined, and min–max hides nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Number of values.
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// First quartile (type 7).
    pub q1: f64,
    /// Third quartile (type 7).
    pub q3: f64,
    /// Sample standard deviation.
    pub stddev: f64,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none. Non-finite values are ignored:
    /// they come from a division by a zero duration and are no measurement.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let v = &finite[..];
        Some(Spread {
            n: v.len(),
            median: median(v)?,
            mean: mean(v)?,
            min: min(v)?,
            max: max(v)?,
            q1: quantile(v, 0.25)?,
            q3: quantile(v, 0.75)?,
            stddev: stddev(v)?,
        })
    }

    /// Relative half-width of the min–max range around the median (0.05 = ±5%); 0 when the median
    /// is 0.
    pub fn relative_range(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / 2.0 / self.median.abs()
        }
    }
}

/// One cell of a run: target × scenario × variant. Ordered by scenario, variant, target so a
/// grouped map iterates scenario by scenario.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub scenario: String,
    pub variant: String,
    pub target: String,
}

impl CellKey {
    /// The key of `trial`.
    pub fn of(trial: &Trial) -> CellKey {
        CellKey {
            scenario: trial.scenario.clone(),
            variant: trial.variant.clone(),
            target: trial.target.clone(),
        }
    }
}

/// The trials of one cell, split by outcome.
#[derive(Debug, Clone, Default)]
pub struct Cell<'a> {
    /// Trials with status `ok`, in run order.
    pub ok: Vec<&'a Trial>,
    /// Trials with status `failed`, in run order.
    pub failed: Vec<&'a Trial>,
}

impl<'a> Cell<'a> {
    /// One value per ok trial, for those trials where `metric` has a value.
    pub fn values(&self, metric: impl Fn(&Trial) -> Option<f64>) -> Vec<f64> {
        self.ok.iter().filter_map(|t| metric(t)).collect()
    }

    /// The spread of `metric` over the ok trials; `None` when no trial has it.
    pub fn spread(&self, metric: impl Fn(&Trial) -> Option<f64>) -> Option<Spread> {
        Spread::of(&self.values(metric))
    }

    /// How many ok trials satisfy `pred` (e.g. were client-bound).
    pub fn count(&self, pred: impl Fn(&Trial) -> bool) -> usize {
        self.ok.iter().filter(|t| pred(t)).count()
    }
}

/// Groups trials into cells; every trial lands in exactly one cell.
pub fn group_trials(trials: &[Trial]) -> BTreeMap<CellKey, Cell<'_>> {
    let mut cells: BTreeMap<CellKey, Cell<'_>> = BTreeMap::new();
    for t in trials {
        let cell = cells.entry(CellKey::of(t)).or_default();
        match t.status {
            TrialStatus::Ok => cell.ok.push(t),
            TrialStatus::Failed => cell.failed.push(t),
        }
    }
    cells
}

/// Competition ranks ("1224"): rank 1 is the best value, equal values share a rank. `None`
/// entries (not measured) get no rank and do not count.
pub fn ranks(values: &[Option<f64>], higher_is_better: bool) -> Vec<Option<usize>> {
    values
        .iter()
        .map(|v| {
            let v = (*v)?;
            let better = values
                .iter()
                .flatten()
                .filter(|o| if higher_is_better { **o > v } else { **o < v })
                .count();
            Some(1 + better)
        })
        .collect()
}

/// The best of the values: the largest when higher is better, else the smallest.
pub fn best(values: &[Option<f64>], higher_is_better: bool) -> Option<f64> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if higher_is_better {
        max(&present)
    } else {
        min(&present)
    }
}

/// Each value divided by the best one (≤ 1 when higher is better, ≥ 1 when lower is better);
/// `None` where a value is missing or the best is 0.
pub fn ratios_to_best(values: &[Option<f64>], higher_is_better: bool) -> Vec<Option<f64>> {
    let best = best(values, higher_is_better).filter(|b| *b != 0.0);
    values.iter().map(|v| Some((*v)? / best?)).collect()
}

/// The ranks a row can take when every row is known only as a range `[low, high]` (`high` may be
/// open): best = 1 + rows certainly better, worst = 1 + rows possibly better. Overlapping ranges
/// give a span (e.g. 2–3), because a ballpark cannot order them; equal figures share a rank.
pub fn rank_spans(ranges: &[(f64, Option<f64>)], higher_is_better: bool) -> Vec<(usize, usize)> {
    let hi = |r: &(f64, Option<f64>)| r.1.unwrap_or(f64::INFINITY);
    ranges
        .iter()
        .enumerate()
        .map(|(i, me)| {
            let others = ranges.iter().enumerate().filter(|(j, _)| *j != i);
            let (mut certain, mut possible) = (0, 0);
            for (_, o) in others {
                let (is_certain, is_possible) = if higher_is_better {
                    (o.0 > hi(me), hi(o) > me.0)
                } else {
                    (hi(o) < me.0, o.0 < hi(me))
                };
                certain += usize::from(is_certain);
                possible += usize::from(is_possible);
            }
            (1 + certain, 1 + possible)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties_and_skip_missing() {
        let v = [Some(10.0), None, Some(30.0), Some(10.0)];
        assert_eq!(ranks(&v, true), vec![Some(2), None, Some(1), Some(2)]);
        assert_eq!(ranks(&v, false), vec![Some(1), None, Some(3), Some(1)]);
        let r = ratios_to_best(&v, true);
        assert!((r[0].unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r[1], None);
        assert_eq!(ratios_to_best(&v, false)[2], Some(3.0));
    }

    #[test]
    fn rank_spans_of_overlapping_ballparks() {
        // The survey's §8: 600k+, 250–400k, 200–300k, 150–250k, 70–120k, 30–60k.
        let rows = [
            (600e3, None),
            (250e3, Some(400e3)),
            (200e3, Some(300e3)),
            (150e3, Some(250e3)),
            (70e3, Some(120e3)),
            (30e3, Some(60e3)),
        ];
        let spans = rank_spans(&rows, true);
        assert_eq!(spans, vec![(1, 1), (2, 3), (2, 4), (2, 4), (5, 5), (6, 6)]);
        // Equal figures share a rank, as measured ties do.
        // §11 memory, lower is better, two rows at ~160.
        let mem = [
            (50.0, Some(50.0)),
            (160.0, Some(160.0)),
            (160.0, Some(160.0)),
        ];
        assert_eq!(rank_spans(&mem, false), vec![(1, 1), (2, 2), (2, 2)]);
    }

    #[test]
    fn empty_is_none_not_zero() {
        assert_eq!(median(&[]), None);
        assert_eq!(mean(&[]), None);
        assert_eq!(min(&[]), None);
        assert_eq!(max(&[]), None);
        assert_eq!(stddev(&[]), None);
        assert!(Spread::of(&[]).is_none());
        assert!(Spread::of(&[f64::NAN]).is_none());
    }

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn quartiles_type7() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.25), Some(2.0));
        assert_eq!(quantile(&v, 0.75), Some(4.0));
        assert_eq!(quantile(&[10.0, 20.0], 0.25), Some(12.5));
    }

    #[test]
    fn stddev_sample() {
        let sd = stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((sd - 2.138).abs() < 1e-3, "{sd}");
        assert_eq!(stddev(&[5.0]), Some(0.0));
    }

    #[test]
    fn spread_ignores_non_finite() {
        let s = Spread::of(&[1.0, f64::INFINITY, 3.0, 2.0]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.max), (3, 1.0, 2.0, 3.0));
        assert!((s.relative_range() - 0.5).abs() < 1e-12);
    }
}
