//! `rtbench report DIR`: renders a run folder's tables and charts into `DIR/report/`.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Run folder holding run.json (e.g. results/20260101T000000Z-host).
    pub dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = rtbench_report::render_run(&args.dir)
        .with_context(|| format!("rendering the report of {}", args.dir.display()))?;
    println!("{}", files.markdown.display());
    println!("{}", files.html.display());
    for chart in &files.charts {
        println!("{}", chart.svg.display());
        println!("{}", chart.png.display());
    }
    for (title, reason) in &files.skipped {
        eprintln!("rtbench: not drawn: {title}: {reason}");
    }
    for line in &files.refused {
        eprintln!("rtbench: refused: {line}");
    }
    Ok(ExitCode::SUCCESS)
}
