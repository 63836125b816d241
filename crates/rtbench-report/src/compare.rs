//! Two runs side by side: per cell (target × scenario × variant) and metric, the medians and spread
//! of each side, the relative change of the medians with a bootstrap 95% interval over the trials,
//! and a verdict gated by a noise threshold.
//!
//! Why an interval and a noise floor: on a shared machine two runs of the same build differ by a
//! few percent, and a gate on the point change alone cries wolf. A metric regresses only when the
//! whole interval lies beyond its threshold in the bad direction, so both the trial-to-trial noise
//! (the interval's width) and the run-to-run drift (the threshold) must be overcome.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rtbench_results::{Run, TargetStatus, Trial};
use serde::{Serialize, Serializer};

use crate::bootstrap::{self, Interval, DEFAULT_RESAMPLES, DEFAULT_SEED};
use crate::stats::{group_trials, Cell, CellKey, Spread};

/// Fewer ok trials than this on either side and no interval is computed: with one or two trials
/// the bootstrap can only return the observed values, which says nothing about the noise.
pub const MIN_TRIALS: usize = 3;

/// The confidence level of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// Everything that can go wrong in reading compare's inputs. Each message names the file, flag
/// or key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A thresholds file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    /// A thresholds file that is not TOML.
    #[error("{}: not valid TOML: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    /// A key a thresholds file may not have.
    #[error("{}: unknown key `{key}` (expected one of: {expected})", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        expected: String,
    },
    /// A known key with a value out of range or of the wrong type. `origin` is the file or flag.
    #[error("{origin}: bad value for `{key}`: {reason}")]
    BadValue {
        origin: String,
        key: String,
        reason: String,
    },
}

/// A compared figure. [`Metric::key`] is its name in `--gate`, thresholds files and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// Completed 2xx responses per second.
    Rps,
    /// Median latency, µs.
    P50,
    /// 99th percentile latency, µs.
    P99,
    /// Largest latency, µs.
    Max,
    /// Server RSS, mean under load (`server.rss_mean_kib`).
    Memory,
    /// Server CPU per completed request, µs.
    Cpu,
    /// SSE events received per second.
    SseEventsPerS,
    /// SSE event latency (receive − sent_ns), median, µs.
    SseLatencyP50,
    /// SSE event latency, 99th percentile, µs.
    SseLatencyP99,
    /// Relay added latency per token, median, µs.
    RelayAddedP50,
    /// Relay added latency per token, 99th percentile, µs.
    RelayAddedP99,
    /// Relay: client disconnect → upstream closed, ms.
    RelayAbortMs,
    /// Mean server memory at 10k req/s, MB.
    MemoryPer10k,
    /// Memory per idle connection, KiB.
    KibPerConnection,
    /// Memory per open SSE stream, KiB.
    KibPerStream,
    /// Start → first 200 on /health, median of the trial's starts, ms.
    ColdStart,
}

#[derive(Clone, Copy)]
enum Unit {
    PerSecond,
    Micros,
    Millis,
    Kib,
    Mb,
}

impl Metric {
    /// Every metric, in the order tables show them.
    pub const ALL: [Metric; 16] = [
        Metric::Rps,
        Metric::P50,
        Metric::P99,
        Metric::Max,
        Metric::Memory,
        Metric::Cpu,
        Metric::SseEventsPerS,
        Metric::SseLatencyP50,
        Metric::SseLatencyP99,
        Metric::RelayAddedP50,
        Metric::RelayAddedP99,
        Metric::RelayAbortMs,
        Metric::MemoryPer10k,
        Metric::KibPerConnection,
        Metric::KibPerStream,
        Metric::ColdStart,
    ];

