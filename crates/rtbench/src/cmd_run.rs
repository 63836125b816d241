//! `rtbench run`: the main job. Parses flags into `RunOptions`, renders the harness's progress,
//! prints a summary table and renders the report at the end.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::ProgressBar;
use rtbench_harness::{
    install_handlers, ImageOptions, Launcher, Progress, ResumeFlags, RunOptions, DEFAULT_BASE_IMAGE,
};

use crate::common::{
    cache_root, choose_launcher, cpu_words, find_root, on_signal, parse_cpu_list, parse_launcher,
    placement,
};

#[derive(clap::Args)]
pub struct Args {
    /// Suite name (scenarios/suites/<name>.toml) or a suite file [default: article; with --resume,
    /// the run's own].
    #[arg(long)]
    suite: Option<String>,
    /// Targets to run, comma-separated (default: every target; unavailable ones are recorded;
    /// with --resume, the run's own).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// native or docker (default: docker when a Docker daemon answers, native otherwise; the
    /// choice and its reason are printed and recorded in run.json).
    #[arg(long, value_parser = parse_launcher)]
    launcher: Option<Launcher>,
    /// The Debian 13 base the docker launcher's images build FROM (as `rtbench images --base-image`).
    #[arg(long, env = "RTBENCH_BASE_IMAGE", default_value = DEFAULT_BASE_IMAGE)]
    base_image: String,
    /// CPUs the server is pinned to (default: one core, the highest-numbered CPU this process may
    /// use; CPU 1 on a 2-core machine). (The list is one value: the spelled-out `Vec` keeps clap
    /// from reading it as repeated single CPUs.)
    #[arg(long, value_parser = parse_cpu_list)]
    server_cpus: Option<::std::vec::Vec<usize>>,
    /// CPUs the load generator is pinned to (default: the lowest other CPUs, up to 4 per server
    /// core: CPU 0 on a 2-core machine, 0,1,2 on a 4-core one; printed and recorded with why).
    #[arg(long, value_parser = parse_cpu_list)]
    client_cpus: Option<::std::vec::Vec<usize>>,
    /// WORKERS for every target [default: 1; with --resume, the run's own].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    workers: Option<u32>,
    /// Write the run into this folder (default results/<UTC timestamp>-<host>).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Complete an interrupted run in this folder, with its own targets, suite, launcher and CPU
    /// placement (flags that disagree with them are refused).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// No progress bar: one plain line per finished step (the default when stderr is no terminal).
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
    /// Scale-out on Docker Swarm: N agents (a replicated-job service of the agent image, on nodes
    /// labelled rtbench=client when there are any) generate every closed, open and SSE load cell
    /// together, each its share, merged exactly; idle connections, cold starts and the relay
    /// checks run here. Without client nodes the agents share this machine and are pinned to
    /// --client-cpus; on client nodes they use every CPU there. With --resume, the run's own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    agents: Option<u64>,
    /// With --agents: when this daemon is in no swarm, initialise a single-node swarm for the run
    /// and leave it afterwards.
    #[arg(long = "swarm-init", requires = "agents")]
    swarm_init: bool,
    /// Measure the round's targets together: all of them up at once, each request/response cell
    /// split into N slices of its measured window that take turns (A B, B A, …) so a shift in
    /// the machine's speed lands on every target alike; each trial is the exact sum of its
    /// slices. For judging versions against each other (`compare --within`). With --resume, the
    /// run's own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "agents")]
    slices: Option<u32>,
    /// With --agents: each cell's agreed start, this long after its service is created.
    #[arg(long = "agents-start-in", value_name = "DUR", requires = "agents")]
    agents_start_in: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    install_handlers(on_signal)?;
    let root = find_root(args.root.as_deref())?;
    let resumed = match &args.resume {
        Some(dir) => Some(rtbench_harness::resume_settings(
            dir,
            &rtbench_harness::read_run(dir)?,
            &ResumeFlags {
                targets: &args.targets,
                suite: args.suite.as_deref(),
                launcher: args.launcher,
                server_cpus: args.server_cpus.as_deref(),
                client_cpus: args.client_cpus.as_deref(),
                workers: args.workers,
                agents: args.agents.map(Some),
                slices: args.slices,
            },
        )?),
        None => None,
    };
    let choice = choose_launcher(
        args.launcher.or(resumed.as_ref().map(|r| r.launcher)),
        &root,
    );
    let (targets, suite, chosen, (workers, slices), agent_count) = match resumed {
        Some(r) => (
            r.targets,
            r.suite,
            rtbench_results::Placement {
                server_cpus: r.server_cpus,
                client_cpus: r.client_cpus,
                reason: r.placement_reason,
            },
            (r.workers, r.slices),
            r.agents,
        ),
        None => (
            args.targets,
            args.suite.unwrap_or_else(|| "article".into()),
            placement(args.server_cpus.as_deref(), args.client_cpus.as_deref()),
            (args.workers.unwrap_or(1), args.slices.unwrap_or(1)),
            args.agents,
        ),
    };
    eprintln!(
        "placement: server on CPU {}, load generator on CPU {}{}",
        cpu_words(&chosen.server_cpus),
        cpu_words(&chosen.client_cpus),
        match (&chosen.reason, args.resume.is_some()) {
            (Some(reason), false) => format!(" ({reason})"),
            (Some(reason), true) => format!(" (as the run recorded: {reason})"),
            (None, _) => " (as the run recorded)".to_string(),
        }
    );
    let start_in = match &args.agents_start_in {
        Some(text) => crate::cmd_load::parse_duration(text, "--agents-start-in")?,
        None => rtbench_harness::DEFAULT_AGENTS_START_IN,
    };
    let _swarm = match agent_count {
        Some(_) => rtbench_harness::use_swarm(args.swarm_init)?,
        None => None,
    };
    let agents = agent_count
        .map(|count| agents(count, &args.base_image, start_in, &chosen.client_cpus))
        .transpose()?;
    let options = RunOptions {
        cache_root: cache_root(&root),
        root,
        targets,
        suite,
        launcher: choice.launcher,
        image_options: ImageOptions {
            base_image: args.base_image,
            ..ImageOptions::default()
        },
        server_cpus: chosen.server_cpus,
        client_cpus: chosen.client_cpus,
        placement_reason: chosen.reason,
        workers,
        out: args.out,
        resume: args.resume,
        rtbench_version: env!("CARGO_PKG_VERSION").to_string(),
        ready_timeout: Duration::from_secs(args.ready_timeout),
        agents,
        slices,
    };
    let plain = crate::progress::plain(args.quiet);
    let bar = if plain {
        ProgressBar::hidden()
    } else {
        crate::progress::bar()
    };
    let mut on_progress = |event: Progress| match event {
        Progress::Planned { steps, estimate } => {
            bar.set_length(steps);
            let line = format!(
                "{steps} steps planned, about {} min",
                estimate.as_secs().div_ceil(60)
            );
            if plain {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        Progress::Note(line) => {
            if plain {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        Progress::Ceiling { ceiling, recorded } => {
            let line = ceiling_line(&ceiling, recorded);
            if plain {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        Progress::Target { target, message } => {
            if plain {
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
            if plain {
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

/// The swarm agents of `--agents`: the agent image built from this binary, and their CPUs. On a
/// swarm with nodes labelled rtbench=client the agents run there and use every CPU of theirs;
/// otherwise they may share this machine with the server, so they are pinned to the run's client
/// CPUs, like the local engine.
fn agents(
    count: u64,
    base_image: &str,
    start_in: Duration,
    client_cpus: &[usize],
) -> anyhow::Result<rtbench_harness::Agents> {
    let image = rtbench_harness::build_agent_image(base_image, false)?;
    let remote = rtbench_harness::has_client_nodes()?;
    Ok(rtbench_harness::Agents {
        count,
        image: image.tag,
        start_in,
        cpus: (!remote).then(|| client_cpus.to_vec()),
    })
}

/// The run's client ceiling in one line, or why there is none.
fn ceiling_line(
    ceiling: &Result<rtbench_results::ClientCeiling, String>,
    recorded: bool,
) -> String {
    match ceiling {
        Ok(c) => {
            format!(
            "client ceiling{}: {} req/s per client core ({:.2} µs client CPU per request; client \
             on CPU {}, built-in plaintext server on CPU {}, {:.0} s){}",
            if recorded { " (as the run recorded)" } else { "" },
            rtbench_results::si(c.max_rps_per_core),
            c.cpu_us_per_request,
            cpu_words(&c.client_cpus),
            cpu_words(&c.server_cpus),
            c.duration_s,
            if c.shared_cpu {
                "; client and server shared a CPU: a low estimate"
            } else {
                ""
            }
        )
        }
        Err(reason) => format!(
            "client ceiling not measured ({reason}): no headroom figures; client-bound rests on \
             client CPU alone"
        ),
    }
}
