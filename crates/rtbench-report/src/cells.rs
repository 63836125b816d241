//! The per-cell tables: one per scenario and load shape, a row per target, showing only what
//! tells the cells apart. Each figure column has its unit in the header; a column that reads the
//! same in every cell is said once below the table; everything else a trial measured is a column
//! of `summary.csv` (the metric catalogue), not of these tables.

use rtbench_results::{si, sig, Trial, TrialStatus, Unit};

use crate::model::{scenario, thousands, variant_label, Figure, Measure, Missing, Pct, RunFigures};
use crate::model::{ScenarioInfo, TargetInfo};
use crate::table::{Cell, Mark, Table};

/// What a column of a cell table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Target,
    Figure(Measure),
    /// Errors other than non-2xx, and non-2xx responses, summed over the cell's trials.
    Errors,
    /// Whether the relay passed tokens on in bursts, with the evidence.
    RelayBuffering,
    /// Flags and failures: a property of the cell, said once.
    Status,
}

/// The figures each kind of scenario shows, in order. One figure per idea: the closed model's
/// p50 follows from req/s and the connections (Little's law), an open run's req/s is its achieved
/// rate, its memory at the rate is its mean RSS (the §11 table shows it), so none is repeated.
/// Client CPU and headroom sit side by side: the two criteria of the client-bound flag.
fn figures(report: &RunFigures, sc: &str, variant: &str) -> Vec<Measure> {
    let present = |m: Measure| has(report, sc, variant, m);
    let open = present(Measure::Latency(Pct::P50, false));
    let kind: &[Measure] = if open {
        &[
            Measure::AchievedRate,
            Measure::Latency(Pct::P99, true),
            Measure::ServerMemory,
            Measure::ClientCpu,
            Measure::ClientHeadroom,
        ]
    } else if present(Measure::KibPerConnection) {
        &[Measure::KibPerConnection, Measure::ServerMemory]
    } else if present(Measure::ColdStart) {
        &[Measure::ColdStart]
    } else if present(Measure::RelayAddedP99) || sc == scenario::SSE_RELAY {
        &[Measure::RelayAddedP99, Measure::AbortMs, Measure::ClientCpu]
    } else if present(Measure::FirstEvent) {
        &[
            Measure::FirstEvent,
            Measure::EventLatencyP99,
            Measure::EventsReceived,
            Measure::KibPerStream,
            Measure::ClientCpu,
        ]
    } else {
        &[
            Measure::Rps,
            Measure::Latency(Pct::P99, true),
            Measure::CpuPerRequest,
            Measure::ClientCpu,
            Measure::ClientHeadroom,
        ]
    };
    kind.iter().copied().filter(|m| present(*m)).collect()
}

/// Whether an ok trial of this scenario and variant records `m`.
fn has(report: &RunFigures, sc: &str, variant: &str, m: Measure) -> bool {
    report.run().trials.iter().any(|t| {
        t.scenario == sc && t.variant == variant && t.status == TrialStatus::Ok && m.of(t).is_some()
    })
}

/// How a figure column writes its numbers: the unit named once in the header.
#[derive(Debug, Clone, Copy)]
struct Scale {
    symbol: &'static str,
    divisor: f64,
    /// Thousands as k (req/s, counts).
    si: bool,
}

impl Scale {
    /// The scale for `unit`, time units chosen by the largest median so a column reads in one
    /// unit (µs, ms or s).
    fn of(unit: Unit, medians: &[f64]) -> Scale {
        let largest = medians.iter().copied().fold(0.0, f64::max);
        let plain = |symbol| Scale {
            symbol,
            divisor: 1.0,
            si: false,
        };
        match unit {
            Unit::PerSecond | Unit::Count => Scale {
                si: true,
                ..plain("")
            },
            Unit::Micros if largest >= 1e6 => Scale {
                divisor: 1e6,
                ..plain("s")
            },
            Unit::Micros if largest >= 1e3 => Scale {
                divisor: 1e3,
                ..plain("ms")
            },
            Unit::Millis if largest >= 1e3 => Scale {
                divisor: 1e3,
                ..plain("s")
            },
            unit => plain(unit.symbol()),
        }
    }

    fn number(&self, v: f64) -> String {
        let v = v / self.divisor;
        if self.si {
            si(v)
        } else {
            sig(v)
        }
    }

    /// `header, unit` (req/s and counts say their unit in the header's words).
    fn header(&self, words: &str) -> String {
        if self.symbol.is_empty() {
            words.to_string()
        } else {
            format!("{words}, {}", self.symbol)
        }
    }
}