    /// The metric's name in flags, thresholds files and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::Max => "max",
            Metric::Memory => "memory",
            Metric::Cpu => "cpu",
            Metric::SseEventsPerS => "sse_events_per_s",
            Metric::SseLatencyP50 => "sse_latency_p50",
            Metric::SseLatencyP99 => "sse_latency_p99",
            Metric::RelayAddedP50 => "relay_added_p50",
            Metric::RelayAddedP99 => "relay_added_p99",
            Metric::RelayAbortMs => "relay_abort_ms",
            Metric::MemoryPer10k => "memory_per_10k",
            Metric::KibPerConnection => "kib_per_connection",
            Metric::KibPerStream => "kib_per_stream",
            Metric::ColdStart => "cold_start",
        }
    }

    /// The metric named `key`.
    pub fn from_key(key: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.key() == key)
    }

    /// True for throughput figures, where a drop is the regression; false for latency, memory and
    /// CPU, where a rise is.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rps | Metric::SseEventsPerS)
    }

    fn unit(self) -> Unit {
        match self {
            Metric::Rps | Metric::SseEventsPerS => Unit::PerSecond,
            Metric::P50
            | Metric::P99
            | Metric::Max
            | Metric::Cpu
            | Metric::SseLatencyP50
            | Metric::SseLatencyP99
            | Metric::RelayAddedP50
            | Metric::RelayAddedP99 => Unit::Micros,
            Metric::RelayAbortMs | Metric::ColdStart => Unit::Millis,
            Metric::Memory | Metric::KibPerConnection | Metric::KibPerStream => Unit::Kib,
            Metric::MemoryPer10k => Unit::Mb,
        }
    }

    /// This metric's value in one trial, when the trial measured it.
    fn value(self, t: &Trial) -> Option<f64> {
        let load = t.load.as_ref();
        let stream = load.and_then(|l| l.stream.as_ref());
        let relay = t.relay.as_ref();
        match self {
            Metric::Rps => load.map(|l| l.rps),
            Metric::P50 => load.map(|l| l.latency_us.p50),
            Metric::P99 => load.map(|l| l.latency_us.p99),
            Metric::Max => load.map(|l| l.latency_us.max),
            Metric::Memory => t.server.as_ref().map(|s| s.rss_mean_kib),
            Metric::Cpu => t.server.as_ref().and_then(|s| s.cpu_us_per_request),
            Metric::SseEventsPerS => stream.map(|s| s.events_per_s),
            Metric::SseLatencyP50 => stream.map(|s| s.event_latency_us.p50),
            Metric::SseLatencyP99 => stream.map(|s| s.event_latency_us.p99),
            Metric::RelayAddedP50 => relay.map(|r| r.added_latency_us.p50),
            Metric::RelayAddedP99 => relay.map(|r| r.added_latency_us.p99),
            Metric::RelayAbortMs => relay.and_then(|r| r.abort_ms),
            Metric::MemoryPer10k => t.memory_per_10k_mb,
            Metric::KibPerConnection => t.kib_per_connection,
            Metric::KibPerStream => t.kib_per_stream,
            Metric::ColdStart => crate::stats::median(&t.cold_start_ms),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// The noise thresholds and bootstrap settings of a compare.
///
/// Defaults: rps 5%, p50 10%, memory 10% gated; every other metric shown but not gated; 10,000
/// resamples; a fixed seed. Files and `--gate` flags override single keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    gates: BTreeMap<Metric, f64>,
    resamples: usize,
    seed: u64,
    fail_on_lost: bool,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            gates: BTreeMap::from([
                (Metric::Rps, 0.05),
                (Metric::P50, 0.10),
                (Metric::Memory, 0.10),
            ]),
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            fail_on_lost: false,
        }
    }
}

const FILE_KEYS: &str = "resamples, seed, fail_on_lost, gates";

impl Thresholds {
    /// The gate of `metric` as a fraction (0.05 = 5%), or `None` when it is not gated.
    pub fn gate(&self, metric: Metric) -> Option<f64> {
        self.gates.get(&metric).copied()
    }

    /// Gates `metric` at `threshold` (a fraction, 0.05 = 5%), or ungates it with `None`.
    pub fn set_gate(&mut self, metric: Metric, threshold: Option<f64>) -> &mut Thresholds {
        match threshold {
            Some(t) => self.gates.insert(metric, t),
            None => self.gates.remove(&metric),
        };
        self
    }

    /// Applies a `METRIC=PCT` flag (`p99=15%`, `rps=3`, `p50=off`).
    pub fn apply_gate_spec(&mut self, spec: &str) -> Result<&mut Thresholds, CompareError> {
        let origin = format!("--gate {spec}");
        let (key, value) = spec.split_once('=').ok_or_else(|| CompareError::BadValue {
            origin: origin.clone(),
            key: spec.to_string(),
            reason: "expected METRIC=PERCENT, e.g. p99=15%".to_string(),
        })?;
        let key = key.trim();
        let metric = Metric::from_key(key).ok_or_else(|| CompareError::BadValue {
            origin: origin.clone(),
            key: key.to_string(),
            reason: format!("unknown metric (known: {})", metric_keys()),
        })?;
        let threshold = parse_percent(value.trim()).map_err(|reason| CompareError::BadValue {
            origin,
            key: key.to_string(),
            reason,
        })?;
        Ok(self.set_gate(metric, threshold))
    }

