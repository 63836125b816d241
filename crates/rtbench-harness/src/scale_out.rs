//! One load as N agents on Docker Swarm, from the swarm check to the exact merge: the one path
//! `rtbench load --agents` (one load) and `rtbench run --agents` (every load cell) share.
//!
//! The agents are one replicated-job service of the agent image; each runs `rtbench load … --agent
//! swarm/N` (its share from its task slot), starts its clock at an agreed wall-clock instant and
//! prints its output into the service logs, which are read back and merged exactly
//! (`rtbench_load::merge_agents`). The service is removed on every path: on return and error by
//! its guard, on a signal and a panic by the cleanup handlers it is registered with.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtbench_load::{AgentOutput, Ended, Merged};
use rtbench_results::{AgentRecord, AgentsRecord};

use crate::docker::{
    collect_agent_outputs, swarm_state, AgentService, AgentsSpec, SingleNodeSwarm, SwarmState,
};
use crate::error::HarnessError;

/// Agents get this long, by default, to be scheduled, started and connected.
pub const DEFAULT_AGENTS_START_IN: Duration = Duration::from_secs(5);
/// Beyond the load's own length: scheduling, connecting, the agents' timeouts, the logs.
const WAIT_MARGIN: Duration = Duration::from_secs(60);

/// Checks that this daemon manages a swarm; with `init`, initialises a single-node one when it is
/// in none (left when the returned guard drops, or by the cleanup handlers).
pub fn use_swarm(init: bool) -> Result<Option<SingleNodeSwarm>, HarnessError> {
    let refuse = |message: &str| HarnessError::Requirement {
        target: "--agents".into(),
        message: message.into(),
    };
    match swarm_state()? {
        SwarmState::Manager => Ok(None),
        SwarmState::Inactive if init => Ok(Some(SingleNodeSwarm::init()?)),
        SwarmState::Inactive => Err(refuse(
            "this Docker daemon is in no swarm: run `docker swarm init` here (and `docker swarm \
             join` on the client machines), or pass --swarm-init for a single-node swarm left \
             after the run",
        )),
        SwarmState::Worker => Err(refuse(
            "this Docker daemon is a swarm worker; run rtbench on a manager",
        )),
    }
}

/// The swarm agents that generate loads.
#[derive(Debug, Clone)]
pub struct Agents {
    /// How many agents share each load.
    pub count: u64,
    /// The agent image (`build_agent_image`).
    pub image: String,
    /// The agreed start is this long after the service is created.
    pub start_in: Duration,
    /// `--cpus` for every agent's workers, when set (the caller decides; see `rtbench run`).
    pub cpus: Option<Vec<usize>>,
}

/// What the agents of one load gave back.
#[derive(Debug)]
pub struct AgentsRun {
    /// Each agent's output file as it came out of the logs (for `rtbench merge`).
    pub raw: BTreeMap<u64, Vec<u8>>,
    /// The outputs that could be read.
    pub outputs: Vec<AgentOutput>,
    /// Agent index → the node it ran on.
    pub nodes: BTreeMap<u64, String>,
    /// Agent index → why it failed or gave no output.
    pub failures: BTreeMap<u64, String>,
    /// The readable outputs merged, and the merged interval log; `None` when no agent gave one.
    pub merged: Option<(Merged, Vec<u8>)>,
}

impl Agents {
    /// Runs one load as the agents: `load_args` are the `rtbench load` arguments every agent gets
    /// (URL and flags; `--start-at`, `--agent-output`, `--agent` and `--cpus` are added here);
    /// `length` is how long the load lasts once started; `on_created` hears the service's name.
    pub fn run(
        &self,
        mut load_args: Vec<String>,
        length: Duration,
        on_created: &mut dyn FnMut(&str),
    ) -> Result<AgentsRun, HarnessError> {
        let start_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| HarnessError::Load("the clock is before 1970".into()))?
            + self.start_in;
        load_args.push(format!("--start-at={}", start_at.as_nanos()));
        load_args.push("--agent-output=-".into());
        if let Some(cpus) = &self.cpus {
            let list: Vec<String> = cpus.iter().map(ToString::to_string).collect();
            load_args.push(format!("--cpus={}", list.join(",")));
        }
        let service = AgentService::create(&AgentsSpec {
            image: self.image.clone(),
            agents: self.count,
            load_args,
        })?;
        on_created(service.name());
        let tasks = service.wait(self.start_in + WAIT_MARGIN + length)?;
        let logs = service.logs()?;
        drop(service);
        let collected = collect_agent_outputs(&logs, self.count);
        let mut failures = collected.failures;
        let mut outputs = Vec::new();
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
        let merged = if outputs.is_empty() {
            None
        } else {
            let mut hlog = Vec::new();
            let merged = rtbench_load::merge_agents(&outputs, Some(&mut hlog))
                .map_err(|e| HarnessError::Load(e.to_string()))?;
            Some((merged, hlog))
        };
        Ok(AgentsRun {
            raw: collected.outputs,
            outputs,
            nodes: collected.nodes,
            failures,
            merged,
        })
    }
}

