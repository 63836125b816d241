//! What `rtbench load` prints: the human summary (wrk/oha style) and the JSON report (what was
//! run, then the engine's summary).
use std::io::Write;
use std::time::{Duration, SystemTime};

use rtbench_load::{Ended, IoBackend, LoadConfig, Model, Percentiles, Summary};
use serde::Serialize;

/// Version of the JSON object `--json` prints; bumped when a field changes meaning or goes.
const SCHEMA_VERSION: u32 = 2;

/// "closed model, 64 connections, 1 thread pinned to CPU 0 on epoll, 10s".
pub(crate) fn describe(config: &LoadConfig) -> String {
    let model = match config.model() {
        Model::Closed => "closed model".to_owned(),
        Model::Open => format!(
            "open model at {} req/s",
            thousands(config.rate().unwrap_or(0.0))
        ),
        Model::Stream => "SSE streams".to_owned(),
    };
    let unit = if config.model() == Model::Stream {
        "streams"
    } else {
        "connections"
    };
    let pipelined = if config.pipeline() > 1 {
        format!(", pipelined ×{}", config.pipeline())
    } else {
        String::new()
    };
    let threads = config.threads();
    let cpus: Vec<String> = config.cpus().iter().map(usize::to_string).collect();
    let stop = match (config.duration(), config.requests()) {
        (Some(d), _) => human_duration(d),
        (None, Some(n)) => format!("{} requests", thousands(n as f64)),
        (None, None) => "until every stream ends".to_owned(),
    };
    let warmup = if config.warmup().is_zero() {
        String::new()
    } else {
        format!(" after {} warm-up", human_duration(config.warmup()))
    };
    format!(
        "{model}{pipelined}, {} {unit}, {threads} thread{} pinned to CPU {} on {}, {stop}{warmup}",
        config.connections(),
        if threads == 1 { "" } else { "s" },
        cpus.join(","),
        io_name(config.io())
    )
}

/// "epoll" or "io_uring", as the summaries print the I/O backend.
fn io_name(io: IoBackend) -> &'static str {
    match io {
        IoBackend::Epoll => "epoll",
        IoBackend::Uring => "io_uring",
    }
}

/// What `--json` and `--output` write: what was run, then the summary's fields.
#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    rtbench_version: &'static str,
    /// When the report was made (RFC 3339, UTC).
    timestamp: String,
    run: RunInfo<'a>,
    #[serde(flatten)]
    summary: &'a Summary,
}

#[derive(Serialize)]
struct RunInfo<'a> {
    url: &'a str,
    method: &'a str,
    model: Model,
    connections: u64,
    threads: u64,
    cpus: &'a [usize],
    pipeline: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<u64>,
    warmup_s: f64,
    timeout_s: f64,
}

