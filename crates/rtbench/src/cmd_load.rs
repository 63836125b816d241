//! `rtbench load URL`: wrk/oha-style flags → one engine run → a human summary or one JSON object.
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use rtbench_load::{Hooks, LoadBuilder, LoadConfig, Model, Percentiles, StreamOptions, Summary};

use crate::common::parse_cpu_list;

#[derive(clap::Args)]
#[command(
    after_help = "Durations: 10s, 500ms, 2m, 1h (a bare number is seconds).\n\
Exit status: 0 when at least one response (or stream) completed, 1 when none did, 2 on bad input."
)]
pub struct Args {
    /// The URL to load: http://host[:port][/path][?query] (plain HTTP/1.1; no TLS).
    #[arg(value_name = "URL")]
    url: String,
    /// Concurrent connections.
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        default_value_t = 64,
        allow_negative_numbers = true
    )]
    connections: i64,
    /// Measure for this long (default 10s unless -n is given).
    #[arg(short = 'd', long, value_name = "DUR", allow_hyphen_values = true)]
    duration: Option<String>,
    /// Send exactly this many requests (after the warm-up), then stop.
    #[arg(short = 'n', long, value_name = "N", allow_negative_numbers = true)]
    requests: Option<i64>,
    /// Worker threads, pinned round-robin to --cpus (default: one per CPU listed).
    #[arg(short = 't', long, value_name = "N", allow_negative_numbers = true)]
    threads: Option<i64>,
    /// CPUs for the workers: 0, 0,1 or 0-3 (default: the first CPU this process may use).
    #[arg(long, value_name = "LIST")]
    cpus: Option<String>,
    /// Open model: this many requests per second over all connections, latency corrected for
    /// coordinated omission.
    #[arg(long, value_name = "REQ/S", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Requests written back to back per connection (pipelining; results are labelled so).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pipeline: i64,
    /// Extra request header, repeatable: -H 'Name: value'.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Request method.
    #[arg(short = 'm', long, value_name = "METHOD", default_value = "GET")]
    method: String,
    /// Request body (a Content-Length header is added).
    #[arg(long, value_name = "TEXT")]
    body: Option<String>,
    /// Load this long before measuring, on the same connections; excluded from every figure.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    warmup: Option<String>,
    /// A request without its complete response after this long is a timeout error.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "10s",
        allow_hyphen_values = true
    )]
    timeout: String,
    /// Print exactly one JSON object (the Summary) on stdout instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Write the latency percentile distribution (HdrHistogram .hgrm text, ms) to FILE.
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
    /// Write the HdrHistogram interval log (one histogram per second, µs) to FILE.
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Stream model: each connection reads one SSE stream from URL (e.g. /sse?events=100); the
    /// run ends when every stream ended, or with -d after that long, replacing streams that end.
    /// --timeout is then the longest wait for the next event.
    #[arg(long)]
    sse: bool,
    /// SSE: concurrent streams (overrides -c).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    streams: Option<i64>,
    /// SSE: events per stream, put in the query as events=N (default: the URL's own, else 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    events: Option<i64>,
    /// SSE: ms between events, put in the query as interval_ms=M (default: the URL's, else 10).
    #[arg(long = "interval-ms", value_name = "M", allow_negative_numbers = true)]
    interval_ms: Option<i64>,
    /// SSE: close each stream after K events (a client leaving early).
    #[arg(long = "abort-after", value_name = "K", allow_negative_numbers = true)]
    abort_after: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    let mut hlog = args.hlog.as_deref().map(create).transpose()?;
    let mut hgrm = args.hgrm.as_deref().map(create).transpose()?;
    if std::io::stderr().is_terminal() {
        eprintln!("rtbench: loading {} ({})…", config.url(), describe(&config));
    }
    let hooks = Hooks {
        hlog: hlog.as_mut().map(|w| w as &mut (dyn Write + Send)),
        hgrm: hgrm.as_mut().map(|w| w as &mut dyn Write),
    };
    let summary = rtbench_load::run_with(&config, hooks)?;
    for (file, flag) in [(hlog, "--hlog"), (hgrm, "--hgrm")] {
        if let Some(mut file) = file {
            file.flush()
                .with_context(|| format!("writing the {flag} file"))?;
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print_human(&mut out, &config, &summary)?;
    }
    out.flush()?;
    Ok(exit_code(&summary))
}

/// A run in which nothing completed failed, whatever the reason; say why on stderr.
fn exit_code(summary: &Summary) -> ExitCode {
    let completed = match &summary.stream {
        Some(stream) => stream.streams_completed,
        None => summary.requests,
    };
    if completed > 0 {
        return ExitCode::SUCCESS;
    }
    let e = &summary.errors;
    let classes = [
        ("connect", e.connect),
        ("read", e.read),
        ("write", e.write),
        ("timeout", e.timeout),
        ("status", e.status),
        ("parse", e.parse),
    ];
    let reasons: Vec<String> = classes
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(class, n)| format!("{n} {class}"))
        .collect();
    let what = if summary.stream.is_some() {
        "no stream"
    } else {
        "no response"
    };
    if reasons.is_empty() {
        eprintln!("rtbench: error: {what} completed");
    } else {
        eprintln!(
            "rtbench: error: {what} completed ({} errors)",
            reasons.join(", ")
        );
    }
    ExitCode::from(1)
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create '{}'", path.display()))?;
    Ok(BufWriter::new(file))
}

