//! Which charts a run gets and what each one shows, as plain data. Drawing is `plot`'s job.

use crate::claim::NOT_IN_SURVEY;
use crate::hdr::Logs;
use crate::model::{
    scenario, variant_label, Claim, Figure, Measure, Rgb, RunFigures, TargetInfo, Verdict,
};
pub(crate) use crate::spectrum::Spectrum;
use crate::survey::SURVEY;
pub(crate) use crate::timeline::Timeline;
use crate::{spectrum, timeline};
use rtbench_results::Unit;

/// One chart: a file stem, a title, and bar panels, a latency spectrum or throughput over time.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// File stem under `report/` (`<id>.svg`, `<id>.png`).
    pub id: String,
    pub title: String,
    /// What the marks mean, printed under the chart in the report.
    pub caption: String,
    pub body: Body,
    /// Provenance printed along the bottom edge (what, where, when), so the image posted alone
    /// still says it; set by [`crate::Report`] for the run.
    pub footer: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Horizontal bar panels, `columns` side by side.
    Bars {
        columns: usize,
        panels: Vec<Panel>,
    },
    Spectrum(Spectrum),
    Timeline(Timeline),
}

/// A horizontal bar panel: one group of bars per target.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    pub title: String,
    /// Value axis title, with its unit.
    pub axis: String,
    pub unit: Unit,
    pub groups: Vec<Group>,
}

/// The bars of one target, in its colour.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub label: String,
    pub colour: Rgb,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// e.g. "64 conns" or "survey".
    pub label: String,
    pub kind: BarKind,
}

#[derive(Debug, Clone)]
pub(crate) enum BarKind {
    /// Median with a min–max whisker over the trials, and the flags to print beside it.
    Measured {
        median: f64,
        min: f64,
        max: f64,
        flags: Vec<String>,
        /// Client-bound or not sustained: the bar is hatched.
        hatched: bool,
        /// Printed after the value, e.g. the survey verdict.
        note: Option<String>,
    },
    /// The survey's figure: `low`–`high`, open when `high` is `None`.
    Claimed {
        low: f64,
        high: Option<f64>,
        text: String,
    },
    /// No figure; the text says why.
    Missing(String),
}

/// A chart the run has no scenario for.
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    /// The id the chart would have had.
    pub id: String,
    pub title: String,
    pub reason: String,
}

const WHISKERS: &str = "Bar: median over the trials; whisker: min–max of the trials. \
     Hatched bar: client-bound (the load generator used ≥ 90% of its CPU, so the server may be \
     faster) or not sustained. White hatched box: no figure, with the reason.";

fn bar(label: String, figure: &Figure) -> Bar {
    let kind = match figure {
        Figure::Measured(m) => BarKind::Measured {
            median: m.spread.median,
            min: m.spread.min,
            max: m.spread.max,
            flags: m.flags(),
            hatched: m.client_bound > 0 || m.not_sustained > 0,
            note: None,
        },
        Figure::Missing(why) => BarKind::Missing(why.describe()),
    };
    Bar { label, kind }
}