/// One pretty JSON object and a newline.
pub(crate) fn print_json(
    out: &mut dyn Write,
    config: &LoadConfig,
    summary: &Summary,
    method: &str,
) -> std::io::Result<()> {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        rtbench_version: env!("CARGO_PKG_VERSION"),
        timestamp: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        run: RunInfo {
            url: config.url(),
            method: method.trim(),
            model: config.model(),
            connections: config.connections(),
            threads: config.threads(),
            cpus: config.cpus(),
            pipeline: config.pipeline(),
            rate: config.rate(),
            duration_s: config.duration().map(|d| d.as_secs_f64()),
            requests: config.requests(),
            warmup_s: config.warmup().as_secs_f64(),
            timeout_s: config.timeout().as_secs_f64(),
        },
        summary,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// The human summary; `signal` is the signal that interrupted the run, if one did.
pub(crate) fn print_human(
    out: &mut dyn Write,
    config: &LoadConfig,
    s: &Summary,
    signal: Option<i32>,
) -> std::io::Result<()> {
    writeln!(out, "rtbench load {}", config.url())?;
    writeln!(out, "  {}", describe(config))?;
    match s.ended {
        Ended::Completed => {}
        Ended::Interrupted => writeln!(
            out,
            "  INTERRUPTED  by {} after {:.2} s: the figures cover what was measured until then",
            signal_name(signal),
            s.duration_s
        )?,
        Ended::Stalled => writeln!(
            out,
            "  ENDED EARLY  no response for twice the timeout ({}): {} of {} requests answered",
            human_duration(config.timeout() * 2),
            thousands(s.requests as f64),
            thousands(s.requests_asked.unwrap_or(0) as f64)
        )?,
    }
    writeln!(
        out,
        "  Connections  {} of {} established in {:.2} s, before the clock started",
        thousands(s.connections_established as f64),
        thousands(s.connections as f64),
        s.connect_s
    )?;
    print_figures(out, s)?;
    let (done, unit) = match &s.stream {
        Some(st) => (st.events_received, "event"),
        None => (s.requests, "request"),
    };
    let per_request = if done > 0 {
        format!(", {:.2} µs per {unit}", s.client_cpu_s * 1e6 / done as f64)
    } else {
        String::new()
    };
    let capacity = (config.threads() as usize).min(config.cpus().len());
    writeln!(
        out,
        "  Client CPU   {:.2} s, {:.0}% of {} CPU{}{per_request}",
        s.client_cpu_s,
        s.client_cpu_fraction * 100.0,
        capacity,
        if capacity == 1 { "" } else { "s" }
    )?;
    if s.client_bound {
        writeln!(
            out,
            "WARNING: the client used {:.0}% of its CPUs: these figures may measure rtbench, not the \
             server (give it more with --cpus and -t)",
            s.client_cpu_fraction * 100.0
        )?;
    }
    Ok(())
}

fn latency_row(out: &mut dyn Write, label: &str, p: &Percentiles) -> std::io::Result<()> {
    writeln!(
        out,
        "{label}{:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        micros(p.p50),
        micros(p.p75),
        micros(p.p90),
        micros(p.p99),
        micros(p.p999),
        micros(p.p9999),
        micros(p.max),
        micros(p.mean)
    )
}

/// µs in the unit that keeps 3–4 digits: 87µs, 1.25ms, 2.10s.
fn micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// 1234567.8 → "1,234,568" (and 12.34 → "12.3").
fn thousands(x: f64) -> String {
    if x.abs() < 100.0 && x.fract() != 0.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[0])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// The measured figures every summary shows: requests, transfer, rate, latency, streams, status
/// codes, errors and their reasons.
pub(crate) fn print_figures(out: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
    let ok = (s.rps * s.duration_s).round();
    if s.stream.is_none() {
        writeln!(
            out,
            "  Requests     {} in {:.2} s, {} req/s (2xx: {})",
            thousands(s.requests as f64),
            s.duration_s,
            thousands(s.rps),
            thousands(ok)
        )?;
    }
    writeln!(
        out,
        "  Transfer     {} read, {}/s",
        bytes(s.bytes_read as f64),
        bytes(s.transfer_bytes_per_s)
    )?;
    if let (Some(target), Some(achieved)) = (s.target_rate, s.achieved_rate) {
        writeln!(
            out,
            "  Rate         {} req/s asked, {} achieved, {} due but never sent",
            thousands(target),
            thousands(achieved),
            thousands(s.unsent_due.unwrap_or(0) as f64)
        )?;
    }
    if s.stream.is_none() {
        writeln!(
            out,
            "  Latency      {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max", "mean"
        )?;
        let label = if s.latency_uncorrected_us.is_some() {
            "  corrected  "
        } else {
            "             "
        };
        latency_row(out, label, &s.latency_us)?;
        if let Some(u) = &s.latency_uncorrected_us {
            latency_row(out, "  uncorrected", u)?;
        }
    }
    if let Some(st) = &s.stream {
        writeln!(
            out,
            "  Streams      {} opened, {} completed, {} failed in {:.2} s",
            st.streams, st.streams_completed, st.streams_failed, s.duration_s
        )?;
        writeln!(
            out,
            "  Events       {} of {} expected, {} events/s",
            thousands(st.events_received as f64),
            thousands(st.events_expected as f64),
            thousands(st.events_per_s)
        )?;
        writeln!(
            out,
            "  Stream       {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "p50", "p75", "p90", "p99", "p99.9", "p99.99", "max", "mean"
        )?;
        latency_row(out, "  connect    ", &st.connect_us)?;
        latency_row(out, "  1st event  ", &st.first_event_us)?;
        latency_row(out, "  gap        ", &st.gap_us)?;
        latency_row(out, "  latency    ", &st.event_latency_us)?;
    }
    if !s.status_codes.is_empty() {
        let codes: Vec<String> = s
            .status_codes
            .iter()
            .map(|(code, n)| format!("{code}: {}", thousands(*n as f64)))
            .collect();
        writeln!(out, "  Status       {}", codes.join(", "))?;
    }
    let e = &s.errors;
    if e.total == 0 {
        writeln!(out, "  Errors       none")?;
    } else {
        writeln!(
            out,
            "  Errors       {} (connect {}, read {}, write {}, timeout {}, status {}, parse {}, \
             content-type {})",
            e.total, e.connect, e.read, e.write, e.timeout, e.status, e.parse, e.content_type
        )?;
    }
    for (reason, n) in &s.error_reasons {
        writeln!(out, "    {} × {reason}", thousands(*n as f64))?;
    }
    Ok(())
}

/// The `--ceiling` report.
pub(crate) fn print_ceiling(
    out: &mut dyn Write,
    c: &rtbench_load::Ceiling,
    options: &rtbench_load::CeilingOptions,
) -> std::io::Result<()> {
    let cpus = |list: &[usize]| {
        list.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    writeln!(
        out,
        "rtbench load --ceiling: the client against a built-in plaintext server"
    )?;
    writeln!(
        out,
        "  client pinned to CPU {} ({} {} worker{}), server on CPU {}, {} connections, {}",
        cpus(&c.client_cpus),
        c.summary.threads,
        io_name(c.summary.io),
        if c.summary.threads == 1 { "" } else { "s" },
        cpus(&c.server_cpus),
        options.connections,
        human_duration(options.duration)
    )?;
    let s = &c.summary;
    writeln!(
        out,
        "  Requests     {} in {:.2} s, {} req/s, errors {}",
        thousands(s.requests as f64),
        s.duration_s,
        thousands(s.rps),
        s.errors.total
    )?;
    writeln!(
        out,
        "  Client CPU   {:.2} s, {:.0}% of its CPUs, {:.2} µs per request",
        s.client_cpu_s,
        s.client_cpu_fraction * 100.0,
        c.cpu_us_per_request
    )?;
    writeln!(
        out,
        "  Ceiling      {} req/s per client core (1 / client CPU per request)",
        thousands(c.max_rps_per_core)
    )?;
    if c.shared_cpu {
        writeln!(
            out,
            "WARNING: client and server shared a CPU: the ceiling is a low estimate"
        )?;
    }
    Ok(())
}

fn signal_name(signal: Option<i32>) -> &'static str {
    match signal {
        Some(libc::SIGINT) => "SIGINT",
        Some(libc::SIGTERM) => "SIGTERM",
        Some(libc::SIGHUP) => "SIGHUP",
        _ => "a stop request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(12.34), "12.3");
        assert_eq!(micros(87.0), "87µs");
        assert_eq!(micros(1_250.0), "1.25ms");
        assert_eq!(micros(2_100_000.0), "2.10s");
        assert_eq!(bytes(23_300_000.0), "23.30 MB");
        assert_eq!(bytes(512.0), "512 B");
    }
}
