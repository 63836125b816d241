//! §9 of the survey ("Streaming and SSE") held against the run: per target, whether the relay
//! buffered (with the evidence), how fast an abandoned stream's upstream closed, the time to
//! first event and the relay's added latency, beside what the survey says of that runtime.

use crate::doc::Block;
use crate::model::{scenario, Figure, Measure, Missing, RunFigures, TargetInfo};
use crate::relay_findings::RelayFindings;
use crate::table::{figure_cell, Cell, Mark, Table};

/// What §9 says of a target's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stance {
    /// Listed under "What works well", with the survey's words.
    WorksWell(&'static str),
    /// Not named in §9 (its "Watch out" list names serverless functions and API gateways,
    /// none of which is a target here).
    NotNamed,
}

/// The survey's §9 stance on a target, by the target's name.
pub(crate) fn stance(target: &str) -> Stance {
    match target {
        "bun" | "hono-bun" => Stance::WorksWell("Hono/Bun: native ReadableStream pipelines"),
        "fastapi" => Stance::WorksWell("FastAPI with StreamingResponse"),
        "workerd" => Stance::WorksWell("Cloudflare Workers: excellent SSE, built for this"),
        "node-http" | "node-cluster" => Stance::WorksWell("Node 22 with fetch + res.write"),
        _ => Stance::NotNamed,
    }
}

/// The first variant of `scenario` (streams are measured at one size in the article suite).
fn first_variant<'a>(report: &'a RunFigures, name: &str) -> Option<&'a str> {
    report
        .scenario(name)
        .and_then(|s| s.variants.first())
        .map(String::as_str)
}

/// What the abort test found for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    /// Every abandoned stream's upstream request closed.
    Propagates,
    /// At least one upstream request was never closed (in any trial).
    Leaks,
    /// No abort figure: the verdict must not claim one.
    NotMeasured,
}

fn abort_of(findings: &RelayFindings, figure: &Figure) -> Abort {
    // Upstream connections left open may be a pool's idle keep-alive: only requests count.
    if findings.leaked > 0 || matches!(figure, Figure::Missing(Missing::Leaked(_))) {
        Abort::Leaks
    } else if matches!(figure, Figure::Measured(_)) {
        Abort::Propagates
    } else {
        Abort::NotMeasured
    }
}

/// The verdict, in words that say only what the row's own cells show.
fn verdict(stance: Stance, findings: Option<&RelayFindings>, abort: &Figure) -> Cell {
    let Some(f) = findings else {
        return Cell::marked("not measured: no sse-relay trial", Mark::Missing);
    };
    let buffers = f.buffering > 0;
    let abort = abort_of(f, abort);
    let measured = match (buffers, abort) {
        (false, Abort::Propagates) => "unbuffered, aborts propagate",
        (false, Abort::NotMeasured) => "unbuffered; abort not measured",
        (false, Abort::Leaks) => "leaks the upstream on client abort",
        (true, Abort::Leaks) => "buffers and leaks the upstream",
        (true, _) => "buffers tokens",
    };
    match stance {
        Stance::WorksWell(_) if !buffers && abort == Abort::Propagates => Cell::marked(
            "consistent: streams unbuffered, aborts propagate",
            Mark::Consistent,
        ),
        Stance::WorksWell(_) if !buffers && abort == Abort::NotMeasured => Cell::marked(
            "consistent on buffering (unbuffered); abort propagation not measured",
            Mark::Inconclusive,
        ),
        Stance::WorksWell(_) => Cell::marked(format!("contradicted: {measured}"), Mark::Worse),
        Stance::NotNamed => Cell::plain(format!("no claim; measured: {measured}")),
    }
}

/// The abort figure, with the leaks of the trials that did propagate said beside it.
fn abort_cell(findings: Option<&RelayFindings>, abort: &Figure) -> Cell {
    let mut cell = figure_cell(abort, Measure::AbortMs.unit(), false);
    if let (Some(f), Figure::Measured(_)) = (findings, abort) {
        if f.leaked > 0 {
            cell = Cell::marked(
                format!("{} ⚠ {} upstream request(s) leaked", cell.text, f.leaked),
                Mark::Flagged,
            );
        }
    }
    cell
}

fn row(report: &RunFigures, t: &TargetInfo, sse: Option<&str>, relay: Option<&str>) -> Vec<Cell> {
    let figure = |scenario: &str, variant: Option<&str>, m: Measure| match variant {
        Some(v) => report.figure(scenario, v, t, m),
        None => Figure::Missing(Missing::NotRun),
    };
    let findings = relay.and_then(|v| report.relay_findings(scenario::SSE_RELAY, v, &t.name));
    let buffering = match &findings {
        Some(f) if f.buffering > 0 => Cell::marked(
            format!(
                "buffers in {}/{} trials: {}",
                f.buffering, f.trials, f.evidence
            ),
            Mark::Flagged,
        ),
        Some(f) => Cell::plain(format!("no ({} trials): {}", f.trials, f.evidence)),
        None => Cell::marked("not measured", Mark::Missing),
    };
    let abort = figure(scenario::SSE_RELAY, relay, Measure::AbortMs);
    let stance_of = stance(&t.name);
    vec![
        Cell::plain(&t.label),
        buffering,
        abort_cell(findings.as_ref(), &abort),
        figure_cell(
            &figure(scenario::SSE, sse, Measure::FirstEvent),
            Measure::FirstEvent.unit(),
            false,
        ),
        figure_cell(
            &figure(scenario::SSE_RELAY, relay, Measure::RelayAddedP99),
            Measure::RelayAddedP99.unit(),
            false,
        ),
        Cell::plain(match stance_of {
            Stance::WorksWell(words) => format!("works well ({words})"),
            Stance::NotNamed => "not named".into(),
        }),
        verdict(stance_of, findings.as_ref(), &abort),
    ]
}

/// The §9 table, or a sentence saying the run has no streaming scenario.
pub(crate) fn blocks(report: &RunFigures) -> Vec<Block> {
    let sse = first_variant(report, scenario::SSE);
    let relay = first_variant(report, scenario::SSE_RELAY);
    if sse.is_none() && relay.is_none() {
        return vec![Block::Paragraph(
            "This run has no `sse` or `sse-relay` scenario, so §9 was not tested.".into(),
        )];
    }
    let rows = report
        .targets
        .iter()
        .map(|t| row(report, t, sse, relay))
        .collect();
    vec![Block::Table(Table {
        id: "survey-9".into(),
        title: "§9 Streaming, as claimed and as measured".into(),
        intro: None,
        headers: vec![
            "target".into(),
            "relay buffering (evidence)".into(),
            "abort propagation".into(),
            "time to first event, p50".into(),
            "relay added latency, p99".into(),
            "survey §9 says".into(),
            "verdict".into(),
        ],
        rows,
        notes: vec![
            "Buffering: the relay passed upstream tokens on in bursts rather than one by one. \
             Abort propagation: time from the client leaving to the target closing its upstream \
             request; \"leaked\" when it never did. The survey's \"Watch out\" list names \
             serverless functions and API gateways, none of which is a target here."
                .into(),
        ],
    })]
}
