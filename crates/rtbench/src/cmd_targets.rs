//! `rtbench targets` and `rtbench verify`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rtbench_harness::{
    install_handlers, unmet_requirement, verify, LaunchOptions, Launcher, Readiness, Target,
    UpstreamServer,
};
use rtbench_results::CheckStatus;

use crate::common::{
    cache_root, default_server_cpus, find_root, on_signal, parse_cpu_list, parse_launcher,
};

#[derive(clap::Args)]
pub struct TargetsArgs {
    /// Folder holding targets/ and scenarios/ (default: found from the current folder).
    #[arg(long)]
    root: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Targets to verify (default: all).
    targets: Vec<String>,
    /// native or docker.
    #[arg(long, default_value = "native", value_parser = parse_launcher)]
    launcher: Launcher,
    /// CPUs the server is pinned to.
    #[arg(long, value_parser = parse_cpu_list)]
    server_cpus: Option<Vec<usize>>,
    /// Seconds to wait for /health.
    #[arg(long, default_value_t = 120)]
    ready_timeout: u64,
    #[arg(long)]
    root: Option<PathBuf>,
}

pub fn run_targets(args: TargetsArgs) -> anyhow::Result<ExitCode> {
    let root = find_root(args.root.as_deref())?;
    let targets = Target::discover(&root.join("targets"))?;
    println!(
        "{:<12} {:<24} {:<10} {:<10} natively here",
        "name", "survey row", "runtime", "version"
    );
    for t in &targets {
        let available = match unmet_requirement(t) {
            None => "yes".to_string(),
            Some(reason) => format!("no: {reason}"),
        };
        println!(
            "{:<12} {:<24} {:<10} {:<10} {available}",
            t.name, t.survey_row, t.runtime, t.runtime_version
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    install_handlers(on_signal)?;
    let root = find_root(args.root.as_deref())?;
    let all = Target::discover(&root.join("targets"))?;
    let targets = Target::select(&all, &args.targets)?;
    let cache = cache_root(&root);
    let logs = std::env::temp_dir().join(format!("rtbench-verify-{}", std::process::id()));
    let upstream = UpstreamServer::start()?;
    let mut failed = false;
    for target in &targets {
        let log = logs.join(format!("{}.log", target.name));
        let mut say = |m: &str| eprintln!("{}: {m}", target.name);
        let readiness = match args.launcher.prepare(target, &cache, &log, &mut say) {
            Ok(r) => r,
            Err(err) => {
                println!("{:<12} FAIL  provision  {err}", target.name);
                failed = true;
                continue;
            }
        };
        let version = match readiness {
            Readiness::Unavailable { reason } => {
                println!("{:<12} UNAVAILABLE  {reason}", target.name);
                continue;
            }
            Readiness::Ready { version } => version.unwrap_or_else(|| "?".into()),
        };
        let options = LaunchOptions {
            server_cpus: args.server_cpus.clone().unwrap_or_else(default_server_cpus),
            workers: 1,
            upstream_url: Some(upstream.url()),
            log: log.clone(),
            ready_timeout: Duration::from_secs(args.ready_timeout),
            cache_root: cache.clone(),
        };
        let mut server = match args.launcher.start(target, &options) {
            Ok(server) => server,
            Err(err) => {
                println!("{:<12} FAIL  start      {err}", target.name);
                failed = true;
                continue;
            }
        };
        println!(
            "{:<12} {version}, ready in {:.0} ms",
            target.name,
            server.cold_start().as_secs_f64() * 1000.0
        );
        for check in verify(server.base_url(), Some(&upstream)) {
            let status = match check.status {
                CheckStatus::Pass => "PASS",
                CheckStatus::Warn => "WARN",
                CheckStatus::Fail => {
                    failed = true;
                    "FAIL"
                }
            };
            println!(
                "{:<12} {status:<5} {:<11} {}",
                target.name,
                check.check,
                check.reason.unwrap_or_default()
            );
        }
        server.stop();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