    /// The defaults overridden by the TOML file at `path`.
    pub fn from_toml_file(path: &Path) -> Result<Thresholds, CompareError> {
        let text = std::fs::read_to_string(path).map_err(|error| CompareError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let mut t = Thresholds::default();
        t.apply_toml(&text, path)?;
        Ok(t)
    }

    /// Overrides the keys that `text` (a thresholds file's content, read from `path`) sets:
    ///
    /// ```toml
    /// resamples = 10000        # ≥ 10,000
    /// seed = 42                # any non-negative integer
    /// fail_on_lost = true      # a cell measured in base but without an ok trial in current regresses
    /// [gates]                  # percent: "15%" or 15; "off" or false ungates
    /// p99 = "15%"
    /// ```
    pub fn apply_toml(&mut self, text: &str, path: &Path) -> Result<(), CompareError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| CompareError::Toml {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
        let origin = path.display().to_string();
        let bad = |key: &str, reason: &str| CompareError::BadValue {
            origin: origin.clone(),
            key: key.to_string(),
            reason: reason.to_string(),
        };
        for (key, value) in &table {
            match key.as_str() {
                "resamples" => {
                    let n = value
                        .as_integer()
                        .ok_or_else(|| bad(key, "expected an integer"))?;
                    self.set_resamples(usize::try_from(n).unwrap_or(0))
                        .map_err(|e| bad(key, &e))?;
                }
                "seed" => {
                    let n = value
                        .as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| bad(key, "expected a non-negative integer"))?;
                    self.seed = n;
                }
                "fail_on_lost" => {
                    self.fail_on_lost = value
                        .as_bool()
                        .ok_or_else(|| bad(key, "expected true or false"))?;
                }
                "gates" => {
                    let gates = value
                        .as_table()
                        .ok_or_else(|| bad(key, "expected a table [gates]"))?;
                    for (name, v) in gates {
                        let metric =
                            Metric::from_key(name).ok_or_else(|| CompareError::UnknownKey {
                                path: path.to_path_buf(),
                                key: format!("gates.{name}"),
                                expected: metric_keys(),
                            })?;
                        let threshold = match v {
                            toml::Value::String(s) => parse_percent(s),
                            toml::Value::Integer(i) => parse_percent(&i.to_string()),
                            toml::Value::Float(f) => parse_percent(&f.to_string()),
                            toml::Value::Boolean(false) => Ok(None),
                            _ => Err("expected a percentage (\"15%\" or 15) or \"off\"".into()),
                        }
                        .map_err(|reason| bad(&format!("gates.{name}"), &reason))?;
                        self.set_gate(metric, threshold);
                    }
                }
                _ => {
                    return Err(CompareError::UnknownKey {
                        path: path.to_path_buf(),
                        key: key.clone(),
                        expected: FILE_KEYS.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Sets the number of bootstrap resamples; fewer than 10,000 is refused (the interval's ends
    /// would move from seed to seed).
    pub fn set_resamples(&mut self, n: usize) -> Result<&mut Thresholds, String> {
        if n < DEFAULT_RESAMPLES {
            return Err(format!(
                "{n} resamples; at least {DEFAULT_RESAMPLES} needed"
            ));
        }
        self.resamples = n;
        Ok(self)
    }

    /// Sets the bootstrap seed.
    pub fn set_seed(&mut self, seed: u64) -> &mut Thresholds {
        self.seed = seed;
        self
    }

    /// When true, a cell with ok trials in base and none in current counts as a regression.
    pub fn set_fail_on_lost(&mut self, on: bool) -> &mut Thresholds {
        self.fail_on_lost = on;
        self
    }

    /// Bootstrap resamples per metric.
    pub fn resamples(&self) -> usize {
        self.resamples
    }

    /// Bootstrap seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether lost cells count as regressions.
    pub fn fail_on_lost(&self) -> bool {
        self.fail_on_lost
    }
}

fn metric_keys() -> String {
    Metric::ALL.map(Metric::key).join(", ")
}

/// `"15%"`, `"15"` → 0.15; `"off"` → none.
fn parse_percent(s: &str) -> Result<Option<f64>, String> {
    if matches!(s, "off" | "none" | "false") {
        return Ok(None);
    }
    let number = s.strip_suffix('%').unwrap_or(s).trim();
    let pct: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. \"15%\") or \"off\""))?;
    if !pct.is_finite() || pct < 0.0 {
        return Err(format!("`{s}`: a threshold is a percentage ≥ 0"));
    }
    Ok(Some(pct / 100.0))
}

/// What a compare found: both runs' identities, the settings used, and one entry per cell.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline run.
    pub base: RunInfo,
    /// The run judged against it.
    pub current: RunInfo,
    /// Gates and bootstrap settings in force.
    pub settings: Settings,
    /// Differences between the two runs' environments that may explain a change.
    pub warnings: Vec<String>,
    /// Ordered by scenario, variant, target.
    pub cells: Vec<CellComparison>,
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
    /// Ok trials where the load generator used ≥ 90% of its CPUs.
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
    /// Fewer than [`MIN_TRIALS`] ok trials on a side: no interval, no gate.
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

    /// True when the compare should fail a CI job.
    pub fn has_regression(&self) -> bool {
        self.regressions() > 0
    }

    fn count(&self, presence: Presence) -> usize {
        self.cells.iter().filter(|c| c.presence == presence).count()
    }
}

/// Compares `current` against `base`, cell by cell.
pub fn compare(base: &Run, current: &Run, thresholds: &Thresholds) -> Comparison {
    let base_cells = group_trials(&base.trials);
    let current_cells = group_trials(&current.trials);
    let keys: BTreeSet<&CellKey> = base_cells.keys().chain(current_cells.keys()).collect();
    let cells = keys
        .into_iter()
        .map(|key| {
            compare_cell(
                key,
                (base, base_cells.get(key)),
                (current, current_cells.get(key)),
                thresholds,
            )
        })
        .collect();
    Comparison {
        base: run_info(base),
        current: run_info(current),
        settings: Settings {
            confidence: CONFIDENCE,
            resamples: thresholds.resamples,
            seed: thresholds.seed,
            min_trials: MIN_TRIALS,
            fail_on_lost: thresholds.fail_on_lost,
            gates: thresholds
                .gates
                .iter()
                .map(|(m, t)| (m.key().to_string(), *t))
                .collect(),
        },
        warnings: environment_warnings(base, current),
        cells,
    }
}

fn run_info(run: &Run) -> RunInfo {
    RunInfo {
        run_id: run.run_id.clone(),
        git_commit: run.environment.git_commit.clone(),
        started_at: run.started_at.clone(),
        suite: run.suite.name.clone(),
        launcher: run.environment.launcher.clone(),
    }
}

fn counts(cell: &Cell<'_>) -> TrialCounts {
    TrialCounts {
        ok: cell.ok.len(),
        failed: cell.failed.len(),
        client_bound: cell.count(|t| t.load.as_ref().is_some_and(|l| l.client_bound)),
    }
}

fn compare_cell(
    key: &CellKey,
    (base_run, base): (&Run, Option<&Cell<'_>>),
    (current_run, current): (&Run, Option<&Cell<'_>>),
    thresholds: &Thresholds,
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
            Metric::ALL
                .into_iter()
                .filter_map(|m| compare_metric(key, m, b, c, thresholds))
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
    let relays = |cell: &Cell<'_>| cell.count(|t| t.relay.is_some());
    let (nb, nc) = (relays(base), relays(current));
    if nb == 0 || nc == 0 {
        return Vec::new();
    }
    let buffering = |cell: &Cell<'_>| cell.count(|t| t.relay.as_ref().is_some_and(|r| r.buffering));
    let leaked = |cell: &Cell<'_>| -> u64 {
        cell.ok
            .iter()
            .filter_map(|t| t.relay.as_ref())
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

fn compare_metric(
    key: &CellKey,
    metric: Metric,
    base: &Cell<'_>,
    current: &Cell<'_>,
    thresholds: &Thresholds,
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
        thresholds.seed,
        &format!(
            "{}\0{}\0{}\0{}",
            key.target,
            key.scenario,
            key.variant,
            metric.key()
        ),
    );
    row.interval =
        bootstrap::median_change_interval(&b, &c, thresholds.resamples, CONFIDENCE, seed);
    row.verdict = match (row.interval, threshold) {
        (None, _) => Verdict::NotComparable,
        (Some(_), None) => Verdict::NotGated,
        (Some(i), Some(t)) => judge(i, t, metric.higher_is_better()),
    };
    Some(row)
}

/// The verdict of interval `i` against gate `t`: only an interval wholly beyond the gate counts.
fn judge(i: Interval, t: f64, higher_is_better: bool) -> Verdict {
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

fn environment_warnings(base: &Run, current: &Run) -> Vec<String> {
    let (b, c) = (&base.environment, &current.environment);
    let mut out = Vec::new();
    let mut differs = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} differs: base {x}, current {y}"));
        }
    };
    differs("host", b.hostname.clone(), c.hostname.clone());
    differs("CPU model", b.cpu_model.clone(), c.cpu_model.clone());
    differs("cores", b.cores.to_string(), c.cores.to_string());
    differs("kernel", b.kernel.clone(), c.kernel.clone());
    differs(
        "memory",
        b.memory_bytes.to_string(),
        c.memory_bytes.to_string(),
    );
    differs("launcher", b.launcher.clone(), c.launcher.clone());
    differs(
        "server CPUs",
        format!("{:?}", b.placement.server_cpus),
        format!("{:?}", c.placement.server_cpus),
    );
    differs(
        "client CPUs",
        format!("{:?}", b.placement.client_cpus),
        format!("{:?}", c.placement.client_cpus),
    );
    differs("suite", base.suite.name.clone(), current.suite.name.clone());
    differs(
        "trials per cell",
        base.suite.trials.to_string(),
        current.suite.trials.to_string(),
    );
    for (target, bv) in &b.runtime_versions {
        if let Some(cv) = c.runtime_versions.get(target) {
            differs(&format!("{target} runtime version"), bv.clone(), cv.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering. Every renderer reads the same `Comparison`; none computes a figure.

/// An output format of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompareFormat {
    /// A plain-text table for a terminal.
    Terminal,
    /// GitHub-flavoured markdown (for a CI job summary).
    Markdown,
    /// The `Comparison` as pretty JSON.
    Json,
}

/// Writes `cmp` to `out` in `format`.
pub fn render(cmp: &Comparison, format: CompareFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        CompareFormat::Terminal => write_terminal(cmp, out),
        CompareFormat::Markdown => write_markdown(cmp, out),
        CompareFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, cmp)?;
            writeln!(out)
        }
    }
}

fn fmt_value(metric: Metric, v: f64) -> String {
    match metric.unit() {
        Unit::PerSecond => {
            if v.abs() >= 1e6 {
                format!("{:.2}M", v / 1e6)
            } else if v.abs() >= 1e3 {
                format!("{:.1}k", v / 1e3)
            } else {
                format!("{v:.1}")
            }
        }
        Unit::Micros => {
            if v.abs() >= 1e6 {
                format!("{:.2}s", v / 1e6)
            } else if v.abs() >= 1e3 {
                format!("{:.2}ms", v / 1e3)
            } else {
                format!("{v:.1}µs")
            }
        }
        Unit::Millis => format!("{v:.1}ms"),
        Unit::Kib => {
            if v.abs() >= 1024.0 {
                format!("{:.1}MiB", v / 1024.0)
            } else {
                format!("{v:.1}KiB")
            }
        }
        Unit::Mb => format!("{v:.1}MB"),
    }
}

fn fmt_pct(f: f64) -> String {
    format!("{:+.1}%", f * 100.0)
}

fn fmt_side(metric: Metric, s: Option<SideStats>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!(
            "{} ±{:.1}% n={}",
            fmt_value(metric, s.median),
            s.spread * 100.0,
            s.n
        ),
    }
}

fn fmt_interval(i: Option<Interval>) -> String {
    i.map_or_else(
        || "—".to_string(),
        |i| format!("{} .. {}", fmt_pct(i.lo), fmt_pct(i.hi)),
    )
}

fn fmt_gate(m: &MetricComparison) -> String {
    m.threshold.map_or_else(
        || "—".to_string(),
        |t| {
            format!(
                "{}{:.0}%",
                if m.higher_is_better { "-" } else { "+" },
                t * 100.0
            )
        },
    )
}

/// The columns of a metric row, shared by the terminal and markdown tables.
fn metric_columns(m: &MetricComparison) -> [String; 7] {
    [
        m.metric.key().to_string(),
        fmt_side(m.metric, m.base),
        fmt_side(m.metric, m.current),
        m.change.map_or_else(|| "—".to_string(), fmt_pct),
        fmt_interval(m.interval),
        fmt_gate(m),
        m.verdict.label().to_string(),
    ]
}

const HEADER: [&str; 9] = [
    "scenario",
    "target",
    "metric",
    "base",
    "current",
    "change",
    "95% interval",
    "gate",
    "verdict",
];

/// Every row of the full table: one per metric, or one per cell without metrics.
fn table_rows(cmp: &Comparison) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    for cell in &cmp.cells {
        let scenario = cell.scenario_label();
        if cell.metrics.is_empty() {
            let verdict = if cell.lost && cmp.settings.fail_on_lost {
                "REGRESSION (lost)"
            } else {
                match cell.presence {
                    Presence::BaseOnly => "only in base",
                    Presence::CurrentOnly => "only in current",
                    Presence::Both => "no ok trials",
                }
            };
            let mut row: [String; 9] = Default::default();
            row[0] = scenario;
            row[1] = cell.target.clone();
            row[2] = "—".to_string();
            row[8] = verdict.to_string();
            rows.push(row);
            continue;
        }
        for (i, m) in cell.metrics.iter().enumerate() {
            let [a, b, c, d, e, f, g] = metric_columns(m);
            let (s, t) = if i == 0 {
                (scenario.clone(), cell.target.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push([s, t, a, b, c, d, e, f, g]);
        }
    }
    rows
}

fn summary_line(cmp: &Comparison) -> String {
    let regressions = cmp.regressions();
    let head = match regressions {
        0 => "no regression".to_string(),
        1 => "1 regression".to_string(),
        n => format!("{n} regressions"),
    };
    let lost = cmp.cells.iter().filter(|c| c.lost).count();
    format!(
        "{head}, {} improvement(s); {} cell(s) in both runs, {} only in base, {} only in current, {} lost",
        cmp.improvements(),
        cmp.count(Presence::Both),
        cmp.count(Presence::BaseOnly),
        cmp.count(Presence::CurrentOnly),
        lost,
    )
}

fn gates_line(cmp: &Comparison) -> String {
    let gates: Vec<String> = Metric::ALL
        .iter()
        .filter_map(|m| {
            let t = cmp.settings.gates.get(m.key())?;
            Some(format!("{m} {:.0}%", t * 100.0))
        })
        .collect();
    format!(
        "{:.0}% bootstrap intervals of the change in medians ({} resamples, seed {}); gates: {}; \
         a regression needs the whole interval beyond its gate",
        cmp.settings.confidence * 100.0,
        cmp.settings.resamples,
        cmp.settings.seed,
        if gates.is_empty() {
            "none".to_string()
        } else {
            gates.join(", ")
        }
    )
}

fn write_terminal(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "base    {} ({}, {})\ncurrent {} ({}, {})",
        cmp.base.run_id,
        short(&cmp.base.git_commit),
        cmp.base.suite,
        cmp.current.run_id,
        short(&cmp.current.git_commit),
        cmp.current.suite
    )?;
    writeln!(out, "{}", gates_line(cmp))?;
    for w in &cmp.warnings {
        writeln!(out, "warning: {w}")?;
    }
    writeln!(out)?;
    let rows = table_rows(cmp);
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", line(&HEADER.map(String::from)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    let notes: Vec<String> = cmp
        .cells
        .iter()
        .flat_map(|c| {
            c.notes
                .iter()
                .map(move |n| format!("{} {}: {n}", c.target, c.scenario_label()))
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "note: {n}")?;
        }
    }
    writeln!(out, "\n{}", summary_line(cmp))
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn write_md_table(out: &mut dyn Write, rows: &[[String; 9]]) -> io::Result<()> {
    writeln!(out, "| {} |", HEADER.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(HEADER.len()))?;
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| match (i, c.as_str()) {
                (8, "REGRESSION") | (8, "REGRESSION (lost)") => format!("**{c}**"),
                _ => md_escape(c),
            })
            .collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

fn write_markdown(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let mark = if cmp.has_regression() { "❌" } else { "✅" };
    writeln!(out, "## rtbench compare: {mark} {}\n", summary_line(cmp))?;
    writeln!(
        out,
        "Base `{}` (`{}`) → current `{}` (`{}`). {}.\n",
        md_escape(&cmp.base.run_id),
        short(&cmp.base.git_commit),
        md_escape(&cmp.current.run_id),
        short(&cmp.current.git_commit),
        gates_line(cmp)
    )?;
    for w in &cmp.warnings {
        writeln!(out, "> ⚠️ {}", md_escape(w))?;
    }
    if !cmp.warnings.is_empty() {
        writeln!(out)?;
    }
    let notable: Vec<[String; 9]> = cmp
        .cells
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .filter(|m| matches!(m.verdict, Verdict::Regression | Verdict::Improvement))
                .map(move |m| {
                    let [a, b, d, e, f, g, h] = metric_columns(m);
                    [c.scenario_label(), c.target.clone(), a, b, d, e, f, g, h]
                })
        })
        .collect();
    if !notable.is_empty() {
        writeln!(out, "### Regressions and improvements\n")?;
        write_md_table(out, &notable)?;
        writeln!(out)?;
    }
    let one_sided: Vec<&CellComparison> = cmp
        .cells
        .iter()
        .filter(|c| c.presence != Presence::Both || c.lost)
        .collect();
    if !one_sided.is_empty() {
        writeln!(out, "### Cells not in both runs\n")?;
        for c in one_sided {
            writeln!(
                out,
                "- `{}` `{}`: {}",
                md_escape(&c.target),
                md_escape(&c.scenario_label()),
                md_escape(&c.notes.join("; "))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "<details><summary>All cells ({})</summary>\n",
        cmp.cells.len()
    )?;
    write_md_table(out, &table_rows(cmp))?;
    let notes: Vec<String> = cmp
        .cells
        .iter()
        .filter(|c| c.presence == Presence::Both && !c.lost)
        .flat_map(|c| {
            c.notes.iter().map(move |n| {
                format!(
                    "- `{}` `{}`: {}",
                    md_escape(&c.target),
                    md_escape(&c.scenario_label()),
                    md_escape(n)
                )
            })
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "{n}")?;
        }
    }
    writeln!(
        out,
        "\nbase/current: median ± half the min–max range over ok trials (n). \
         \"insufficient trials\": fewer than {} on a side, no interval and no gate.\n\n</details>",
        cmp.settings.min_trials
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::Rng;
    use rtbench_results::TrialStatus;

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

    #[test]
    fn percentages_parse() {
        assert_eq!(parse_percent("15%"), Ok(Some(0.15)));
        assert_eq!(parse_percent("2.5"), Ok(Some(0.025)));
        assert_eq!(parse_percent("off"), Ok(None));
        assert!(parse_percent("-3%").is_err());
        assert!(parse_percent("fast").is_err());
        assert!(parse_percent("NaN").is_err());
    }

    #[test]
    fn defaults_gate_rps_p50_memory_only() {
        let t = Thresholds::default();
        let gated: Vec<Metric> = Metric::ALL
            .into_iter()
            .filter(|m| t.gate(*m).is_some())
            .collect();
        assert_eq!(gated, [Metric::Rps, Metric::P50, Metric::Memory]);
        assert_eq!(t.gate(Metric::Rps), Some(0.05));
        assert_eq!(t.gate(Metric::P50), Some(0.10));
        assert_eq!(t.gate(Metric::Memory), Some(0.10));
        assert_eq!(t.resamples(), 10_000);
    }

    #[test]
    fn gate_flags_set_and_clear() {
        let mut t = Thresholds::default();
        t.apply_gate_spec("p99=15%").unwrap();
        t.apply_gate_spec("rps = 3").unwrap();
        t.apply_gate_spec("p50=off").unwrap();
        assert_eq!(t.gate(Metric::P99), Some(0.15));
        assert_eq!(t.gate(Metric::Rps), Some(0.03));
        assert_eq!(t.gate(Metric::P50), None);
        let err = t.apply_gate_spec("p95=10%").unwrap_err().to_string();
        assert!(
            err.contains("--gate p95=10%") && err.contains("unknown metric"),
            "{err}"
        );
        let err = t.apply_gate_spec("p99").unwrap_err().to_string();
        assert!(err.contains("METRIC=PERCENT"), "{err}");
    }

    #[test]
    fn thresholds_file_overrides_keys() {
        let mut t = Thresholds::default();
        let text = "resamples = 20000\nseed = 7\nfail_on_lost = true\n\
                    [gates]\np99 = \"15%\"\nmax = 50\nmemory = false\nrps = \"off\"\n";
        t.apply_toml(text, Path::new("t.toml")).unwrap();
        assert_eq!(t.resamples(), 20_000);
        assert_eq!(t.seed(), 7);
        assert!(t.fail_on_lost());
        assert_eq!(t.gate(Metric::P99), Some(0.15));
        assert_eq!(t.gate(Metric::Max), Some(0.5));
        assert_eq!(t.gate(Metric::Memory), None);
        assert_eq!(t.gate(Metric::Rps), None);
        assert_eq!(
            t.gate(Metric::P50),
            Some(0.10),
            "untouched keys keep defaults"
        );
    }

    #[test]
    fn thresholds_file_errors_name_file_and_key() {
        let cases = [
            ("noise = 3\n", "t.toml: unknown key `noise`"),
            ("[gates]\np95 = \"5%\"\n", "t.toml: unknown key `gates.p95`"),
            (
                "[gates]\np99 = \"lots\"\n",
                "t.toml: bad value for `gates.p99`",
            ),
            ("[gates]\np99 = [1]\n", "t.toml: bad value for `gates.p99`"),
            ("resamples = 100\n", "t.toml: bad value for `resamples`"),
            ("seed = -1\n", "t.toml: bad value for `seed`"),
            ("gates = 5\n", "t.toml: bad value for `gates`"),
            ("[gates\n", "t.toml: not valid TOML"),
        ];
        for (text, want) in cases {
            let err = Thresholds::default()
                .apply_toml(text, Path::new("t.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{text:?} → {err}");
        }
    }

    #[test]
    fn example_thresholds_file_parses() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/compare/thresholds.toml");
        let t = Thresholds::from_toml_file(&path).unwrap();
        assert_eq!(t.gate(Metric::Rps), Some(0.05));
    }

    #[test]
    fn relay_findings_that_change_are_noted() {
        let template = template_trial();
        let relay_trial = |buffering: bool, leaked: u64| {
            let mut t = template.clone();
            t.scenario = "sse-relay".into();
            t.relay = Some(rtbench_results::RelayStats {
                buffering,
                leaked,
                ..Default::default()
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
        let run: Run =
            serde_json::from_str(include_str!("../tests/compare/base/run.json")).unwrap();
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
        let mut run: Run =
            serde_json::from_str(include_str!("../tests/compare/base/run.json")).unwrap();
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
                let load = t.load.as_mut().unwrap();
                load.rps = 100_000.0 * rps_factor * drift_rps * (1.0 + noise.rps_cv * rng.normal());
                let lat = drift_lat * (1.0 + noise.latency_cv * rng.normal());
                load.latency_us.p50 = 500.0 * lat;
                load.latency_us.p99 = 1500.0 * lat;
                load.latency_us.max = 5000.0 * lat;
                let server = t.server.as_mut().unwrap();
                server.rss_mean_kib = 10_000.0 * drift_mem * (1.0 + noise.memory_cv * rng.normal());
                server.cpu_us_per_request =
                    Some(5.0 * drift_rps.recip() * (1.0 + noise.rps_cv * rng.normal()));
                run.trials.push(t);
            }
        }
        run
    }

    /// Over `pairs` compares of `cells` cells each (`current`'s rps scaled by `rps_factor`): the
    /// fraction of cells with at least one gated regression, and the fraction of compares with
    /// one (what a nightly job sees).
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
                .filter(|c| c.regressed(thresholds.fail_on_lost()))
                .count();
            compare_alarms += usize::from(cmp.has_regression());
        }
        (
            cell_alarms as f64 / (pairs * cells) as f64,
            compare_alarms as f64 / pairs as f64,
        )
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
