//! The latency spectrum of a load cell, HdrHistogram style: latency against percentile on a log
//! axis of 1/(1−p), from the trials' interval logs added up, one line per target (open runs:
//! corrected solid, uncorrected dashed), with p50, p99 and p99.9 printed beside the chart. A cell
//! without logs (a schema-1 run, a results folder without `hdr/`) is drawn from run.json's six
//! summary percentiles, and the chart says so.

use hdrhistogram::Histogram;
use rtbench_results::{Trial, TrialStatus};

use crate::chart::{Body, Chart};
use crate::hdr::{LogState, Logs, TrialLog};
use crate::model::{scenario, variant_label, Figure, Measure, Pct, RunFigures, TargetInfo};
use crate::palette::Style;

/// Quantile steps per halving of the distance to 100% (as in `.hgrm` files): a 10-second cell
/// gets some 80 points.
const TICKS_PER_HALF: u32 = 5;
/// The rarest percentile drawn: 1/(1−p) = 10^6, p99.9999.
pub(crate) const X_MAX: f64 = 1e6;

/// The percentiles whose values are printed, as (p, label).
pub(crate) const LABELLED: [(f64, &str); 3] = [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")];

/// Latency by percentile for every target of one cell.
#[derive(Debug, Clone)]
pub(crate) struct Spectrum {
    pub lines: Vec<Line>,
    /// The legend: one row per target, with a line or with the reason it has none.
    pub rows: Vec<Row>,
    /// Open model: lines come in corrected (solid) and uncorrected (dashed) pairs.
    pub open: bool,
    /// Printed under the legend: lines not drawn from every trial's log, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub style: Style,
    /// Uncorrected latency (open model).
    pub dashed: bool,
    /// (1/(1−p), latency in µs), p increasing.
    pub points: Vec<(f64, f64)>,
    /// (1/(1−p), min, max) over the trials at the labelled percentiles.
    pub whiskers: Vec<(f64, f64, f64)>,
}

/// A target's legend row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub label: String,
    pub style: Style,
    /// The [`LABELLED`] percentiles of the corrected (closed model: the only) latency, µs.
    pub corrected: [Option<f64>; 3],
    /// The same of the uncorrected latency (open model).
    pub uncorrected: [Option<f64>; 3],
    /// Why the target has no line.
    pub missing: Option<String>,
}

/// 1/(1−p): where percentile `p` sits on the x axis.
pub(crate) fn x_of(p: f64) -> f64 {
    1.0 / (1.0 - p)
}

/// The spectrum of `h`: one point per quantile step below 100%, as (1/(1−p), µs).
pub(crate) fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_quantiles(TICKS_PER_HALF)
        .map(|v| (v.quantile_iterated_to(), v.value_iterated_to() as f64))
        .filter(|(q, v)| *q < 1.0 && *v > 0.0)
        .map(|(q, v)| (x_of(q), v))
        .filter(|(x, _)| *x <= X_MAX)
        .collect()
}

/// The [`LABELLED`] percentiles of `h`, µs.
pub(crate) fn labelled(h: &Histogram<u64>) -> [Option<f64>; 3] {
    LABELLED.map(|(q, _)| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64))
}

/// One latency of a target's cell, ready to draw.
struct Source {
    points: Vec<(f64, f64)>,
    whiskers: Vec<(f64, f64, f64)>,
    values: [Option<f64>; 3],
}

/// The trials' histograms added: the cell's every request.
fn from_logs(histograms: &[&Histogram<u64>]) -> Option<Source> {
    let first = histograms.first()?;
    let mut merged = Histogram::<u64>::new(first.sigfig()).ok()?;
    for h in histograms {
        merged.add(*h).ok()?;
    }
    let whiskers = if histograms.len() > 1 {
        LABELLED
            .iter()
            .map(|(q, _)| {
                let values = histograms.iter().map(|h| h.value_at_quantile(*q) as f64);
                let min = values.clone().fold(f64::INFINITY, f64::min);
                let max = values.fold(0.0, f64::max);
                (x_of(*q), min, max)
            })
            .filter(|(_, min, max)| max > min && *min > 0.0)
            .collect()
    } else {
        Vec::new()
    };
    Some(Source {
        points: points(&merged),
        whiskers,
        values: labelled(&merged),
    })
}

