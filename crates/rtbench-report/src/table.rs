//! The report's tables as plain data (title, headers, cells with a mark), built once from the
//! model and shared by the markdown and HTML formats.

use rtbench_results::{CheckStatus, TargetStatus, SCHEMA_VERSION};

use crate::model::{
    scenario, thousands, variant_label, Claim, ClaimTable, Figure, Measure, Missing, Pct,
    RunFigures, Verdict,
};
use crate::survey::{Direction, TOLERANCE};
use rtbench_results::Unit;

/// How a cell should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Plain,
    /// Measured, with a flag the reader must see (client-bound, not sustained, pipelined).
    Flagged,
    /// No figure: failed, unavailable, not run, not sustained.
    Missing,
    /// Verdicts.
    Consistent,
    Better,
    Worse,
    Inconclusive,
}

impl Mark {
    /// CSS class in the HTML report.
    pub fn class(self) -> &'static str {
        match self {
            Mark::Plain => "",
            Mark::Flagged => "flagged",
            Mark::Missing => "missing",
            Mark::Consistent => "consistent",
            Mark::Better => "better",
            Mark::Worse => "worse",
            Mark::Inconclusive => "inconclusive",
        }
    }
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub text: String,
    pub mark: Mark,
}

impl Cell {
    pub(crate) fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            mark: Mark::Plain,
        }
    }

    pub(crate) fn marked(text: impl Into<String>, mark: Mark) -> Cell {
        Cell {
            text: text.into(),
            mark,
        }
    }
}

/// A titled table with notes below it.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Anchor name in the HTML page.
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub notes: Vec<String>,
}

/// A figure's cell: `median (min–max)`, with its flags when `with_flags`, or why there is none.
pub(crate) fn figure_cell(figure: &Figure, unit: Unit, with_flags: bool) -> Cell {
    match figure {
        Figure::Measured(m) => {
            let s = &m.spread;
            let mut text = if s.n > 1 && s.min != s.max {
                format!(
                    "{} ({}–{})",
                    unit.short(s.median),
                    unit.short(s.min),
                    unit.short(s.max)
                )
            } else {
                unit.short(s.median)
            };
            let flags = if with_flags { m.flags() } else { Vec::new() };
            if !flags.is_empty() {
                text = format!("{text} ⚠ {}", flags.join(", "));
            }
            Cell::marked(
                text,
                if flags.is_empty() {
                    Mark::Plain
                } else {
                    Mark::Flagged
                },
            )
        }
        Figure::Missing(why) => Cell::marked(why.describe(), Mark::Missing),
    }
}

fn verdict_cell(claim: Claim, verdict: &Verdict) -> Cell {
    match verdict {
        Verdict::Judged(d) => Cell::marked(
            claim.words(*d),
            match d {
                Direction::Consistent => Mark::Consistent,
                Direction::Better => Mark::Better,
                Direction::Worse => Mark::Worse,
            },
        ),
        Verdict::Inconclusive(d, why) => Cell::marked(
            format!("inconclusive ({}?): {why}", claim.words(*d)),
            Mark::Inconclusive,
        ),
        Verdict::NotMeasured(why) => Cell::marked(
            if why.is_empty() {
                "not measured".to_string()
            } else {
                format!("not measured: {why}")
            },
            Mark::Missing,
        ),
    }
}

