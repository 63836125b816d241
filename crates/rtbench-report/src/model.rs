//! The report's content, computed once from a run: the targets and their colours, the scenarios
//! and their variants, every cell's figures (through `stats`), and the survey's two tables held
//! against the measurements. Tables and charts are built from this; renderers only format.

use rtbench_results::{Metric, Model, Run, TargetStatus, Trial, TrialStatus};

pub(crate) use crate::claim::{Claim, ClaimRow, ClaimTable, Verdict};
pub(crate) use crate::palette::Rgb;
use crate::palette::{self, Style, SPARE_COLOURS};
use crate::stats::{self, Spread};
use crate::survey::{self, SurveyRow, SURVEY};
use crate::variant_label::natural_key;
pub(crate) use crate::variant_label::{thousands, variant_label};
use rtbench_results::Unit;

/// Scenario names the runner uses (design.md); the report knows what each one measures.
pub(crate) mod scenario {
    pub const PLAINTEXT: &str = "plaintext";
    pub const JSON: &str = "json";
    pub const RATE_10K: &str = "rate-10k";
    pub const IDLE: &str = "idle-connections";
    pub const COLD_START: &str = "cold-start";
    pub const SSE: &str = "sse";
    pub const SSE_RELAY: &str = "sse-relay";
}

/// One run and the figures derived from it (targets, scenarios, cells, the survey's tables):
/// what tables and charts read. [`Report`](crate::Report) adds the charts.
#[derive(Debug, Clone)]
pub struct RunFigures {
    pub(crate) run: Run,
    pub(crate) targets: Vec<TargetInfo>,
    pub(crate) scenarios: Vec<ScenarioInfo>,
}

/// A target as the report shows it.
#[derive(Debug, Clone)]
pub(crate) struct TargetInfo {
    pub name: String,
    /// The survey row when there is one (the reader knows those names), else the display name.
    pub label: String,
    pub survey: Option<&'static SurveyRow>,
    pub status: TargetStatus,
    pub reason: Option<String>,
    pub version: Option<String>,
    /// Colour, marker and dash: one per target, the same in every chart.
    pub style: Style,
}

/// A scenario present in the run, with its variants in natural order (c64 before c256).
#[derive(Debug, Clone)]
pub(crate) struct ScenarioInfo {
    pub name: String,
    pub variants: Vec<String>,
}

/// Latency percentiles as the engine records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pct {
    P50,
    P75,
    P90,
    P99,
    P999,
    P9999,
}

impl Pct {
    /// The spectrum's points, p50 … p99.99.
    pub const SPECTRUM: [Pct; 6] = [
        Pct::P50,
        Pct::P75,
        Pct::P90,
        Pct::P99,
        Pct::P999,
        Pct::P9999,
    ];

    /// The percentile as a fraction.
    pub fn fraction(self) -> Option<f64> {
        match self {
            Pct::P50 => Some(0.5),
            Pct::P75 => Some(0.75),
            Pct::P90 => Some(0.9),
            Pct::P99 => Some(0.99),
            Pct::P999 => Some(0.999),
            Pct::P9999 => Some(0.9999),
        }
    }

    /// The catalogue key of this percentile of the (corrected) latency.
    pub fn key(self) -> &'static str {
        match self {
            Pct::P50 => "p50",
            Pct::P75 => "p75",
            Pct::P90 => "p90",
            Pct::P99 => "p99",
            Pct::P999 => "p999",
            Pct::P9999 => "p9999",
        }
    }

    /// The catalogue key of this percentile of the uncorrected latency.
    pub fn uncorrected_key(self) -> &'static str {
        match self {
            Pct::P50 => "p50_uncorrected",
            Pct::P75 => "p75_uncorrected",
            Pct::P90 => "p90_uncorrected",
            Pct::P99 => "p99_uncorrected",
            Pct::P999 => "p999_uncorrected",
            Pct::P9999 => "p9999_uncorrected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Pct::P50 => "p50",
            Pct::P75 => "p75",
            Pct::P90 => "p90",
            Pct::P99 => "p99",
            Pct::P999 => "p99.9",
            Pct::P9999 => "p99.99",
        }
    }
}

