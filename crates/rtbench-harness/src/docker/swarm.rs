//! Scale-out on Docker Swarm: the agent image (this rtbench binary on the base image), a
//! replicated-job service of N agents each running its share of one load run, and the agents'
//! outputs collected from the service logs, which the daemon gathers from every node.
//!
//! An agent prints its output (an HdrHistogram log with its share and summary, see
//! `rtbench_load::write_agent_output`) as base64 chunks on lines of their own, each naming the
//! agent and the chunk's place, so the lines of several agents may interleave in the logs. The
//! agent's shell wrapper always exits 0 and prints the real exit status: Docker 20.10 retries a
//! failed job task even with `--restart-condition none`, and a retried agent would run its share
//! twice.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::cli::{check_docker, docker, image_exists};
use crate::error::HarnessError;

/// The agent image's Dockerfile.
const DOCKERFILE: &str = include_str!("../../../../docker/rtbench.Dockerfile");
/// Repository of the agent image; the tag is a hash of the binary, Dockerfile and base image.
pub const AGENT_IMAGE_REPOSITORY: &str = "rtbench-agent";
/// Starts an agent's output chunk line: `rtbench-agent-output J K/TOTAL BASE64`.
const CHUNK_MARK: &str = "rtbench-agent-output ";
/// The wrapper's last line: `rtbench-agent-exit STATUS`.
const EXIT_MARK: &str = "rtbench-agent-exit ";
/// Base64 characters per log line: well under the log drivers' 16 KiB line split.
const CHUNK_CHARS: usize = 4_000;
/// The environment variable holding the task slot (`{{.Task.Slot}}`) inside an agent.
pub const SLOT_ENV: &str = "RTBENCH_TASK_SLOT";

/// What [`build_agent_image`] did.
#[derive(Debug, Clone)]
pub struct AgentImage {
    /// `rtbench-agent:<hash12>`.
    pub tag: String,
    /// It existed and was reused.
    pub reused: bool,
}

