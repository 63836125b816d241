//! The report's outline, shared by the markdown and HTML formats: headings, prose, tables and
//! charts in reading order. Inline code is written with backticks; each format renders it.

use crate::model::Claim;
use crate::report::Report;
use crate::table::{self, Table};

/// One block of the document.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Level 1–3.
    Heading(u8, String),
    Paragraph(String),
    List(Vec<String>),
    Table(Table),
    /// Index into [`Report::charts`].
    Chart(usize),
}

/// The whole report, in reading order.
pub(crate) fn outline(report: &Report) -> Vec<Block> {
    let run = report.run();
    let mut out = vec![
        Block::Heading(1, format!("rtbench report: {}", run.run_id)),
        Block::Paragraph(format!(
            "Suite `{}`, {} trial(s) per cell, {} target(s), {} scenario(s), started {}. Every \
             figure is the median over the trials of a cell; spreads are the min–max of the \
             trials. The survey's tables are reproduced by rank and by ratio to the best target, \
             because absolute numbers depend on the machine.",
            run.suite.name,
            run.suite.trials,
            report.targets.len(),
            report.scenarios.len(),
            run.started_at
        )),
    ];
    let measured = report
        .targets
        .iter()
        .filter(|t| t.status == rtbench_results::TargetStatus::Ok)
        .count();
    if measured < report.targets.len() {
        out.push(Block::Paragraph(format!(
            "{} of {} targets were measured; the others are marked failed or unavailable \
             wherever they would appear, never shown as zero.",
            measured,
            report.targets.len()
        )));
    }
    out.push(Block::Heading(2, "Environment".into()));
    out.push(Block::Table(table::environment(report)));
    out.push(Block::Table(table::targets(report)));

    out.push(Block::Heading(2, "The survey's tables, reproduced".into()));
    out.push(Block::Paragraph(
        "From \"Modern backend runtimes, 2025\": §8 (hello-world req/s on one core, ballpark) \
         and §11 (memory per 10k req/s). Each row: the survey's figure and the rank and ratio it \
         implies, then the measured median, its rank and ratio, and a verdict."
            .into(),
    ));
    for claim in [Claim::Hello, Claim::Memory] {
        out.push(Block::Table(table::claims(
            report,
            &report.claim_table(claim),
        )));
    }

    out.push(Block::Heading(2, "Charts".into()));
    out.push(Block::Paragraph(
        "One colour per runtime in every chart. Each chart is also saved next to this report as \
         SVG and PNG."
            .into(),
    ));
    for (i, c) in report.charts.iter().enumerate() {
        out.push(Block::Heading(3, c.title.clone()));
        out.push(Block::Chart(i));
        out.push(Block::Paragraph(c.caption.clone()));
    }
    if !report.skipped.is_empty() {
        out.push(Block::Heading(3, "Charts not drawn".into()));
        out.push(Block::List(
            report
                .skipped
                .iter()
                .map(|s| format!("{}: {}.", s.title, s.reason))
                .collect(),
        ));
    }

    out.push(Block::Heading(2, "Every cell".into()));
    for t in table::scenarios(report) {
        out.push(Block::Table(t));
    }

    out.push(Block::Heading(2, "How to read this report".into()));
    out.push(Block::List(vec![
        "Spread: error bars and the ranges in tables are the min–max over the trials of a cell \
         (with 3–5 trials an interquartile range says little and min–max hides nothing)."
            .into(),
        "Client-bound: the load generator used ≥ 90% of its CPUs, so the figure may measure the \
         client; the server can be at least this fast. Such cells are hatched in charts and \
         flagged in tables."
            .into(),
        "Not sustained: an open run achieved less than 98% of the asked rate; its memory figure \
         is withheld and the achieved rate shown."
            .into(),
        "Failed and unavailable targets and cells are labelled with their reason; a missing \
         figure is never drawn as zero."
            .into(),
        "Latency spectra: percentiles p50 … p99.99 on a log axis of 1/(1−p). Open runs show the \
         coordinated-omission-corrected latency (from each request's due time) and the \
         uncorrected one (from the actual send)."
            .into(),
    ]));
    out
}