/// One figure a trial can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    Rps,
    AchievedRate,
    /// Latency at a percentile; `false` = uncorrected (open model, from the actual send).
    Latency(Pct, bool),
    /// Mean server RSS under load.
    ServerMemory,
    CpuPerRequest,
    Memory10k,
    KibPerConnection,
    KibPerStream,
    /// Median time from request to first event.
    FirstEvent,
    EventLatencyP99,
    /// Relay: client receive − upstream send, p99.
    RelayAddedP99,
    AbortMs,
    /// Median of the trial's starts.
    ColdStart,
    /// SSE events received as a percentage of those expected.
    EventsReceived,
    /// Client CPU as a share of its CPUs, and its req/s over its ceiling (client-bound evidence).
    ClientCpu,
    ClientHeadroom,
}

impl Measure {
    /// The catalogue's metric behind this figure.
    pub fn metric(self) -> Metric {
        Metric::named(match self {
            Measure::Rps => "rps",
            Measure::AchievedRate => "achieved_rate",
            Measure::Latency(p, true) => p.key(),
            Measure::Latency(p, false) => p.uncorrected_key(),
            Measure::ServerMemory => "memory",
            Measure::CpuPerRequest => "cpu",
            Measure::Memory10k => "memory_per_10k",
            Measure::KibPerConnection => "kib_per_connection",
            Measure::KibPerStream => "kib_per_stream",
            Measure::FirstEvent => "sse_first_event_p50",
            Measure::EventLatencyP99 => "sse_latency_p99",
            Measure::RelayAddedP99 => "relay_added_p99",
            Measure::AbortMs => "relay_abort_ms",
            Measure::ColdStart => "cold_start",
            Measure::EventsReceived => "sse_events_received_share",
            Measure::ClientCpu => "client_cpu_share",
            Measure::ClientHeadroom => "client_headroom",
        })
    }

    /// The figure in `trial`, if the trial has it.
    pub fn of(self, t: &Trial) -> Option<f64> {
        self.metric().value(t)
    }

    /// Column header in the per-cell tables, without the unit (the table adds it).
    pub fn header(self, open_model: bool) -> String {
        match self {
            Measure::Rps => "req/s".into(),
            Measure::AchievedRate => "achieved req/s".into(),
            Measure::Latency(p, true) if open_model => format!("{} corrected", p.label()),
            Measure::Latency(p, true) => format!("latency {}", p.label()),
            Measure::Latency(p, false) => format!("{} uncorrected", p.label()),
            Measure::ServerMemory => "server RSS (mean)".into(),
            Measure::CpuPerRequest => "server CPU per request".into(),
            Measure::ClientCpu => "client CPU".into(),
            Measure::ColdStart => "cold start (median)".into(),
            _ => self.metric().label().into(),
        }
    }

    pub fn unit(self) -> Unit {
        self.metric().unit()
    }
}

/// Why a cell has no figure. Never drawn or written as zero.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Missing {
    /// The target cannot run on this machine.
    Unavailable(Option<String>),
    /// The target (or every trial of the cell) failed.
    Failed(Option<String>),
    /// The open run fell below 98% of the asked rate; the achieved rate when known.
    NotSustained(Option<f64>),
    /// The relay never closed its upstream request.
    Leaked(u64),
    /// The run has no trial for this cell.
    NotRun,
    /// Trials ran but did not record this figure.
    NoData,
    /// The figure lies below what its measurement can resolve (an RSS difference lost in the
    /// sampler's noise): the resolution when the run recorded it, KiB.
    BelowResolution(Option<f64>),
    /// A trial recorded a value no measurement can produce (not finite, beyond
    /// [`DRAWABLE_MAX`], or negative where the metric cannot be): refused, not drawn.
    Undrawable(f64),
}

/// The largest magnitude the report draws or prints, in any unit. No figure rtbench measures
/// comes near it (10^12 µs is 11 days; 10^12 bytes is a terabyte); past it a run.json was
/// damaged or edited, and plotters' axis computations stall on such ranges.
pub(crate) const DRAWABLE_MAX: f64 = 1e12;

