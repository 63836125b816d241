//! The report's outline, shared by the markdown and HTML formats: headings, prose, tables and
//! charts in reading order. Inline code is written with backticks; each format renders it.

use crate::model::Claim;
use crate::report::Report;
use crate::table::{self, Table};
use crate::{cells, headline, streaming};

/// One block of the document.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Level 1–3.
    Heading(u8, String),
    /// A level-2 heading the table of contents links to: (anchor id, title).
    Section(String, String),
    /// The table of contents: (anchor id, title) per section.
    Contents(Vec<(String, String)>),
    Paragraph(String),
    List(Vec<String>),
    Table(Table),
    /// Index into [`Report::charts`].
    Chart(usize),
}

/// The report's sections, in reading order: (anchor id, title). One per question the survey
/// asks, then the detail.
pub(crate) const SECTIONS: [(&str, &str); 8] = [
    ("throughput", "§8 Throughput"),
    ("memory", "§11 Memory"),
    ("streaming", "§9 Streaming"),
    ("cold-start", "Cold start"),
    ("latency", "Latency"),
    ("cells", "Every cell"),
    ("environment", "Environment and targets"),
    ("reading", "How to read this report"),
];

/// The section a chart belongs to, by its id.
fn section_of(chart_id: &str) -> &'static str {
    match chart_id {
        "hello-rps" | "json-rps" | "cpu-per-request" => "throughput",
        id if id.starts_with("throughput-time-") => "throughput",
        "memory-10k" | "idle-connections" => "memory",
        "cold-start" => "cold-start",
        id if id.starts_with("latency-") => "latency",
        _ => "streaming",
    }
}

/// How each section's figures were measured, in two lines.
fn how_measured(section: &str) -> &'static str {
    match section {
        "throughput" => {
            "How this was measured: closed-model keep-alive load (each connection sends its next \
             request when the previous completes) on GET /plaintext and /json, the server pinned \
             to its own CPU(s); req/s is the median over the trials, whiskers the min–max. \
             Throughput over time: each trial's per-second interval log (hdr/*.hlog)."
        }
        "memory" => {
            "How this was measured: the server's RSS (whole process tree) sampled during an open \
             run at exactly 10,000 req/s, and with idle keep-alive connections held open; a run \
             below 98% of the rate gets no memory figure."
        }
        "streaming" => {
            "How this was measured: concurrent SSE streams from each target's /sse, and its \
             /sse-relay relaying rtbench's upstream token server: time to first event, event \
             latency, token bursts (buffering), and how fast an abandoned client's upstream closes."
        }
        "cold-start" => {
            "How this was measured: repeated launches of the server process (or container), from \
             the start to the first 200 on /health. For workerd too this is a process start; the \
             survey's \"microseconds\" (§4) is an isolate inside a warm process, not measured here."
        }
        "latency" => {
            "How this was measured: every request's latency recorded in an HdrHistogram; open \
             runs also record the coordinated-omission-corrected latency from each request's due \
             time."
        }
        "cells" => {
            "One table per scenario and load shape, a row per target. Each figure: the median \
             over the trials, (min–max of the trials) when they read differently; the unit is \
             in the header. Only what tells the cells apart is shown: a column equal in every \
             cell is said once below its table, and every other figure of every trial (all \
             latency percentiles, uncorrected latency, peak RSS, PSS, cores used, client CPU \
             seconds, errors by class, responses by status code) is a column of summary.csv."
        }
        _ => "",
    }
}

/// The whole report, in reading order.
pub(crate) fn outline(report: &Report) -> Vec<Block> {
    let run = report.run();
    let mut out = vec![
        Block::Heading(
            1,
            format!(
                "rtbench: {} runtimes measured against the 2025 survey (suite `{}`)",
                report.targets.len(),
                run.suite.name
            ),
        ),
        Block::Paragraph(headline::what(report)),
        Block::Paragraph(headline::place(report)),
        Block::List(headline::findings(report)),
        Block::Contents(
            SECTIONS
                .iter()
                .map(|(id, title)| (id.to_string(), title.to_string()))
                .collect(),
        ),
    ];
    for (id, title) in SECTIONS {
        out.push(Block::Section(id.into(), title.into()));
        let how = how_measured(id);
        if !how.is_empty() {
            out.push(Block::Paragraph(how.into()));
        }
        match id {
            "throughput" => out.push(Block::Table(table::claims(
                report,
                &report.claim_table(Claim::Hello),
            ))),
            "memory" => out.push(Block::Table(table::claims(
                report,
                &report.claim_table(Claim::Memory),
            ))),
            "streaming" => out.extend(streaming::blocks(report)),
            "cells" => {
                for t in cells::tables(report) {
                    out.push(Block::Table(t));
                }
                continue;
            }
            "environment" => {
                out.push(Block::Paragraph(format!(
                    "Run `{}`: every figure is the median over the trials of a cell; spreads \
                     are the min–max of the trials. The survey's tables are reproduced by rank \
                     and by ratio to the best target, because absolute numbers depend on the \
                     machine.",
                    run.run_id
                )));
                out.push(Block::Table(table::environment(report)));
                out.push(Block::Table(table::targets(report)));
                continue;
            }
            "reading" => {
                out.push(Block::List(reading_notes()));
                continue;
            }
            _ => {}
        }
        let charts: Vec<usize> = (0..report.charts.len())
            .filter(|i| section_of(&report.charts[*i].id) == id)
            .collect();
        for i in charts {
            let c = &report.charts[i];
            out.push(Block::Heading(3, c.title.clone()));
            out.push(Block::Chart(i));
            out.push(Block::Paragraph(c.caption.clone()));
        }
        let skipped: Vec<String> = report
            .skipped
            .iter()
            .filter(|s| section_of(&s.id) == id)
            .map(|s| format!("Not drawn: {}: {}.", s.title, s.reason))
            .collect();
        if !skipped.is_empty() {
            out.push(Block::List(skipped));
        }
    }
    let refused = report.refused();
    if !refused.is_empty() {
        out.push(Block::Heading(3, "Values refused".into()));
        out.push(Block::List(refused));
    }
    out
}

fn reading_notes() -> Vec<String> {
    vec![
        "Spread: error bars and the ranges in tables are the min–max over the trials of a cell \
         (with 3–5 trials an interquartile range says little and min–max hides nothing)."
            .into(),
        "Client-bound: in that cell the load generator used ≥ 90% of its CPUs, or its headroom \
         (the cell's req/s over the client's ceiling, the req/s its cores complete against a \
         built-in plaintext server, measured when the run started) was ≥ 0.9, so the figure may \
         measure the client rather than the server, which can be at least this fast. Such cells \
         are hatched in charts and flagged in tables."
            .into(),
        "Not sustained: an open run achieved less than 98% of the asked rate; its memory figure \
         is withheld and the achieved rate shown."
            .into(),
        "Failed and unavailable targets and cells are labelled with their reason; a missing \
         figure is never drawn as zero."
            .into(),
        "Latency spectra: the full HdrHistogram percentile spectrum (the trials' interval logs \
         added up; run.json's six summary percentiles when a results folder has no logs, as the \
         chart then says) on a log axis of 1/(1−p), with p50, p99 and p99.9 printed in the \
         legend. Open runs show the coordinated-omission-corrected latency (from each request's \
         due time, solid) and the uncorrected one (from the actual send, dashed). Each target \
         has its own colour and marker shape."
            .into(),
    ]
}
