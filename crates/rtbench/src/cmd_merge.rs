//! `rtbench merge FILE...`: the outputs of the agents of one scaled-out run (`rtbench load
//! --agent J/N --agent-output FILE`, collected by Docker Swarm, a Kubernetes Indexed Job or by
//! hand) merged exactly into one summary and interval log, with the start skew and each agent's
//! client CPU.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rtbench_load::{AgentOutput, Ended, Merged};
use serde::Serialize;

use crate::load_print::print_figures;

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 every agent of the split is there and completed; 1 an \
agent is missing or ended early (the merge of the others is printed); 2 bad input."
)]
pub struct Args {
    /// Agent output files (`rtbench load --agent J/N --agent-output FILE`).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON object (the merged summary, start skew and agents) instead of text.
    #[arg(long)]
    json: bool,
    /// Write the merged HdrHistogram interval log (µs) to FILE.
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
}

/// The merge as one JSON object (`--json`; also `rtbench load --agents`).
#[derive(Serialize)]
pub(crate) struct MergeReport<'a> {
    complete: bool,
    start_skew_ms: f64,
    agents: &'a [rtbench_load::AgentReport],
    summary: &'a rtbench_load::Summary,
}

impl<'a> MergeReport<'a> {
    pub(crate) fn new(merged: &'a Merged) -> MergeReport<'a> {
        MergeReport {
            complete: merged.complete,
            start_skew_ms: merged.start_skew_ns as f64 / 1e6,
            agents: &merged.agents,
            summary: &merged.summary,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outputs = args
        .files
        .iter()
        .map(|path| {
            let text =
                std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
            Ok(rtbench_load::read_agent_output(
                &path.display().to_string(),
                &text,
            )?)
        })
        .collect::<anyhow::Result<Vec<AgentOutput>>>()?;
    let mut hlog = Vec::new();
    let merged = rtbench_load::merge_agents(&outputs, Some(&mut hlog))?;
    if let Some(path) = &args.hlog {
        std::fs::write(path, &hlog)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &MergeReport::new(&merged))?;
        writeln!(out)?;
    } else {
        print_merged(
            &mut out,
            &merged,
            outputs.first().map_or(0, |o| o.share.agents),
        )?;
    }
    out.flush()?;
    let failed = merged.agents.iter().filter(|a| a.ended != Ended::Completed);
    if !merged.complete || failed.count() > 0 {
        eprintln!("rtbench: error: the run is incomplete: an agent is missing or ended early");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The merge as text: agents, start skew, each agent's start and client CPU, then the figures.
pub(crate) fn print_merged(out: &mut dyn Write, m: &Merged, agents: u64) -> std::io::Result<()> {
    writeln!(
        out,
        "rtbench merge: {} of {agents} agents{}, start skew {:.3} ms",
        m.agents.len(),
        if m.complete { "" } else { " (INCOMPLETE)" },
        m.start_skew_ns as f64 / 1e6
    )?;
    let first = m.agents.iter().map(|a| a.start_wall_ns).min().unwrap_or(0);
    for a in &m.agents {
        writeln!(
            out,
            "  agent {}: started +{:.3} ms, {} requests, client CPU {:.2} s ({:.0}%){}{}",
            a.index,
            (a.start_wall_ns - first) as f64 / 1e6,
            a.requests,
            a.client_cpu_s,
            a.client_cpu_fraction * 100.0,
            if a.client_bound { ", CLIENT-BOUND" } else { "" },
            match a.ended {
                Ended::Completed => "",
                Ended::Interrupted => ", interrupted",
                Ended::Stalled => ", ended early (stalled)",
            }
        )?;
    }
    print_figures(out, &m.summary)
}
