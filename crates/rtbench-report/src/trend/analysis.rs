//! From history lines to a trend: one series per target × scenario × variant × metric (the run
//! medians in run order), its change points, and each change classified as machine-wide (most
//! targets measured in that run moved the same metric the same way) or the target's own.
//!
//! Why the split: two runs on one machine can differ by 20–25% for every target at once (a
//! noisier neighbour, a kernel update). Such a shift is the machine's, not a runtime's; the gate
//! fails only on a target's own change in the bad direction, starting at the newest run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::changepoint::Detector;
use super::history::{Better, HistoryRecord};

/// A change shared by more than this fraction of the targets measured in the run is machine-wide.
pub const MACHINE_WIDE_FRACTION: f64 = 0.5;

/// The one rule for "the machine moved": `moved` targets changed the same way out of `measured`,
/// at least two of them and more than [`MACHINE_WIDE_FRACTION`]. The trend applies it per run,
/// `compare` per cell of two runs.
pub(crate) fn is_machine_wide(moved: usize, measured: usize) -> bool {
    moved >= 2 && moved as f64 / measured.max(1) as f64 > MACHINE_WIDE_FRACTION
}

/// One run of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRun {
    pub run_id: String,
    pub date: String,
    pub git_commit: String,
    pub host: String,
}

/// Which way a change went, judged by the metric's better direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Regression,
    Improvement,
}

/// One change point of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The first run after the change (index into [`Trend::runs`]).
    pub run: usize,
    pub run_id: String,
    /// Mean of the run medians before and after (between neighbouring change points).
    pub mean_before: f64,
    pub mean_after: f64,
    /// `mean_after / mean_before − 1`.
    pub relative_change: f64,
    pub p_value: f64,
    pub direction: Direction,
    /// True when most targets moved this metric the same way in this run.
    pub machine_wide: bool,
}

/// One metric of one cell over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub target: String,
    pub scenario: String,
    pub variant: String,
    pub metric: String,
    pub unit: String,
    pub better: Better,
    /// (run index, median of that run's trials), in run order.
    pub points: Vec<(usize, f64)>,
    pub changes: Vec<Change>,
}

/// A run where most targets moved one metric the same way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineShift {
    pub run: usize,
    pub run_id: String,
    pub metric: String,
    pub direction: Direction,
    /// Targets whose series of this metric changed this way in this run.
    pub targets: Vec<String>,
    /// Targets with this metric measured in this run.
    pub measured: usize,
}

/// Everything `rtbench trend` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Runs in history order (by date, then by position in the file).
    pub runs: Vec<HistoryRun>,
    pub max_p_value: f64,
    pub min_magnitude: f64,
    pub series: Vec<Series>,
    pub machine_shifts: Vec<MachineShift>,
}

impl Trend {
    /// Series changes in the newest run in the bad direction that are the target's own: what
    /// fails the gate.
    pub fn newest_regressions(&self) -> Vec<(&Series, &Change)> {
        let Some(newest) = self.runs.len().checked_sub(1) else {
            return Vec::new();
        };
        self.series
            .iter()
            .flat_map(|s| s.changes.iter().map(move |c| (s, c)))
            .filter(|(_, c)| {
                c.run == newest && c.direction == Direction::Regression && !c.machine_wide
            })
            .collect()
    }
}

/// The trend of `records` with change points found by `detector`.
pub fn analyse(records: &[HistoryRecord], detector: &Detector) -> Trend {
    let runs = run_order(records);
    let run_index: BTreeMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.run_id.as_str(), i))
        .collect();

    let mut grouped: BTreeMap<(&str, &str, &str, &str), Vec<&HistoryRecord>> = BTreeMap::new();
    for r in records {
        grouped
            .entry((&r.scenario, &r.variant, &r.metric, &r.target))
            .or_default()
            .push(r);
    }
    let mut series: Vec<Series> = grouped
        .into_values()
        .map(|mut lines| {
            lines.sort_by_key(|r| run_index[r.run_id.as_str()]);
            lines.dedup_by_key(|r| run_index[r.run_id.as_str()]);
            let first = lines[0];
            let points: Vec<(usize, f64)> = lines
                .iter()
                .map(|r| (run_index[r.run_id.as_str()], r.median))
                .collect();
            let values: Vec<f64> = points.iter().map(|&(_, v)| v).collect();
            let changes = detector
                .change_points(&values)
                .into_iter()
                .map(|cp| {
                    let run = points[cp.index].0;
                    let rising = cp.mean_after > cp.mean_before;
                    let good = rising == (first.better == Better::Higher);
                    Change {
                        run,
                        run_id: runs[run].run_id.clone(),
                        mean_before: cp.mean_before,
                        mean_after: cp.mean_after,
                        relative_change: cp.relative_change(),
                        p_value: cp.p_value,
                        direction: if good {
                            Direction::Improvement
                        } else {
                            Direction::Regression
                        },
                        machine_wide: false,
                    }
                })
                .collect();
            Series {
                target: first.target.clone(),
                scenario: first.scenario.clone(),
                variant: first.variant.clone(),
                metric: first.metric.clone(),
                unit: first.unit.clone(),
                better: first.better,
                points,
                changes,
            }
        })
        .collect();

    let machine_shifts = machine_shifts(&series, &runs);
    for s in &mut series {
        for c in &mut s.changes {
            c.machine_wide = machine_shifts
                .iter()
                .any(|m| m.run == c.run && m.metric == s.metric && m.direction == c.direction);
        }
    }
    Trend {
        runs,
        max_p_value: detector.max_p_value,
        min_magnitude: detector.min_magnitude,
        series,
        machine_shifts,
    }
}