/// Turns the flags into the engine's validated config. Values the engine checks itself (zero
/// counts, URL, headers) are passed through so its message names them.
fn config(args: &Args) -> anyhow::Result<LoadConfig> {
    let mut b = LoadBuilder::new(&args.url)
        .connections(positive(
            args.streams.unwrap_or(args.connections),
            flag_c(args),
        )?)
        .pipeline(positive(args.pipeline, "--pipeline")?)
        .method(&args.method)
        .timeout(parse_duration(&args.timeout, "--timeout")?);
    if let Some(d) = &args.duration {
        b = b.duration(parse_duration(d, "--duration")?);
    }
    if let Some(n) = args.requests {
        b = b.requests(positive(n, "--requests")?);
    }
    if let Some(t) = args.threads {
        b = b.threads(positive(t, "--threads")?);
    }
    if let Some(cpus) = &args.cpus {
        b = b.cpus(parse_cpu_list(cpus).map_err(|e| anyhow::anyhow!("--cpus {e}"))?);
    }
    if let Some(rate) = args.rate {
        b = b.rate(rate);
    }
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            bail!("invalid header '{header}': expected 'Name: value'");
        };
        b = b.header(name.trim(), value.trim());
    }
    if let Some(body) = &args.body {
        b = b.body(body.as_bytes());
    }
    if let Some(w) = &args.warmup {
        b = b.warmup(parse_duration(w, "--warmup")?);
    }
    let stream_flags = [
        ("--streams", args.streams),
        ("--events", args.events),
        ("--interval-ms", args.interval_ms),
        ("--abort-after", args.abort_after),
    ];
    if args.sse {
        let opt = |v: Option<i64>, flag| v.map(|v| positive(v, flag)).transpose();
        let interval_ms = match args.interval_ms {
            Some(m) if m < 0 => bail!("--interval-ms must be ≥ 0 (got {m})"),
            m => m.map(|m| m as u64),
        };
        b = b.stream(StreamOptions {
            events: opt(args.events, "--events")?,
            interval_ms,
            abort_after: opt(args.abort_after, "--abort-after")?,
        });
    } else if let Some((flag, _)) = stream_flags.iter().find(|(_, v)| v.is_some()) {
        bail!("{flag} applies to SSE streams only: add --sse");
    }
    Ok(b.build()?)
}

fn flag_c(args: &Args) -> &'static str {
    if args.streams.is_some() {
        "--streams"
    } else {
        "--connections"
    }
}

/// Negative counts fail here; zero goes through to the engine, whose message names the option.
fn positive(value: i64, flag: &str) -> anyhow::Result<u64> {
    u64::try_from(value).map_err(|_| anyhow::anyhow!("{flag} must be > 0 (got {value})"))
}

/// `10s`, `500ms`, `2m`, `1h`, `1.5s`, `250us`; a bare number is seconds.
fn parse_duration(text: &str, flag: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow::anyhow!("invalid duration '{text}' for {flag} (use e.g. 10s, 500ms, 2m)");
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// "closed model, 64 connections, 1 thread on CPU 0, 10s".
fn describe(config: &LoadConfig) -> String {
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
        "{model}{pipelined}, {} {unit}, {threads} thread{} on CPU {}, {stop}{warmup}",
        config.connections(),
        if threads == 1 { "" } else { "s" },
        cpus.join(",")
    )
}

fn print_human(out: &mut dyn Write, config: &LoadConfig, s: &Summary) -> std::io::Result<()> {
    writeln!(out, "rtbench load {}", config.url())?;
    writeln!(out, "  {}", describe(config))?;
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
    let e = &s.errors;
    if e.total == 0 {
        writeln!(out, "  Errors       none")?;
    } else {
        writeln!(
            out,
            "  Errors       {} (connect {}, read {}, write {}, timeout {}, status {}, parse {})",
            e.total, e.connect, e.read, e.write, e.timeout, e.status, e.parse
        )?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let d = |t| parse_duration(t, "--duration").unwrap();
        assert_eq!(d("10s"), Duration::from_secs(10));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("2m"), Duration::from_secs(120));
        assert_eq!(d("1.5"), Duration::from_millis(1500));
        assert_eq!(d("250us"), Duration::from_micros(250));
        let err = parse_duration("-5s", "--duration").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid duration '-5s' for --duration (use e.g. 10s, 500ms, 2m)"
        );
        assert!(parse_duration("10 parsecs", "--warmup").is_err());
        assert!(parse_duration("", "--warmup").is_err());
    }

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
