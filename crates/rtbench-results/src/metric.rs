//! The metric catalogue: every figure a trial can carry, once. An entry names the figure (its key
//! in `compare --gate`, thresholds files and JSON; its `summary.csv` column, whose suffix is the
//! unit), says which direction is better, how to read it from a trial and how to write it
//! ([`Unit`], the one formatter). `summary.csv`, the end-of-run table, the report's tables and
//! charts and `compare` all go through [`Metric`]; adding a figure is one entry here plus its
//! measurement.
use std::fmt;

use serde::{Serialize, Serializer};

use crate::format::Unit;
use crate::load::{LoadResult, Percentiles, StreamResult};
use crate::schema::{RelayStats, ServerStats, Trial};
use crate::stats::median;

/// Which way a change is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Throughput: a drop is the regression.
    Higher,
    /// Latency, memory, CPU, errors: a rise is the regression.
    Lower,
}

/// One catalogue entry.
pub struct MetricDef {
    /// Name in flags, thresholds files and JSON.
    pub key: &'static str,
    /// `summary.csv` column (the suffix says the unit the value is written in).
    pub column: &'static str,
    /// Words for a heading, without the unit.
    pub label: &'static str,
    /// The unit the value is stored (and written) in.
    pub unit: Unit,
    pub better: Better,
    /// Shown (and gateable) in `compare`; bookkeeping figures (counts, settings) are CSV-only.
    pub compared: bool,
    /// The value in one trial, when the trial measured it.
    pub read: fn(&Trial) -> Option<f64>,
}

fn load(t: &Trial, f: impl Fn(&LoadResult) -> f64) -> Option<f64> {
    t.load().map(f)
}
fn load_opt(t: &Trial, f: impl Fn(&LoadResult) -> Option<f64>) -> Option<f64> {
    t.load().and_then(f)
}
fn stream(t: &Trial, f: impl Fn(&StreamResult) -> f64) -> Option<f64> {
    t.load().and_then(|l| l.stream.as_ref()).map(f)
}
/// Server figures only when the sampler took samples (an empty record is not a measured zero).
fn server(t: &Trial, f: impl Fn(&ServerStats) -> Option<f64>) -> Option<f64> {
    t.server().filter(|s| s.samples > 0).and_then(f)
}
fn relay(t: &Trial, f: impl Fn(&RelayStats) -> Option<f64>) -> Option<f64> {
    t.relay().and_then(f)
}
fn uncorrected(t: &Trial, f: impl Fn(&Percentiles) -> f64) -> Option<f64> {
    load_opt(t, |l| l.latency_uncorrected_us.as_ref().map(&f))
}
const fn entry(
    key: &'static str,
    column: &'static str,
    label: &'static str,
    unit: Unit,
    better: Better,
    compared: bool,
    read: fn(&Trial) -> Option<f64>,
) -> MetricDef {
    MetricDef {
        key,
        column,
        label,
        unit,
        better,
        compared,
        read,
    }
}

use Better::{Higher, Lower};
use Unit::{
    Cores, Count, Kibibytes, Mebibytes, Micros, Millis, PerSecond, Percent, Ratio, Seconds,
};

