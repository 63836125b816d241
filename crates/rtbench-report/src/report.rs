//! The report of one run: its figures and the charts they get. The one place that joins the
//! figures (`model`) and the chart catalogue (`chart`), so neither imports the other's caller.
use std::ops::Deref;
use std::path::Path;

use rtbench_results::Run;

use crate::chart::{self, Chart, Skipped};
use crate::error::ReportError;
use crate::hdr::Logs;
use crate::model::RunFigures;
use crate::read::read_run;

/// A rendered report's input: one run, everything derived from it, and its charts.
///
/// Build it with [`Report::load`] (from a run folder) or [`Report::from_run`], then hand it to a
/// [`Format`](crate::Format).
#[derive(Debug, Clone)]
pub struct Report {
    figures: RunFigures,
    pub(crate) charts: Vec<Chart>,
    pub(crate) skipped: Vec<Skipped>,
}

impl Report {
    /// Reads `run_dir/run.json` (schema 1 or the current one) and the trials' interval logs
    /// beside it (`hdr/*.hlog`, for the latency spectra and throughput over time), and prepares
    /// the report. A missing or unreadable log is said in its chart, never fatal.
    pub fn load(run_dir: &Path) -> Result<Report, ReportError> {
        let run = read_run(run_dir)?;
        let dir = if run_dir.is_file() {
            run_dir.parent().unwrap_or(Path::new("."))
        } else {
            run_dir
        };
        let logs = Logs::read(dir, &run);
        Ok(Report::build(run, &logs))
    }

    /// Prepares the report of an already parsed run, without interval logs: latency spectra
    /// come from run.json's summary percentiles (and say so), and there is no throughput over
    /// time.
    pub fn from_run(run: Run) -> Report {
        Report::build(run, &Logs::none())
    }

    fn build(run: Run, logs: &Logs) -> Report {
        let figures = RunFigures::of(run);
        let (mut charts, skipped) = chart::catalogue(&figures, logs);
        let footer = provenance(&figures);
        for c in &mut charts {
            c.footer = footer.clone();
        }
        Report {
            figures,
            charts,
            skipped,
        }
    }
}

impl Deref for Report {
    type Target = RunFigures;

    fn deref(&self) -> &RunFigures {
        &self.figures
    }
}

/// One line naming where, when and with what a chart was measured.
fn provenance(figures: &RunFigures) -> String {
    let run = figures.run();
    let e = &run.environment;
    let date = run.started_at.get(..10).unwrap_or(&run.started_at);
    let agents = match e.agents {
        Some(count) => format!(" · {count} swarm agents"),
        None => String::new(),
    };
    format!(
        "rtbench {} ({}) · suite {} · {} trial(s) · {}, {} cores · launcher {}{agents} · {} · run {}",
        e.rtbench_version,
        e.git_commit,
        run.suite.name,
        run.suite.trials,
        e.cpu_model,
        e.cores,
        e.launcher,
        date,
        run.run_id
    )
}
