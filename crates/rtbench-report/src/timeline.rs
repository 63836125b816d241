//! Throughput over time: for each load scenario, one panel per variant with one line per target,
//! responses per interval of the trial's interval log ÷ the interval's length, so a reader sees a
//! runtime still warming up (JIT, pools) or stalling (GC, a full queue) inside the measured
//! window. Each line is the target's median trial by responses per second; the others are not
//! drawn, to keep ten targets readable.

use rtbench_results::{KindSettings, Trial};

use crate::chart::{Body, Chart, Skipped};
use crate::hdr::{Logs, TrialLog};
use crate::model::{scenario, variant_label, Figure, Measure, Pct, RunFigures};
use crate::palette::Style;
use crate::spectrum::ok_trials;

/// One scenario's throughput over time.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// One panel per variant, stacked.
    pub panels: Vec<TimePanel>,
    /// The legend, shared by the panels: one row per target.
    pub rows: Vec<TimeRow>,
    /// Printed under the legend.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TimePanel {
    pub title: String,
    pub series: Vec<TimeSeries>,
}

#[derive(Debug, Clone)]
pub(crate) struct TimeSeries {
    pub style: Style,
    /// (middle of the interval in seconds since the measured window began, responses per second).
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct TimeRow {
    pub label: String,
    pub style: Style,
    /// Why the target has no line in any panel.
    pub missing: Option<String>,
}

/// A log's throughput: each interval's responses ÷ its length, at the interval's middle.
pub(crate) fn rates(log: &TrialLog) -> Vec<(f64, f64)> {
    log.intervals
        .iter()
        .filter(|i| i.length_s > 0.0)
        .map(|i| (i.start_s + i.length_s / 2.0, i.count as f64 / i.length_s))
        .collect()
}

/// A trial's responses per second over its whole log.
fn overall_rate(log: &TrialLog) -> f64 {
    let seconds: f64 = log.intervals.iter().map(|i| i.length_s).sum();
    if seconds > 0.0 {
        log.latency.len() as f64 / seconds
    } else {
        0.0
    }
}

/// The median of the trials by responses per second (the lower middle one of an even count),
/// with its trial number.
pub(crate) fn median_trial<'a>(logs: &[(&Trial, &'a TrialLog)]) -> Option<(u32, &'a TrialLog)> {
    let mut by_rate: Vec<(f64, u32, &TrialLog)> = logs
        .iter()
        .map(|(t, l)| (overall_rate(l), t.trial, *l))
        .collect();
    by_rate.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (_, trial, log) = *by_rate.get(by_rate.len().checked_sub(1)? / 2)?;
    Some((trial, log))
}

/// What a scenario's load was, for the title.
fn scenario_words(report: &RunFigures, scenario_name: &str) -> String {
    let open = report.has(scenario_name, Measure::Latency(Pct::P50, false));
    match scenario_name {
        scenario::RATE_10K => "open model at 10,000 req/s on GET /json".into(),
        s if open => format!("GET /{s}, open model"),
        s => format!("GET /{s}, closed model"),
    }
}

/// The scenario's warm-up, in words, when the run recorded it.
fn warmup_words(report: &RunFigures, scenario_name: &str) -> String {
    let warmup = report
        .run()
        .suite
        .settings
        .iter()
        .find(|s| s.name == scenario_name)
        .and_then(|s| match s.kind {
            KindSettings::Http { warmup_ms, .. } => Some(warmup_ms),
            _ => None,
        });
    match warmup {
        Some(ms) => format!(
            "the {} s warm-up before it is not logged",
            rtbench_results::sig(ms as f64 / 1000.0)
        ),
        None => "the warm-up before it is not logged".into(),
    }
}