/// The header words of a figure column (the unit is added by its [`Scale`]).
fn header_words(m: Measure, open: bool) -> String {
    match m {
        Measure::KibPerConnection => "memory per idle connection".into(),
        Measure::KibPerStream => "memory per open stream".into(),
        Measure::EventsReceived => "events received".into(),
        m => m.header(open),
    }
}

/// A figure as a table cell in its column's scale: `median (min–max)`, the range only when it
/// reads differently from the median. No figure: the reason, or a dash when the status column
/// gives it (the whole cell failed or did not run).
fn figure_text(figure: &Figure, scale: &Scale) -> Cell {
    match figure {
        Figure::Measured(m) => {
            let s = &m.spread;
            let (median, low, high) = (
                scale.number(s.median),
                scale.number(s.min),
                scale.number(s.max),
            );
            Cell::plain(if low == high {
                median
            } else {
                format!("{median} ({low}–{high})")
            })
        }
        Figure::Missing(Missing::Failed(_) | Missing::Unavailable(_) | Missing::NotRun) => {
            Cell::marked("—", Mark::Missing)
        }
        Figure::Missing(why) => Cell::marked(why.describe(), Mark::Missing),
    }
}

/// Errors other than non-2xx and non-2xx responses over `trials`, with the non-2xx codes.
fn errors_cell(trials: &[&Trial]) -> Option<Cell> {
    let loads: Vec<_> = trials.iter().filter_map(|t| t.load()).collect();
    if loads.is_empty() {
        return None;
    }
    let other: u64 = loads
        .iter()
        .map(|l| l.errors.total.saturating_sub(l.errors.status))
        .sum();
    let non_2xx: u64 = loads.iter().map(|l| l.errors.status).sum();
    let mut codes: Vec<u16> = loads
        .iter()
        .flat_map(|l| l.status_codes.keys().copied())
        .filter(|c| !(200..300).contains(c))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let mut text = format!("{} / {}", thousands(other), thousands(non_2xx));
    if !codes.is_empty() {
        let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
        text = format!("{text} ({})", codes.join(", "));
    }
    Some(Cell::marked(
        text,
        if other + non_2xx > 0 {
            Mark::Flagged
        } else {
            Mark::Plain
        },
    ))
}

/// The relay's buffering finding of a cell.
fn buffering_cell(report: &RunFigures, sc: &str, variant: &str, t: &TargetInfo) -> Cell {
    match report.relay_findings(sc, variant, &t.name) {
        Some(r) if r.buffering > 0 => Cell::marked(
            format!("yes, {}/{} trials: {}", r.buffering, r.trials, r.evidence),
            Mark::Flagged,
        ),
        Some(r) => Cell::plain(format!("no: {}", r.evidence)),
        None => Cell::marked("—", Mark::Missing),
    }
}

/// The status of a cell: why it has no figures, else its flags, else `ok`.
fn status_cell(
    report: &RunFigures,
    (sc, variant): (&str, &str),
    t: &TargetInfo,
    trials: &[&Trial],
    first: &Figure,
) -> Cell {
    let ok = trials
        .iter()
        .filter(|x| x.status == TrialStatus::Ok)
        .count();
    let mut flags = Vec::new();
    match first {
        Figure::Missing(why @ (Missing::Failed(_) | Missing::Unavailable(_) | Missing::NotRun)) => {
            return Cell::marked(why.describe(), Mark::Missing)
        }
        Figure::Measured(m) => flags = m.flags(),
        _ if ok < trials.len() => flags.push(format!("{} trial(s) failed", trials.len() - ok)),
        _ => {}
    }
    if let Some(r) = report.relay_findings(sc, variant, &t.name) {
        if r.leaked > 0 {
            flags.push(format!(
                "{} upstream request(s) leaked",
                thousands(r.leaked)
            ));
        }
        if r.upstream_open_after > 0 {
            flags.push(format!(
                "{} upstream connection(s) left open",
                thousands(r.upstream_open_after)
            ));
        }
    }
    if flags.is_empty() {
        Cell::plain("ok")
    } else {
        Cell::marked(flags.join(", "), Mark::Flagged)
    }
}

/// One table per scenario and variant.
pub(crate) fn tables(report: &RunFigures) -> Vec<Table> {
    let mut out = Vec::new();
    for sc in &report.scenarios {
        for variant in &sc.variants {
            out.push(table(report, sc, variant));
        }
        if let Some(last) = out.last_mut() {
            last.notes.extend(scenario_notes(report, &sc.name));
        }
    }
    out
}

