//! One trial of one scenario variant against a running server: the load, the samples, and the
//! figures derived from them. Each scenario kind is one function; they share the engine call and
//! the sampler.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rtbench_load::{Hooks, LoadBuilder, StreamOptions, Summary};
use rtbench_results::Trial;

use crate::launcher::{Launcher, Prepared, Server};
use crate::relay::{added_latency_from_summary, measure_relay, RelayConfig};
use crate::sampler::Sampler;
use crate::scenario::{Scenario, ScenarioKind, Variant};
use crate::server::LaunchOptions;
use crate::target::Target;
use crate::upstream::UpstreamServer;

/// The sampler's period (design: every 100 ms).
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// `rate-10k` is "sustained" when the achieved rate is at least this share of the asked one.
const SUSTAINED_SHARE: f64 = 0.98;

/// What a trial needs besides the server and the scenario.
pub(crate) struct TrialContext<'a> {
    pub launcher: Launcher,
    pub target: &'a Target,
    pub prepared: &'a Prepared,
    pub launch: &'a LaunchOptions,
    pub client_cpus: &'a [usize],
    pub upstream: &'a UpstreamServer,
    pub hdr_path: &'a Path,
}

/// Runs one trial and fills `trial`. An `Err` is the reason the trial failed.
pub(crate) fn measure(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
    trial: &mut Trial,
) -> Result<(), String> {
    match scenario.kind {
        ScenarioKind::Http => http(context, server, scenario, variant, trial),
        ScenarioKind::IdleConnections => idle_connections(server, scenario, variant, trial),
        ScenarioKind::ColdStart => cold_start(context, scenario, trial),
        ScenarioKind::Sse => sse(context, server, scenario, variant, trial),
        ScenarioKind::SseRelay => sse_relay(context, server, scenario, variant, trial),
    }
}

/// The main figure of a finished trial, for progress lines.
pub(crate) fn headline(trial: &Trial) -> String {
    if !trial.cold_start_ms.is_empty() {
        let ms: Vec<String> = trial
            .cold_start_ms
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect();
        return format!("cold start ms: {}", ms.join(", "));
    }
    if let Some(kib) = trial.kib_per_connection {
        return format!("{kib:.1} KiB per idle connection");
    }
    let Some(load) = &trial.load else {
        return String::new();
    };
    let mut line = match &load.stream {
        Some(stream) => format!(
            "{}/{} events, first event p50 {:.1} ms, event latency p99 {:.1} ms",
            stream.events_received,
            stream.events_expected,
            stream.first_event_us.p50 / 1000.0,
            stream.event_latency_us.p99 / 1000.0
        ),
        None => format!(
            "{:.0} req/s, p50 {:.0} µs, p99 {:.0} µs",
            load.rps, load.latency_us.p50, load.latency_us.p99
        ),
    };
    if let Some(mb) = trial.memory_per_10k_mb {
        line += &format!(", {mb:.1} MB at 10k req/s");
    }
    if trial.sustained == Some(false) {
        line += &format!(
            ", NOT SUSTAINED ({:.0} req/s)",
            load.achieved_rate.unwrap_or(0.0)
        );
    }
    if let Some(relay) = &trial.relay {
        line += &match relay.abort_ms {
            Some(ms) => format!(", abort {ms:.1} ms"),
            None => ", upstream LEAKED".to_string(),
        };
        if relay.buffering {
            line += ", BUFFERING";
        }
    }
    if load.client_bound {
        line += " (client-bound)";
    }
    line
}

fn http(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
    trial: &mut Trial,
) -> Result<(), String> {
    let url = scenario_url(server, scenario);
    let mut builder = LoadBuilder::new(&url)
        .connections(u64::from(variant.connections))
        .cpus(context.client_cpus.to_vec())
        .duration(scenario.duration.unwrap_or(Duration::from_secs(10)))
        .warmup(scenario.warmup.unwrap_or(Duration::ZERO));
    if let Some(rate) = variant.rate {
        builder = builder.rate(rate);
    }
    if let Some(depth) = variant.pipeline {
        builder = builder.pipeline(u64::from(depth));
    }
    let idle = idle_rss_kib(server);
    let sampler = Sampler::start(
        server.resources(),
        SAMPLE_EVERY,
        scenario.warmup.unwrap_or(Duration::ZERO),
    );
    let summary = run_engine(builder, context.hdr_path)?;
    let stats = sampler.finish(idle, summary.requests);
    if let Some(rate) = variant.rate {
        let achieved = summary.achieved_rate.unwrap_or(summary.rps);
        let sustained = achieved >= SUSTAINED_SHARE * rate;
        trial.sustained = Some(sustained);
        // The survey's unit is "memory per 10k req/s"; a rate other than 10k scales nothing: the
        // figure is the server's mean memory while it serves the asked rate.
        trial.memory_per_10k_mb = sustained.then_some(stats.rss_mean_kib / 1024.0);
    }
    trial.server = Some(stats);
    trial.load = Some(summary);
    Ok(())
}

fn sse(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
    trial: &mut Trial,
) -> Result<(), String> {
    let (summary, stats) = stream_load(context, server, scenario, variant)?;
    // All streams are open at the peak; memory per stream is the peak over idle, per stream.
    trial.kib_per_stream =
        Some((stats.rss_peak_kib - stats.rss_idle_kib).max(0.0) / f64::from(variant.connections));
    trial.server = Some(stats);
    trial.load = Some(summary);
    Ok(())
}