/// Whether `v`, a value of `measure`, can be drawn and printed. Only per-connection and
/// per-stream memory are differences of two samples and may be negative.
pub(crate) fn drawable(metric: Metric, v: f64) -> bool {
    let may_be_negative = matches!(metric.key(), "kib_per_connection" | "kib_per_stream");
    v.is_finite() && v.abs() <= DRAWABLE_MAX && (may_be_negative || v >= 0.0)
}

impl Missing {
    /// A short word for charts and table cells.
    pub fn word(&self) -> &'static str {
        match self {
            Missing::Unavailable(_) => "unavailable",
            Missing::Failed(_) => "FAILED",
            Missing::NotSustained(_) => "not sustained",
            Missing::Leaked(_) => "leaked",
            Missing::NotRun => "not run",
            Missing::NoData => "no data",
            Missing::BelowResolution(_) => "below resolution",
            Missing::Undrawable(_) => "refused",
        }
    }

    /// The word and its reason, e.g. `FAILED: verification: status 500`.
    pub fn describe(&self) -> String {
        match self {
            Missing::Unavailable(Some(r)) | Missing::Failed(Some(r)) => {
                format!("{}: {}", self.word(), r)
            }
            Missing::NotSustained(Some(rate)) => {
                format!("not sustained: {} achieved", Unit::PerSecond.format(*rate))
            }
            Missing::Leaked(n) => format!("leaked: {n} upstream request(s) never closed"),
            Missing::Undrawable(v) => format!("refused: run.json holds {v:e}, not a measurement"),
            Missing::BelowResolution(Some(r)) => {
                format!("< {} (resolution)", Unit::Kibibytes.format(*r))
            }
            Missing::BelowResolution(None) => {
                "below resolution: RSS did not rise (no resolution recorded)".into()
            }
            _ => self.word().to_string(),
        }
    }
}

/// A measured cell: the spread over its ok trials and the flags a reader must see beside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measured {
    pub spread: Spread,
    /// Ok trials of the cell.
    pub trials: usize,
    pub failed_trials: usize,
    /// Ok trials flagged client-bound (≥ 90% of the client's CPUs or of its ceiling).
    pub client_bound: usize,
    /// Ok trials of an open run below 98% of the asked rate.
    pub not_sustained: usize,
    /// The load was pipelined (depth > 1).
    pub pipelined: bool,
}

impl Measured {
    /// The flags in words, e.g. `client-bound 3/3`; empty when there are none.
    pub fn flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.client_bound > 0 {
            out.push(format!(
                "client-bound {}/{}",
                self.client_bound, self.trials
            ));
        }
        if self.not_sustained > 0 {
            out.push(format!(
                "not sustained {}/{}",
                self.not_sustained, self.trials
            ));
        }
        if self.failed_trials > 0 {
            out.push(format!("{} trial(s) failed", self.failed_trials));
        }
        if self.pipelined {
            out.push("pipelined".to_string());
        }
        out
    }
}

/// A measured cell: `spread` over the `ok` trials, with the cell's flags.
fn measured(spread: Spread, ok: &[&Trial], failed_trials: usize, not_sustained: usize) -> Figure {
    Figure::Measured(Measured {
        spread,
        trials: ok.len(),
        failed_trials,
        client_bound: ok
            .iter()
            .filter(|t| t.load().is_some_and(|l| l.client_bound))
            .count(),
        not_sustained,
        pipelined: ok.iter().any(|t| t.load().is_some_and(|l| l.pipeline > 1)),
    })
}

/// A cell's figure for one measure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Figure {
    Measured(Measured),
    Missing(Missing),
}

impl Figure {
    pub fn median(&self) -> Option<f64> {
        match self {
            Figure::Measured(m) => Some(m.spread.median),
            Figure::Missing(_) => None,
        }
    }

    pub fn measured(&self) -> Option<&Measured> {
        match self {
            Figure::Measured(m) => Some(m),
            Figure::Missing(_) => None,
        }
    }
}

