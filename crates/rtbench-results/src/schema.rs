use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::load::{LoadResult, Percentiles};
use crate::settings::ScenarioSettings;

/// Version of the `run.json` layout this rtbench writes. Readers take this one and, through
/// [`crate::parse_run`], version 1.
pub const SCHEMA_VERSION: u32 = 2;

/// One run: `results/<run>/run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The layout of the file this run was read from ([`parse_run`](crate::parse_run) reads older
    /// ones into the current types and keeps their number here); [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// Folder name, `<UTC yyyymmddThhmmssZ>-<host>`.
    pub run_id: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    pub environment: Environment,
    pub suite: SuiteInfo,
    /// The targets chosen for the run, in order, written before any is provisioned: a resumed run
    /// measures these (empty in runs written before it was recorded).
    #[serde(default)]
    pub chosen_targets: Vec<String>,
    /// Every target the run was asked for, including unavailable and failed ones.
    pub targets: Vec<TargetRecord>,
    /// Every finished trial, in the order they ran.
    pub trials: Vec<Trial>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub hostname: String,
    pub cpu_model: String,
    /// Logical CPUs online.
    pub cores: u32,
    pub kernel: String,
    pub memory_bytes: u64,
    pub rtbench_version: String,
    pub git_commit: String,
    /// `native` or `docker`.
    pub launcher: String,
    pub placement: Placement,
    /// The `WORKERS` every target was asked for (`--workers`; a pool target may fix its own, which
    /// its record says). Absent in runs written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Swarm agents that generated the run's closed, open and stream loads (`--agents`); absent
    /// when this machine's engine did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<u64>,
    /// `--slices N`: every target of a round was up at once and each request/response cell was
    /// measured for all of them in N alternating slices; absent when targets ran one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slices: Option<u32>,
    /// Target name → the runtime's self-reported version (e.g. `node --version`).
    #[serde(default)]
    pub runtime_versions: BTreeMap<String, String>,
    /// The client's ceiling, measured once when the run started (absent in runs written before
    /// it was, or when it could not be measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ceiling: Option<ClientCeiling>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    /// Why these CPUs: the default split for this machine in words, or the flags that chose them
    /// (absent in runs written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The most the load generator can drive: the engine against a built-in plaintext server (as lean
/// as a server gets) on the run's server CPUs, from the run's client CPUs. A cell's headroom is
/// its req/s against this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCeiling {
    pub client_cpus: Vec<usize>,
    pub server_cpus: Vec<usize>,
    pub connections: u64,
    /// Measured seconds.
    pub duration_s: f64,
    /// Completed 2xx responses per second against the built-in server.
    pub rps: f64,
    /// Share of the client's CPUs it used (1.0 = all busy).
    pub client_cpu_fraction: f64,
    /// Client CPU per completed request, µs.
    pub cpu_us_per_request: f64,
    /// 1 / CPU per request: the most requests per second one fully busy client core completes.
    pub max_rps_per_core: f64,
    /// Client and server shared a CPU (a one-CPU machine): the ceiling is a low estimate.
    pub shared_cpu: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteInfo {
    pub name: String,
    /// The suite as `--suite` named it (a name under `scenarios/suites/` or a file): what a
    /// resumed run loads (empty in runs written before it was recorded; `name` then).
    #[serde(default)]
    pub source: String,
    pub trials: u32,
    /// Scenario names in the order they run.
    pub scenarios: Vec<String>,
    /// Every scenario's resolved settings (defaults included), in run order; empty in runs read
    /// from schema 1, which did not record them.
    #[serde(default)]
    pub settings: Vec<ScenarioSettings>,
}

/// What happened to a target as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Folder name under `targets/`.
    pub name: String,
    pub display_name: String,
    pub runtime: String,
    /// Self-reported runtime version, when it could be asked.
    #[serde(default)]
    pub version: Option<String>,
    /// The survey row this target stands for (e.g. "Node 22 (stock http)").
    #[serde(default)]
    pub survey_row: Option<String>,
    /// The `WORKERS` it was launched with (a pool target fixes its own; absent in older runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    pub status: TargetStatus,
    /// Why the target is unavailable or failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Verification checks, when verification ran.
    #[serde(default)]
    pub checks: Vec<CheckResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Measured.
    Ok,
    /// A requirement is not met on this machine (e.g. glibc too old); never measured.
    Unavailable,
    /// Provisioning, start or verification failed; see `reason`.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// e.g. `plaintext`, `json`, `sse`, `sse-relay`.
    pub check: String,
    pub status: CheckStatus,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

/// One measured cell: target × scenario (× variant) × trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub target: String,
    /// Scenario name, e.g. `plaintext`.
    pub scenario: String,
    /// Variant within the scenario, e.g. `c64`, `c256`, `k1000`; empty when the scenario has one.
    #[serde(default)]
    pub variant: String,
    /// 1-based trial number.
    pub trial: u32,
    pub status: TrialStatus,
    #[serde(default)]
    pub reason: Option<String>,
    pub started_at: String,
    /// What the trial measured; `None` when it failed before measuring anything.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// HdrHistogram interval log of this trial, relative to the run folder.
    #[serde(default)]
    pub hdr_log: Option<String>,
}

