//! Interval logs (`hdr/*.hlog`) written for the fixture runs, as the load engine writes them,
//! and the line charts drawn from them: the latency spectrum is the histogram's, its printed
//! percentiles are the histogram's, and without logs the report says what it drew instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use rtbench_report::{render_run, ReportFiles};
use rtbench_results::Unit;

use super::{fixture, read, run_dir};

/// A cell: (target, scenario, variant).
pub(crate) type CellKey = (String, String, String);

/// Writes an interval log for every ok trial of `run` that timed requests, where the report looks
/// for it (the trial's `hdr_log`, else the runner's name): ten 1-second intervals whose latency
/// scales with the trial's p50, with a stall (a tenth of the responses) in the seventh second;
/// open runs also get the uncorrected histograms. Returns each cell's corrected histograms added
/// up, as the report must add them.
pub(crate) fn write_logs(dir: &Path, run: &serde_json::Value) -> HashMap<CellKey, Histogram<u64>> {
    let mut cells: HashMap<CellKey, Histogram<u64>> = HashMap::new();
    for t in run["trials"].as_array().unwrap() {
        let model = t["load"]["model"].as_str().unwrap_or("");
        if t["status"] != "ok" || !(model == "closed" || model == "open") {
            continue;
        }
        let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
        let (target, scenario, variant) = (s("target"), s("scenario"), s("variant"));
        let trial = t["trial"].as_u64().unwrap();
        let relative = t["hdr_log"].as_str().map_or_else(
            || format!("hdr/{target}-{scenario}-{variant}-t{trial}.hlog"),
            str::to_string,
        );
        let p50 = t["load"]["latency_us"]["p50"].as_f64().unwrap().max(2.0);
        let mut out = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let merged = cells
            .entry((target, scenario, variant))
            .or_insert_with(|| Histogram::new(3).unwrap());
        {
            let mut log = IntervalLogWriterBuilder::new()
                .with_base_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
                .begin_log_with(&mut out, &mut serializer)
                .unwrap();
            for second in 0..10u64 {
                let n = if second == 6 { 40 } else { 400 + 10 * trial };
                let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
                let mut uncorrected = latency.clone();
                for k in 0..n {
                    // A heavy tail: p50 at the median, some 30× p50 at the rarest response.
                    let u = (k as f64 + 0.5) / n as f64;
                    let v = p50 * (0.5 / (1.0 - u)).powf(0.55) * (1.0 + second as f64 / 40.0);
                    latency.record(v.max(1.0) as u64).unwrap();
                    uncorrected.record((v * 0.7).max(1.0) as u64).unwrap();
                }
                let start = Duration::from_secs(second);
                log.write_histogram(&latency, start, Duration::from_secs(1), None)
                    .unwrap();
                if model == "open" {
                    let tag = Tag::new("uncorrected");
                    log.write_histogram(&uncorrected, start, Duration::from_secs(1), tag)
                        .unwrap();
                }
                merged.add(&latency).unwrap();
            }
        }
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, out).unwrap();
    }
    cells
}

/// A run folder holding `run` and an interval log for each of its timed trials.
pub(crate) fn run_dir_with_logs(
    name: &str,
    run: &serde_json::Value,
) -> (PathBuf, HashMap<CellKey, Histogram<u64>>) {
    let dir = run_dir(name, run);
    let cells = write_logs(&dir, run);
    (dir, cells)
}

/// The legend entries of a line chart's SVG: each start-anchored text with a filled marker just
/// left of it on the same line, as (text, marker fill, marker shape). A shape is the marker's
/// outline relative to its centre, so the same shape anywhere reads the same.
pub(crate) fn legend_entries(svg: &str) -> Vec<(String, String, String)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let num = |n: &roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
    let marks: Vec<(f64, f64, String, String)> = doc
        .descendants()
        .filter_map(|n| {
            let fill = n.attribute("fill")?;
            if fill == "none" || fill == "#FFFFFF" {
                return None;
            }
            match n.tag_name().name() {
                "circle" => Some((
                    num(&n, "cx")?,
                    num(&n, "cy")?,
                    fill.to_string(),
                    format!("circle r={}", n.attribute("r")?),
                )),
                "polygon" => {
                    let pts: Vec<(i64, i64)> = n
                        .attribute("points")?
                        .split_whitespace()
                        .filter_map(|p| {
                            let (x, y) = p.split_once(',')?;
                            Some((x.parse().ok()?, y.parse().ok()?))
                        })
                        .collect();
                    let x0 = pts.iter().map(|p| p.0).min()?;
                    let x1 = pts.iter().map(|p| p.0).max()?;
                    let y0 = pts.iter().map(|p| p.1).min()?;
                    let y1 = pts.iter().map(|p| p.1).max()?;
                    let shape: Vec<String> = pts
                        .iter()
                        .map(|(x, y)| format!("{},{}", 2 * x - x0 - x1, 2 * y - y0 - y1))
                        .collect();
                    Some((
                        (x0 + x1) as f64 / 2.0,
                        (y0 + y1) as f64 / 2.0,
                        fill.to_string(),
                        shape.join(" "),
                    ))
                }
                _ => None,
            }
        })
        .collect();
    doc.descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("start"))
        .filter_map(|n| {
            let (x, y) = (num(&n, "x")?, num(&n, "y")?);
            let mark = marks
                .iter()
                .find(|m| (m.1 - y).abs() <= 4.0 && m.0 < x && x - m.0 <= 40.0)?;
            Some((n.text()?.trim().to_string(), mark.2.clone(), mark.3.clone()))
        })
        .collect()
}

