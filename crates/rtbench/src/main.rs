//! The `rtbench` command: parses flags, turns them into library configs, calls one `run` per
//! subcommand and maps failures to exit codes. No measuring or rendering happens here.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_compare;
mod cmd_images;
mod cmd_load;
mod cmd_merge;
mod cmd_report;
mod cmd_run;
mod cmd_targets;
mod cmd_trend;
mod common;
mod load_print;
mod progress;
mod summary_table;

/// Benchmarks HTTP servers across runtimes.
#[derive(Parser)]
#[command(name = "rtbench", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Put load on one URL (closed, open-rate or SSE stream model) and print what was measured.
    Load(Box<cmd_load::Args>),
    /// Merge the outputs of the agents of one scaled-out load run (histograms add exactly).
    Merge(cmd_merge::Args),
    /// List the reference servers and whether each can run here.
    Targets(cmd_targets::TargetsArgs),
    /// Launch targets and check them against the contract before any load.
    Verify(cmd_targets::VerifyArgs),
    /// Run a suite of scenarios against targets and write results/<run>/.
    Run(cmd_run::Args),
    /// Render tables and charts for a run folder.
    Report(cmd_report::Args),
    /// Compare two runs and give a verdict per target and scenario.
    Compare(cmd_compare::Args),
    /// Build (or reuse) the container images: the Debian base and one per target.
    Images(cmd_images::Args),
    /// Keep the nightly history: append a run's cells to a JSON Lines file.
    #[command(subcommand)]
    History(cmd_trend::HistoryCommand),
    /// Each metric over the history's runs, with change points; exit 1 on a new regression.
    Trend(cmd_trend::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Load(args) => cmd_load::run(*args),
        Command::Merge(args) => cmd_merge::run(args),
        Command::Targets(args) => cmd_targets::run_targets(args),
        Command::Verify(args) => cmd_targets::run_verify(args),
        Command::Run(args) => cmd_run::run(args),
        Command::Report(args) => cmd_report::run(args),
        Command::Compare(args) => cmd_compare::run(args),
        Command::Images(args) => cmd_images::run(args),
        Command::History(command) => cmd_trend::run_history(command),
        Command::Trend(args) => cmd_trend::run_trend(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rtbench: error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line. Library errors often repeat their cause in their own
/// message, so a cause already said is not said again.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " | ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
