//! `rtbench run`: the main job. Parses flags into `RunOptions`, renders the harness's progress,
//! prints a summary table and renders the report at the end.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::ProgressBar;
use rtbench_harness::{
    install_handlers, ImageOptions, Launcher, Progress, RunOptions, DEFAULT_BASE_IMAGE,
};

use crate::common::{
    cache_root, choose_launcher, default_client_cpus, default_server_cpus, find_root, on_signal,
    parse_cpu_list, parse_launcher,
};

#[derive(clap::Args)]
pub struct Args {
    /// Suite name (scenarios/suites/<name>.toml) or a suite file.
    #[arg(long, default_value = "article")]
    suite: String,
    /// Targets to run, comma-separated (default: every target; unavailable ones are recorded).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// native or docker (default: docker when a Docker daemon answers, native otherwise; the
    /// choice and its reason are printed and recorded in run.json).
    #[arg(long, value_parser = parse_launcher)]
    launcher: Option<Launcher>,
    /// The Debian 13 base the docker launcher's images build FROM (as `rtbench images --base-image`).
    #[arg(long, default_value = DEFAULT_BASE_IMAGE)]
    base_image: String,
    /// CPUs the server is pinned to (default 1 on a 2-core machine).
    #[arg(long, value_parser = parse_cpu_list)]
    server_cpus: Option<Vec<usize>>,
    /// CPUs the load generator is pinned to (default 0).
    #[arg(long, value_parser = parse_cpu_list)]
    client_cpus: Option<Vec<usize>>,
    /// WORKERS for every target.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    workers: u32,
    /// Write the run into this folder (default results/<UTC timestamp>-<host>).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Complete an interrupted run in this folder.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// No progress bar: one plain line per finished step (for CI logs).
    #[arg(long, short)]
    quiet: bool,
    /// Do not render the report at the end.
    #[arg(long)]
    no_report: bool,
    /// Seconds to wait for a target's /health.
    #[arg(long, default_value_t = 120)]
    ready_timeout: u64,
    /// Folder holding targets/ and scenarios/.
    #[arg(long)]
    root: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    install_handlers(on_signal)?;
    let root = find_root(args.root.as_deref())?;
    let choice = choose_launcher(args.launcher, &root);
    let options = RunOptions {
        cache_root: cache_root(&root),
        root,
        targets: args.targets,
        suite: args.suite,
        launcher: choice.launcher,
        image_options: ImageOptions {
            base_image: args.base_image,
            ..ImageOptions::default()
        },
        server_cpus: args.server_cpus.unwrap_or_else(default_server_cpus),
        client_cpus: args.client_cpus.unwrap_or_else(default_client_cpus),
        workers: args.workers,
        out: args.out,
        resume: args.resume,
        rtbench_version: env!("CARGO_PKG_VERSION").to_string(),
        ready_timeout: Duration::from_secs(args.ready_timeout),
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        crate::progress::bar()
    };
    let quiet = args.quiet;
    let mut on_progress = |event: Progress| match event {
        Progress::Planned { steps, estimate } => {
            bar.set_length(steps);
            bar.println(format!(
                "{steps} steps planned, about {} min",
                estimate.as_secs().div_ceil(60)
            ));
        }
        Progress::Target { target, message } => {
            if quiet {
                eprintln!("{target}: {message}");
            } else {
                bar.set_message(format!("{target}: {message}"));
            }
        }
        Progress::Step {
            target,
            cell,
            trial,
            ..
        } => bar.set_message(format!("{target} {cell} (trial {trial})")),
        Progress::StepDone {
            target,
            cell,
            trial,
            ok,
            headline,
        } => {
            let line = format!(
                "{} {target} {cell} trial {trial}: {headline}",
                if ok { "ok  " } else { "FAIL" }
            );
            if quiet {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
            bar.inc(1);
        }
    };
    let outcome = rtbench_harness::run(&options, &mut on_progress)?;
    bar.finish_and_clear();
    let run = rtbench_harness::read_run(&outcome.dir)?;
    crate::summary_table::print(&run);
    if !args.no_report {
        match rtbench_report::render_run(&outcome.dir) {
            Ok(files) => println!("report: {}", files.html.display()),
            Err(err) => eprintln!("rtbench: report not rendered: {err}"),
        }
    }
    println!("results: {}", outcome.dir.display());
    if outcome.failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} failure(s):", outcome.failures.len());
        for failure in &outcome.failures {
            eprintln!("  {failure}");
        }
        Ok(ExitCode::from(1))
    }
}