/// Runs sorted by date; runs of one date keep their order in the file (it is append-only).
fn run_order(records: &[HistoryRecord]) -> Vec<HistoryRun> {
    let mut seen = BTreeSet::new();
    let mut runs: Vec<HistoryRun> = records
        .iter()
        .filter(|r| seen.insert(r.run_id.clone()))
        .map(|r| HistoryRun {
            run_id: r.run_id.clone(),
            date: r.date.clone(),
            git_commit: r.git_commit.clone(),
            host: r.host.clone(),
        })
        .collect();
    runs.sort_by(|a, b| a.date.cmp(&b.date));
    runs
}

/// Per run and metric: the targets measured, and per direction the targets that changed; a
/// machine shift by [`is_machine_wide`].
fn machine_shifts(series: &[Series], runs: &[HistoryRun]) -> Vec<MachineShift> {
    let mut measured: BTreeMap<(usize, &str), BTreeSet<&str>> = BTreeMap::new();
    let mut moved: BTreeMap<(usize, &str, Direction), BTreeSet<&str>> = BTreeMap::new();
    for s in series {
        for &(run, _) in &s.points {
            measured
                .entry((run, &s.metric))
                .or_default()
                .insert(&s.target);
        }
        for c in &s.changes {
            moved
                .entry((c.run, &s.metric, c.direction))
                .or_default()
                .insert(&s.target);
        }
    }
    moved
        .into_iter()
        .filter_map(|((run, metric, direction), targets)| {
            let measured = measured.get(&(run, metric)).map_or(0, BTreeSet::len);
            is_machine_wide(targets.len(), measured).then(|| MachineShift {
                run,
                run_id: runs[run].run_id.clone(),
                metric: metric.to_string(),
                direction,
                targets: targets.into_iter().map(str::to_string).collect(),
                measured,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::trend::changepoint::tests::noisy;

    /// History lines: one run per value index, `series` = (target, medians).
    pub(crate) fn history(
        metric: &str,
        better: Better,
        series: &[(&str, Vec<f64>)],
    ) -> Vec<HistoryRecord> {
        let mut out = Vec::new();
        for (target, values) in series {
            for (i, &v) in values.iter().enumerate() {
                out.push(HistoryRecord {
                    run_id: format!("run{i:03}"),
                    date: format!("2026-01-01T00:00:00Z+{i:03}"),
                    git_commit: "c".into(),
                    host: "h".into(),
                    launcher: "docker".into(),
                    target: target.to_string(),
                    runtime_version: None,
                    scenario: "plaintext".into(),
                    variant: String::new(),
                    metric: metric.into(),
                    unit: "/s".into(),
                    better,
                    median: v,
                    trials: vec![v],
                });
            }
        }
        out
    }

    fn stepped(level: f64, step: f64, at: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut v = noisy(level, 0.03, at, seed);
        v.extend(noisy(level * (1.0 + step), 0.03, n - at, seed + 500));
        v
    }

    #[test]
    fn a_machine_wide_shift_is_reported_as_such_not_as_target_regressions() {
        let targets = ["axum", "bun", "go", "node"];
        let series: Vec<(&str, Vec<f64>)> = targets
            .iter()
            .enumerate()
            .map(|(k, t)| (*t, stepped(100_000.0, -0.2, 20, 21, k as u64 + 1)))
            .collect();
        let trend = analyse(
            &history("rps", Better::Higher, &series),
            &Detector::default(),
        );
        assert_eq!(trend.machine_shifts.len(), 1, "{:?}", trend.machine_shifts);
        let shift = &trend.machine_shifts[0];
        assert_eq!((shift.run, shift.direction), (20, Direction::Regression));
        assert_eq!(shift.targets.len(), 4);
        assert!(trend
            .series
            .iter()
            .all(|s| s.changes.len() == 1 && s.changes[0].machine_wide));
        assert!(trend.newest_regressions().is_empty());
    }

    #[test]
    fn a_single_target_drop_at_the_newest_run_fails_the_gate() {
        let series = vec![
            ("axum", stepped(100_000.0, -0.15, 20, 21, 1)),
            ("bun", noisy(100_000.0, 0.03, 21, 2)),
            ("go", noisy(100_000.0, 0.03, 21, 3)),
        ];
        let trend = analyse(
            &history("rps", Better::Higher, &series),
            &Detector::default(),
        );
        assert!(trend.machine_shifts.is_empty());
        let bad = trend.newest_regressions();
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].0.target.as_str(), bad[0].1.run), ("axum", 20));
    }

    #[test]
    fn a_latency_drop_is_an_improvement_and_passes() {
        let series = vec![("axum", stepped(100.0, -0.3, 20, 21, 9))];
        let trend = analyse(
            &history("p50", Better::Lower, &series),
            &Detector::default(),
        );
        let c = &trend.series[0].changes;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].direction, Direction::Improvement);
        assert!(trend.newest_regressions().is_empty());
    }

    #[test]
    fn an_older_change_does_not_fail_the_gate() {
        let series = vec![("axum", stepped(100_000.0, -0.15, 10, 25, 4))];
        let trend = analyse(
            &history("rps", Better::Higher, &series),
            &Detector::default(),
        );
        assert_eq!(trend.series[0].changes[0].run, 10);
        assert!(trend.newest_regressions().is_empty());
    }
}