impl AgentsRun {
    /// Agents that failed, are missing from the merge, or ended early (interrupted, stalled).
    pub fn failed_agents(&self, count: u64) -> usize {
        let merged = self.merged.as_ref().map_or(0, |(m, _)| m.agents.len());
        let early = self.merged.as_ref().map_or(0, |(m, _)| {
            m.agents
                .iter()
                .filter(|a| a.ended != Ended::Completed && !self.failures.contains_key(&a.index))
                .count()
        });
        (count as usize)
            .saturating_sub(merged)
            .max(self.failures.len())
            + early
    }

    /// Client cores the agents had together: per node, the distinct CPUs their workers were
    /// pinned to, at most one per worker thread; summed over nodes (an agent whose node is not
    /// known counts as a node of its own).
    pub fn client_cores(&self) -> u64 {
        let mut per_node: BTreeMap<String, (BTreeSet<usize>, u64)> = BTreeMap::new();
        for o in &self.outputs {
            let node = self
                .nodes
                .get(&o.share.index)
                .cloned()
                .unwrap_or_else(|| format!("agent {}", o.share.index));
            let entry = per_node.entry(node).or_default();
            entry.0.extend(o.summary.cpus.iter().copied());
            entry.1 += o.summary.threads;
        }
        per_node
            .values()
            .map(|(cpus, threads)| (cpus.len() as u64).min(*threads).max(1))
            .sum()
    }

    /// The record `run.json` keeps of these agents.
    pub fn record(&self, count: u64) -> Option<AgentsRecord> {
        let (merged, _) = self.merged.as_ref()?;
        let first = merged.agents.iter().map(|a| a.start_wall_ns).min()?;
        Some(AgentsRecord {
            count,
            start_skew_ms: merged.start_skew_ns as f64 / 1e6,
            client_cores: self.client_cores(),
            agents: merged
                .agents
                .iter()
                .map(|a| AgentRecord {
                    index: a.index,
                    node: self.nodes.get(&a.index).cloned(),
                    started_after_ms: (a.start_wall_ns - first) as f64 / 1e6,
                    requests: a.requests,
                    client_cpu_s: a.client_cpu_s,
                    client_cpu_fraction: a.client_cpu_fraction,
                    client_bound: a.client_bound,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agent `index` of 4, whose workers ran `threads` threads pinned to `cpus`.
    fn output(index: u64, cpus: &[usize], threads: u64) -> AgentOutput {
        let p = serde_json::json!({
            "p50": 1.0, "p75": 1.0, "p90": 1.0, "p99": 1.0, "p999": 1.0, "p9999": 1.0,
            "max": 1.0, "mean": 1.0
        });
        let summary = serde_json::from_value(serde_json::json!({
            "model": "closed", "connections": 2, "pipeline": 1, "threads": threads,
            "requests": 10, "duration_s": 1.0, "rps": 10.0, "bytes_read": 0,
            "transfer_bytes_per_s": 0.0, "latency_us": p, "client_cpu_s": 0.5,
            "client_cpu_fraction": 0.5, "client_bound": false, "cpus": cpus,
            "errors": {"total": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0,
                       "status": 0, "parse": 0},
        }))
        .unwrap();
        AgentOutput {
            share: rtbench_load::split(8, None, rtbench_load::Model::Closed, 4).unwrap()
                [index as usize],
            summary,
            intervals: Vec::new(),
            stream: None,
        }
    }

    #[test]
    fn client_cores_count_each_nodes_distinct_cpus_once() {
        let ran = AgentsRun {
            raw: BTreeMap::new(),
            outputs: vec![
                // Two agents pinned to the same CPU of node a: one core between them.
                output(0, &[0], 1),
                output(1, &[0], 1),
                // Node b: four CPUs, but two threads use at most two of them.
                output(2, &[0, 1, 2, 3], 2),
                // Node unknown: a node of its own.
                output(3, &[5], 1),
            ],
            nodes: BTreeMap::from([(0, "a".into()), (1, "a".into()), (2, "b".into())]),
            failures: BTreeMap::new(),
            merged: None,
        };
        assert_eq!(ran.client_cores(), 1 + 2 + 1);
        assert_eq!(
            ran.failed_agents(4),
            4,
            "nothing merged: every agent is missing"
        );
        let mut hlog = Vec::new();
        let merged = rtbench_load::merge_agents(&ran.outputs[..3], Some(&mut hlog)).unwrap();
        let ran = AgentsRun {
            merged: Some((merged, hlog)),
            failures: BTreeMap::from([(3, "exit status 1".into())]),
            ..ran
        };
        assert_eq!(ran.failed_agents(4), 1);
        let record = ran.record(4).unwrap();
        assert_eq!(record.agents.len(), 3);
        assert_eq!(record.agents[2].node.as_deref(), Some("b"));
        assert_eq!(record.client_cores, 4);
    }
}