/// A trial's figures: one variant per scenario kind, holding exactly what that kind measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Closed-model requests.
    Http {
        load: LoadResult,
        server: ServerStats,
    },
    /// Open model at a fixed rate: the survey's "memory per 10k req/s".
    Rate {
        load: LoadResult,
        server: ServerStats,
        /// False when the achieved rate was below 98% of the asked one.
        sustained: bool,
        /// Mean server RSS while serving the rate, MiB; `None` when not sustained.
        memory_at_rate_mib: Option<f64>,
    },
    /// Connections held open without requests.
    IdleConnections {
        server: ServerStats,
        /// (RSS with K held − idle RSS) / K, 0 when RSS did not rise.
        kib_per_connection: f64,
        /// The smallest per-connection figure this trial could tell from the sampler's noise,
        /// KiB: the spread of the idle and held RSS readings (at least one page, and at least a
        /// drop in RSS while held) over K. `kib_per_connection` below it is not a measurement.
        /// Absent in runs written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolution_kib: Option<f64>,
    },
    /// Repeated launches.
    ColdStart {
        /// Start → first 200 on /health, every start, ms.
        starts_ms: Vec<f64>,
    },
    /// Concurrent SSE streams.
    Sse {
        load: LoadResult,
        server: ServerStats,
        /// (peak RSS with K open streams − idle RSS) / K; absent only in schema-1 files that did
        /// not record it.
        kib_per_stream: Option<f64>,
    },
    /// SSE relayed from the upstream token server.
    SseRelay {
        load: LoadResult,
        server: ServerStats,
        relay: RelayStats,
    },
}

impl Trial {
    /// The load result, for kinds that put load on the server.
    pub fn load(&self) -> Option<&LoadResult> {
        match self.outcome.as_ref()? {
            Outcome::Http { load, .. }
            | Outcome::Rate { load, .. }
            | Outcome::Sse { load, .. }
            | Outcome::SseRelay { load, .. } => Some(load),
            Outcome::IdleConnections { .. } | Outcome::ColdStart { .. } => None,
        }
    }

    /// Server resources during the trial.
    pub fn server(&self) -> Option<&ServerStats> {
        match self.outcome.as_ref()? {
            Outcome::Http { server, .. }
            | Outcome::Rate { server, .. }
            | Outcome::IdleConnections { server, .. }
            | Outcome::Sse { server, .. }
            | Outcome::SseRelay { server, .. } => Some(server),
            Outcome::ColdStart { .. } => None,
        }
    }

    /// The relay figures of an `sse-relay` trial.
    pub fn relay(&self) -> Option<&RelayStats> {
        match self.outcome.as_ref()? {
            Outcome::SseRelay { relay, .. } => Some(relay),
            _ => None,
        }
    }

    /// Every cold start of a `cold-start` trial, ms (empty for other kinds).
    pub fn cold_starts_ms(&self) -> &[f64] {
        match &self.outcome {
            Some(Outcome::ColdStart { starts_ms }) => starts_ms,
            _ => &[],
        }
    }

    /// An open-model trial: whether the asked rate was sustained.
    pub fn sustained(&self) -> Option<bool> {
        match self.outcome.as_ref()? {
            Outcome::Rate { sustained, .. } => Some(*sustained),
            _ => None,
        }
    }

    /// An open-model trial: mean server memory at the rate, MiB, when sustained.
    pub fn memory_at_rate_mib(&self) -> Option<f64> {
        match self.outcome.as_ref()? {
            Outcome::Rate {
                memory_at_rate_mib, ..
            } => *memory_at_rate_mib,
            _ => None,
        }
    }

    /// Memory per held idle connection, KiB.
    pub fn kib_per_connection(&self) -> Option<f64> {
        match self.outcome.as_ref()? {
            Outcome::IdleConnections {
                kib_per_connection, ..
            } => Some(*kib_per_connection),
            _ => None,
        }
    }

    /// The resolution of [`Trial::kib_per_connection`], KiB, when the trial recorded it.
    pub fn kib_per_connection_resolution(&self) -> Option<f64> {
        match self.outcome.as_ref()? {
            Outcome::IdleConnections { resolution_kib, .. } => *resolution_kib,
            _ => None,
        }
    }

    /// Memory per open SSE stream, KiB.
    pub fn kib_per_stream(&self) -> Option<f64> {
        match self.outcome.as_ref()? {
            Outcome::Sse { kib_per_stream, .. } => *kib_per_stream,
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    Ok,
    Failed,
}

/// Resource use of the server's whole process tree (or container), sampled every 100 ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStats {
    pub samples: u64,
    /// RSS (VmRSS summed over the tree) before load, KiB.
    pub rss_idle_kib: f64,
    pub rss_mean_kib: f64,
    pub rss_peak_kib: f64,
    /// PSS (smaps_rollup) summed over the tree, mean under load, KiB.
    #[serde(default)]
    pub pss_mean_kib: Option<f64>,
    /// The container cgroup's own memory figure, mean under load, KiB (docker launcher only).
    #[serde(default)]
    pub cgroup_memory_mean_kib: Option<f64>,
    /// utime + stime of the tree during the measured window, s.
    pub cpu_s: f64,
    /// cpu_s / measured seconds.
    pub cores_used: f64,
    /// Server CPU per completed request, µs.
    #[serde(default)]
    pub cpu_us_per_request: Option<f64>,
}

/// The `sse-relay` scenario's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelayStats {
    /// Client receive − upstream send, per token, µs.
    pub added_latency_us: Percentiles,
    /// Tokens arrived in bursts: the target buffers.
    pub buffering: bool,
    /// The gaps that show (or rule out) buffering, in words.
    pub buffering_evidence: String,
    /// Client disconnect → target closed its upstream request, median ms; `None` when leaked.
    #[serde(default)]
    pub abort_ms: Option<f64>,
    /// The slowest of those, ms; `None` when every stream leaked.
    #[serde(default)]
    pub abort_ms_max: Option<f64>,
    /// Streams whose client left early (the abort measurement's sample size).
    #[serde(default)]
    pub abort_streams: u64,
    /// Upstream requests not closed within 5 s of their client leaving.
    pub leaked: u64,
    /// Upstream connections still open after every client left.
    pub upstream_open_after: u64,
}