/// run.json's six summary percentiles: median over the trials, min–max whiskers.
fn from_summary(
    report: &RunFigures,
    (scenario_name, variant): (&str, &str),
    t: &TargetInfo,
    corrected: bool,
) -> Source {
    let figure = |p: Pct| report.figure(scenario_name, variant, t, Measure::Latency(p, corrected));
    let mut points = Vec::new();
    let mut whiskers = Vec::new();
    for p in Pct::SPECTRUM {
        let Some(m) = figure(p).measured().cloned() else {
            continue;
        };
        let x = x_of(p.fraction().expect("spectrum percentiles have a fraction"));
        // Log axes cannot show 0 µs (a histogram floor); such points are left out.
        if m.spread.median > 0.0 {
            points.push((x, m.spread.median));
        }
        if m.spread.max > m.spread.min && m.spread.min > 0.0 {
            whiskers.push((x, m.spread.min, m.spread.max));
        }
    }
    let values = [Pct::P50, Pct::P99, Pct::P999].map(|p| figure(p).median());
    Source {
        points,
        whiskers,
        values,
    }
}

/// Why none of `trials`' logs could be used, in a few words.
fn no_log_reason(logs: &Logs, trials: &[&Trial]) -> String {
    let unreadable: Vec<&str> = trials
        .iter()
        .filter_map(|t| match logs.of(t) {
            LogState::Unreadable(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    match unreadable.first() {
        Some(why) if unreadable.len() == trials.len() => format!("logs unreadable: {why}"),
        Some(why) => format!("no log or unreadable: {why}"),
        None => "no .hlog in hdr/".into(),
    }
}

/// What a cell's load was, for titles: "GET /json, 64 conns" or the open model's rate.
pub(crate) fn cell_words(scenario_name: &str, variant: &str) -> String {
    match scenario_name {
        scenario::RATE_10K => "open model at 10,000 req/s on GET /json".to_string(),
        s => {
            let v = variant_label(variant);
            if v.is_empty() {
                format!("GET /{s}")
            } else {
                format!("GET /{s}, {v}")
            }
        }
    }
}

/// The ok trials of one target's cell.
pub(crate) fn ok_trials<'a>(
    report: &'a RunFigures,
    (scenario_name, variant): (&str, &str),
    target: &str,
) -> Vec<&'a Trial> {
    report
        .run()
        .trials
        .iter()
        .filter(|t| {
            t.target == target
                && t.scenario == scenario_name
                && t.variant == variant
                && t.status == TrialStatus::Ok
        })
        .collect()
}

/// The latency spectrum chart of one load cell.
pub(crate) fn chart(report: &RunFigures, logs: &Logs, scenario_name: &str, variant: &str) -> Chart {
    let cell = (scenario_name, variant);
    let open = report.has(scenario_name, Measure::Latency(Pct::P50, false));
    let mut spectrum = Spectrum {
        lines: Vec::new(),
        rows: Vec::new(),
        open,
        notes: Vec::new(),
    };
    let mut from_any_log = false;
    for t in &report.targets {
        let figure = report.figure(scenario_name, variant, t, Measure::Latency(Pct::P50, true));
        let mut row = Row {
            label: t.label.clone(),
            style: t.style,
            corrected: [None; 3],
            uncorrected: [None; 3],
            missing: None,
        };
        let measured = match &figure {
            Figure::Measured(m) => m,
            Figure::Missing(why) => {
                row.missing = Some(why.describe());
                spectrum.rows.push(row);
                continue;
            }
        };
        let flags = measured.flags();
        if !flags.is_empty() {
            row.label = format!("{} ({})", t.label, flags.join(", "));
        }
        let trials = ok_trials(report, cell, &t.name);
        let read: Vec<&TrialLog> = trials.iter().filter_map(|tr| logs.read_log(tr)).collect();
        let corrected = if read.is_empty() {
            spectrum.notes.push(format!(
                "{}: run.json's six summary percentiles, median of the trials ({})",
                t.label,
                no_log_reason(logs, &trials)
            ));
            from_summary(report, cell, t, true)
        } else {
            from_any_log = true;
            if read.len() < trials.len() {
                spectrum.notes.push(format!(
                    "{}: the logs of {} of {} trials ({})",
                    t.label,
                    read.len(),
                    trials.len(),
                    no_log_reason(logs, &trials)
                ));
            }
            let histograms: Vec<&Histogram<u64>> = read.iter().map(|l| &l.latency).collect();
            from_logs(&histograms).unwrap_or_else(|| from_summary(report, cell, t, true))
        };
        if corrected.points.is_empty() {
            row.missing = Some("no latency above 0 µs".into());
            spectrum.rows.push(row);
            continue;
        }
        row.corrected = corrected.values;
        spectrum.lines.push(Line {
            style: t.style,
            dashed: false,
            points: corrected.points,
            whiskers: corrected.whiskers,
        });
        if open {
            let uncorrected: Vec<&Histogram<u64>> =
                read.iter().filter_map(|l| l.uncorrected.as_ref()).collect();
            let source = if !read.is_empty() && uncorrected.len() == read.len() {
                from_logs(&uncorrected)
            } else {
                None
            };
            let source = source.unwrap_or_else(|| {
                if !read.is_empty() {
                    spectrum.notes.push(format!(
                        "{}, dashed: run.json's six summary percentiles (its logs hold no \
                         uncorrected histogram)",
                        t.label
                    ));
                }
                from_summary(report, cell, t, false)
            });
            row.uncorrected = source.values;
            if !source.points.is_empty() {
                spectrum.lines.push(Line {
                    style: t.style,
                    dashed: true,
                    points: source.points,
                    whiskers: source.whiskers,
                });
            }
        }
        spectrum.rows.push(row);
    }
    let id = if variant.is_empty() {
        format!("latency-{scenario_name}")
    } else {
        format!("latency-{scenario_name}-{variant}")
    };
    let model = if open {
        " Solid: corrected for coordinated omission (from each request's due time); dashed: \
         uncorrected (from the actual send). The gap between them is queueing the uncorrected \
         figure hides."
    } else {
        " Closed model: each connection sends its next request when the previous one completes."
    };
    let source = if from_any_log {
        "Each line is the trials' HdrHistogram interval logs added up (every request of the \
         cell), one point per quantile step (five per halving of the distance to 100%). The \
         legend prints p50, p99 and p99.9 of those histograms; the tables give the median of \
         the trials' own percentiles, which can differ slightly. Whiskers: min–max of the \
         trials at those percentiles."
    } else {
        "This results folder has no interval logs (hdr/), so each line joins run.json's six \
         summary percentiles (p50 … p99.99, median over the trials; whiskers: min–max of the \
         trials), not the full histogram."
    };
    let notes = if spectrum.notes.is_empty() || !from_any_log {
        String::new()
    } else {
        format!(
            " Not from every trial's log: {}.",
            spectrum.notes.join("; ")
        )
    };
    if !from_any_log {
        // The caption says it once for the whole chart.
        spectrum.notes = vec![
            "From run.json's summary percentiles: no interval logs (hdr/) \
                               in this results folder."
                .into(),
        ];
    }
    Chart {
        footer: String::new(),
        id,
        title: format!(
            "Latency by percentile: {}",
            cell_words(scenario_name, variant)
        ),
        caption: format!(
            "HdrHistogram percentile spectrum: the x axis spreads the tail (log of 1/(1−p)), \
             both axes are logarithmic; the legend sits below the plot. {source}{model}{notes}"
        ),
        body: Body::Spectrum(spectrum),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::{parse, SAMPLE_LOG};

    #[test]
    fn a_log_gives_many_monotone_points() {
        let log = parse(SAMPLE_LOG).unwrap();
        for h in [&log.latency, log.uncorrected.as_ref().unwrap()] {
            let pts = points(h);
            assert!(pts.len() > 20, "only {} points", pts.len());
            for w in pts.windows(2) {
                assert!(w[1].0 > w[0].0, "x not increasing: {w:?}");
                assert!(w[1].1 >= w[0].1, "latency falls: {w:?}");
            }
            // From the median (or below) to past p99.99.
            assert!(pts[0].0 <= 2.0 && pts.last().unwrap().0 >= 10_000.0);
        }
    }

    #[test]
    fn labels_are_the_histograms_percentiles() {
        let log = parse(SAMPLE_LOG).unwrap();
        let [p50, p99, p999] = labelled(&log.latency);
        assert_eq!(p50, Some(log.latency.value_at_quantile(0.5) as f64));
        assert_eq!(p99, Some(log.latency.value_at_quantile(0.99) as f64));
        assert_eq!(p999, Some(log.latency.value_at_quantile(0.999) as f64));
        // One trial: the added histogram is the trial's own, so the labels hold.
        let source = from_logs(&[&log.latency]).unwrap();
        assert_eq!(source.values, [p50, p99, p999]);
        assert!(source.whiskers.is_empty());
    }

    #[test]
    fn trials_add_up_and_whiskers_span_them() {
        let log = parse(SAMPLE_LOG).unwrap();
        let mut slower = Histogram::<u64>::new(3).unwrap();
        for v in log.latency.iter_recorded() {
            slower
                .record_n(v.value_iterated_to() * 2, v.count_at_value())
                .unwrap();
        }
        let source = from_logs(&[&log.latency, &slower]).unwrap();
        let p99 = log.latency.value_at_quantile(0.99) as f64;
        let (x, min, max) = source.whiskers[1];
        assert!((x - 100.0).abs() < 1e-6, "{x}");
        assert_eq!(min, p99);
        assert!((max / p99 - 2.0).abs() < 0.01, "{max} vs {p99}");
        assert!(source.values[1].unwrap() > min && source.values[1].unwrap() < max);
    }
}
