//! The report's tables as plain data (title, headers, cells with a mark), built once from the
//! model and shared by the markdown and HTML formats.

use rtbench_results::{CheckStatus, TargetStatus, SCHEMA_VERSION};

use crate::claim::{span_text, NOT_IN_SURVEY};
use crate::model::{scenario, variant_label, Claim, ClaimTable, Figure, RunFigures, Verdict};
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
                Direction::Consistent { .. } => Mark::Consistent,
                Direction::Better(_) => Mark::Better,
                Direction::Worse(_) => Mark::Worse,
            },
        ),
        Verdict::Inconclusive(..) => {
            Cell::marked(verdict.words(claim).unwrap_or_default(), Mark::Inconclusive)
        }
        Verdict::NotInSurvey => Cell::plain(NOT_IN_SURVEY),
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
            let span = |s: Option<(usize, usize)>| s.map_or("—".into(), span_text);
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
    let (up, down) = match table.claim {
        Claim::Hello => ("faster", "slower"),
        Claim::Memory => ("leaner", "heavier"),
    };
    let mut notes = vec![format!(
        "Ranks and ratios are taken among the rows measured in this run; rank 1 is the {best}, \
         and the ratio is each figure over the {best} row's median. A rank is a span where \
         figures cannot be ordered: the survey's where its ballparks overlap, the measured one \
         where the trials' min–max ranges overlap. Verdict: consistent when the two rank spans \
         meet and the measured ratio lies in the survey's ratio range widened by {tol:.0}% \
         either way (\"within the tolerance\" when only the widening takes it in). Otherwise \
         the verdict names the test that decided it: \"{up} than claimed\" or \"{down} than \
         claimed\" when the ratio lies outside that range; \"ranks higher\" or \"ranks lower than claimed \
         (measured vs survey rank)\" when the ratio lies inside it but the rank spans do not \
         meet.",
        tol = (TOLERANCE - 1.0) * 100.0
    )];
    match table.claim {
        Claim::Hello => notes.push(
            "Measured: median over the trials of GET /plaintext req/s at the concurrency where \
             the target did best (survey: \"hello world\" on one core). A client-bound figure \
             is a floor for the server: a verdict that it is slower or ranks lower than claimed, \
             or that another row beats the survey against a client-bound fastest row, is \
             marked inconclusive."
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

/// Which layout `run.json` had: an older one was read through the results crate's converter.
fn schema_read(version: u32) -> String {
    if version == SCHEMA_VERSION {
        format!("run.json schema {version}")
    } else {
        format!("run.json schema {version}, read through the converter to schema {SCHEMA_VERSION}")
    }
}
