//! rtbench's report: reads a run folder's `run.json` (through the one schema in
//! `rtbench-results`) and the trials' HdrHistogram interval logs (`hdr/*.hlog`), computes
//! per-cell statistics over the trials, and renders the survey's tables, every cell's figures
//! and the charts (bars, latency spectra, throughput over time) as `report.md`, one
//! self-contained `report.html`, and each chart as SVG and PNG.
//!
//! - [`render_run`] does it all for a run folder: `DIR/run.json` → `DIR/report/`.
//! - [`Report`] is a parsed run with everything derived from it; each output is a [`Format`]
//!   ([`Markdown`], [`Html`], [`ChartSvg`], [`ChartPng`]) that writes to any `Write`.
//! - Statistics live in one place ([`Spread`], [`group_trials`] and the functions beside them);
//!   renderers and compare only format what they return.
//! - Errors are [`ReportError`], naming the file at fault.
//!
//! ```
//! use rtbench_report::{median, Format, Markdown, Report, Spread};
//! use rtbench_results::{Run, SCHEMA_VERSION};
//!
//! assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
//! let s = Spread::of(&[90.0, 100.0, 110.0]).unwrap();
//! assert_eq!((s.min, s.median, s.max), (90.0, 100.0, 110.0));
//!
//! let json = format!(r#"{{"schema_version":{SCHEMA_VERSION},"run_id":"r1","started_at":"2026-01-01T00:00:00Z",
//!   "environment":{{"hostname":"h","cpu_model":"c","cores":2,"kernel":"k","memory_bytes":1,
//!   "rtbench_version":"0.1.0","git_commit":"abc","launcher":"native",
//!   "placement":{{"server_cpus":[1],"client_cpus":[0]}}}},
//!   "suite":{{"name":"quick","trials":1,"scenarios":[]}},"targets":[],"trials":[]}}"#);
//! let run: Run = serde_json::from_str(&json).unwrap();
//! let report = Report::from_run(run);
//! let mut md = Vec::new();
//! Markdown.write(&report, &mut md).unwrap();
//! assert!(String::from_utf8(md).unwrap().contains("**What:** suite `quick`"));
//! ```
mod bootstrap;
mod cells;
mod chart;
mod claim;
mod compare;
mod doc;
mod error;
mod hdr;
mod headline;
mod html;
mod markdown;
mod model;
mod output;
mod palette;
mod plot;
mod raster;
mod read;
mod relay_findings;
mod report;
mod spectrum;
mod stats;
mod streaming;
mod survey;
mod table;
mod timeline;
mod trend;
mod variant_label;

pub use bootstrap::{median_change_interval, Interval, Rng, DEFAULT_RESAMPLES, DEFAULT_SEED};
pub use compare::{
    compare, compare_within, render, CellComparison, CompareError, CompareFormat, CompareShift,
    Comparison, MetricComparison, Presence, RunInfo, Settings, SideStats, Thresholds, TrialCounts,
    Undecided, Verdict, Within, CONFIDENCE, MAX_TRIALS_ESTIMATE, MIN_TRIALS,
};
pub use error::ReportError;
pub use model::RunFigures;
pub use output::{
    render_run, write_all, ChartFiles, ChartInfo, ChartPng, ChartSvg, Format, Html, Markdown,
    ReportFiles,
};
pub use read::read_run;
pub use report::Report;
pub use rtbench_results::Metric;
pub use stats::{
    group_trials, max, mean, median, min, quantile, sorted, stddev, Cell, CellKey, Spread,
};
pub use trend::{
    analyse, append_history, history_records, read_history, run_history_records, trend_charts,
    write_json as write_trend_json, write_markdown as write_trend_markdown, Better, Change,
    ChangePoint, Detector, Direction, HistoryRecord, HistoryRun, MachineShift, MetricPoint,
    RunStamp, Series, Trend, TrendChart, TrendError, MACHINE_WIDE_FRACTION,
};
