//! `rtbench targets` and `rtbench verify`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use rtbench_harness::{
    install_handlers, unmet_requirement, verify, ImageOptions, LaunchOptions, Launcher, Readiness,
    Target, UpstreamServer, DEFAULT_BASE_IMAGE,
};
use rtbench_results::CheckStatus;

use crate::common::{
    cache_root, choose_launcher, default_server_cpus, find_root, on_signal, parse_cpu_list,
    parse_launcher,
};

#[derive(clap::Args)]
pub struct TargetsArgs {
    /// Print the list as JSON (one object per target) instead of a table.
    #[arg(long)]
    json: bool,
    /// Folder holding targets/ and scenarios/ (default: found from the current folder).
    #[arg(long)]
    root: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Targets to verify (default: all).
    targets: Vec<String>,
    /// native or docker (default: docker when a Docker daemon answers, native otherwise).
    #[arg(long, value_parser = parse_launcher)]
    launcher: Option<Launcher>,
    /// The Debian 13 base the docker launcher's images build FROM (as `rtbench images --base-image`).
    #[arg(long, env = "RTBENCH_BASE_IMAGE", default_value = DEFAULT_BASE_IMAGE)]
    base_image: String,
    /// CPUs the server is pinned to.
    #[arg(long, value_parser = parse_cpu_list)]
    server_cpus: Option<::std::vec::Vec<usize>>,
    /// Seconds to wait for /health.
    #[arg(long, default_value_t = 120)]
    ready_timeout: u64,
    /// Folder holding targets/ and scenarios/ (default: found from the current folder).
    #[arg(long)]
    root: Option<PathBuf>,
}

pub fn run_targets(args: TargetsArgs) -> anyhow::Result<ExitCode> {
    let root = find_root(args.root.as_deref())?;
    let targets = Target::discover(&root.join("targets"))?;
    let server_cpus = default_server_cpus().len();
    let rows: Vec<(&Target, Option<String>)> =
        targets.iter().map(|t| (t, unmet_requirement(t))).collect();
    if args.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(t, unmet)| {
                serde_json::json!({
                    "name": t.name,
                    "display_name": t.display_name,
                    "survey_row": t.survey_row,
                    "runtime": t.runtime,
                    "runtime_version": t.runtime_version,
                    "language": t.language,
                    "framework": t.framework,
                    "port": t.port,
                    "workers": t.workers(1, server_cpus),
                    "native_available": unmet.is_none(),
                    "native_unavailable_reason": unmet,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "target",
            "survey row",
            "runtime",
            "version",
            "framework",
            "workers",
            "natively here",
        ]);
    for (t, unmet) in &rows {
        table.add_row([
            t.name.as_str(),
            t.survey_row.as_str(),
            t.runtime.as_str(),
            t.runtime_version.as_str(),
            t.framework.as_str(),
            &t.workers(1, server_cpus).to_string(),
            &match unmet {
                None => "yes".to_string(),
                Some(reason) => format!("no: {reason}"),
            },
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    install_handlers(on_signal)?;
    let root = find_root(args.root.as_deref())?;
    let all = Target::discover(&root.join("targets"))?;
    let targets = Target::select(&all, &args.targets)?;
    let choice = choose_launcher(args.launcher, &root);
    let launcher = choice.launcher;
    let image_options = ImageOptions {
        base_image: args.base_image.clone(),
        ..ImageOptions::default()
    };
    let cache = cache_root(&root);
    let logs = std::env::temp_dir().join(format!("rtbench-verify-{}", std::process::id()));
    let upstream = UpstreamServer::start()?;
    let mut failed = false;
    for target in &targets {
        let log = logs.join(format!("{}.log", target.name));
        let mut say = |m: &str| eprintln!("{}: {m}", target.name);
        let readiness = match launcher.prepare_with(target, &cache, &image_options, &log, &mut say)
        {
            Ok(r) => r,
            Err(err) => {
                println!("{:<12} FAIL  provision  {err}", target.name);
                failed = true;
                continue;
            }
        };
        let (version, prepared) = match readiness {
            Readiness::Unavailable { reason } => {
                println!("{:<12} UNAVAILABLE  {reason}", target.name);
                continue;
            }
            Readiness::Ready { version, prepared } => {
                (version.unwrap_or_else(|| "?".into()), prepared)
            }
        };
        let server_cpus = args.server_cpus.clone().unwrap_or_else(default_server_cpus);
        let options = LaunchOptions {
            workers: target.workers(1, server_cpus.len()),
            server_cpus,
            upstream_url: Some(upstream.url()),
            log: log.clone(),
            ready_timeout: Duration::from_secs(args.ready_timeout),
            cache_root: cache.clone(),
        };
        let mut server = match launcher.start(target, &prepared, &options) {
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
