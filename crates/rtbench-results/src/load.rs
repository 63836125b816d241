//! A load run as the results files record it. The engine has its own in-memory `Summary`; the
//! harness converts it into these types at the boundary, so an engine refactor never changes what
//! is on disk. Field names match the schema-1 files, which embedded the engine's type.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How requests were timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Each connection sends its next request when the previous response is complete.
    Closed,
    /// Requests are due at a constant rate; latency is corrected for coordinated omission.
    Open,
    /// Concurrent SSE streams.
    Stream,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub p9999: f64,
    /// Largest value recorded.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Failed attempts by class. `total` is the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub total: u64,
    /// The TCP connection could not be established.
    pub connect: u64,
    /// Reading failed or the peer closed/reset with a request outstanding.
    pub read: u64,
    /// Writing the request failed.
    pub write: u64,
    /// No complete response within the timeout.
    pub timeout: u64,
    /// A complete response with a non-2xx status.
    pub status: u64,
    /// A malformed HTTP response or SSE stream.
    pub parse: u64,
    /// An SSE request answered with something other than `text/event-stream`.
    #[serde(default)]
    pub content_type: u64,
}

/// Per-stream figures of a stream (SSE) run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamResult {
    /// Streams opened (completed + failed + still open at the end).
    pub streams: u64,
    pub streams_completed: u64,
    pub streams_failed: u64,
    /// Events parsed over all streams.
    pub events_received: u64,
    /// Streams × events each should deliver.
    pub events_expected: u64,
    /// Events received per measured second.
    pub events_per_s: f64,
    /// Connect start → TCP established, µs.
    pub connect_us: Percentiles,
    /// Request sent → first event parsed, µs.
    pub first_event_us: Percentiles,
    /// Gap between consecutive events of one stream, µs.
    pub gap_us: Percentiles,
    /// Event receive time − the `sent_ns` stamped in its payload (same host clock), µs.
    pub event_latency_us: Percentiles,
}

/// Everything one load run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    pub model: Model,
    /// Connections (streams in the stream model).
    pub connections: u64,
    /// Pipeline depth; > 1 means the run is "pipelined".
    pub pipeline: u64,
    /// Client worker threads.
    pub threads: u64,
    /// Completed responses in the measured window (any status).
    pub requests: u64,
    /// Measured seconds (warm-up excluded).
    pub duration_s: f64,
    /// Completed 2xx responses per measured second.
    pub rps: f64,
    pub bytes_read: u64,
    pub transfer_bytes_per_s: f64,
    pub errors: ErrorCounts,
    /// Open model: from each request's due time (corrected for coordinated omission); stream
    /// model: the event latency.
    pub latency_us: Percentiles,
    /// Open model only: latency from the actual send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_uncorrected_us: Option<Percentiles>,
    /// Open model only: the asked requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rate: Option<f64>,
    /// Open model only: completed responses per measured second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rate: Option<f64>,
    /// Open model only: requests due before the end but never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsent_due: Option<u64>,
    /// Client CPU seconds (user + system) during the measured window.
    pub client_cpu_s: f64,
    /// Client CPU used as a fraction of its CPUs (1.0 = every client CPU busy).
    pub client_cpu_fraction: f64,
    /// Request/response loads in a run that measured the client's ceiling: req/s ÷ (ceiling per
    /// core × client cores); 1.0 = the client drove what its cores can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_headroom: Option<f64>,
    /// The client used ≥ 90% of its CPUs, or its headroom is ≥ 0.9: the figure may measure the
    /// client, not the server.
    pub client_bound: bool,
    /// Stream model only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamResult>,
    /// Completed responses in the measured window by status code (non-2xx counts are read here).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "status_code_keys"
    )]
    pub status_codes: BTreeMap<u16, u64>,
    /// Generated by swarm agents (`rtbench run --agents`), merged exactly: absent when this
    /// process's own engine generated the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<AgentsRecord>,
}

/// The agents that generated one load, as the merge saw them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsRecord {
    /// Agents asked for (and merged: a trial with a missing or failed agent is a failed trial).
    pub count: u64,
    /// Latest agent's start − earliest's, ms.
    pub start_skew_ms: f64,
    /// Client cores the agents had together: per node, the distinct CPUs their workers were
    /// pinned to (at most one per worker thread), summed over nodes. Headroom and
    /// `client_cpu_fraction` are over these.
    pub client_cores: u64,
    /// Each agent, by index.
    pub agents: Vec<AgentRecord>,
}

/// One agent of a load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// 0-based agent number (its share of the connections follows from it).
    pub index: u64,
    /// The swarm node it ran on, as the service logs name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Its start after the earliest agent's, ms.
    pub started_after_ms: f64,
    /// Completed responses it measured.
    pub requests: u64,
    /// Its client CPU seconds, and as a fraction of its own CPUs.
    pub client_cpu_s: f64,
    pub client_cpu_fraction: f64,
    /// It used ≥ 90% of its CPUs.
    pub client_bound: bool,
}

/// JSON object keys are strings; inside an internally tagged enum (a trial's `outcome`) serde
/// buffers them and no longer converts "200" to a number, so the keys are parsed here.
fn status_code_keys<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<u16, u64>, D::Error> {
    BTreeMap::<String, u64>::deserialize(d)?
        .into_iter()
        .map(|(code, count)| {
            code.parse()
                .map(|code| (code, count))
                .map_err(|_| serde::de::Error::custom(format!("bad status code '{code}'")))
        })
        .collect()
}

#[cfg(test)]
mod status_code_tests {
    use crate::schema::Outcome;

    #[test]
    fn a_trial_with_status_codes_reads_back() {
        let fixture = include_str!("../../rtbench-report/tests/compare/base/run.json");
        let mut run = crate::parse_run(fixture).unwrap();
        run.schema_version = crate::SCHEMA_VERSION; // written as schema 2, as the runner does
        let Some(Outcome::Http { load, .. }) = &mut run.trials[0].outcome else {
            panic!("the fixture's first trial is an http one");
        };
        load.status_codes.insert(200, 123);
        load.status_codes.insert(503, 4);
        let text = serde_json::to_string(&run).unwrap();
        let back = crate::parse_run(&text).expect("status codes in a tagged outcome read back");
        assert_eq!(back, run);
    }
}
