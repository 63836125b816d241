//! The engine's measured output. This is the one definition of a load result: `rtbench load --json`
//! prints it and `run.json` embeds it, so every consumer reads the same fields.

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

/// How the workers do their socket I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IoBackend {
    /// Edge-triggered epoll (through mio): one `send` and one `recv` system call per request.
    #[default]
    Epoll,
    /// io_uring: a multishot receive per connection drawing on a provided-buffer ring, and every
    /// send of a loop turn submitted in the turn's one `io_uring_enter`. Not for SSE streams.
    Uring,
}

impl IoBackend {
    /// `epoll` or `uring`, as `--io` spells it.
    pub fn name(self) -> &'static str {
        match self {
            IoBackend::Epoll => "epoll",
            IoBackend::Uring => "uring",
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// 99.99th percentile.
    pub p9999: f64,
    /// Largest value recorded.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Failed attempts by class. `total` is the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Sum of the classes below.
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
    /// Stream model: a 2xx response whose `Content-Type` is not `text/event-stream`.
    #[serde(default)]
    pub content_type: u64,
}

impl ErrorCounts {
    /// Adds `other`'s classes to these and sets `total` to their sum.
    pub(crate) fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.status += other.status;
        self.parse += other.parse;
        self.content_type += other.content_type;
        self.total = self.connect
            + self.read
            + self.write
            + self.timeout
            + self.status
            + self.parse
            + self.content_type;
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ended {
    /// As asked: the duration ran out, the request count was answered, or every stream ended.
    #[default]
    Completed,
    /// Stopped from outside (a signal, through [`crate::StopHandle`]) before its end; the figures
    /// cover what was measured until then.
    Interrupted,
    /// A counted run gave up: no response completed for twice the request timeout while
    /// requests were still owed.
    Stalled,
}

/// Per-stream figures of a stream (SSE) run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    /// Streams opened (completed + failed + still open at the end).
    pub streams: u64,
    /// Streams that ended normally, or were closed on purpose after the asked number of events.
    pub streams_completed: u64,
    /// Streams that could not connect, got a non-2xx status, broke off or timed out.
    pub streams_failed: u64,
    /// Events parsed over all streams.
    pub events_received: u64,
    /// Streams × events each should deliver (capped by the abort-after count).
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
pub struct Summary {
    /// How requests were timed.
    pub model: Model,
    /// How the workers did their socket I/O (`epoll` for results written before the choice).
    #[serde(default)]
    pub io: IoBackend,
    /// Connections (streams in the stream model).
    pub connections: u64,
    /// Pipeline depth; > 1 means the run is "pipelined".
    pub pipeline: u64,
    /// Worker threads.
    pub threads: u64,
    /// Completed responses in the measured window (any status).
    pub requests: u64,
    /// Measured seconds (warm-up excluded).
    pub duration_s: f64,
    /// Completed 2xx responses per measured second.
    pub rps: f64,
    /// Bytes read from the server for requests sent in the measured window.
    pub bytes_read: u64,
    /// `bytes_read` per measured second.
    pub transfer_bytes_per_s: f64,
    /// Failed attempts by class.
    pub errors: ErrorCounts,
    /// Latency; in the open model measured from each request's due time (coordinated-omission corrected);
    /// in the stream model the event latency (same as `stream.event_latency_us`).
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
    /// Open model only: requests that were due before the end but never sent (never dropped silently).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsent_due: Option<u64>,
    /// Client CPU seconds (user + system, getrusage) during the measured window.
    pub client_cpu_s: f64,
    /// Client CPU used as a fraction of its CPUs (1.0 = every client CPU busy).
    pub client_cpu_fraction: f64,
    /// True when the client used ≥ 90% of its CPUs: the figure may measure the client, not the
    /// server ([`client_bound`](crate::client_bound) without a ceiling; `rtbench run` applies it
    /// again with its measured one).
    pub client_bound: bool,
    /// Stream model only: per-stream figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamSummary>,
    /// How the run ended (an interrupted or stalled run measured less than was asked).
    #[serde(default)]
    pub ended: Ended,
    /// The request count asked for, when the run is counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_asked: Option<u64>,
    /// Wall-clock instant the measured window began, ns since the Unix epoch (agents' start skew
    /// is read from it).
    #[serde(default)]
    pub start_wall_ns: u64,
    /// CPUs the workers were pinned to.
    #[serde(default)]
    pub cpus: Vec<usize>,
    /// Connections established before the clock started (the rest failed or timed out while
    /// connecting, counted in `errors.connect`).
    #[serde(default)]
    pub connections_established: u64,
    /// Seconds spent establishing the connections, before the clock started.
    #[serde(default)]
    pub connect_s: f64,
    /// Completed responses in the measured window by status code.
    #[serde(default)]
    pub status_codes: BTreeMap<u16, u64>,
    /// Why responses or streams were rejected (parse and content-type errors), reason → count.
    #[serde(default)]
    pub error_reasons: BTreeMap<String, u64>,
}

impl Summary {
    /// Responses (or, in the stream model, streams) that completed as asked.
    pub fn completed(&self) -> u64 {
        match &self.stream {
            Some(stream) => stream.streams_completed,
            None => self.requests,
        }
    }
}
