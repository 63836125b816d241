//! Comparing two runs cell by cell: the medians and spread of each side, the relative change with
//! its bootstrap interval, and the verdict of [`judge`].
use std::collections::{BTreeMap, BTreeSet};

use rtbench_results::{Metric, Run, TargetStatus};
use serde::Serialize;

use crate::bootstrap::{self, Interval};
use crate::stats::{group_trials, Cell, CellKey, Spread};

use super::environment::environment_warnings;
use super::judge::{judge, trials_to_decide, Verdict};
use super::shift::{mark_machine_shifts, CompareShift};
use super::thresholds::Thresholds;
use super::within::Within;
use super::{CONFIDENCE, MIN_TRIALS};

/// What a compare found: both runs' identities, the settings used, and one entry per cell.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline run.
    pub base: RunInfo,
    /// The run judged against it.
    pub current: RunInfo,
    /// Gates and bootstrap settings in force.
    pub settings: Settings,
    /// For a compare within one run: the two targets; `None` for two runs.
    pub within: Option<Within>,
    /// Differences between the two runs' environments that may explain a change.
    pub warnings: Vec<String>,
    /// Ordered by scenario, variant, target.
    pub cells: Vec<CellComparison>,
    /// Metrics that more than half of the targets moved beyond the gate the same way (their
    /// verdicts read [`Verdict::MachineShift`]): the machine moved between the runs.
    pub machine_shifts: Vec<CompareShift>,
    /// The gated metrics whose interval neither clears nor stays inside the gate, with the trials
    /// that would likely decide each (also in `cells`; listed apart so a reader sees what the
    /// job could not tell).
    pub inconclusive: Vec<Undecided>,
}

/// A gated metric the trials could not decide.
#[derive(Debug, Clone, Serialize)]
pub struct Undecided {
    /// Target folder name.
    pub target: String,
    /// `scenario` or `scenario/variant`.
    pub scenario: String,
    /// Which figure.
    pub metric: Metric,
    /// median(current) / median(base) − 1.
    pub change: Option<f64>,
    /// Bootstrap interval of `change`.
    pub interval: Option<Interval>,
    /// The gate as a fraction.
    pub threshold: Option<f64>,
    /// Ok trials per side that would likely decide it; `None` when the change sits on the gate.
    pub trials_to_decide: Option<usize>,
}

/// Which run a figure or cell comes from.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// `<UTC stamp>-<host>`.
    pub run_id: String,
    /// The rtbench commit that made the run.
    pub git_commit: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// Suite name.
    pub suite: String,
    /// `native` or `docker`.
    pub launcher: String,
    /// The schema version of the run's file (older ones are read through the converter).
    pub schema_version: u32,
}

/// The settings a comparison was made with (thresholds as fractions, 0.05 = 5%).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Confidence level of the intervals (0.95).
    pub confidence: f64,
    /// Bootstrap resamples per metric.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Ok trials a side needs for an interval and a gate.
    pub min_trials: usize,
    /// Whether lost cells count as regressions.
    pub fail_on_lost: bool,
    /// Metric key → gate (0.05 = 5%); metrics not listed are not gated.
    pub gates: BTreeMap<String, f64>,
}

/// Where a cell was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Trials in both runs.
    Both,
    /// Trials in the base run only.
    BaseOnly,
    /// Trials in the current run only.
    CurrentOnly,
}

/// Trial counts of one side of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrialCounts {
    /// Trials with status ok (the ones compared).
    pub ok: usize,
    /// Trials with status failed.
    pub failed: usize,
    /// Ok trials flagged client-bound (≥ 90% of the client's CPUs or of its ceiling).
    pub client_bound: usize,
}

/// One cell's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct CellComparison {
    /// Target folder name.
    pub target: String,
    /// Scenario name.
    pub scenario: String,
    /// Empty when the scenario has one variant.
    pub variant: String,
    /// Which runs have trials of this cell.
    pub presence: Presence,
    /// Trial counts in the base run, when it has the cell.
    pub base: Option<TrialCounts>,
    /// Trial counts in the current run, when it has the cell.
    pub current: Option<TrialCounts>,
    /// Why a side is missing or empty, when the runs say.
    pub notes: Vec<String>,
    /// True when base has ok trials and current has none.
    pub lost: bool,
    /// One entry per metric either side measured (none unless both sides have ok trials).
    pub metrics: Vec<MetricComparison>,
}