/// Every metric, in the order tables and CSV columns show them.
static CATALOGUE: &[MetricDef] = &[
    entry("rps", "rps", "req/s", PerSecond, Higher, true, |t| {
        load(t, |l| l.rps)
    }),
    entry(
        "achieved_rate",
        "achieved_rate",
        "achieved req/s",
        PerSecond,
        Higher,
        false,
        |t| load_opt(t, |l| l.achieved_rate),
    ),
    entry(
        "target_rate",
        "target_rate",
        "asked req/s",
        PerSecond,
        Higher,
        false,
        |t| load_opt(t, |l| l.target_rate),
    ),
    entry(
        "p50",
        "latency_p50_us",
        "latency p50",
        Micros,
        Lower,
        true,
        |t| load(t, |l| l.latency_us.p50),
    ),
    entry(
        "p75",
        "latency_p75_us",
        "latency p75",
        Micros,
        Lower,
        false,
        |t| load(t, |l| l.latency_us.p75),
    ),
    entry(
        "p90",
        "latency_p90_us",
        "latency p90",
        Micros,
        Lower,
        false,
        |t| load(t, |l| l.latency_us.p90),
    ),
    entry(
        "p99",
        "latency_p99_us",
        "latency p99",
        Micros,
        Lower,
        true,
        |t| load(t, |l| l.latency_us.p99),
    ),
    entry(
        "p999",
        "latency_p999_us",
        "latency p99.9",
        Micros,
        Lower,
        false,
        |t| load(t, |l| l.latency_us.p999),
    ),
    entry(
        "p9999",
        "latency_p9999_us",
        "latency p99.99",
        Micros,
        Lower,
        false,
        |t| load(t, |l| l.latency_us.p9999),
    ),
    entry(
        "max",
        "latency_max_us",
        "latency max",
        Micros,
        Lower,
        true,
        |t| load(t, |l| l.latency_us.max),
    ),
    entry(
        "p50_uncorrected",
        "latency_uncorrected_p50_us",
        "p50 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p50),
    ),
    entry(
        "p75_uncorrected",
        "latency_uncorrected_p75_us",
        "p75 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p75),
    ),
    entry(
        "p90_uncorrected",
        "latency_uncorrected_p90_us",
        "p90 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p90),
    ),
    entry(
        "p99_uncorrected",
        "latency_uncorrected_p99_us",
        "p99 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p99),
    ),
    entry(
        "p999_uncorrected",
        "latency_uncorrected_p999_us",
        "p99.9 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p999),
    ),
    entry(
        "p9999_uncorrected",
        "latency_uncorrected_p9999_us",
        "p99.99 uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.p9999),
    ),
    entry(
        "max_uncorrected",
        "latency_uncorrected_max_us",
        "max uncorrected",
        Micros,
        Lower,
        false,
        |t| uncorrected(t, |p| p.max),
    ),
    entry(
        "connections",
        "connections",
        "connections",
        Count,
        Higher,
        false,
        |t| load(t, |l| l.connections as f64),
    ),
    entry(
        "requests",
        "requests",
        "responses",
        Count,
        Higher,
        false,
        |t| load(t, |l| l.requests as f64),
    ),
    entry(
        "duration",
        "duration_s",
        "measured time",
        Seconds,
        Higher,
        false,
        |t| load(t, |l| l.duration_s),
    ),
    entry(
        "errors",
        "errors_total",
        "errors",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.total as f64),
    ),
    entry(
        "errors_connect",
        "errors_connect",
        "connect errors",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.connect as f64),
    ),
    entry(
        "errors_read",
        "errors_read",
        "read errors",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.read as f64),
    ),
    entry(
        "errors_write",
        "errors_write",
        "write errors",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.write as f64),
    ),
    entry(
        "errors_timeout",
        "errors_timeout",
        "timeouts",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.timeout as f64),
    ),
    entry(
        "errors_status",
        "errors_status",
        "non-2xx responses",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.status as f64),
    ),
    entry(
        "errors_parse",
        "errors_parse",
        "malformed responses",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.parse as f64),
    ),
    entry(
        "errors_content_type",
        "errors_content_type",
        "SSE answered without text/event-stream",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.content_type as f64),
    ),
    // The errors the report's tables count apart from non-2xx responses.
    entry(
        "errors_other",
        "errors_other",
        "errors (no valid 2xx or non-2xx response)",
        Count,
        Lower,
        false,
        |t| load(t, |l| l.errors.total.saturating_sub(l.errors.status) as f64),
    ),
    entry(
        "client_cpu",
        "client_cpu_s",
        "client CPU",
        Seconds,
        Lower,
        false,
        |t| load(t, |l| l.client_cpu_s),
    ),
    entry(
        "client_cpu_share",
        "client_cpu_percent",
        "client CPU share",
        Percent,
        Lower,
        false,
        |t| load(t, |l| l.client_cpu_fraction * 100.0),
    ),
    entry(
        "client_headroom",
        "client_headroom",
        "client headroom",
        Ratio,
        Lower,
        true,
        |t| load_opt(t, |l| l.client_headroom),
    ),
    entry(
        "client_threads",
        "client_threads",
        "client threads",
        Count,
        Higher,
        false,
        |t| load(t, |l| l.threads as f64),
    ),
    entry(
        "memory_idle",
        "server_rss_idle_mib",
        "server RSS idle",
        Mebibytes,
        Lower,
        false,
        |t| server(t, |s| Some(s.rss_idle_kib / 1024.0)),
    ),
    entry(
        "memory",
        "server_rss_mean_mib",
        "server RSS (mean)",
        Mebibytes,
        Lower,
        true,
        |t| server(t, |s| Some(s.rss_mean_kib / 1024.0)),
    ),
    entry(
        "memory_peak",
        "server_rss_peak_mib",
        "server RSS (peak)",
        Mebibytes,
        Lower,
        false,
        |t| server(t, |s| Some(s.rss_peak_kib / 1024.0)),
    ),
    entry(
        "pss",
        "server_pss_mean_mib",
        "server PSS (mean)",
        Mebibytes,
        Lower,
        false,
        |t| server(t, |s| s.pss_mean_kib.map(|k| k / 1024.0)),
    ),
    entry(
        "cgroup_memory",
        "server_cgroup_memory_mean_mib",
        "container memory (mean)",
        Mebibytes,
        Lower,
        false,
        |t| server(t, |s| s.cgroup_memory_mean_kib.map(|k| k / 1024.0)),
    ),
    entry(
        "server_cores",
        "server_cores_used",
        "server cores used",
        Cores,
        Lower,
        false,
        |t| server(t, |s| Some(s.cores_used)),
    ),
    entry(
        "cpu",
        "server_cpu_us_per_request",
        "server CPU per request",
        Micros,
        Lower,
        true,
        |t| server(t, |s| s.cpu_us_per_request),
    ),
    entry(
        "memory_per_10k",
        "memory_at_rate_mib",
        "memory at the asked rate",
        Mebibytes,
        Lower,
        true,
        |t| t.memory_at_rate_mib(),
    ),
    entry(
        "kib_per_connection",
        "kib_per_idle_connection",
        "KiB per idle connection",
        Kibibytes,
        Lower,
        true,
        |t| t.kib_per_connection(),
    ),
    entry(
        "kib_per_connection_resolution",
        "kib_per_idle_connection_resolution",
        "resolution of KiB per idle connection",
        Kibibytes,
        Lower,
        false,
        |t| t.kib_per_connection_resolution(),
    ),
    entry(
        "cold_start",
        "cold_start_median_ms",
        "cold start (median)",
        Millis,
        Lower,
        true,
        |t| median(t.cold_starts_ms()),
    ),
    entry(
        "sse_streams",
        "sse_streams",
        "streams",
        Count,
        Higher,
        false,
        |t| stream(t, |s| s.streams as f64),
    ),
    entry(
        "sse_streams_failed",
        "sse_streams_failed",
        "failed streams",
        Count,
        Lower,
        false,
        |t| stream(t, |s| s.streams_failed as f64),
    ),
    entry(
        "sse_events_received",
        "sse_events_received",
        "events received",
        Count,
        Higher,
        false,
        |t| stream(t, |s| s.events_received as f64),
    ),
    entry(
        "sse_events_expected",
        "sse_events_expected",
        "events expected",
        Count,
        Higher,
        false,
        |t| stream(t, |s| s.events_expected as f64),
    ),
    entry(
        "sse_events_received_share",
        "sse_events_received_percent",
        "events received",
        Percent,
        Higher,
        false,
        |t| {
            stream(t, |s| {
                s.events_received as f64 * 100.0 / s.events_expected as f64
            })
            .filter(|p| p.is_finite())
        },
    ),
    entry(
        "sse_events_per_s",
        "sse_events_per_s",
        "events/s",
        PerSecond,
        Higher,
        true,
        |t| stream(t, |s| s.events_per_s),
    ),
    entry(
        "sse_first_event_p50",
        "sse_first_event_p50_us",
        "first event (median)",
        Micros,
        Lower,
        false,
        |t| stream(t, |s| s.first_event_us.p50),
    ),
    entry(
        "sse_first_event_p99",
        "sse_first_event_p99_us",
        "first event p99",
        Micros,
        Lower,
        false,
        |t| stream(t, |s| s.first_event_us.p99),
    ),
    entry(
        "sse_latency_p50",
        "sse_event_latency_p50_us",
        "event latency p50",
        Micros,
        Lower,
        true,
        |t| stream(t, |s| s.event_latency_us.p50),
    ),
    entry(
        "sse_latency_p99",
        "sse_event_latency_p99_us",
        "event latency p99",
        Micros,
        Lower,
        true,
        |t| stream(t, |s| s.event_latency_us.p99),
    ),
    entry(
        "sse_gap_p99",
        "sse_gap_p99_us",
        "inter-event gap p99",
        Micros,
        Lower,
        true,
        |t| stream(t, |s| s.gap_us.p99),
    ),
    entry(
        "kib_per_stream",
        "kib_per_stream",
        "KiB per open stream",
        Kibibytes,
        Lower,
        true,
        |t| t.kib_per_stream(),
    ),
    entry(
        "relay_added_p50",
        "relay_added_latency_p50_us",
        "added latency p50",
        Micros,
        Lower,
        true,
        |t| relay(t, |r| Some(r.added_latency_us.p50)),
    ),
    entry(
        "relay_added_p99",
        "relay_added_latency_p99_us",
        "added latency p99",
        Micros,
        Lower,
        true,
        |t| relay(t, |r| Some(r.added_latency_us.p99)),
    ),
    entry(
        "relay_abort_ms",
        "relay_abort_ms",
        "abort propagation",
        Millis,
        Lower,
        true,
        |t| relay(t, |r| r.abort_ms),
    ),
    entry(
        "relay_leaked",
        "relay_leaked",
        "leaked upstream requests",
        Count,
        Lower,
        false,
        |t| relay(t, |r| Some(r.leaked as f64)),
    ),
    entry(
        "relay_upstream_open_after",
        "relay_upstream_open_after",
        "upstream connections left open",
        Count,
        Lower,
        false,
        |t| relay(t, |r| Some(r.upstream_open_after as f64)),
    ),
];