/// What a scenario's tables leave to the spectra and `summary.csv`.
fn scenario_notes(report: &RunFigures, sc: &str) -> Vec<String> {
    let open = report.has(sc, Measure::Latency(Pct::P50, false));
    let mut notes = Vec::new();
    if open {
        notes.push(
            "Open model: p99 corrected is measured from each request's due time (coordinated \
             omission corrected); the uncorrected latency is in the latency spectra and \
             summary.csv."
                .into(),
        );
    } else if report.has(sc, Measure::Rps) && report.has_request_latency(sc) {
        notes.push(
            "Closed model: the median latency follows from req/s and the connections \
             (connections ÷ req/s), so the table shows p99; every percentile is in the latency \
             spectra and summary.csv."
                .into(),
        );
    }
    if report.has(sc, Measure::KibPerConnection) {
        notes.push(
            "Memory per idle connection: (RSS with the connections held − RSS before) ÷ \
             connections. Below the resolution (the spread of the RSS readings before and \
             while held, at least one page, over the connections) the difference is noise and \
             is shown as \"< resolution\", not as a value."
                .into(),
        );
    }
    notes
}

fn table(report: &RunFigures, sc: &ScenarioInfo, variant: &str) -> Table {
    let open = report.has(&sc.name, Measure::Latency(Pct::P50, false));
    let measures = figures(report, &sc.name, variant);
    let relay = sc.name == scenario::SSE_RELAY;
    let mut columns = vec![Column::Target];
    columns.extend(measures.iter().map(|m| Column::Figure(*m)));
    if relay {
        columns.push(Column::RelayBuffering);
    }
    if has(report, &sc.name, variant, Measure::Rps) {
        columns.push(Column::Errors);
    }
    columns.push(Column::Status);

    let figures: Vec<Vec<Figure>> = report
        .targets
        .iter()
        .map(|t| {
            measures
                .iter()
                .map(|m| report.figure(&sc.name, variant, t, *m))
                .collect()
        })
        .collect();
    let scales: Vec<Scale> = measures
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let medians: Vec<f64> = figures.iter().filter_map(|f| f[k].median()).collect();
            Scale::of(m.unit(), &medians)
        })
        .collect();

    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (t, figs) in report.targets.iter().zip(&figures) {
        let trials: Vec<&Trial> = report
            .run()
            .trials
            .iter()
            .filter(|x| x.target == t.name && x.scenario == sc.name && x.variant == variant)
            .collect();
        let ok: Vec<&Trial> = trials
            .iter()
            .copied()
            .filter(|x| x.status == TrialStatus::Ok)
            .collect();
        // A scenario with no figure column still says when a cell failed.
        let first = match figs.first() {
            Some(f) => f.clone(),
            None => report.figure(&sc.name, variant, t, Measure::Rps),
        };
        let row = columns
            .iter()
            .map(|c| match c {
                Column::Target => Cell::plain(&t.label),
                Column::Figure(m) => {
                    let k = measures.iter().position(|x| x == m).expect("a column");
                    figure_text(&figs[k], &scales[k])
                }
                Column::Errors => {
                    errors_cell(&ok).unwrap_or_else(|| Cell::marked("—", Mark::Missing))
                }
                Column::RelayBuffering => buffering_cell(report, &sc.name, variant, t),
                Column::Status => status_cell(report, (&sc.name, variant), t, &trials, &first),
            })
            .collect();
        rows.push(row);
    }
    let mut headers: Vec<String> = columns
        .iter()
        .map(|c| match c {
            Column::Target => "target".to_string(),
            Column::Figure(m) => {
                let k = measures.iter().position(|x| x == m).expect("a column");
                scales[k].header(&header_words(*m, open))
            }
            Column::Errors => "errors / non-2xx (all trials)".into(),
            Column::RelayBuffering => "relay buffering".into(),
            Column::Status => "status and flags".into(),
        })
        .collect();
    let notes = collapse_constant_columns(&columns, &mut headers, &mut rows);
    let label = variant_label(variant);
    Table {
        id: if variant.is_empty() {
            format!("scenario-{}", sc.name)
        } else {
            format!("scenario-{}-{variant}", sc.name)
        },
        title: if label.is_empty() {
            format!("Scenario `{}`", sc.name)
        } else {
            format!("Scenario `{}`, {label}", sc.name)
        },
        intro: None,
        headers,
        rows,
        notes,
    }
}

