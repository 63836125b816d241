//! `rtbench images`: the base image (pulled, or built with debootstrap when no registry answers)
//! and each target's image, built or reused by the hash of its folder; then the agent image of
//! `rtbench load --agents` (this binary on the same base), reused by the hash of the binary.
use std::path::PathBuf;
use std::process::ExitCode;

use rtbench_harness::{
    build_agent_image, build_image, ensure_base_image, host_extra_ca_certs, install_handlers,
    remove_orphan_containers, BaseImageSource, ImageOptions, Launcher, Target, DEFAULT_BASE_IMAGE,
};

use crate::common::{choose_launcher, find_root, on_signal};

#[derive(clap::Args)]
pub struct Args {
    /// Targets whose images to build (default: all).
    targets: Vec<String>,
    /// The Debian 13 base every Dockerfile builds FROM (with `run` and `targets`, set
    /// RTBENCH_BASE_IMAGE once for all three).
    #[arg(long, env = "RTBENCH_BASE_IMAGE", default_value = DEFAULT_BASE_IMAGE)]
    base_image: String,
    /// Build again even when an image with the folder's hash exists.
    #[arg(long)]
    rebuild: bool,
    /// Do not pass this host's extra CA certificates (/usr/local/share/ca-certificates) to builds.
    #[arg(long)]
    no_extra_ca_certs: bool,
    /// Only make sure the base image exists.
    #[arg(long)]
    base_only: bool,
    /// Where build logs go (default: a temporary folder).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Folder holding targets/ and scenarios/ (default: found from the current folder).
    #[arg(long)]
    root: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    install_handlers(on_signal)?;
    let root = find_root(args.root.as_deref())?;
    // The same daemon `rtbench run` would use: the user's, else rtbench's private one.
    let _daemon = choose_launcher(Some(Launcher::Docker), &root);
    let all = Target::discover(&root.join("targets"))?;
    let targets = Target::select(&all, &args.targets)?;
    let swept = remove_orphan_containers()?;
    if !swept.is_empty() {
        eprintln!(
            "removed {} container(s) left by a killed rtbench: {}",
            swept.len(),
            swept.join(", ")
        );
    }
    let source = ensure_base_image(&args.base_image, &mut |line| {
        eprintln!("{}: {line}", args.base_image)
    })?;
    let how = match source {
        BaseImageSource::Present => "present",
        BaseImageSource::Pulled => "pulled",
        BaseImageSource::Built => "built with debootstrap",
    };
    println!("base image {} ({how})", args.base_image);
    if args.base_only {
        return Ok(ExitCode::SUCCESS);
    }
    let options = ImageOptions {
        base_image: args.base_image.clone(),
        extra_ca_certs: if args.no_extra_ca_certs {
            String::new()
        } else {
            host_extra_ca_certs()
        },
        rebuild: args.rebuild,
    };
    let logs = args.logs.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rtbench-images-{}", std::process::id()))
    });
    println!(
        "{:<12} {:<28} {:>8} {:>10}  runtime",
        "target", "image", "size MB", "build s"
    );
    let mut failed = false;
    for target in &targets {
        let log = logs.join(format!("{}-build.log", target.name));
        match build_image(target, &options, &log, &mut |line| eprintln!("{line}")) {
            Ok(build) => {
                let built = if build.reused {
                    "reused".to_string()
                } else {
                    format!("{:.1}", build.build_time.as_secs_f64())
                };
                println!(
                    "{:<12} {:<28} {:>8.0} {:>10}  {}",
                    target.name,
                    build.tag,
                    build.size_bytes as f64 / 1e6,
                    built,
                    build.runtime_version.as_deref().unwrap_or("?")
                );
            }
            Err(err) => {
                failed = true;
                println!("{:<12} FAILED: {err}", target.name);
            }
        }
    }
    // The scale-out agents' image (`rtbench load --agents`): this binary on the same base.
    match build_agent_image(&args.base_image, args.rebuild) {
        Ok(image) => println!(
            "{:<12} {:<28} {:>8} {:>10}  rtbench {}",
            "(agents)",
            image.tag,
            "",
            if image.reused { "reused" } else { "built" },
            env!("CARGO_PKG_VERSION")
        ),
        Err(err) => {
            failed = true;
            println!("{:<12} FAILED: {err}", "(agents)");
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