/// The SVG text of chart `id`.
pub(crate) fn chart_svg(files: &ReportFiles, id: &str) -> String {
    let chart = files
        .charts
        .iter()
        .find(|c| c.info.id == id)
        .unwrap_or_else(|| panic!("no chart {id}"));
    read(&chart.svg)
}

/// The texts of an SVG on the line of the text that starts with `label`.
pub(crate) fn row_of(svg: &str, label: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let y = |n: &roxmltree::Node| n.attribute("y").and_then(|v| v.parse::<f64>().ok());
    let texts: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .collect();
    let at = texts
        .iter()
        .find(|n| n.text().is_some_and(|t| t.trim().starts_with(label)))
        .and_then(y)
        .unwrap_or_else(|| panic!("no text {label:?}"));
    texts
        .iter()
        .filter(|n| y(n).is_some_and(|v| (v - at).abs() < 0.5))
        .filter_map(|n| Some(n.text()?.trim().to_string()))
        .collect()
}

#[test]
fn latency_spectrum_is_the_full_histogram_with_its_percentiles_printed() {
    let (dir, cells) = run_dir_with_logs("spectrum", &fixture("full"));
    let files = render_run(&dir).unwrap();
    let svg = chart_svg(&files, "latency-rate-10k-r10000");
    let axum = &cells[&("axum".into(), "rate-10k".into(), "r10000".into())];
    let row = row_of(&svg, "Rust Axum (Tokio)");
    for q in [0.5, 0.99, 0.999] {
        let value = Unit::Micros.format(axum.value_at_quantile(q) as f64);
        assert!(
            row.contains(&value),
            "p{q}: {value} not in axum's row {row:?}"
        );
    }
    // Axum's solid line: many points, from the histogram rather than six percentiles.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let longest = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("polyline")
                && n.attribute("stroke") == Some("#D55E00")
                && n.attribute("stroke-width") == Some("3")
        })
        .map(|n| n.attribute("points").unwrap().split_whitespace().count())
        .max()
        .unwrap();
    assert!(longest > 20, "axum's line has {longest} points");
    assert!(
        !svg.contains("summary percentiles"),
        "drawn from run.json, not the logs"
    );
    assert!(svg.contains("dashed: uncorrected"));
    let md = read(&files.markdown);
    assert!(
        md.contains("interval logs added up"),
        "caption lacks its source"
    );
}

#[test]
fn without_logs_the_summary_is_drawn_and_said() {
    let dir = run_dir("no-logs", &fixture("full"));
    let files = render_run(&dir).unwrap();
    let ids: Vec<&str> = files.charts.iter().map(|c| c.info.id.as_str()).collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("throughput-time-")),
        "{ids:?}"
    );
    assert!(
        files
            .skipped
            .iter()
            .any(|(title, why)| title == "Throughput over time" && why.contains("hdr/")),
        "{:?}",
        files.skipped
    );
    let latency = chart_svg(&files, "latency-json-c64");
    assert!(latency.contains("summary percentiles: no interval logs"));
    // The legend still prints p50, p99 and p99.9 (the trials' median) for axum.
    let row = row_of(&latency, "Rust Axum (Tokio)");
    let values = row
        .iter()
        .filter(|t| t.ends_with("µs") || t.ends_with("ms"))
        .count();
    assert!(values >= 3, "{row:?}");
    let md = read(&files.markdown);
    assert!(md.contains("no interval logs (hdr/)"));
    assert!(
        md.contains("Not drawn: Throughput over time: this results folder has no interval logs")
    );
}