/// Median and min–max range of one side's ok trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SideStats {
    /// Trials with a finite value.
    pub n: usize,
    /// Median over those trials.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Half the min–max range relative to the median (0.02 = ±2%).
    pub spread: f64,
}

impl From<Spread> for SideStats {
    fn from(s: Spread) -> SideStats {
        SideStats {
            n: s.n,
            median: s.median,
            min: s.min,
            max: s.max,
            spread: s.relative_range(),
        }
    }
}

/// One metric of one cell.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// Which figure.
    pub metric: Metric,
    /// Whether a rise is good (throughput) or bad (latency, memory, CPU).
    pub higher_is_better: bool,
    /// The gate as a fraction (0.05 = 5%), when gated.
    pub threshold: Option<f64>,
    /// The base run's trials, when it measured the metric.
    pub base: Option<SideStats>,
    /// The current run's trials, when it measured the metric.
    pub current: Option<SideStats>,
    /// median(current) / median(base) − 1.
    pub change: Option<f64>,
    /// Bootstrap interval of `change`.
    pub interval: Option<Interval>,
    /// The outcome.
    pub verdict: Verdict,
    /// For an inconclusive verdict: ok trials per side that would likely decide it (see
    /// `judge::trials_to_decide`); `None` otherwise or when the change sits on the gate.
    pub trials_to_decide: Option<usize>,
    /// For a compare within one run: the rounds in which both targets have the figure. The change
    /// is then the median of the rounds' changes and the interval resamples rounds (paired);
    /// `None` for two runs, or when too few rounds pair up and the sides were compared as
    /// independent samples.
    pub pairs: Option<usize>,
}

impl CellComparison {
    /// True when any gated metric regressed, or the cell was lost and `fail_on_lost` is set.
    pub fn regressed(&self, fail_on_lost: bool) -> bool {
        (self.lost && fail_on_lost)
            || self
                .metrics
                .iter()
                .any(|m| m.verdict == Verdict::Regression)
    }

    /// `scenario` or `scenario/variant`.
    pub fn scenario_label(&self) -> String {
        if self.variant.is_empty() {
            self.scenario.clone()
        } else {
            format!("{}/{}", self.scenario, self.variant)
        }
    }
}

impl Comparison {
    /// Metric regressions plus, when gated, lost cells.
    pub fn regressions(&self) -> usize {
        let metrics = self
            .cells
            .iter()
            .flat_map(|c| &c.metrics)
            .filter(|m| m.verdict == Verdict::Regression)
            .count();
        let lost = self.cells.iter().filter(|c| c.lost).count();
        metrics + if self.settings.fail_on_lost { lost } else { 0 }
    }

    /// Metric improvements.
    pub fn improvements(&self) -> usize {
        self.cells
            .iter()
            .flat_map(|c| &c.metrics)
            .filter(|m| m.verdict == Verdict::Improvement)
            .count()
    }

    /// Gated metrics the trials could not decide.
    pub fn inconclusives(&self) -> usize {
        self.inconclusive.len()
    }

    /// True when the compare should fail a CI job: a regression, or a lost cell when
    /// `fail_on_lost` is set. Inconclusive metrics never fail it.
    pub fn has_regression(&self) -> bool {
        self.regressions() > 0
    }

    pub(crate) fn count(&self, presence: Presence) -> usize {
        self.cells.iter().filter(|c| c.presence == presence).count()
    }
}

/// How the trials of the two sides relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pairing {
    /// Two runs: each side's trials are an independent sample.
    Independent,
    /// Two targets of one run: trial `i` of each ran in round `i`, next to each other in time.
    ByRound,
}

/// Compares `current` against `base`, cell by cell.
pub fn compare(base: &Run, current: &Run, thresholds: &Thresholds) -> Comparison {
    compare_runs(base, current, thresholds, Pairing::Independent)
}