/// Drops the figure and error columns that read the same in every row that has a value, and
/// says each once instead ("Every cell: achieved req/s 10.0k."). Placeholders (a dash where the
/// status column says why) do not count as a difference; a column of nothing but dashes goes.
fn collapse_constant_columns(
    columns: &[Column],
    headers: &mut Vec<String>,
    rows: &mut [Vec<Cell>],
) -> Vec<String> {
    let mut notes = Vec::new();
    let mut keep = vec![true; columns.len()];
    for (k, c) in columns.iter().enumerate() {
        if !matches!(c, Column::Figure(_) | Column::Errors) {
            continue;
        }
        let values: Vec<&str> = rows
            .iter()
            .map(|r| r[k].text.as_str())
            .filter(|t| *t != "—")
            .collect();
        let Some(first) = values.first() else {
            // Only dashes: every cell's status says why; the column adds nothing.
            keep[k] = false;
            continue;
        };
        if values.len() < 2 || values.iter().any(|v| v != first) {
            continue;
        }
        keep[k] = false;
        notes.push(if *c == Column::Errors && *first == "0 / 0" {
            "No errors and no non-2xx responses in any cell.".to_string()
        } else {
            // "client CPU, %" and "12.0" read "client CPU 12.0 %".
            match headers[k].rsplit_once(", ") {
                Some((words, unit)) => format!("Every cell: {words} {first} {unit}."),
                None => format!("Every cell: {} {first}.", headers[k]),
            }
        });
    }
    let mut k = 0;
    headers.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    for row in rows.iter_mut() {
        let mut k = 0;
        row.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_reads_in_one_unit() {
        let s = Scale::of(Unit::Micros, &[474.0, 7_560.0]);
        assert_eq!(s.header("latency p99"), "latency p99, ms");
        assert_eq!(s.number(474.0), "0.474");
        let s = Scale::of(Unit::Micros, &[73.0, 134.0]);
        assert_eq!((s.symbol, s.number(73.0)), ("µs", "73.0".to_string()));
        let s = Scale::of(Unit::PerSecond, &[158_000.0]);
        assert_eq!(
            (s.header("req/s"), s.number(158_000.0)),
            ("req/s".into(), "158k".into())
        );
        assert_eq!(
            Scale::of(Unit::Percent, &[]).header("client CPU"),
            "client CPU, %"
        );
    }

    #[test]
    fn what_the_tables_leave_out_is_in_summary_csv() {
        let header = rtbench_results::summary_header();
        for column in [
            "rps",
            "latency_p50_us",
            "latency_p999_us",
            "latency_max_us",
            "latency_uncorrected_p99_us",
            "memory_at_rate_mib",
            "server_rss_idle_mib",
            "server_rss_peak_mib",
            "server_pss_mean_mib",
            "server_cores_used",
            "server_cpu_us_per_request",
            "client_cpu_s",
            "errors_total",
            "errors_status",
            "errors_other",
            "errors_read",
            "errors_content_type",
            "status_codes",
            "kib_per_idle_connection_resolution",
            "sse_events_received",
            "sse_first_event_p99_us",
            "relay_added_latency_p50_us",
            "relay_leaked",
            "relay_upstream_open_after",
        ] {
            assert!(header.contains(&column), "summary.csv lacks {column}");
        }
    }

    #[test]
    fn constant_columns_become_one_note() {
        let columns = [
            Column::Target,
            Column::Figure(Measure::AchievedRate),
            Column::Figure(Measure::ClientCpu),
            Column::Errors,
            Column::Status,
        ];
        let mut headers: Vec<String> = ["target", "achieved req/s", "client CPU, %", "e", "s"]
            .map(String::from)
            .to_vec();
        let row = |t: &str, cpu: &str| [t, "10.0k", cpu, "0 / 0", "ok"].map(Cell::plain).to_vec();
        let mut rows = vec![row("a", "12.0"), row("b", "14.0")];
        rows.push(
            [
                Cell::plain("c"),
                Cell::marked("—", Mark::Missing),
                Cell::marked("—", Mark::Missing),
                Cell::marked("—", Mark::Missing),
                Cell::plain("unavailable"),
            ]
            .to_vec(),
        );
        let notes = collapse_constant_columns(&columns, &mut headers, &mut rows);
        assert_eq!(headers, ["target", "client CPU, %", "s"]);
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[1][1].text, "14.0");
        assert_eq!(
            notes,
            [
                "Every cell: achieved req/s 10.0k.",
                "No errors and no non-2xx responses in any cell."
            ]
        );
    }
}