/// A target's bars; when every bar is missing for the same reason (a failed or unavailable
/// target), one bar says it once.
fn group(t: &TargetInfo, mut bars: Vec<Bar>) -> Group {
    let reasons: Vec<&str> = bars
        .iter()
        .filter_map(|b| match &b.kind {
            BarKind::Missing(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if bars.len() > 1 && reasons.len() == bars.len() && reasons.iter().all(|r| *r == reasons[0]) {
        bars.truncate(1);
        bars[0].label = "all".into();
    }
    Group {
        label: t.label.clone(),
        colour: t.style.colour,
        bars,
    }
}

/// A panel with one bar per (scenario, variant) of `cells` for every target.
fn panel(
    report: &RunFigures,
    title: &str,
    axis: &str,
    cells: &[(&str, &str)],
    measure: Measure,
    label: impl Fn(&str, &str) -> String,
) -> Panel {
    let groups = report
        .targets
        .iter()
        .map(|t| {
            // A single cell needs no label to tell its bars apart.
            let name = |sc: &str, v: &str| {
                if cells.len() == 1 {
                    String::new()
                } else {
                    label(sc, v)
                }
            };
            let bars = cells
                .iter()
                .map(|(sc, v)| bar(name(sc, v), &report.figure(sc, v, t, measure)))
                .collect();
            group(t, bars)
        })
        .collect();
    Panel {
        title: title.into(),
        axis: axis.into(),
        unit: measure.unit(),
        groups,
    }
}

/// The (scenario, variant) cells of `name`, or none when the run lacks it.
fn cells_of<'a>(report: &'a RunFigures, name: &'a str) -> Vec<(&'a str, &'a str)> {
    report
        .scenario(name)
        .map(|s| s.variants.iter().map(|v| (name, v.as_str())).collect())
        .unwrap_or_default()
}

/// Every chart the run has data for (latency and throughput over time from the trials' interval
/// `logs` where they exist), and the ones it lacks a scenario or logs for.
pub(crate) fn catalogue(report: &RunFigures, logs: &Logs) -> (Vec<Chart>, Vec<Skipped>) {
    let mut charts = Vec::new();
    let mut skipped = Vec::new();
    let mut skip = |id: &str, title: &str, reason: String| {
        skipped.push(Skipped {
            id: id.into(),
            title: title.into(),
            reason,
        })
    };
    let no = |scenarios: &str| format!("the run has no {scenarios} scenario");
    let by_variant = |_: &str, v: &str| variant_label(v);

    // (a) §8: hello-world req/s beside the survey's ballpark, absolute and as ratios.
    let title = "Hello-world throughput (GET /plaintext) against the survey's §8 ballpark";
    if report.scenario(scenario::PLAINTEXT).is_some() {
        let cells = cells_of(report, scenario::PLAINTEXT);
        let mut absolute = panel(
            report,
            "Requests per second on this machine, beside the survey's ballpark",
            "requests per second (higher is better)",
            &cells,
            Measure::Rps,
            by_variant,
        );
        for (g, t) in absolute.groups.iter_mut().zip(&report.targets) {
            if let Some(hello) = t.survey.and_then(|s| s.hello_rps) {
                g.bars.push(Bar {
                    label: "survey".into(),
                    kind: BarKind::Claimed {
                        low: hello.low,
                        high: hello.high,
                        text: format!("survey: {}", hello.text),
                    },
                });
            }
        }
        let ratios = claim_panel(report, Claim::Hello);
        charts.push(Chart {
            footer: String::new(),
            id: "hello-rps".into(),
            title: title.into(),
            caption: format!(
                "Top: measured req/s at each connection count, and the survey's ballpark for \
                 the same runtime (grey; dark grey marks the claimed range, an arrow an open \
                 range such as 600k+). Absolute figures depend on the machine, so the bottom \
                 panel compares ratios to the fastest target: measured (the target's best \
                 connection count) against the survey's. {WHISKERS}"
            ),
            body: Body::Bars {
                columns: 1,
                panels: vec![absolute, ratios],
            },
        });
    } else {
        skip("hello-rps", title, no("`plaintext`"));
    }

    // (b) JSON req/s.
    let title = "JSON throughput (GET /json)";
    if report.scenario(scenario::JSON).is_some() {
        let cells = cells_of(report, scenario::JSON);
        charts.push(Chart {
            footer: String::new(),
            id: "json-rps".into(),
            title: title.into(),
            caption: format!(
                "Requests per second serializing {{\"message\":\"Hello, World!\"}} per request, \
                 at each connection count. {WHISKERS}"
            ),
            body: Body::Bars {
                columns: 1,
                panels: vec![panel(
                    report,
                    "Closed model: keep-alive, no pipelining, one bar per connection count",
                    "requests per second (higher is better)",
                    &cells,
                    Measure::Rps,
                    by_variant,
                )],
            },
        });
    } else {
        skip("json-rps", title, no("`json`"));
    }

    // (c) §11: memory at 10k req/s beside the survey's figure.
    let title = "Memory at 10,000 req/s against the survey's §11 figures";
    if report.scenario(scenario::RATE_10K).is_some() {
        let cells = cells_of(report, scenario::RATE_10K);
        let mut absolute = panel(
            report,
            "Mean server memory during an open run at 10,000 req/s",
            "MiB, RSS of the server's process tree (lower is better)",
            &cells,
            Measure::Memory10k,
            |_, _| "measured".into(),
        );
        for (g, t) in absolute.groups.iter_mut().zip(&report.targets) {
            if let Some(s) = t.survey {
                g.bars.push(Bar {
                    label: "survey".into(),
                    kind: BarKind::Claimed {
                        low: s.memory_mb.low,
                        high: s.memory_mb.high,
                        text: if SURVEY
                            .iter()
                            .filter(|r| r.memory_row == s.memory_row)
                            .count()
                            > 1
                        {
                            format!(
                                "survey: {} (its \"{}\" row)",
                                s.memory_mb.text, s.memory_row
                            )
                        } else {
                            format!("survey: {}", s.memory_mb.text)
                        },
                    },
                });
            }
        }
        charts.push(Chart {
            footer: String::new(),
            id: "memory-10k".into(),
            title: title.into(),
            caption: format!(
                "Top: mean RSS of the server while it serves GET /json at exactly 10,000 req/s \
                 (open model), beside the survey's figure (grey). A run that fell below 98% of \
                 the rate is marked not sustained and has no figure. Bottom: ratio to the leanest \
                 target, measured against the survey's. {WHISKERS}"
            ),
            body: Body::Bars {
                columns: 1,
                panels: vec![absolute, claim_panel(report, Claim::Memory)],
            },
        });
    } else {
        skip("memory-10k", title, no("`rate-10k`"));
    }

    // (d) Latency spectra, one per load cell; throughput over time, one per load scenario.
    let mut any_latency = false;
    let mut timelines = Vec::new();
    for sc in &report.scenarios {
        if !report.has_request_latency(&sc.name) {
            continue;
        }
        for v in &sc.variants {
            any_latency = true;
            charts.push(spectrum::chart(report, logs, &sc.name, v));
        }
        timelines.push(timeline::chart(report, logs, &sc.name));
    }
    if !any_latency {
        skip(
            "latency-",
            "Latency by percentile",
            "no trial of the run timed requests (closed or open model)".into(),
        );
    }

    // (e) Server CPU per request, every load cell.
    let title = "Server CPU time per request";
    let cpu_cells: Vec<(&str, &str)> = report
        .scenarios
        .iter()
        // Per request means per timed request: stream scenarios have other units of work.
        .filter(|s| report.has_request_latency(&s.name))
        .filter(|s| report.has(&s.name, Measure::CpuPerRequest))
        .flat_map(|s| {
            s.variants
                .iter()
                .map(move |v| (s.name.as_str(), v.as_str()))
        })
        .collect();
    if !cpu_cells.is_empty() {
        charts.push(Chart {
            footer: String::new(),
            id: "cpu-per-request".into(),
            title: title.into(),
            caption: format!(
                "Server CPU (user + system of its whole process tree) divided by completed \
                 requests, per scenario and connection count. Lower is better. {WHISKERS}"
            ),
            body: Body::Bars {
                columns: 1,
                panels: vec![panel(
                    report,
                    "User + system CPU of the server's process tree ÷ completed requests",
                    "server CPU µs per request (lower is better)",
                    &cpu_cells,
                    Measure::CpuPerRequest,
                    |sc, v| format!("{sc} {}", variant_label(v)).trim().to_string(),
                )],
            },
        });
    } else {
        skip(
            "cpu-per-request",
            title,
            "no trial that timed requests (closed or open model) recorded server CPU per request"
                .into(),
        );
    }

    // (f) Throughput over time, after the throughput section's bar charts.
    if any_latency && !logs.any() {
        // One line for the whole run rather than one per scenario.
        skip(
            "throughput-time-",
            "Throughput over time",
            "this results folder has no interval logs (hdr/*.hlog): a run written before they \
             were kept, or hdr/ was not copied"
                .into(),
        );
    } else {
        for t in timelines {
            match t {
                Ok(chart) => charts.push(chart),
                Err(s) => skip(&s.id, &s.title, s.reason),
            }
        }
    }

    // (g) SSE: four panels, each present when its scenario is.
    let title = "Server-sent events: first event, event latency, abort propagation, memory";
    let sse = cells_of(report, scenario::SSE);
    let relay = cells_of(report, scenario::SSE_RELAY);
    let mut panels = Vec::new();
    if !sse.is_empty() {
        panels.push(panel(
            report,
            "Time to first event (median per trial)",
            "request sent → first event (lower is better)",
            &sse,
            Measure::FirstEvent,
            by_variant,
        ));
        panels.push(panel(
            report,
            "Event latency p99",
            "event received − sent_ns stamp (lower is better)",
            &sse,
            Measure::EventLatencyP99,
            by_variant,
        ));
    }
    if !relay.is_empty() {
        panels.push(panel(
            report,
            "Abort propagation (sse-relay)",
            "client gone → upstream request closed (lower is better)",
            &relay,
            Measure::AbortMs,
            |_, v| variant_label(v),
        ));
    }
    let stream_mem: Vec<(&str, &str)> = sse
        .iter()
        .copied()
        .filter(|(sc, v)| {
            report
                .run()
                .trials
                .iter()
                .any(|t| &t.scenario == sc && &t.variant == v && t.kib_per_stream().is_some())
        })
        .collect();
    if !stream_mem.is_empty() {
        panels.push(panel(
            report,
            "Memory per open stream",
            "KiB per stream (lower is better)",
            &stream_mem,
            Measure::KibPerStream,
            by_variant,
        ));
    }
    if !panels.is_empty() {
        let mut absent = Vec::new();
        if sse.is_empty() {
            absent.push(
                "time to first event, event latency and memory per stream (no `sse` scenario)",
            );
        }
        if relay.is_empty() {
            absent.push("abort propagation (no `sse-relay` scenario)");
        }
        let absent = if absent.is_empty() {
            String::new()
        } else {
            format!(" Not drawn: {}.", absent.join("; "))
        };
        charts.push(Chart {
            footer: String::new(),
            id: "sse".into(),
            title: title.into(),
            caption: format!(
                "GET /sse with many concurrent streams, and GET /sse-relay for abort \
                 propagation (how long the target keeps its upstream request open after its \
                 client leaves; \"leaked\" when it never closes).{absent} {WHISKERS}"
            ),
            body: Body::Bars { columns: 2, panels },
        });
    } else {
        skip("sse", title, no("`sse` or `sse-relay`"));
    }

    // (h) Cold start.
    let title = "Cold start: process start to first 200 on /health";
    if report.scenario(scenario::COLD_START).is_some() {
        let cells = cells_of(report, scenario::COLD_START);
        charts.push(Chart {
            footer: String::new(),
            id: "cold-start".into(),
            title: title.into(),
            caption: format!("Each trial's value is the median of its starts. {WHISKERS}"),
            body: Body::Bars {
                columns: 1,
                panels: vec![panel(
                    report,
                    "Median of each trial's starts",
                    "ms to the first 200 on /health (lower is better)",
                    &cells,
                    Measure::ColdStart,
                    |_, v| variant_label(v),
                )],
            },
        });
    } else {
        skip("cold-start", title, no("`cold-start`"));
    }

    // (i) Memory per idle connection.
    let title = "Memory per idle connection";
    if report.scenario(scenario::IDLE).is_some() {
        let cells = cells_of(report, scenario::IDLE);
        charts.push(Chart {
            footer: String::new(),
            id: "idle-connections".into(),
            title: title.into(),
            caption: format!(
                "(RSS with K idle keep-alive connections held − RSS idle) / K. {WHISKERS}"
            ),
            body: Body::Bars {
                columns: 1,
                panels: vec![panel(
                    report,
                    "(RSS with K idle keep-alive connections − RSS before) ÷ K",
                    "KiB per connection (lower is better)",
                    &cells,
                    Measure::KibPerConnection,
                    by_variant,
                )],
            },
        });
    } else {
        skip("idle-connections", title, no("`idle-connections`"));
    }
    (charts, skipped)
}

/// The ratio panel of a survey table: each target's measured ratio to the best beside the
/// survey's, from the same rows the table shows.
fn claim_panel(report: &RunFigures, claim: Claim) -> Panel {
    let table = report.claim_table(claim);
    let groups = table
        .rows
        .iter()
        .filter_map(|row| {
            let t = &report.targets[row.target?];
            let label = if row.variant.is_empty() {
                "measured".to_string()
            } else {
                variant_label(&row.variant)
            };
            let measured = match (&row.figure, row.ratio) {
                (Some(Figure::Measured(m)), Some(ratio)) => Bar {
                    label,
                    kind: BarKind::Measured {
                        median: ratio,
                        min: ratio,
                        max: ratio,
                        flags: m.flags(),
                        hatched: m.client_bound > 0 || m.not_sustained > 0,
                        note: Some(match &row.verdict {
                            Verdict::Judged(d) => claim.words(*d).to_string(),
                            Verdict::Inconclusive(d, _) => {
                                format!("inconclusive ({}?)", claim.words(*d))
                            }
                            Verdict::NotMeasured(_) => String::new(),
                            Verdict::NotInSurvey => NOT_IN_SURVEY.into(),
                        }),
                    },
                },
                (Some(f), _) => bar("measured".into(), f),
                (None, _) => return None,
            };
            let claimed = match row.survey_ratio {
                Some((low, high)) => Bar {
                    label: "survey".into(),
                    kind: BarKind::Claimed {
                        low,
                        high,
                        text: match high {
                            Some(h) if (h - low).abs() > 1e-9 => {
                                format!("survey: {low:.2}–{h:.2}×")
                            }
                            Some(_) => format!("survey: {low:.2}×"),
                            None => format!("survey: ≥ {low:.2}×"),
                        },
                    },
                },
                // The measured bar already says why there is nothing to compare.
                None => return Some(group(t, vec![measured])),
            };
            Some(group(t, vec![measured, claimed]))
        })
        .collect();
    let (title, axis) = match claim {
        Claim::Hello => (
            "Ratio to the fastest target, measured vs survey, and the verdict",
            "req/s ÷ fastest target's req/s (1 = fastest)",
        ),
        Claim::Memory => (
            "Ratio to the leanest target, measured vs survey, and the verdict",
            "MiB ÷ leanest target's MiB (1 = leanest)",
        ),
    };
    Panel {
        title: title.into(),
        axis: axis.into(),
        unit: Unit::Ratio,
        groups,
    }
}