impl RunFigures {
    /// Derives the figures of a parsed run.
    pub fn of(run: Run) -> RunFigures {
        let mut targets: Vec<TargetInfo> = Vec::new();
        let mut spare = SPARE_COLOURS.iter().copied().cycle();
        let add = |targets: &mut Vec<TargetInfo>, t: TargetInfo| {
            if !targets.iter().any(|o| o.name == t.name) {
                targets.push(t);
            }
        };
        // Colours now; markers and dashes once the order is known.
        let mut style_of = |name: &str| Style {
            colour: palette::colour_of(name, &mut spare),
            ..Style::default()
        };
        for t in &run.targets {
            let survey = survey::row_for(t.survey_row.as_deref(), &t.name);
            let info = TargetInfo {
                name: t.name.clone(),
                label: survey.map_or_else(|| t.display_name.clone(), |s| s.row.to_string()),
                survey,
                status: t.status,
                reason: t.reason.clone(),
                version: t
                    .version
                    .clone()
                    .or_else(|| run.environment.runtime_versions.get(&t.name).cloned()),
                style: style_of(&t.name),
            };
            add(&mut targets, info);
        }
        // A trial of a target the run does not list still gets shown, not dropped.
        for trial in &run.trials {
            if targets.iter().any(|t| t.name == trial.target) {
                continue;
            }
            let survey = survey::row_for(None, &trial.target);
            let info = TargetInfo {
                name: trial.target.clone(),
                label: survey.map_or_else(|| trial.target.clone(), |s| s.row.to_string()),
                survey,
                status: TargetStatus::Ok,
                reason: None,
                version: run.environment.runtime_versions.get(&trial.target).cloned(),
                style: style_of(&trial.target),
            };
            add(&mut targets, info);
        }

        // One order everywhere: the survey's rank (its table order), unlisted targets after, in
        // the run's order.
        targets.sort_by_key(|t| {
            t.survey
                .and_then(|s| SURVEY.iter().position(|r| r.row == s.row))
                .unwrap_or(SURVEY.len())
        });
        let colours: Vec<Rgb> = targets.iter().map(|t| t.style.colour).collect();
        for (t, style) in targets.iter_mut().zip(palette::styles(&colours)) {
            t.style = style;
        }

        let mut names: Vec<String> = run.suite.scenarios.clone();
        for trial in &run.trials {
            if !names.contains(&trial.scenario) {
                names.push(trial.scenario.clone());
            }
        }
        let scenarios = names
            .into_iter()
            .map(|name| {
                let mut variants: Vec<String> = Vec::new();
                for t in run.trials.iter().filter(|t| t.scenario == name) {
                    if !variants.contains(&t.variant) {
                        variants.push(t.variant.clone());
                    }
                }
                variants.sort_by_key(|v| natural_key(v));
                if variants.is_empty() {
                    variants.push(String::new());
                }
                ScenarioInfo { name, variants }
            })
            .collect();
        RunFigures {
            run,
            targets,
            scenarios,
        }
    }

    /// One line per trial value the report refuses to draw (see [`drawable`]), naming the
    /// trial and the metric, so a damaged run.json is said so rather than drawn.
    pub fn refused(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.run.trials {
            for m in Metric::all() {
                match m.value(t) {
                    Some(v) if !drawable(m, v) => out.push(format!(
                        "{} {} {} trial {}: {} = {v:e} is no measurement; that cell is shown \
                         as refused",
                        t.target,
                        t.scenario,
                        t.variant,
                        t.trial,
                        m.key()
                    )),
                    _ => {}
                }
            }
        }
        out
    }

    /// The parsed run.
    pub fn run(&self) -> &Run {
        &self.run
    }