pub(crate) fn compare_runs(
    base: &Run,
    current: &Run,
    thresholds: &Thresholds,
    pairing: Pairing,
) -> Comparison {
    let base_cells = group_trials(&base.trials);
    let current_cells = group_trials(&current.trials);
    let keys: BTreeSet<&CellKey> = base_cells.keys().chain(current_cells.keys()).collect();
    let mut cells: Vec<CellComparison> = keys
        .into_iter()
        .map(|key| {
            compare_cell(
                key,
                (base, base_cells.get(key)),
                (current, current_cells.get(key)),
                thresholds,
                pairing,
            )
        })
        .collect();
    let machine_shifts = mark_machine_shifts(&mut cells);
    Comparison {
        base: run_info(base),
        current: run_info(current),
        settings: Settings {
            confidence: CONFIDENCE,
            resamples: thresholds.resamples(),
            seed: thresholds.seed(),
            min_trials: MIN_TRIALS,
            fail_on_lost: thresholds.fail_on_lost(),
            gates: thresholds
                .gates()
                .iter()
                .map(|(m, t)| (m.key().to_string(), *t))
                .collect(),
        },
        within: None,
        warnings: environment_warnings(base, current),
        inconclusive: undecided(&cells),
        machine_shifts,
        cells,
    }
}

fn undecided(cells: &[CellComparison]) -> Vec<Undecided> {
    cells
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .filter(|m| m.verdict == Verdict::Inconclusive)
                .map(|m| Undecided {
                    target: c.target.clone(),
                    scenario: c.scenario_label(),
                    metric: m.metric,
                    change: m.change,
                    interval: m.interval,
                    threshold: m.threshold,
                    trials_to_decide: m.trials_to_decide,
                })
        })
        .collect()
}

fn run_info(run: &Run) -> RunInfo {
    RunInfo {
        run_id: run.run_id.clone(),
        git_commit: run.environment.git_commit.clone(),
        started_at: run.started_at.clone(),
        suite: run.suite.name.clone(),
        launcher: run.environment.launcher.clone(),
        schema_version: run.schema_version,
    }
}

fn counts(cell: &Cell<'_>) -> TrialCounts {
    TrialCounts {
        ok: cell.ok.len(),
        failed: cell.failed.len(),
        client_bound: cell.count(|t| t.load().is_some_and(|l| l.client_bound)),
    }
}