/// The environment block as a two-column table.
pub(crate) fn environment(report: &RunFigures) -> Table {
    let run = report.run();
    let env = &run.environment;
    let cpus = |v: &[usize]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut rows = vec![
        ("Run", run.run_id.clone()),
        (
            "Date (UTC)",
            match &run.finished_at {
                Some(end) => format!("{} → {}", run.started_at, end),
                None => format!("{} (unfinished run)", run.started_at),
            },
        ),
        ("Host", env.hostname.clone()),
        ("CPU", env.cpu_model.clone()),
        ("Cores (logical, online)", env.cores.to_string()),
        (
            "Memory",
            format!(
                "{:.1} GiB",
                env.memory_bytes as f64 / (1024.0 * 1024.0 * 1024.0)
            ),
        ),
        ("Kernel", env.kernel.clone()),
        (
            "rtbench",
            format!("{} (commit {})", env.rtbench_version, env.git_commit),
        ),
        ("Launcher", env.launcher.clone()),
        (
            "CPU placement",
            format!(
                "server on CPU {}, load generator on CPU {}{}",
                cpus(&env.placement.server_cpus),
                cpus(&env.placement.client_cpus),
                env.placement
                    .reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({r})"))
            ),
        ),
        ("Client ceiling", client_ceiling(env)),
        (
            "Suite",
            format!(
                "{}: {} trial(s) per cell; scenarios {}",
                run.suite.name,
                run.suite.trials,
                run.suite.scenarios.join(", ")
            ),
        ),
        ("Results file", schema_read(run.schema_version)),
    ];
    let mut versions: Vec<(String, String)> = report
        .targets
        .iter()
        .filter_map(|t| Some((t.name.clone(), t.version.clone()?)))
        .collect();
    for (name, v) in &env.runtime_versions {
        if !versions.iter().any(|(n, _)| n == name) {
            versions.push((name.clone(), v.clone()));
        }
    }
    let versions = if versions.is_empty() {
        "not recorded".to_string()
    } else {
        versions
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    rows.push(("Runtime versions", versions));
    Table {
        id: "environment".into(),
        // The section heading names it.
        title: String::new(),
        intro: None,
        headers: vec!["".into(), "value".into()],
        rows: rows
            .into_iter()
            .map(|(k, v)| vec![Cell::plain(k), Cell::plain(v)])
            .collect(),
        notes: vec![],
    }
}

/// The client's ceiling in words: what a cell's headroom is measured against.
fn client_ceiling(env: &rtbench_results::Environment) -> String {
    match &env.client_ceiling {
        Some(c) => format!(
            "{} per client core ({} client CPU per request against a built-in plaintext server \
             on CPU {}, {:.0} s){}",
            Unit::PerSecond.format(c.max_rps_per_core),
            Unit::Micros.format(c.cpu_us_per_request),
            c.server_cpus
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            c.duration_s,
            if c.shared_cpu {
                "; client and server shared a CPU: a low estimate"
            } else {
                ""
            }
        ),
        None => "not measured in this run (no headroom figures)".into(),
    }
}

/// Every target the run asked for, with its status and verification findings.
pub(crate) fn targets(report: &RunFigures) -> Table {
    let rows = report
        .targets
        .iter()
        .map(|t| {
            let record = report.run().targets.iter().find(|r| r.name == t.name);
            let status = match t.status {
                TargetStatus::Ok => Cell::plain("measured"),
                TargetStatus::Unavailable => Cell::marked("unavailable", Mark::Missing),
                TargetStatus::Failed => Cell::marked("FAILED", Mark::Missing),
            };
            let checks: Vec<String> = record
                .map(|r| {
                    r.checks
                        .iter()
                        .filter(|c| c.status != CheckStatus::Pass)
                        .map(|c| {
                            let word = match c.status {
                                CheckStatus::Fail => "FAIL",
                                _ => "WARN",
                            };
                            match &c.reason {
                                Some(r) => format!("{word} {}: {r}", c.check),
                                None => format!("{word} {}", c.check),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut notes: Vec<String> = t.reason.iter().cloned().collect();
            notes.extend(checks);
            let passed = record.map_or(0, |r| {
                r.checks
                    .iter()
                    .filter(|c| c.status == CheckStatus::Pass)
                    .count()
            });
            if notes.is_empty() && passed > 0 {
                notes.push(format!("all {passed} checks passed"));
            }
            vec![
                Cell::plain(&t.name),
                Cell::plain(t.survey.map_or("—", |s| s.row)),
                Cell::plain(t.version.as_deref().unwrap_or("—")),
                status,
                Cell::plain(notes.join("; ")),
            ]
        })
        .collect();
    Table {
        id: "targets".into(),
        title: "Targets".into(),
        intro: None,
        headers: [
            "target",
            "survey row",
            "version",
            "status",
            "reason / checks",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        notes: vec![],
    }
}

/// The survey's §8 or §11 table with the measurements beside it.
pub(crate) fn claims(report: &RunFigures, table: &ClaimTable) -> Table {
    // The survey writes MB; the measured figures are MiB like every memory figure here.
    let (unit, id, title, survey_header, figure_header) = match table.claim {
        Claim::Hello => (
            Unit::PerSecond,
            "survey-8",
            "§8 Hello-world throughput on one core, as claimed and as measured",
            "req/s",
            "req/s",
        ),
        Claim::Memory => (
            Unit::Mebibytes,
            "survey-11",
            "§11 Memory per 10k req/s, as claimed and as measured",
            "MB",
            "MiB",
        ),
    };
    let best = match table.claim {
        Claim::Hello => "fastest",
        Claim::Memory => "leanest",
    };
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let target = row.target.map(|i| &report.targets[i]);
            let span = |s: Option<(usize, usize)>| {
                s.map_or("—".into(), |(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}–{b}")
                    }
                })
            };
            let claimed_ratio = row.survey_ratio.map_or("—".into(), |(lo, hi)| match hi {
                Some(hi) if (hi - lo).abs() < 1e-9 => Unit::Ratio.format(lo),
                Some(hi) => format!("{:.2}–{}", lo, Unit::Ratio.format(hi)),
                None => format!("≥ {}", Unit::Ratio.format(lo)),
            });
            let measured = match &row.figure {
                Some(f) => {
                    let mut c = figure_cell(f, unit, false);
                    if table.claim == Claim::Hello
                        && !row.variant.is_empty()
                        && f.median().is_some()
                    {
                        c.text = format!("{} at {}", c.text, variant_label(&row.variant));
                    }
                    if let Some(flags) = f.measured().map(|m| m.flags()).filter(|f| !f.is_empty()) {
                        c.text = format!("{} ⚠ {}", c.text, flags.join(", "));
                        c.mark = Mark::Flagged;
                    }
                    c
                }
                None => Cell::marked("—", Mark::Missing),
            };
            vec![
                Cell::plain(&row.survey_row),
                Cell::plain(target.map_or("—".to_string(), |t| t.name.clone())),
                Cell::plain(&row.survey_text),
                Cell::plain(span(row.survey_rank)),
                Cell::plain(claimed_ratio),
                measured,
                Cell::plain(span(row.rank)),
                Cell::plain(row.ratio.map_or("—".into(), |r| Unit::Ratio.format(r))),
                verdict_cell(table.claim, &row.verdict),
            ]
        })
        .collect();
    let mut notes = vec![format!(
        "Ranks and ratios are taken among the rows measured in this run; the ratio is each figure \
         over the {best} row's median. A rank is a span where figures cannot be ordered: the \
         survey's where its ballparks overlap, the measured one where the trials' min–max \
         ranges overlap. Verdict: consistent when the two rank spans meet and the measured ratio \
         lies in the survey's ratio range widened by {:.0}% either way; otherwise the ratio gives \
         the direction when it lies outside that range, else the rank does.",
        (TOLERANCE - 1.0) * 100.0
    )];
    match table.claim {
        Claim::Hello => notes.push(
            "Measured: median over the trials of GET /plaintext req/s at the concurrency where \
             the target did best (survey: \"hello world\" on one core). A client-bound figure \
             is a floor for the server: a slower-than-claimed verdict on it, or a faster-than-\
             claimed verdict against a client-bound fastest row, is marked inconclusive."
                .into(),
        ),
        Claim::Memory => notes.push(
            "Measured: mean server memory (RSS of the whole process tree, MiB) during the open \
             run at exactly 10,000 req/s, median over the trials. A run below 98% of the rate \
             is not sustained and gets no figure. The survey's \"Node 22\" row stands for both \
             Node servers."
                .into(),
        ),
    }
    if !table.scenario_present {
        notes.push(format!(
            "This run has no `{}` scenario, so nothing here was measured.",
            match table.claim {
                Claim::Hello => scenario::PLAINTEXT,
                Claim::Memory => scenario::RATE_10K,
            }
        ));
    }
    Table {
        id: id.into(),
        title: title.into(),
        intro: None,
        headers: vec![
            "survey row".into(),
            "target".into(),
            format!("survey, {survey_header}"),
            "survey rank".into(),
            format!("survey ratio to {best}"),
            format!("measured, {figure_header}: median (min–max of trials)"),
            "measured rank".into(),
            format!("measured ratio to {best}"),
            "verdict".into(),
        ],
        rows,
        notes,
    }
}

/// The measures a scenario's table shows, in this order, when any trial has them.
const COLUMNS: [Measure; 19] = [
    Measure::Rps,
    Measure::AchievedRate,
    Measure::Latency(Pct::P50, true),
    Measure::Latency(Pct::P99, true),
    Measure::Latency(Pct::P99, false),
    Measure::ServerMemory,
    Measure::CpuPerRequest,
    Measure::Memory10k,
    Measure::KibPerConnection,
    Measure::KibPerStream,
    Measure::FirstEvent,
    Measure::EventLatencyP99,
    Measure::EventsReceived,
    Measure::RelayAddedP99,
    Measure::AbortMs,
    Measure::ColdStart,
    Measure::Latency(Pct::Max, true),
    // The client-bound flag's evidence, side by side.
    Measure::ClientCpu,
    Measure::ClientHeadroom,
];

/// One table per scenario: every cell (variant × target) with median and spread.
pub(crate) fn scenarios(report: &RunFigures) -> Vec<Table> {
    report
        .scenarios
        .iter()
        .map(|sc| {
            let open = report.has(&sc.name, Measure::Latency(Pct::P50, false));
            let measures: Vec<Measure> = COLUMNS
                .iter()
                .copied()
                .filter(|m| report.has(&sc.name, *m))
                .collect();
            let relay = sc.name == scenario::SSE_RELAY
                || report.targets.iter().any(|t| {
                    sc.variants
                        .iter()
                        .any(|v| report.relay_findings(&sc.name, v, &t.name).is_some())
                });
            let mut headers = vec!["variant".to_string(), "target".into(), "trials".into()];
            headers.extend(measures.iter().map(|m| match m {
                Measure::Latency(p, true) if open => format!("{} corrected", p.label()),
                m => m.header(),
            }));
            if relay {
                headers.push("buffering".into());
                headers.push("upstream left open".into());
            }
            headers.push("status and flags".into());
            let mut rows = Vec::new();
            for variant in &sc.variants {
                for t in &report.targets {
                    let trials = report
                        .run()
                        .trials
                        .iter()
                        .filter(|x| {
                            x.target == t.name && x.scenario == sc.name && &x.variant == variant
                        })
                        .collect::<Vec<_>>();
                    let ok = trials
                        .iter()
                        .filter(|x| x.status == rtbench_results::TrialStatus::Ok)
                        .count();
                    let failed = trials.len() - ok;
                    let mut row = vec![
                        Cell::plain(variant_label(variant)),
                        Cell::plain(&t.label),
                        Cell::plain(if failed > 0 {
                            format!("{ok} ok, {failed} failed")
                        } else {
                            ok.to_string()
                        }),
                    ];
                    // Flags and failures are properties of the cell: said once, in the status
                    // column. Gaps of one measure (e.g. not sustained) stay in its own column.
                    let mut status: Option<Cell> = None;
                    for m in &measures {
                        let f = report.figure(&sc.name, variant, t, *m);
                        match &f {
                            Figure::Measured(meas) => {
                                let flags = meas.flags();
                                if !flags.is_empty() && status.is_none() {
                                    status = Some(Cell::marked(flags.join(", "), Mark::Flagged));
                                }
                                row.push(figure_cell(&f, m.unit(), false));
                            }
                            Figure::Missing(
                                why @ (Missing::Failed(_)
                                | Missing::Unavailable(_)
                                | Missing::NotRun),
                            ) => {
                                status.get_or_insert_with(|| {
                                    Cell::marked(why.describe(), Mark::Missing)
                                });
                                row.push(Cell::marked("—", Mark::Missing));
                            }
                            Figure::Missing(_) => row.push(figure_cell(&f, m.unit(), false)),
                        }
                    }
                    if relay {
                        match report.relay_findings(&sc.name, variant, &t.name) {
                            Some(r) => {
                                row.push(if r.buffering > 0 {
                                    Cell::marked(
                                        format!(
                                            "yes, {}/{} trials: {}",
                                            r.buffering, r.trials, r.evidence
                                        ),
                                        Mark::Flagged,
                                    )
                                } else {
                                    Cell::plain(format!("no: {}", r.evidence))
                                });
                                let leak = if r.leaked > 0 || r.upstream_open_after > 0 {
                                    Mark::Flagged
                                } else {
                                    Mark::Plain
                                };
                                row.push(Cell::marked(
                                    format!(
                                        "{} leaked, {} open after",
                                        thousands(r.leaked),
                                        thousands(r.upstream_open_after)
                                    ),
                                    leak,
                                ));
                            }
                            None => {
                                row.push(Cell::marked("—", Mark::Missing));
                                row.push(Cell::marked("—", Mark::Missing));
                            }
                        }
                    }
                    let status = status.or_else(|| {
                        // A scenario with no numeric column still says when a cell failed.
                        match report.figure(&sc.name, variant, t, Measure::Rps) {
                            Figure::Missing(
                                why @ (Missing::Failed(_)
                                | Missing::Unavailable(_)
                                | Missing::NotRun),
                            ) => Some(Cell::marked(why.describe(), Mark::Missing)),
                            _ => None,
                        }
                    });
                    row.push(status.unwrap_or_else(|| Cell::plain("ok")));
                    rows.push(row);
                }
            }
            let mut notes = vec![
                "Each figure: median over the trials, (min–max of the trials) when they differ. \
                 Latency in the engine's percentiles; server memory is the mean RSS of the \
                 server's process tree under load."
                    .to_string(),
            ];
            if open {
                notes.push(
                    "Open model: corrected latency is measured from each request's due time \
                     (coordinated omission corrected); uncorrected from the actual send."
                        .into(),
                );
            }
            Table {
                id: format!("scenario-{}", sc.name),
                title: format!("Scenario `{}`", sc.name),
                intro: None,
                headers,
                rows,
                notes,
            }
        })
        .collect()
}

/// Which layout `run.json` had: an older one was read through the results crate's converter.
fn schema_read(version: u32) -> String {
    if version == SCHEMA_VERSION {
        format!("run.json schema {version}")
    } else {
        format!("run.json schema {version}, read through the converter to schema {SCHEMA_VERSION}")
    }
}