    pub(crate) fn scenario(&self, name: &str) -> Option<&ScenarioInfo> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// The figure of `measure` in one cell, or why there is none.
    pub(crate) fn figure(
        &self,
        scenario: &str,
        variant: &str,
        target: &TargetInfo,
        measure: Measure,
    ) -> Figure {
        match target.status {
            TargetStatus::Unavailable => {
                return Figure::Missing(Missing::Unavailable(target.reason.clone()))
            }
            TargetStatus::Failed => return Figure::Missing(Missing::Failed(target.reason.clone())),
            TargetStatus::Ok => {}
        }
        let trials =
            self.run.trials.iter().filter(|t| {
                t.target == target.name && t.scenario == scenario && t.variant == variant
            });
        let (ok, failed): (Vec<&Trial>, Vec<&Trial>) =
            trials.partition(|t| t.status == TrialStatus::Ok);
        if ok.is_empty() {
            return Figure::Missing(match failed.first() {
                Some(t) => Missing::Failed(t.reason.clone()),
                None => Missing::NotRun,
            });
        }
        let values: Vec<f64> = ok.iter().filter_map(|t| measure.of(t)).collect();
        if let Some(bad) = values.iter().find(|v| !drawable(measure.metric(), **v)) {
            return Figure::Missing(Missing::Undrawable(*bad));
        }
        let not_sustained = ok.iter().filter(|t| t.sustained() == Some(false)).count();
        match Spread::of(&values) {
            // Differences of two RSS readings: below their resolution they are noise.
            Some(spread)
                if matches!(measure, Measure::KibPerConnection | Measure::KibPerStream) =>
            {
                let resolution: Vec<f64> = ok
                    .iter()
                    .filter_map(|t| t.kib_per_connection_resolution())
                    .collect();
                match stats::median(&resolution) {
                    Some(r) if spread.median < r => {
                        Figure::Missing(Missing::BelowResolution(Some(r)))
                    }
                    // Without a recorded resolution (older runs, streams), a rise of nothing
                    // is still no figure.
                    None if spread.median <= 0.0 => Figure::Missing(Missing::BelowResolution(None)),
                    _ => measured(spread, &ok, failed.len(), not_sustained),
                }
            }
            Some(spread) => measured(spread, &ok, failed.len(), not_sustained),
            None if not_sustained > 0 => {
                let achieved: Vec<f64> = ok
                    .iter()
                    .filter_map(|t| Measure::AchievedRate.of(t))
                    .collect();
                Figure::Missing(Missing::NotSustained(stats::median(&achieved)))
            }
            None => {
                let leaked: u64 = ok.iter().filter_map(|t| t.relay()).map(|r| r.leaked).sum();
                if measure == Measure::AbortMs && leaked > 0 {
                    Figure::Missing(Missing::Leaked(leaked))
                } else {
                    Figure::Missing(Missing::NoData)
                }
            }
        }
    }

    /// Whether the scenario timed requests (closed or open model), so it has a latency spectrum.
    pub(crate) fn has_request_latency(&self, scenario: &str) -> bool {
        self.run.trials.iter().any(|t| {
            t.scenario == scenario
                && t.status == TrialStatus::Ok
                && t.load()
                    .is_some_and(|l| matches!(l.model, Model::Closed | Model::Open))
        })
    }

    /// Whether any ok trial of the scenario records `measure` (decides which columns and panels
    /// exist).
    pub(crate) fn has(&self, scenario: &str, measure: Measure) -> bool {
        self.run.trials.iter().any(|t| {
            t.scenario == scenario && t.status == TrialStatus::Ok && measure.of(t).is_some()
        })
    }

    /// A target's figure at the variant where its median is best (§8 takes each runtime at its
    /// best concurrency level); the variant comes back with it.
    pub(crate) fn best_variant(
        &self,
        scenario: &str,
        target: &TargetInfo,
        measure: Measure,
        higher_is_better: bool,
    ) -> (String, Figure) {
        let Some(info) = self.scenario(scenario) else {
            return (String::new(), Figure::Missing(Missing::NotRun));
        };
        let figures: Vec<(String, Figure)> = info
            .variants
            .iter()
            .map(|v| (v.clone(), self.figure(scenario, v, target, measure)))
            .collect();
        let medians: Vec<Option<f64>> = figures.iter().map(|(_, f)| f.median()).collect();
        let best = stats::ranks(&medians, higher_is_better)
            .iter()
            .position(|r| *r == Some(1));
        let pick = best.unwrap_or(0);
        figures.into_iter().nth(pick).expect("at least one variant")
    }
}