fn compare_cell(
    key: &CellKey,
    (base_run, base): (&Run, Option<&Cell<'_>>),
    (current_run, current): (&Run, Option<&Cell<'_>>),
    thresholds: &Thresholds,
    pairing: Pairing,
) -> CellComparison {
    let presence = match (base, current) {
        (Some(_), None) => Presence::BaseOnly,
        (None, Some(_)) => Presence::CurrentOnly,
        _ => Presence::Both,
    };
    let mut notes = Vec::new();
    for (side, run, cell) in [("base", base_run, base), ("current", current_run, current)] {
        match cell {
            None => notes.push(format!("not measured in {side}{}", why(run, &key.target))),
            Some(c) if c.ok.is_empty() => {
                let reason = c.failed.iter().find_map(|t| t.reason.as_deref());
                notes.push(format!(
                    "no ok trial in {side} ({} failed{})",
                    c.failed.len(),
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ));
            }
            Some(_) => {}
        }
    }
    let base_counts = base.map(counts);
    let current_counts = current.map(counts);
    for (side, c) in [("base", base_counts), ("current", current_counts)] {
        if let Some(c) = c.filter(|c| c.client_bound > 0) {
            notes.push(format!(
                "client-bound in {side} ({}/{} trials): the figures may measure the load generator",
                c.client_bound, c.ok
            ));
        }
    }
    if let (Some(b), Some(c)) = (base, current) {
        notes.extend(relay_notes(b, c));
    }
    let lost = base_counts.is_some_and(|c| c.ok > 0) && current_counts.map_or(true, |c| c.ok == 0);
    let empty = Cell::default();
    let metrics =
        if base_counts.is_some_and(|c| c.ok > 0) && current_counts.is_some_and(|c| c.ok > 0) {
            let (b, c) = (base.unwrap_or(&empty), current.unwrap_or(&empty));
            Metric::compared()
                .filter_map(|m| compare_metric(key, m, (b, c), thresholds, pairing))
                .collect()
        } else {
            Vec::new()
        };
    CellComparison {
        target: key.target.clone(),
        scenario: key.scenario.clone(),
        variant: key.variant.clone(),
        presence,
        base: base_counts,
        current: current_counts,
        notes,
        lost,
        metrics,
    }
}

/// The relay's yes/no findings (buffering, leaked upstream requests) have no median to compare;
/// a finding that appears or disappears between the runs is worth a line.
fn relay_notes(base: &Cell<'_>, current: &Cell<'_>) -> Vec<String> {
    let relays = |cell: &Cell<'_>| cell.count(|t| t.relay().is_some());
    let (nb, nc) = (relays(base), relays(current));
    if nb == 0 || nc == 0 {
        return Vec::new();
    }
    let buffering = |cell: &Cell<'_>| cell.count(|t| t.relay().is_some_and(|r| r.buffering));
    let leaked = |cell: &Cell<'_>| -> u64 {
        cell.ok
            .iter()
            .filter_map(|t| t.relay())
            .map(|r| r.leaked)
            .sum()
    };
    let mut notes = Vec::new();
    let (bb, cb) = (buffering(base), buffering(current));
    if (bb == 0) != (cb == 0) {
        notes.push(format!(
            "relay buffering changed: base {bb}/{nb} trials buffered, current {cb}/{nc}"
        ));
    }
    let (lb, lc) = (leaked(base), leaked(current));
    if (lb == 0) != (lc == 0) {
        notes.push(format!(
            "relay leaked upstream requests changed: base {lb}, current {lc}"
        ));
    }
    notes
}

/// `": <reason>"` when `run` records why `target` has no trials.
fn why(run: &Run, target: &str) -> String {
    match run.targets.iter().find(|t| t.name == target) {
        None => " (target not in this run)".to_string(),
        Some(t) if t.status == TargetStatus::Ok => String::new(),
        Some(t) => format!(
            " (target {}: {})",
            match t.status {
                TargetStatus::Unavailable => "unavailable",
                _ => "failed",
            },
            t.reason.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

fn finite_values(cell: &Cell<'_>, metric: Metric) -> Vec<f64> {
    let mut v = cell.values(|t| metric.value(t));
    v.retain(|x| x.is_finite());
    v
}

/// The metric's values of the rounds in which both sides have an ok trial with a finite value,
/// as (base, current) pairs in round order.
fn round_pairs(base: &Cell<'_>, current: &Cell<'_>, metric: Metric) -> Vec<(f64, f64)> {
    let by_round: BTreeMap<u32, f64> = base
        .ok
        .iter()
        .filter_map(|t| Some((t.trial, metric.value(t).filter(|v| v.is_finite())?)))
        .collect();
    current
        .ok
        .iter()
        .filter_map(|t| {
            let c = metric.value(t).filter(|v| v.is_finite())?;
            Some((*by_round.get(&t.trial)?, c))
        })
        .collect()
}

fn compare_metric(
    key: &CellKey,
    metric: Metric,
    (base, current): (&Cell<'_>, &Cell<'_>),
    thresholds: &Thresholds,
    pairing: Pairing,
) -> Option<MetricComparison> {
    let b = finite_values(base, metric);
    let c = finite_values(current, metric);
    // A figure the scenario does not produce (absent, or left at zero on every trial of both
    // sides) is no row at all.
    if b.iter().chain(&c).all(|v| *v == 0.0) {
        return None;
    }
    let threshold = thresholds.gate(metric);
    let base_stats = Spread::of(&b).map(SideStats::from);
    let current_stats = Spread::of(&c).map(SideStats::from);
    let mut row = MetricComparison {
        metric,
        higher_is_better: metric.higher_is_better(),
        threshold,
        base: base_stats,
        current: current_stats,
        change: None,
        interval: None,
        verdict: Verdict::NotComparable,
        trials_to_decide: None,
        pairs: None,
    };
    let (Some(bs), Some(cs)) = (base_stats, current_stats) else {
        return Some(row);
    };
    if bs.median == 0.0 {
        return Some(row);
    }
    row.change = Some(cs.median / bs.median - 1.0);
    if b.len() < MIN_TRIALS || c.len() < MIN_TRIALS {
        row.verdict = Verdict::InsufficientTrials;
        return Some(row);
    }
    let seed = bootstrap::stream_seed(
        thresholds.seed(),
        &format!(
            "{}\0{}\0{}\0{}",
            key.target,
            key.scenario,
            key.variant,
            metric.key()
        ),
    );
    let pairs = match pairing {
        Pairing::ByRound => round_pairs(base, current, metric),
        Pairing::Independent => Vec::new(),
    };
    // Paired when at least MIN_TRIALS rounds have both sides; otherwise (trials failed in
    // different rounds) the sides are compared as independent samples, and `pairs` says which.
    let (mut n_base, mut n_current) = (b.len(), c.len());
    if pairs.len() >= MIN_TRIALS {
        let found = bootstrap::paired_median_change_interval(
            &pairs,
            thresholds.resamples(),
            CONFIDENCE,
            seed,
        );
        if let Some((change, interval)) = found {
            row.change = Some(change);
            row.interval = Some(interval);
        }
        row.pairs = Some(pairs.len());
        (n_base, n_current) = (pairs.len(), pairs.len());
    } else {
        row.interval =
            bootstrap::median_change_interval(&b, &c, thresholds.resamples(), CONFIDENCE, seed);
    }
    row.verdict = match (row.interval, threshold) {
        (None, _) => Verdict::NotComparable,
        (Some(_), None) => Verdict::NotGated,
        (Some(i), Some(t)) => judge(i, t, metric.higher_is_better()),
    };
    if let (Verdict::Inconclusive, Some(i), Some(t)) = (row.verdict, row.interval, threshold) {
        row.trials_to_decide = trials_to_decide(i, t, n_base, n_current);
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::Rng;
    use rtbench_results::{parse_run, Outcome, Trial, TrialStatus};

    #[test]
    fn relay_findings_that_change_are_noted() {
        let template = template_trial();
        let relay_trial = |buffering: bool, leaked: u64| {
            let mut t = template.clone();
            t.scenario = "sse-relay".into();
            let (load, server) = (t.load().unwrap().clone(), t.server().unwrap().clone());
            t.outcome = Some(Outcome::SseRelay {
                load,
                server,
                relay: rtbench_results::RelayStats {
                    buffering,
                    leaked,
                    ..Default::default()
                },
            });
            t
        };
        let base: Vec<Trial> = (0..3).map(|_| relay_trial(false, 0)).collect();
        let current: Vec<Trial> = (0..3).map(|i| relay_trial(i == 0, 2)).collect();
        let (b, c) = (group_trials(&base), group_trials(&current));
        let notes = relay_notes(b.values().next().unwrap(), c.values().next().unwrap());
        assert_eq!(
            notes,
            [
                "relay buffering changed: base 0/3 trials buffered, current 1/3",
                "relay leaked upstream requests changed: base 0, current 6"
            ]
        );
        assert!(relay_notes(b.values().next().unwrap(), b.values().next().unwrap()).is_empty());
    }

    /// A run of `cells` closed-loop cells with `trials` ok trials each, its figures drawn from
    /// `noise`: each run has a common drift (one draw per run and metric family), each trial its
    /// own noise.
    struct Noise {
        rps_cv: f64,
        latency_cv: f64,
        memory_cv: f64,
        drift_cv: f64,
    }

    fn template_trial() -> Trial {
        let run = parse_run(include_str!("../../tests/compare/base/run.json")).unwrap();
        run.trials
            .into_iter()
            .find(|t| t.scenario == "plaintext")
            .unwrap()
    }

    fn synthetic_run(
        rng: &mut Rng,
        template: &Trial,
        cells: usize,
        trials: usize,
        noise: &Noise,
        rps_factor: f64,
    ) -> Run {
        let mut run = parse_run(include_str!("../../tests/compare/base/run.json")).unwrap();
        run.trials.clear();
        let drift_rps = 1.0 + noise.drift_cv * rng.normal();
        let drift_lat = 1.0 + noise.drift_cv * rng.normal();
        let drift_mem = 1.0 + noise.drift_cv * rng.normal();
        for cell in 0..cells {
            for k in 0..trials {
                let mut t = template.clone();
                t.target = format!("t{cell}");
                t.trial = k as u32 + 1;
                t.status = TrialStatus::Ok;
                let Some(Outcome::Http { load, server }) = &mut t.outcome else {
                    panic!("the template is a plaintext trial");
                };
                // Half the targets at most: more moving together would be a machine-wide shift.
                let factor = if cell < cells / 2 { rps_factor } else { 1.0 };
                load.rps = 100_000.0 * factor * drift_rps * (1.0 + noise.rps_cv * rng.normal());
                let lat = drift_lat * (1.0 + noise.latency_cv * rng.normal());
                load.latency_us.p50 = 500.0 * lat;
                load.latency_us.p99 = 1500.0 * lat;
                load.latency_us.max = 5000.0 * lat;
                server.rss_mean_kib = 10_000.0 * drift_mem * (1.0 + noise.memory_cv * rng.normal());
                server.cpu_us_per_request =
                    Some(5.0 * drift_rps.recip() * (1.0 + noise.rps_cv * rng.normal()));
                run.trials.push(t);
            }
        }
        run
    }

    /// Over `pairs` compares of `cells` cells each (the first half of `current`'s targets with their
    /// rps scaled by `rps_factor`): the fraction of those cells (all cells when the factor is 1)
    /// with at least one gated regression, and the fraction of compares with one (what a nightly
    /// job sees).
    fn alarm_rate(
        trials: usize,
        noise: &Noise,
        rps_factor: f64,
        pairs: usize,
        cells: usize,
    ) -> (f64, f64) {
        let template = template_trial();
        let mut rng = Rng::new(0xA11A ^ trials as u64);
        let thresholds = Thresholds::default();
        let (mut cell_alarms, mut compare_alarms) = (0, 0);
        for _ in 0..pairs {
            let base = synthetic_run(&mut rng, &template, cells, trials, noise, 1.0);
            let current = synthetic_run(&mut rng, &template, cells, trials, noise, rps_factor);
            let cmp = compare(&base, &current, &thresholds);
            assert_eq!(cmp.cells.len(), cells);
            cell_alarms += cmp
                .cells
                .iter()
                .filter(|c| rps_factor == 1.0 || scaled(&c.target, cells))
                .filter(|c| c.regressed(thresholds.fail_on_lost()))
                .count();
            compare_alarms += usize::from(cmp.has_regression());
        }
        let judged = if rps_factor == 1.0 { cells } else { cells / 2 };
        (
            cell_alarms as f64 / (pairs * judged) as f64,
            compare_alarms as f64 / pairs as f64,
        )
    }

    /// Whether synthetic target `t<i>` is one whose rps `synthetic_run` scales.
    fn scaled(target: &str, cells: usize) -> bool {
        target[1..].parse::<usize>().is_ok_and(|i| i < cells / 2)
    }

    const ISSUE_NOISE: Noise = Noise {
        rps_cv: 0.03,
        latency_cv: 0.05,
        memory_cv: 0.03,
        drift_cv: 0.0,
    };

    /// The issue's noise model (3% CV rps, 5% latency; 3% memory), no drift between runs: the
    /// default gates must raise a false alarm on at most 5% of A/A cells, and catch a 20% drop.
    #[test]
    fn synthetic_aa_false_alarms_within_five_percent() {
        for trials in [3, 5] {
            let (false_alarms, _) = alarm_rate(trials, &ISSUE_NOISE, 1.0, 4, 20);
            let (caught, _) = alarm_rate(trials, &ISSUE_NOISE, 0.80, 1, 20);
            println!(
                "A/A {trials} trials/side: false alarms {:.1}% of cells; 20% rps drop caught in {:.1}%",
                false_alarms * 100.0,
                caught * 100.0
            );
            assert!(false_alarms <= 0.05, "{trials} trials: {false_alarms}");
            assert!(caught >= 0.95, "{trials} trials: {caught}");
        }
    }

    /// The full table behind the README's figures (slow in a debug build):
    /// `cargo test --release -p rtbench-report --lib aa_simulation_table -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn aa_simulation_table() {
        println!("trials/side  run drift  false alarms: cells  compares (10 cells)  rps drop caught: -5%  -10%  -20%");
        for drift_cv in [0.0, 0.01, 0.02, 0.03] {
            let noise = Noise {
                drift_cv,
                ..ISSUE_NOISE
            };
            for trials in [3, 5] {
                let (cells, compares) = alarm_rate(trials, &noise, 1.0, 200, 10);
                let caught = [0.95, 0.90, 0.80]
                    .map(|f| format!("{:5.1}%", alarm_rate(trials, &noise, f, 20, 10).0 * 100.0));
                println!(
                    "{trials:>11}  {:>8.0}%  {:>18.2}%  {:>18.1}%  {:>20}",
                    drift_cv * 100.0,
                    cells * 100.0,
                    compares * 100.0,
                    caught.join("  ")
                );
            }
        }
    }
}
