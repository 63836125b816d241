use serde::Serialize;

use crate::schema::{Trial, TrialStatus};

/// One row of `summary.csv`: a trial flattened, with self-explaining column names and units.
/// Empty cells mean "not measured by this scenario".
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    pub target: String,
    pub scenario: String,
    pub variant: String,
    pub trial: u32,
    pub status: &'static str,
    pub reason: String,
    pub model: String,
    pub connections: Option<u64>,
    pub pipelined: Option<bool>,
    pub requests: Option<u64>,
    pub duration_s: Option<f64>,
    pub rps: Option<f64>,
    pub errors_total: Option<u64>,
    pub errors_connect: Option<u64>,
    pub errors_read: Option<u64>,
    pub errors_write: Option<u64>,
    pub errors_timeout: Option<u64>,
    pub errors_status: Option<u64>,
    pub errors_parse: Option<u64>,
    pub latency_p50_us: Option<f64>,
    pub latency_p90_us: Option<f64>,
    pub latency_p99_us: Option<f64>,
    pub latency_p999_us: Option<f64>,
    pub latency_max_us: Option<f64>,
    pub latency_uncorrected_p50_us: Option<f64>,
    pub latency_uncorrected_p99_us: Option<f64>,
    pub target_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
    pub client_cpu_s: Option<f64>,
    pub client_bound: Option<bool>,
    pub server_rss_idle_mib: Option<f64>,
    pub server_rss_mean_mib: Option<f64>,
    pub server_rss_peak_mib: Option<f64>,
    pub server_pss_mean_mib: Option<f64>,
    pub server_cgroup_memory_mean_mib: Option<f64>,
    pub server_cores_used: Option<f64>,
    pub server_cpu_us_per_request: Option<f64>,
    pub memory_per_10k_rps_mb: Option<f64>,
    pub rate_sustained: Option<bool>,
    pub kib_per_idle_connection: Option<f64>,
    /// Every start of the trial, ms, space-separated (statistics over them belong to the report).
    pub cold_start_ms: String,
    pub sse_streams: Option<u64>,
    pub sse_streams_failed: Option<u64>,
    pub sse_events_received: Option<u64>,
    pub sse_events_expected: Option<u64>,
    pub sse_events_per_s: Option<f64>,
    pub sse_time_to_first_event_p50_ms: Option<f64>,
    pub sse_time_to_first_event_p99_ms: Option<f64>,
    pub sse_event_latency_p50_ms: Option<f64>,
    pub sse_event_latency_p99_ms: Option<f64>,
    pub sse_kib_per_stream: Option<f64>,
    pub relay_added_latency_p50_ms: Option<f64>,
    pub relay_added_latency_p99_ms: Option<f64>,
    pub relay_buffering: Option<bool>,
    /// Median client-disconnect → upstream-closed time; empty when leaked.
    pub relay_abort_ms: Option<f64>,
    pub relay_leaked: Option<u64>,
    pub relay_upstream_open_after: Option<u64>,
}

impl SummaryRow {
    /// Flattens one trial.
    pub fn from_trial(trial: &Trial) -> SummaryRow {
        let load = trial.load.as_ref();
        let server = trial.server.as_ref();
        let stream = load.and_then(|l| l.stream.as_ref());
        let relay = trial.relay.as_ref();
        let mib = |kib: f64| kib / 1024.0;
        let ms = |us: f64| us / 1000.0;
        SummaryRow {
            target: trial.target.clone(),
            scenario: trial.scenario.clone(),
            variant: trial.variant.clone(),
            trial: trial.trial,
            status: match trial.status {
                TrialStatus::Ok => "ok",
                TrialStatus::Failed => "failed",
            },
            reason: trial.reason.clone().unwrap_or_default(),
            model: load
                .map(|l| format!("{:?}", l.model).to_lowercase())
                .unwrap_or_default(),
            connections: load.map(|l| l.connections),
            pipelined: load.map(|l| l.pipeline > 1),
            requests: load.map(|l| l.requests),
            duration_s: load.map(|l| l.duration_s),
            rps: load.map(|l| l.rps),
            errors_total: load.map(|l| l.errors.total),
            errors_connect: load.map(|l| l.errors.connect),
            errors_read: load.map(|l| l.errors.read),
            errors_write: load.map(|l| l.errors.write),
            errors_timeout: load.map(|l| l.errors.timeout),
            errors_status: load.map(|l| l.errors.status),
            errors_parse: load.map(|l| l.errors.parse),
            latency_p50_us: load.map(|l| l.latency_us.p50),
            latency_p90_us: load.map(|l| l.latency_us.p90),
            latency_p99_us: load.map(|l| l.latency_us.p99),
            latency_p999_us: load.map(|l| l.latency_us.p999),
            latency_max_us: load.map(|l| l.latency_us.max),
            latency_uncorrected_p50_us: load.and_then(|l| l.latency_uncorrected_us).map(|p| p.p50),
            latency_uncorrected_p99_us: load.and_then(|l| l.latency_uncorrected_us).map(|p| p.p99),
            target_rate: load.and_then(|l| l.target_rate),
            achieved_rate: load.and_then(|l| l.achieved_rate),
            client_cpu_s: load.map(|l| l.client_cpu_s),
            client_bound: load.map(|l| l.client_bound),
            server_rss_idle_mib: server.map(|s| mib(s.rss_idle_kib)),
            server_rss_mean_mib: server.map(|s| mib(s.rss_mean_kib)),
            server_rss_peak_mib: server.map(|s| mib(s.rss_peak_kib)),
            server_pss_mean_mib: server.and_then(|s| s.pss_mean_kib).map(mib),
            server_cgroup_memory_mean_mib: server.and_then(|s| s.cgroup_memory_mean_kib).map(mib),
            server_cores_used: server.map(|s| s.cores_used),
            server_cpu_us_per_request: server.and_then(|s| s.cpu_us_per_request),
            memory_per_10k_rps_mb: trial.memory_per_10k_mb,
            rate_sustained: trial.sustained,
            kib_per_idle_connection: trial.kib_per_connection,
            cold_start_ms: trial
                .cold_start_ms
                .iter()
                .map(|ms| format!("{ms:.1}"))
                .collect::<Vec<_>>()
                .join(" "),
            sse_streams: stream.map(|s| s.streams),
            sse_streams_failed: stream.map(|s| s.streams_failed),
            sse_events_received: stream.map(|s| s.events_received),
            sse_events_expected: stream.map(|s| s.events_expected),
            sse_events_per_s: stream.map(|s| s.events_per_s),
            sse_time_to_first_event_p50_ms: stream.map(|s| ms(s.first_event_us.p50)),
            sse_time_to_first_event_p99_ms: stream.map(|s| ms(s.first_event_us.p99)),
            sse_event_latency_p50_ms: stream.map(|s| ms(s.event_latency_us.p50)),
            sse_event_latency_p99_ms: stream.map(|s| ms(s.event_latency_us.p99)),
            sse_kib_per_stream: trial.kib_per_stream,
            relay_added_latency_p50_ms: relay.map(|r| ms(r.added_latency_us.p50)),
            relay_added_latency_p99_ms: relay.map(|r| ms(r.added_latency_us.p99)),
            relay_buffering: relay.map(|r| r.buffering),
            relay_abort_ms: relay.and_then(|r| r.abort_ms),
            relay_leaked: relay.map(|r| r.leaked),
            relay_upstream_open_after: relay.map(|r| r.upstream_open_after),
        }
    }
}