/// A metric of the catalogue. Ordered as the catalogue lists them; printed and serialized as its
/// key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Metric(u16);

impl Metric {
    /// Every metric, in catalogue order.
    pub fn all() -> impl Iterator<Item = Metric> {
        (0..CATALOGUE.len() as u16).map(Metric)
    }

    /// The metrics `compare` shows, in catalogue order.
    pub fn compared() -> impl Iterator<Item = Metric> {
        Metric::all().filter(|m| m.def().compared)
    }

    /// The metric named `key`.
    pub fn from_key(key: &str) -> Option<Metric> {
        Metric::all().find(|m| m.key() == key)
    }

    /// The metric named `key`, which the caller knows is in the catalogue.
    ///
    /// # Panics
    /// When no metric has that key (a programming error, caught by any test that uses it).
    pub fn named(key: &str) -> Metric {
        Metric::from_key(key).unwrap_or_else(|| panic!("no metric '{key}' in the catalogue"))
    }

    pub fn def(self) -> &'static MetricDef {
        &CATALOGUE[usize::from(self.0)]
    }

    pub fn key(self) -> &'static str {
        self.def().key
    }

    pub fn column(self) -> &'static str {
        self.def().column
    }

    pub fn label(self) -> &'static str {
        self.def().label
    }

    pub fn unit(self) -> Unit {
        self.def().unit
    }

    pub fn higher_is_better(self) -> bool {
        self.def().better == Better::Higher
    }

    /// This metric's value in `trial`, when the trial measured it.
    pub fn value(self, trial: &Trial) -> Option<f64> {
        (self.def().read)(trial)
    }

    /// `v` written with its unit by the one formatter.
    pub fn format(self, v: f64) -> String {
        self.unit().format(v)
    }
}

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_columns_are_unique_and_columns_say_their_unit() {
        let mut keys: Vec<&str> = Metric::all().map(Metric::key).collect();
        let mut columns: Vec<&str> = Metric::all().map(Metric::column).collect();
        keys.sort_unstable();
        keys.dedup();
        columns.sort_unstable();
        columns.dedup();
        assert_eq!(keys.len(), CATALOGUE.len());
        assert_eq!(columns.len(), CATALOGUE.len());
        for m in Metric::all() {
            if m.unit() == Unit::Mebibytes {
                assert!(m.column().ends_with("_mib"), "{}", m.column());
            }
            if m.unit() == Unit::Micros {
                assert!(m.column().contains("_us"), "{}", m.column());
            }
        }
    }
}