/// The throughput-over-time chart of a load scenario, or why it has none.
pub(crate) fn chart(
    report: &RunFigures,
    logs: &Logs,
    scenario_name: &str,
) -> Result<Chart, Skipped> {
    let variants = report
        .scenario(scenario_name)
        .map(|s| s.variants.clone())
        .unwrap_or_default();
    let title = format!(
        "Throughput over time: {}",
        scenario_words(report, scenario_name)
    );
    let id = format!("throughput-time-{scenario_name}");
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    let mut drawn = vec![false; report.targets.len()];
    for v in &variants {
        let mut series = Vec::new();
        let mut absent = Vec::new();
        for (i, t) in report.targets.iter().enumerate() {
            let trials = ok_trials(report, (scenario_name, v), &t.name);
            let read: Vec<(&Trial, &TrialLog)> = trials
                .iter()
                .filter_map(|tr| Some((*tr, logs.read_log(tr)?)))
                .collect();
            let Some((_, log)) = median_trial(&read) else {
                if !trials.is_empty() {
                    absent.push(t.label.clone());
                }
                continue;
            };
            let points = rates(log);
            if points.is_empty() {
                continue;
            }
            drawn[i] = true;
            series.push(TimeSeries {
                style: t.style,
                points,
            });
        }
        let label = variant_label(v);
        if !absent.is_empty() {
            let cell = if label.is_empty() {
                String::new()
            } else {
                format!(" at {label}")
            };
            notes.push(format!("no interval log{cell}: {}", absent.join(", ")));
        }
        if series.is_empty() {
            continue;
        }
        panels.push(TimePanel {
            title: if label.is_empty() {
                "Each target's median trial (by responses per second)".into()
            } else {
                format!("{label}: each target's median trial (by responses per second)")
            },
            series,
        });
    }
    if panels.is_empty() {
        return Err(Skipped {
            id,
            title,
            reason: format!(
                "no trial of `{scenario_name}` left an interval log (hdr/*.hlog) in this results \
                 folder"
            ),
        });
    }
    let rows = report
        .targets
        .iter()
        .zip(&drawn)
        .map(|(t, drawn)| TimeRow {
            label: t.label.clone(),
            style: t.style,
            missing: (!drawn).then(|| {
                variants
                    .iter()
                    .map(|v| report.figure(scenario_name, v, t, Measure::Rps))
                    .find_map(|f| match f {
                        Figure::Missing(why) => Some(why.describe()),
                        Figure::Measured(_) => None,
                    })
                    .unwrap_or_else(|| "no interval log".into())
            }),
        })
        .collect();
    Ok(Chart {
        footer: String::new(),
        id,
        title,
        caption: format!(
            "Responses completed in each 1-second interval of the trial's HdrHistogram interval \
             log ÷ the interval's length, over the measured window ({}). One line per target: \
             its median trial by responses per second (the other trials are not drawn); a dip \
             is a stall, a climb a runtime still warming up.",
            warmup_words(report, scenario_name)
        ),
        body: Body::Timeline(Timeline {
            panels,
            rows,
            notes,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::{parse, SAMPLE_LOG};

    #[test]
    fn rates_times_lengths_give_the_histograms_count() {
        let log = parse(SAMPLE_LOG).unwrap();
        let rates = rates(&log);
        assert_eq!(rates.len(), log.intervals.len());
        let total: f64 = rates
            .iter()
            .zip(&log.intervals)
            .map(|((_, rate), i)| rate * i.length_s)
            .sum();
        assert!(
            (total - log.latency.len() as f64).abs() < 0.5,
            "{total} vs {}",
            log.latency.len()
        );
        // About 10,000 responses per second, at the middle of each second.
        assert_eq!(rates[0].0, 0.5);
        assert!(rates.iter().all(|(_, r)| (5_000.0..15_000.0).contains(r)));
    }

    #[test]
    fn the_median_trial_is_drawn() {
        let log = parse(SAMPLE_LOG).unwrap();
        let mut fast = log.clone();
        for i in &mut fast.intervals {
            i.length_s /= 2.0;
        }
        let mut slow = log.clone();
        for i in &mut slow.intervals {
            i.length_s *= 2.0;
        }
        let trial = |n: u32| Trial {
            target: "axum".into(),
            scenario: "rate-10k".into(),
            variant: "r10000".into(),
            trial: n,
            status: rtbench_results::TrialStatus::Ok,
            reason: None,
            started_at: String::new(),
            outcome: None,
            hdr_log: None,
        };
        let (t1, t2, t3) = (trial(1), trial(2), trial(3));
        let (n, picked) = median_trial(&[(&t1, &fast), (&t2, &slow), (&t3, &log)]).unwrap();
        assert_eq!(n, 3);
        assert_eq!(picked.intervals, log.intervals);
        assert!(median_trial(&[]).is_none());
    }
}