/// Builds the agent image from the running rtbench binary unless one with the same tag exists.
pub fn build_agent_image(base_image: &str, rebuild: bool) -> Result<AgentImage, HarnessError> {
    check_docker()?;
    let exe = std::env::current_exe().map_err(|e| HarnessError::Os {
        context: "finding the rtbench binary".into(),
        source: e,
    })?;
    let binary = std::fs::read(&exe).map_err(|e| HarnessError::io(&exe, e))?;
    let mut hash = Sha256::new();
    hash.update(&binary);
    hash.update(DOCKERFILE);
    hash.update(base_image);
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tag = format!("{AGENT_IMAGE_REPOSITORY}:{hex}");
    if !rebuild && image_exists(&tag) {
        return Ok(AgentImage { tag, reused: true });
    }
    if !image_exists(base_image) {
        return Err(swarm_error(format!(
            "base image {base_image} is not in the daemon's store (run `rtbench images --base-only`)"
        )));
    }
    let context = std::env::temp_dir().join(format!("rtbench-agent-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).map_err(|e| HarnessError::io(&context, e))?;
    let built = build_in(&context, &binary, base_image, &tag);
    let _ = std::fs::remove_dir_all(&context);
    built?;
    remove_older_agent_images(&tag);
    Ok(AgentImage { tag, reused: false })
}

/// One agent image per binary would pile up as rtbench is rebuilt: keep only `keep` (an image a
/// container still uses stays; `docker rmi` refuses it).
fn remove_older_agent_images(keep: &str) {
    let Ok(tags) = docker_text(&[
        "images",
        AGENT_IMAGE_REPOSITORY,
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]) else {
        return;
    };
    let older: Vec<&str> = tags.lines().filter(|t| *t != keep).collect();
    if !older.is_empty() {
        let _ = docker()
            .arg("rmi")
            .args(&older)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn build_in(
    context: &Path,
    binary: &[u8],
    base_image: &str,
    tag: &str,
) -> Result<(), HarnessError> {
    let write = |name: &str, bytes: &[u8]| {
        let path = context.join(name);
        std::fs::write(&path, bytes).map_err(|e| HarnessError::io(&path, e))
    };
    write("Dockerfile", DOCKERFILE.as_bytes())?;
    write("rtbench", binary)?;
    std::fs::set_permissions(
        context.join("rtbench"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| HarnessError::io(context.join("rtbench"), e))?;
    let output = docker()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--network", "host", "--force-rm", "--tag", tag])
        .args(["--label", "org.rtbench.agent=1"])
        .args(["--build-arg", &format!("BASE_IMAGE={base_image}")])
        .arg(context)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::Os {
            context: "running docker build".into(),
            source: e,
        })?;
    if !output.status.success() {
        return Err(swarm_error(format!(
            "building {tag} failed: {}",
            last_line(&output.stderr)
        )));
    }
    Ok(())
}

/// This daemon's place in a swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmState {
    /// A manager: services can be created here.
    Manager,
    /// In a swarm, but not a manager.
    Worker,
    /// Not in a swarm.
    Inactive,
}

/// Asks the daemon whether it is in a swarm and a manager.
pub fn swarm_state() -> Result<SwarmState, HarnessError> {
    check_docker()?;
    let text = docker_text(&[
        "info",
        "--format",
        "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
    ])?;
    Ok(match text.split_whitespace().collect::<Vec<_>>()[..] {
        ["active", "true"] => SwarmState::Manager,
        ["active", _] => SwarmState::Worker,
        _ => SwarmState::Inactive,
    })
}

/// A single-node swarm this process initialised; leaving it on drop.
#[derive(Debug)]
pub struct SingleNodeSwarm(());

impl SingleNodeSwarm {
    /// `docker swarm init --advertise-addr 127.0.0.1`.
    pub fn init() -> Result<SingleNodeSwarm, HarnessError> {
        docker_text(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
        crate::cleanup::register_swarm_leave();
        Ok(SingleNodeSwarm(()))
    }
}

impl Drop for SingleNodeSwarm {
    fn drop(&mut self) {
        crate::cleanup::unregister_swarm_leave();
        let _ = docker()
            .args(["swarm", "leave", "--force"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The agents' service: `--agents` of them, each running `rtbench load ARGS --agent swarm/N`.
#[derive(Debug, Clone)]
pub struct AgentsSpec {
    /// The agent image ([`build_agent_image`]).
    pub image: String,
    /// How many agents.
    pub agents: u64,
    /// The `rtbench load` arguments every agent gets (URL, flags, `--start-at`).
    pub load_args: Vec<String>,
}

/// Whether the swarm has nodes labelled `rtbench=client` (agents are placed only on them then).
pub fn has_client_nodes() -> Result<bool, HarnessError> {
    let ids = docker_text(&["node", "ls", "-q", "--filter", "node.label=rtbench=client"])?;
    Ok(!ids.trim().is_empty())
}

/// A running agents service, removed on drop (and by the signal and panic handlers).
#[derive(Debug)]
pub struct AgentService {
    name: String,
    agents: u64,
}

/// One agent task's end, as the daemon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// `Complete`, `Failed`, `Rejected`, …
    pub state: String,
    /// The daemon's error for the task, if any.
    pub error: String,
}

impl AgentService {
    /// Creates the replicated-job service. Agents are placed on nodes labelled `rtbench=client`
    /// when the swarm has any.
    pub fn create(spec: &AgentsSpec) -> Result<AgentService, HarnessError> {
        let name = format!("rtbench-agents-{}-{}", std::process::id(), unique());
        let labelled = has_client_nodes()?;
        let mut command = docker();
        command
            .args(["service", "create", "--detach", "--quiet", "--name", &name])
            .args([
                "--mode",
                "replicated-job",
                "--replicas",
                &spec.agents.to_string(),
            ])
            .args(["--network", "host", "--restart-condition", "none"])
            .args(["--label", "rtbench=1"])
            .args(["--env", &format!("{SLOT_ENV}={{{{.Task.Slot}}}}")]);
        if labelled {
            command.args(["--constraint", "node.labels.rtbench==client"]);
        }
        command
            .arg(&spec.image)
            .args([
                "sh",
                "-c",
                &format!("rtbench load \"$@\"; echo \"{EXIT_MARK}$?\""),
                "rtbench-agent",
            ])
            .args(&spec.load_args)
            .args(["--agent", &format!("swarm/{}", spec.agents)]);
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| HarnessError::Os {
                context: "running docker service create".into(),
                source: e,
            })?;
        // Registered before the check: a failed create may still have left the service.
        crate::cleanup::register_service(&name);
        let service = AgentService {
            name,
            agents: spec.agents,
        };
        if !output.status.success() {
            return Err(swarm_error(format!(
                "docker service create failed: {}",
                last_line(&output.stderr)
            )));
        }
        Ok(service)
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits until every agent task ended (or `timeout`); each task's end by slot.
    pub fn wait(&self, timeout: Duration) -> Result<BTreeMap<u64, TaskState>, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = docker_text(&[
                "service",
                "ps",
                "--no-trunc",
                "--format",
                "{{.Name}}\t{{.CurrentState}}\t{{.Error}}",
                &self.name,
            ])?;
            let mut tasks = BTreeMap::new();
            let mut running = 0;
            for line in text.lines() {
                let mut fields = line.split('\t');
                let (Some(name), Some(state)) = (fields.next(), fields.next()) else {
                    continue;
                };
                let state = state.split_whitespace().next().unwrap_or("").to_string();
                if !TERMINAL.contains(&state.as_str()) {
                    running += 1;
                    continue;
                }
                let slot = name.rsplit('.').next().unwrap_or("");
                let error = fields.next().unwrap_or("").trim_matches('"').to_string();
                tasks.insert(agent_index(slot, self.agents), TaskState { state, error });
            }
            if running == 0 && tasks.len() as u64 >= self.agents {
                return Ok(tasks);
            }
            if Instant::now() >= deadline {
                return Err(swarm_error(format!(
                    "the agents of {} did not end within {timeout:?}",
                    self.name
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The service's logs, every task's stdout and stderr, each line prefixed by its task.
    pub fn logs(&self) -> Result<String, HarnessError> {
        let output = docker()
            .args(["service", "logs", "--no-trunc", &self.name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| HarnessError::Os {
                context: "running docker service logs".into(),
                source: e,
            })?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(text)
    }
}

impl Drop for AgentService {
    fn drop(&mut self) {
        let _ = docker()
            .args(["service", "rm", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        crate::cleanup::unregister_service(&self.name);
        remove_task_containers(&self.name);
    }
}

/// Removes this node's task containers of a removed service: a job's finished (or, after a
/// signal, still stopping) task containers stay until the swarm's task history drops them, so
/// none outlives rtbench here (other nodes keep theirs until their daemon reaps them).
pub(crate) fn remove_task_containers(service: &str) {
    let filter = format!("label=com.docker.swarm.service.name={service}");
    let deadline = Instant::now() + CONTAINERS_GONE_WAIT;
    while Instant::now() < deadline {
        let Ok(ids) = docker_text(&["ps", "-aq", "--filter", &filter]) else {
            break;
        };
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            break;
        }
        let _ = docker()
            .args(["rm", "-f"])
            .args(&ids)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// How long dropping an [`AgentService`] waits for this node's task containers to go.
const CONTAINERS_GONE_WAIT: Duration = Duration::from_secs(10);

const TERMINAL: [&str; 6] = [
    "Complete", "Failed", "Rejected", "Shutdown", "Orphaned", "Remove",
];

/// The agent index of a task slot: Docker numbers replicated-job slots 0..N−1 and renders slot 0
/// in `{{.Task.Slot}}` as the node's ID; a version numbering 1..N maps N to 0.
pub fn agent_index(slot: &str, agents: u64) -> u64 {
    match slot.parse::<u64>() {
        Ok(n) if agents > 0 => n % agents,
        _ => 0,
    }
}

/// Writes an agent's output to `out` as log lines (see the module doc).
pub fn write_agent_chunks(out: &mut dyn Write, index: u64, output: &[u8]) -> std::io::Result<()> {
    let text = base64::engine::general_purpose::STANDARD.encode(output);
    let chunks: Vec<&str> = text
        .as_bytes()
        .chunks(CHUNK_CHARS)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    for (k, chunk) in chunks.iter().enumerate() {
        writeln!(out, "{CHUNK_MARK}{index} {k}/{} {chunk}", chunks.len())?;
    }
    out.flush()
}

/// What the service logs held: each agent's output, and why each agent without one failed.
#[derive(Debug, Default)]
pub struct Collected {
    /// Agent index → its output file's bytes.
    pub outputs: BTreeMap<u64, Vec<u8>>,
    /// Agent index → why it gave no output or exited non-zero.
    pub failures: BTreeMap<u64, String>,
    /// Agent index → the swarm node its task ran on (from the log prefix).
    pub nodes: BTreeMap<u64, String>,
}

/// Reads the agents' outputs and failures back from `docker service logs` text. A task's lines
/// carry the prefix `SERVICE.SLOT.TASK@NODE | `; chunk lines name their agent themselves.
pub fn collect_agent_outputs(logs: &str, agents: u64) -> Collected {
    let mut chunks: BTreeMap<u64, BTreeMap<usize, (usize, String)>> = BTreeMap::new();
    let mut errors: BTreeMap<u64, String> = BTreeMap::new();
    let mut exits: BTreeMap<u64, String> = BTreeMap::new();
    let mut nodes: BTreeMap<u64, String> = BTreeMap::new();
    for line in logs.lines() {
        let (prefix, text) = line.split_once(" | ").unwrap_or(("", line));
        let slot = prefix.split('@').next().unwrap_or("").split('.').nth(1);
        let task_agent = slot.map(|s| agent_index(s, agents));
        if let (Some(a), Some(node)) = (task_agent, prefix.split_once('@')) {
            nodes.insert(a, node.1.trim().to_string());
        }
        if let Some(rest) = text.split_once(CHUNK_MARK).map(|(_, r)| r) {
            let mut f = rest.split(' ');
            let parsed = (|| {
                let index: u64 = f.next()?.parse().ok()?;
                let (k, total) = f.next()?.split_once('/')?;
                Some((index, k.parse().ok()?, total.parse().ok()?, f.next()?))
            })();
            if let Some((index, k, total, data)) = parsed {
                chunks
                    .entry(index)
                    .or_default()
                    .insert(k, (total, data.to_string()));
            }
        } else if let Some(status) = text.split_once(EXIT_MARK).map(|(_, r)| r.trim()) {
            if let Some(a) = task_agent {
                exits.insert(a, status.to_string());
            }
        } else if let Some(reason) = text.split_once("rtbench: error: ").map(|(_, r)| r) {
            if let Some(a) = task_agent {
                errors.insert(a, reason.trim().to_string());
            }
        }
    }
    let mut collected = Collected {
        nodes,
        ..Collected::default()
    };
    for (index, parts) in chunks {
        let total = parts.values().map(|(t, _)| *t).max().unwrap_or(0);
        if parts.len() != total || (0..total).any(|k| !parts.contains_key(&k)) {
            collected.failures.insert(
                index,
                format!(
                    "its output is incomplete in the logs ({} of {total} chunks)",
                    parts.len()
                ),
            );
            continue;
        }
        let text: String = parts.into_values().map(|(_, d)| d).collect();
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(bytes) => {
                collected.outputs.insert(index, bytes);
            }
            Err(e) => {
                collected
                    .failures
                    .insert(index, format!("its output in the logs is not base64: {e}"));
            }
        }
    }
    for index in 0..agents {
        let exit = exits.get(&index).map(String::as_str);
        let error = errors.get(&index);
        let reason = match (exit, error) {
            (Some("0"), _) => continue,
            (Some(status), Some(e)) => format!("{e} (exit status {status})"),
            (Some(status), None) => format!("exit status {status}"),
            (None, Some(e)) => e.clone(),
            (None, None) if collected.outputs.contains_key(&index) => continue,
            (None, None) => "no output and no exit status in the service logs".into(),
        };
        collected.failures.entry(index).or_insert(reason);
    }
    collected
}

/// A short suffix distinguishing services created by one process.
fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000)
}

fn docker_text(args: &[&str]) -> Result<String, HarnessError> {
    let output = docker()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::Os {
            context: format!("running docker {}", args.join(" ")),
            source: e,
        })?;
    if !output.status.success() {
        return Err(swarm_error(format!(
            "docker {} failed: {}",
            args.first().copied().unwrap_or(""),
            last_line(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}

fn swarm_error(message: String) -> HarnessError {
    HarnessError::Requirement {
        target: "docker swarm".into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_map_to_agent_indexes_in_either_numbering() {
        // Docker 20.10: slots 0..N−1, slot 0 rendered as the node ID.
        assert_eq!(agent_index("qypgl0lubfjzbhy96h7uwixh5", 3), 0);
        assert_eq!(agent_index("1", 3), 1);
        assert_eq!(agent_index("2", 3), 2);
        // A numbering 1..N.
        assert_eq!(agent_index("3", 3), 0);
    }

    #[test]
    fn chunked_outputs_survive_interleaving_and_failures_keep_their_reason() {
        let big: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut a = Vec::new();
        write_agent_chunks(&mut a, 0, &big).unwrap();
        let mut b = Vec::new();
        write_agent_chunks(&mut b, 2, b"small").unwrap();
        let a = String::from_utf8(a).unwrap();
        let b = String::from_utf8(b).unwrap();
        assert!(a.lines().count() > 1, "a large output spans several lines");
        let mut logs = String::new();
        let (mut la, mut lb) = (a.lines(), b.lines());
        // Interleave the two agents' lines, behind the daemon's task prefixes.
        loop {
            let (x, y) = (la.next(), lb.next());
            if x.is_none() && y.is_none() {
                break;
            }
            if let Some(x) = x {
                logs.push_str(&format!("svc.0.abc@vm    | {x}\n"));
            }
            if let Some(y) = y {
                logs.push_str(&format!("svc.2.def@vm    | {y}\n"));
            }
        }
        logs.push_str("svc.0.abc@vm    | rtbench-agent-exit 0\n");
        logs.push_str("svc.2.def@vm    | rtbench-agent-exit 0\n");
        logs.push_str("svc.1.ghi@vm    | rtbench: error: connection refused by 127.0.0.1:9\n");
        logs.push_str("svc.1.ghi@vm    | rtbench-agent-exit 1\n");
        let got = collect_agent_outputs(&logs, 3);
        assert_eq!(got.outputs.get(&0), Some(&big));
        assert_eq!(got.outputs.get(&2).map(Vec::as_slice), Some(&b"small"[..]));
        assert_eq!(
            got.failures.get(&1).map(String::as_str),
            Some("connection refused by 127.0.0.1:9 (exit status 1)")
        );
        assert_eq!(got.failures.len(), 1);
        assert_eq!(got.nodes.get(&2).map(String::as_str), Some("vm"));
        // A chunk lost: that agent is a failure, not a wrong merge.
        let lossy: String = logs
            .lines()
            .filter(|l| !l.contains("rtbench-agent-output 0 1/"))
            .map(|l| format!("{l}\n"))
            .collect();
        let got = collect_agent_outputs(&lossy, 3);
        assert!(!got.outputs.contains_key(&0));
        assert!(
            got.failures[&0].contains("incomplete"),
            "{:?}",
            got.failures
        );
    }
}