fn sse_relay(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
    trial: &mut Trial,
) -> Result<(), String> {
    let config = RelayConfig {
        tokens: scenario.events.unwrap_or(50),
        interval: Duration::from_millis(u64::from(scenario.interval_ms.unwrap_or(20))),
        abort_streams: scenario.abort_streams.unwrap_or(5),
        abort_after_tokens: scenario.abort_after.unwrap_or(5),
        ..RelayConfig::default()
    };
    let upstream = context.upstream;
    upstream.set_stream(config.tokens, config.interval);
    upstream.clear();
    // S concurrent relayed streams: added latency per token under load.
    let (summary, stats) = stream_load(context, server, scenario, variant)?;
    // One lone stream judges buffering from its arrival times, then sequential streams whose
    // clients leave early measure how fast the target aborts its upstream request.
    let mut relay_stats =
        measure_relay(server.base_url(), upstream, &config).map_err(|e| e.to_string())?;
    if let Some(under_load) = added_latency_from_summary(&summary) {
        relay_stats.added_latency_us = under_load;
    }
    trial.relay = Some(relay_stats);
    trial.server = Some(stats);
    trial.load = Some(summary);
    Ok(())
}

/// The stream model against the scenario's path, sampled like every other load.
fn stream_load(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
) -> Result<(Summary, rtbench_results::ServerStats), String> {
    let url = scenario_url(server, scenario);
    let events = u64::from(scenario.events.unwrap_or(100));
    let interval_ms = u64::from(scenario.interval_ms.unwrap_or(20));
    // Each stream runs once and ends after its last event; the timeout (the longest wait for the
    // next event) is what stops a stuck server.
    let builder = LoadBuilder::new(&url)
        .connections(u64::from(variant.connections))
        .cpus(context.client_cpus.to_vec())
        .timeout(Duration::from_millis(interval_ms * 5).max(Duration::from_secs(10)))
        .stream(StreamOptions {
            events: Some(events),
            interval_ms: Some(interval_ms),
            abort_after: None,
        });
    let idle = idle_rss_kib(server);
    let sampler = Sampler::start(server.resources(), SAMPLE_EVERY, Duration::ZERO);
    let summary = run_engine(builder, context.hdr_path)?;
    let stats = sampler.finish(idle, summary.requests);
    Ok((summary, stats))
}

fn idle_connections(
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
    trial: &mut Trial,
) -> Result<(), String> {
    let idle = idle_rss_kib(server);
    let addr = server.base_url().trim_start_matches("http://").to_string();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        scenario.path.as_deref().unwrap_or("/plaintext")
    );
    let wanted = variant.connections as usize;
    let mut held = Vec::with_capacity(wanted);
    let mut buffer = [0u8; 4096];
    for index in 0..wanted {
        let mut stream = TcpStream::connect(&addr).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EMFILE) {
                " (out of file descriptors: raise the open-files limit, e.g. ulimit -n 65536)"
            } else {
                ""
            };
            format!(
                "opening held connection {} of {wanted}: {e}{hint}",
                index + 1
            )
        })?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("held connection {}: writing: {e}", index + 1))?;
        // One response fully sets the connection up on the server; its bytes are not needed.
        let n = stream
            .read(&mut buffer)
            .map_err(|e| format!("held connection {}: reading: {e}", index + 1))?;
        if n == 0 {
            return Err(format!(
                "held connection {}: the server closed it after one request",
                index + 1
            ));
        }
        held.push(stream);
    }
    let sampler = Sampler::start(
        server.resources(),
        SAMPLE_EVERY,
        scenario.settle.unwrap_or(Duration::from_secs(2)),
    );
    std::thread::sleep(
        scenario.settle.unwrap_or(Duration::from_secs(2)) + Duration::from_millis(500),
    );
    let stats = sampler.finish(idle, 0);
    drop(held);
    trial.kib_per_connection = Some((stats.rss_mean_kib - idle).max(0.0) / wanted as f64);
    trial.server = Some(stats);
    Ok(())
}

fn cold_start(
    context: &TrialContext<'_>,
    scenario: &Scenario,
    trial: &mut Trial,
) -> Result<(), String> {
    for _ in 0..scenario.starts.unwrap_or(5) {
        let mut server = context
            .launcher
            .start(context.target, context.prepared, context.launch)
            .map_err(|e| e.to_string())?;
        trial
            .cold_start_ms
            .push(server.cold_start().as_secs_f64() * 1000.0);
        server.stop();
    }
    Ok(())
}

/// The server's URL for the scenario's path (checked present when the scenario was loaded).
fn scenario_url(server: &Server, scenario: &Scenario) -> String {
    format!(
        "{}{}",
        server.base_url(),
        scenario.path.as_deref().unwrap_or("/")
    )
}

/// RSS before load: the mean of a few readings, so one allocation spike does not count.
fn idle_rss_kib(server: &Server) -> f64 {
    let source = server.resources();
    let mut sum = 0.0;
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        sum += source.read().rss_kib;
    }
    sum / 3.0
}

/// The one place the harness calls the engine: hdr interval log to `hdr_path`.
fn run_engine(builder: LoadBuilder, hdr_path: &Path) -> Result<Summary, String> {
    let config = builder.build().map_err(|e| e.to_string())?;
    let mut hlog = std::fs::File::create(hdr_path)
        .map(std::io::BufWriter::new)
        .map_err(|e| format!("{}: {e}", hdr_path.display()))?;
    let hooks = Hooks {
        hlog: Some(&mut hlog),
        hgrm: None,
    };
    let summary = rtbench_load::run_with(&config, hooks).map_err(|e| e.to_string())?;
    hlog.flush()
        .map_err(|e| format!("{}: {e}", hdr_path.display()))?;
    Ok(summary)
}
