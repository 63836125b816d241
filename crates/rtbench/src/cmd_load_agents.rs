//! `rtbench load URL --agents N`: the load as N agents on Docker Swarm (the harness's
//! `Agents::run`, which `rtbench run --agents` uses for every load cell), printed like
//! `rtbench merge`.
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use rtbench_harness::{
    build_agent_image, install_handlers, use_swarm, Agents, AgentsRun, DEFAULT_AGENTS_START_IN,
    DEFAULT_BASE_IMAGE,
};
use rtbench_load::{IoBackend, LoadConfig};

use super::{parse_duration, Args, EXIT_TARGET_FAILED};
use crate::cmd_merge::{print_merged, MergeReport};

/// The longest wait for the agents of a counted run (whose length is not known beforehand).
const COUNTED_RUN_WAIT: Duration = Duration::from_secs(3_600);

pub(super) fn run(args: &Args, config: &LoadConfig, agents: u64) -> anyhow::Result<ExitCode> {
    // Fails here, with the engine's message, when N agents cannot split the connections.
    rtbench_load::split(
        config.connections(),
        config.requests(),
        config.model(),
        agents,
    )?;
    install_handlers(|signal| {
        eprintln!("rtbench: interrupted by signal {signal}: the agents' service is removed")
    })?;
    let _swarm = use_swarm(args.swarm_init)?;
    let base_image = args.base_image.as_deref().unwrap_or(DEFAULT_BASE_IMAGE);
    let swarm_agents = Agents {
        count: agents,
        image: build_agent_image(base_image, false)?.tag,
        start_in: match &args.agents_start_in {
            Some(text) => parse_duration(text, "--agents-start-in")?,
            None => DEFAULT_AGENTS_START_IN,
        },
        // The agents' own --cpus, if any, is among the load flags.
        cpus: None,
    };
    let ran = swarm_agents.run(agent_args(args), run_length(config), &mut |name| {
        eprintln!(
            "rtbench: {agents} agents ({name}) start in {:.1} s",
            swarm_agents.start_in.as_secs_f64()
        )
    })?;
    if let Some(dir) = &args.agents_output {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create '{}'", dir.display()))?;
        for (index, bytes) in &ran.raw {
            let path = dir.join(format!("agent-{index}.hlog"));
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write '{}'", path.display()))?;
        }
    }
    let Some((merged, hlog)) = &ran.merged else {
        report_failures(&ran);
        eprintln!("rtbench: error: the run is incomplete: no agent gave an output");
        return Ok(ExitCode::from(EXIT_TARGET_FAILED));
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &MergeReport::new(merged))?;
        writeln!(out)?;
    } else {
        print_merged(&mut out, merged, agents)?;
    }
    out.flush()?;
    if let Some(path) = &args.output {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create '{}'", path.display()))?;
        serde_json::to_writer_pretty(file, &MergeReport::new(merged))?;
    }
    if let Some(path) = &args.hlog {
        std::fs::write(path, hlog).with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    report_failures(&ran);
    let failed = ran.failed_agents(agents);
    if failed > 0 || !merged.complete {
        eprintln!(
            "rtbench: error: the run is incomplete: {} of {agents} agents failed or are missing",
            failed.max(1)
        );
        return Ok(ExitCode::from(EXIT_TARGET_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_failures(ran: &AgentsRun) {
    for (index, reason) in &ran.failures {
        eprintln!("rtbench: error: agent {index} failed: {reason}");
    }
}

/// How long the agents' run lasts, as far as the flags say.
fn run_length(config: &LoadConfig) -> Duration {
    if config.requests().is_some() || config.duration().is_none() {
        return COUNTED_RUN_WAIT;
    }
    config.warmup() + config.duration().unwrap_or_default()
}

/// The `rtbench load` arguments of every agent: the run's own flags (each agent takes its share
/// from them). `--flag=value`, so no value is mistaken for a flag.
fn agent_args(args: &Args) -> Vec<String> {
    let mut out = vec![args.url.clone().unwrap_or_default()];
    let mut flag =
        |name: &str, value: &dyn ToString| out.push(format!("{name}={}", value.to_string()));
    flag("--connections", &args.connections);
    flag("--pipeline", &args.pipeline);
    flag("--method", &args.method);
    flag("--timeout", &args.timeout);
    flag("--io", &IoBackend::from(args.io).name());
    let optional: [(&str, Option<String>); 11] = [
        ("--duration", args.duration.clone()),
        ("--requests", args.requests.map(|n| n.to_string())),
        ("--threads", args.threads.map(|n| n.to_string())),
        ("--cpus", args.cpus.clone()),
        ("--rate", args.rate.map(|r| r.to_string())),
        ("--body", args.body.clone()),
        ("--warmup", args.warmup.clone()),
        ("--streams", args.streams.map(|n| n.to_string())),
        ("--events", args.events.map(|n| n.to_string())),
        ("--interval-ms", args.interval_ms.map(|n| n.to_string())),
        ("--abort-after", args.abort_after.map(|n| n.to_string())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            flag(name, &value);
        }
    }
    for header in &args.headers {
        flag("--header", header);
    }
    if args.sse {
        out.push("--sse".into());
    }
    out
}
