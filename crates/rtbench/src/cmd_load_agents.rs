//! `rtbench load URL --agents N`: the run as N agents on Docker Swarm. The agents are one
//! replicated-job service of the agent image; each runs `rtbench load … --agent swarm/N` (its
//! share from its task slot), starts its clock at an agreed wall-clock instant and prints its
//! output into the service logs, which this coordinator reads back and merges exactly
//! (`rtbench merge`'s code). The service is removed on every path: on return and error by its
//! guard, on Ctrl-C and panic by the harness's handlers.
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rtbench_harness::{
    build_agent_image, collect_agent_outputs, install_handlers, swarm_state, AgentService,
    AgentsSpec, SingleNodeSwarm, SwarmState, DEFAULT_BASE_IMAGE,
};
use rtbench_load::{Ended, IoBackend, LoadConfig};

use super::{parse_duration, Args, EXIT_TARGET_FAILED};
use crate::cmd_merge::{print_merged, MergeReport};

/// Agents get this long, by default, to be scheduled, started and connected.
const DEFAULT_START_IN: Duration = Duration::from_secs(5);
/// Beyond the run's own length: scheduling, connecting, the agents' timeouts, the logs.
const WAIT_MARGIN: Duration = Duration::from_secs(60);
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
    let _swarm = match swarm_state()? {
        SwarmState::Manager => None,
        SwarmState::Inactive if args.swarm_init => Some(SingleNodeSwarm::init()?),
        SwarmState::Inactive => bail!(
            "--agents: this Docker daemon is in no swarm: run `docker swarm init` here (and \
             `docker swarm join` on the client machines), or pass --swarm-init for a single-node \
             swarm left after the run"
        ),
        SwarmState::Worker => {
            bail!("--agents: this Docker daemon is a swarm worker; run rtbench on a manager")
        }
    };
    let base_image = args.base_image.as_deref().unwrap_or(DEFAULT_BASE_IMAGE);
    let image = build_agent_image(base_image, false)?;
    let start_in = match &args.agents_start_in {
        Some(text) => parse_duration(text, "--agents-start-in")?,
        None => DEFAULT_START_IN,
    };
    let start_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        + start_in;
    let spec = AgentsSpec {
        image: image.tag,
        agents,
        load_args: agent_args(args, start_at.as_nanos() as u64),
    };
    let service = AgentService::create(&spec)?;
    eprintln!(
        "rtbench: {agents} agents ({}) start in {:.1} s",
        service.name(),
        start_in.as_secs_f64()
    );
    let wait = start_in + WAIT_MARGIN + run_length(config);
    let tasks = service.wait(wait)?;
    let logs = service.logs()?;
    drop(service);
    let collected = collect_agent_outputs(&logs, agents);
    if let Some(dir) = &args.agents_output {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create '{}'", dir.display()))?;
        for (index, bytes) in &collected.outputs {
            let path = dir.join(format!("agent-{index}.hlog"));
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write '{}'", path.display()))?;
        }
    }
    let mut outputs = Vec::new();
    let mut failures = collected.failures;
    for (index, bytes) in &collected.outputs {
        match rtbench_load::read_agent_output(&format!("agent {index}"), bytes) {
            Ok(output) => outputs.push(output),
            Err(e) => {
                failures.insert(*index, e.to_string());
            }
        }
    }
    for (index, task) in &tasks {
        if task.state != "Complete" && !failures.contains_key(index) {
            failures.insert(*index, format!("task {}: {}", task.state, task.error));
        }
    }
    let mut out = std::io::stdout().lock();
    if outputs.is_empty() {
        report_failures(&failures);
        eprintln!("rtbench: error: the run is incomplete: no agent gave an output");
        return Ok(ExitCode::from(EXIT_TARGET_FAILED));
    }
    let mut hlog = Vec::new();
    let merged = rtbench_load::merge_agents(&outputs, Some(&mut hlog))?;
    if args.json {
        let report = MergeReport::new(&merged);
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_merged(&mut out, &merged, agents)?;
    }
    out.flush()?;
    if let Some(path) = &args.output {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create '{}'", path.display()))?;
        serde_json::to_writer_pretty(file, &MergeReport::new(&merged))?;
    }
    if let Some(path) = &args.hlog {
        std::fs::write(path, &hlog)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    report_failures(&failures);
    let ended_early = merged.agents.iter().any(|a| a.ended != Ended::Completed);
    if !failures.is_empty() || !merged.complete || ended_early {
        eprintln!(
            "rtbench: error: the run is incomplete: {} of {agents} agents failed or are missing",
            (agents as usize)
                .saturating_sub(merged.agents.len())
                .max(failures.len())
        );
        return Ok(ExitCode::from(EXIT_TARGET_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_failures(failures: &std::collections::BTreeMap<u64, String>) {
    for (index, reason) in failures {
        eprintln!("rtbench: error: agent {index} failed: {reason}");
    }
}

/// How long the agents' run lasts, as far as the flags say.
fn run_length(config: &LoadConfig) -> Duration {
    if config.requests().is_some() {
        return COUNTED_RUN_WAIT;
    }
    config.warmup() + config.duration().unwrap_or_default()
}

/// The `rtbench load` arguments of every agent: the run's own flags (each agent takes its share
/// from them), the agreed start, and its output into the logs. `--flag=value`, so no value is
/// mistaken for a flag.
fn agent_args(args: &Args, start_at_ns: u64) -> Vec<String> {
    let mut out = vec![args.url.clone().unwrap_or_default()];
    let mut flag =
        |name: &str, value: &dyn ToString| out.push(format!("{name}={}", value.to_string()));
    flag("--connections", &args.connections);
    flag("--pipeline", &args.pipeline);
    flag("--method", &args.method);
    flag("--timeout", &args.timeout);
    flag("--start-at", &start_at_ns);
    flag("--agent-output", &"-");
    flag("--io", &IoBackend::from(args.io).name());
    if let Some(d) = &args.duration {
        flag("--duration", d);
    }
    if let Some(n) = args.requests {
        flag("--requests", &n);
    }
    if let Some(t) = args.threads {
        flag("--threads", &t);
    }
    if let Some(cpus) = &args.cpus {
        flag("--cpus", cpus);
    }
    if let Some(rate) = args.rate {
        flag("--rate", &rate);
    }
    for header in &args.headers {
        flag("--header", header);
    }
    if let Some(body) = &args.body {
        flag("--body", body);
    }
    if let Some(w) = &args.warmup {
        flag("--warmup", w);
    }
    out
}
