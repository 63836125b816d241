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
use rtbench_load::{LoadBuilder, LoadConfig};

use super::{parse_duration, Args, EXIT_TARGET_FAILED};
use crate::cmd_merge::{print_merged, MergeReport};

/// The longest wait for the agents of a counted run (whose length is not known beforehand).
const COUNTED_RUN_WAIT: Duration = Duration::from_secs(3_600);

pub(super) fn run(
    args: &Args,
    load: &LoadBuilder,
    config: &LoadConfig,
    agents: u64,
) -> anyhow::Result<ExitCode> {
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
    // Read here rather than by clap: --base-image requires --agents, an environment default must not.
    let from_env = std::env::var("RTBENCH_BASE_IMAGE").ok();
    let base_image = args
        .base_image
        .as_deref()
        .or(from_env.as_deref())
        .unwrap_or(DEFAULT_BASE_IMAGE);
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
    // Every agent builds this load from the same flags and takes its share of it.
    let ran = swarm_agents.run(load.load_flags(), run_length(config), &mut |name| {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use rtbench_load::{IoBackend, LoadBuilder, StreamOptions};

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        load: super::Args,
    }

    /// What an agent is started with, read by `rtbench load`'s own flag parser, is the load it
    /// came from: the same validated config, model and stream settings included.
    #[test]
    fn the_agents_flags_build_the_load_they_came_from() {
        let loads = [
            LoadBuilder::new("http://127.0.0.1:9/json")
                .connections(12)
                .pipeline(4)
                .method("POST")
                .header("X-Trace", "a: b")
                .body("{\"k\":1}")
                .requests(5_000)
                .timeout(Duration::from_millis(2_500)),
            LoadBuilder::new("http://127.0.0.1:9/plaintext")
                .rate(10_000.0)
                .warmup(Duration::from_secs(2))
                .duration(Duration::from_millis(1_500))
                .io(IoBackend::Uring)
                .threads(2)
                .cpus(vec![0]),
            LoadBuilder::new("http://127.0.0.1:9/sse")
                .connections(100)
                .duration(Duration::from_secs(3))
                .stream(StreamOptions {
                    events: Some(50),
                    interval_ms: Some(0),
                    abort_after: Some(5),
                }),
        ];
        for load in loads {
            let flags = load.load_flags();
            let cli = Cli::try_parse_from(std::iter::once("load".to_string()).chain(flags.clone()))
                .unwrap_or_else(|e| panic!("{flags:?}: {e}"));
            let rebuilt = super::super::builder(&cli.load).unwrap().build().unwrap();
            assert_eq!(
                format!("{rebuilt:?}"),
                format!("{:?}", load.build().unwrap()),
                "{flags:?}"
            );
        }
    }
}
