//! `rtbench history append RUN HISTORY` and `rtbench trend HISTORY`: parse flags, call the report
//! crate's history and trend functions, write the files, and map the gate to the exit code.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rtbench_report::{
    analyse, append_history, read_history, read_run, run_history_records, trend_charts,
    write_trend_json, write_trend_markdown, Detector,
};

#[derive(clap::Subcommand)]
pub enum HistoryCommand {
    /// Append a run's cells (one JSON line per target × scenario × variant × metric) to HISTORY.
    Append(AppendArgs),
}

#[derive(clap::Args)]
pub struct AppendArgs {
    /// The run: a results folder (DIR/run.json) or a run.json file.
    pub run: PathBuf,
    /// The history file (JSON Lines), created when missing. A run already in it is refused.
    pub history: PathBuf,
}

pub fn run_history(command: HistoryCommand) -> anyhow::Result<ExitCode> {
    let HistoryCommand::Append(args) = command;
    let run = read_run(&args.run).map_err(|e| anyhow::anyhow!("{e}"))?;
    let records = run_history_records(&run);
    let n = append_history(&args.history, &records)?;
    eprintln!(
        "rtbench: appended run {} ({n} lines) to {}",
        run.run_id,
        args.history.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
#[command(after_help = "\
Each series is one target × scenario × variant × metric: the median of each run's trials, in run
order. Change points: E-Divisive means (energy statistic, α = 1) split recursively, each split kept
when a Student's t-test between its two sides gives p below --max-p and the level moved by at least
--min-change (Apache Otava's method). A change that most targets measured in that run share (same
metric, same direction) is reported as a machine-wide shift, not as the targets' regressions.

Exit status: 0 no target-specific regression starts at the newest run, 1 one does, 2 error.")]
pub struct Args {
    /// The history file (JSON Lines written by `rtbench history append`).
    pub history: PathBuf,
    /// Write trend.md, trend.json and one SVG chart per scenario × metric into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Significance a change point needs (two-sided p-value of the t-test).
    #[arg(long, value_name = "P", default_value_t = 0.001)]
    pub max_p: f64,
    /// Smallest change of level reported, in percent.
    #[arg(long, value_name = "PCT", default_value_t = 5.0)]
    pub min_change: f64,
    /// Do not print the markdown summary on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_trend(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.max_p > 0.0 && args.max_p < 1.0) {
        anyhow::bail!("--max-p {}: expected a p-value between 0 and 1", args.max_p);
    }
    if !(args.min_change.is_finite() && args.min_change >= 0.0) {
        anyhow::bail!(
            "--min-change {}: expected a percentage ≥ 0",
            args.min_change
        );
    }
    if !args.history.is_file() {
        anyhow::bail!("{}: no such history file", args.history.display());
    }
    let records = read_history(&args.history)?;
    let detector = Detector {
        max_p_value: args.max_p,
        min_magnitude: args.min_change / 100.0,
    };
    let trend = analyse(&records, &detector);

    if let Some(dir) = &args.out {
        fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let mut md = Vec::new();
        write_trend_markdown(&trend, &mut md)?;
        write(&dir.join("trend.md"), &md)?;
        let mut json = Vec::new();
        write_trend_json(&trend, &mut json)?;
        write(&dir.join("trend.json"), &json)?;
        for chart in trend_charts(&trend)? {
            write(&dir.join(&chart.file_name), chart.svg.as_bytes())?;
        }
    }
    if !args.quiet {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        write_trend_markdown(&trend, &mut out)?;
        out.flush()?;
    }
    Ok(if trend.newest_regressions().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}
