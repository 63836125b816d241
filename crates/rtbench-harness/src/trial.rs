//! One trial of one scenario variant against a running server: the load, the samples, and the
//! figures derived from them. Each scenario kind is one function; they share the engine call and
//! the sampler.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rtbench_results::{ClientCeiling, KindSettings, LoadResult, Outcome, ServerStats, Trial};

use crate::cell_load::CellLoad;
use crate::launcher::{Launcher, Prepared, Server};
use crate::load_result::with_ceiling;
use crate::relay::{added_latency_from_load, measure_relay, RelayConfig};
use crate::sampler::Sampler;
use crate::scale_out::Agents;
use crate::scenario::{Scenario, Variant};
use crate::server::LaunchOptions;
use crate::target::Target;
use crate::upstream::UpstreamServer;

/// The sampler's period (design: every 100 ms).
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// `rate-10k` is "sustained" when the achieved rate is at least this share of the asked one.
const SUSTAINED_SHARE: f64 = 0.98;
/// RSS readings behind an idle figure (and the spread that says its resolution).
const RSS_READINGS: usize = 5;
/// RSS is counted in pages: no smaller rise can be seen.
const PAGE_KIB: f64 = 4.0;

/// What a trial needs besides the server and the scenario.
pub(crate) struct TrialContext<'a> {
    pub launcher: Launcher,
    pub target: &'a Target,
    pub prepared: &'a Prepared,
    pub launch: &'a LaunchOptions,
    pub client_cpus: &'a [usize],
    /// The run's client ceiling, when measured: request/response cells get their headroom.
    pub ceiling: Option<&'a ClientCeiling>,
    pub upstream: &'a UpstreamServer,
    pub hdr_path: &'a Path,
    /// `rtbench run --agents`: the swarm agents that generate the closed, open and stream loads.
    pub agents: Option<&'a Agents>,
}

/// Whether the swarm agents can generate a scenario kind's load. Idle connections are held by
/// this process, cold starts time the launcher, and the relay checks pair their load with the
/// upstream server's view of it: those stay here.
pub(crate) fn agents_generate(kind: &KindSettings) -> bool {
    matches!(kind, KindSettings::Http { .. } | KindSettings::Sse { .. })
}

/// Runs one trial; an `Err` is the reason the trial failed.
pub(crate) fn measure(
    context: &TrialContext<'_>,
    server: &mut Server,
    scenario: &Scenario,
    variant: &Variant,
) -> Result<Outcome, String> {
    if let Some(shape) = HttpShape::of(scenario.kind()) {
        return http(context, server, &shape, variant);
    }
    match scenario.kind() {
        KindSettings::Http { .. } => unreachable!("http scenarios are measured above"),
        KindSettings::IdleConnections { path, settle_ms } => {
            idle_connections(server, path, Duration::from_millis(*settle_ms), variant)
        }
        KindSettings::ColdStart { starts } => cold_start(context, *starts),
        KindSettings::Sse {
            path,
            events,
            interval_ms,
        } => sse(context, server, path, (*events, *interval_ms), variant),
        KindSettings::SseRelay {
            path,
            events,
            interval_ms,
            abort_after,
            abort_streams,
        } => {
            let config = RelayConfig {
                tokens: *events,
                interval: Duration::from_millis(u64::from(*interval_ms)),
                abort_streams: *abort_streams,
                abort_after_tokens: *abort_after,
                ..RelayConfig::default()
            };
            sse_relay(context, server, path, (&config, *interval_ms), variant)
        }
    }
}

/// The main figure of a finished trial, for progress lines.
pub(crate) fn headline(trial: &Trial) -> String {
    let Some(outcome) = &trial.outcome else {
        return String::new();
    };
    let load = match outcome {
        Outcome::ColdStart { starts_ms } => {
            let ms: Vec<String> = starts_ms.iter().map(|m| format!("{m:.0}")).collect();
            return format!("cold start ms: {}", ms.join(", "));
        }
        Outcome::IdleConnections {
            kib_per_connection,
            resolution_kib: Some(resolution),
            ..
        } if kib_per_connection < resolution => {
            return format!("< {resolution:.1} KiB per idle connection (resolution)")
        }
        Outcome::IdleConnections {
            kib_per_connection, ..
        } => return format!("{kib_per_connection:.1} KiB per idle connection"),
        Outcome::Http { load, .. }
        | Outcome::Rate { load, .. }
        | Outcome::Sse { load, .. }
        | Outcome::SseRelay { load, .. } => load,
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
    match outcome {
        Outcome::Rate {
            memory_at_rate_mib: Some(mib),
            ..
        } => line += &format!(", {mib:.1} MiB at the rate"),
        Outcome::Rate { .. } => {
            line += &format!(
                ", NOT SUSTAINED ({:.0} req/s)",
                load.achieved_rate.unwrap_or(load.rps)
            );
        }
        Outcome::SseRelay { relay, .. } => {
            line += &match relay.abort_ms {
                Some(ms) => format!(", abort {ms:.1} ms"),
                None => ", upstream LEAKED".to_string(),
            };
            if relay.buffering {
                line += ", BUFFERING";
            }
        }
        _ => {}
    }
    if let Some(headroom) = load.client_headroom {
        line += &format!(", {headroom:.2} of the client's ceiling");
    }
    if let Some(agents) = &load.agents {
        line += &format!(
            ", {} agents (start skew {:.1} ms)",
            agents.count, agents.start_skew_ms
        );
    }
    if load.client_bound {
        line += " (client-bound)";
    }
    line
}

/// An http scenario's shape (the variant adds connections, rate and pipeline depth).
pub(crate) struct HttpShape<'a> {
    pub path: &'a str,
    pub duration: Duration,
    pub warmup: Duration,
}

impl<'a> HttpShape<'a> {
    /// The shape of an http scenario; `None` for other kinds.
    pub(crate) fn of(kind: &'a KindSettings) -> Option<HttpShape<'a>> {
        match kind {
            KindSettings::Http {
                path,
                duration_ms,
                warmup_ms,
            } => Some(HttpShape {
                path,
                duration: Duration::from_millis(*duration_ms),
                warmup: Duration::from_millis(*warmup_ms),
            }),
            _ => None,
        }
    }
}

fn http(
    context: &TrialContext<'_>,
    server: &mut Server,
    shape: &HttpShape<'_>,
    variant: &Variant,
) -> Result<Outcome, String> {
    let cell = CellLoad::http(
        server.base_url(),
        shape.path,
        variant,
        (shape.duration, shape.warmup),
    );
    let idle = idle_rss_kib(server);
    // Agents start at their agreed instant, and this process hears of their end only once their
    // service ended: the window is the measured one, from the agreed start after the warm-up.
    let sampler = match context.agents {
        None => Sampler::start(server.resources(), SAMPLE_EVERY, shape.warmup),
        Some(agents) => Sampler::start_for(
            server.resources(),
            SAMPLE_EVERY,
            agents.start_in + shape.warmup,
            Some(shape.duration),
        ),
    };
    let generated = cell.generate(context.client_cpus, context.agents, context.hdr_path)?;
    // Only request/response cells: a stream's work is events, not the requests the ceiling counts.
    let load = with_ceiling(generated.load, context.ceiling, generated.client_cores);
    let server = sampler.finish(idle, load.requests);
    Ok(http_outcome(load, server, variant))
}

/// An http cell's outcome from its load and the server's figures: an open cell (a rate) also says
/// whether the rate was sustained and the memory at it.
pub(crate) fn http_outcome(load: LoadResult, server: ServerStats, variant: &Variant) -> Outcome {
    let Some(rate) = variant.rate else {
        return Outcome::Http { load, server };
    };
    let sustained = sustained(load.achieved_rate.unwrap_or(load.rps), rate);
    // The survey's unit is "memory per 10k req/s"; a rate other than 10k scales nothing: the
    // figure is the server's mean memory while it serves the asked rate.
    let memory_at_rate_mib = sustained.then_some(server.rss_mean_kib / 1024.0);
    Outcome::Rate {
        load,
        server,
        sustained,
        memory_at_rate_mib,
    }
}

/// An open run sustained the asked rate when it achieved at least 98% of it.
fn sustained(achieved: f64, asked: f64) -> bool {
    achieved >= SUSTAINED_SHARE * asked
}

fn sse(
    context: &TrialContext<'_>,
    server: &mut Server,
    path: &str,
    shape: (u32, u32),
    variant: &Variant,
) -> Result<Outcome, String> {
    let (load, server) = stream_load(context, server, path, shape, variant, context.agents)?;
    // All streams are open at the peak; memory per stream is the peak over idle, per stream.
    let kib_per_stream =
        (server.rss_peak_kib - server.rss_idle_kib).max(0.0) / f64::from(variant.connections);
    Ok(Outcome::Sse {
        load,
        server,
        kib_per_stream: Some(kib_per_stream),
    })
}

fn sse_relay(
    context: &TrialContext<'_>,
    server: &mut Server,
    path: &str,
    (config, interval_ms): (&RelayConfig, u32),
    variant: &Variant,
) -> Result<Outcome, String> {
    let upstream = context.upstream;
    upstream.set_stream(config.tokens, config.interval);
    upstream.clear();
    // S concurrent relayed streams: added latency per token under load.
    let shape = (config.tokens, interval_ms);
    let (load, stats) = stream_load(context, server, path, shape, variant, None)?;
    // One lone stream judges buffering from its arrival times, then sequential streams whose
    // clients leave early measure how fast the target aborts its upstream request.
    let mut relay =
        measure_relay(server.base_url(), upstream, config).map_err(|e| e.to_string())?;
    if let Some(under_load) = added_latency_from_load(&load) {
        relay.added_latency_us = under_load;
    }
    Ok(Outcome::SseRelay {
        load,
        server: stats,
        relay,
    })
}

/// The stream model against `path`: `(events, interval_ms)` per stream, sampled like every other
/// load, generated here or by `agents`.
fn stream_load(
    context: &TrialContext<'_>,
    server: &mut Server,
    path: &str,
    (events, interval_ms): (u32, u32),
    variant: &Variant,
    agents: Option<&Agents>,
) -> Result<(LoadResult, ServerStats), String> {
    let interval_ms = u64::from(interval_ms);
    // Each stream runs once and ends after its last event; the timeout (the longest wait for the
    // next event) is what stops a stuck server.
    let cell = CellLoad {
        url: format!("{}{path}", server.base_url()),
        connections: u64::from(variant.connections),
        pipeline: 1,
        rate: None,
        duration: None,
        warmup: Duration::ZERO,
        timeout: Some(Duration::from_millis(interval_ms * 5).max(Duration::from_secs(10))),
        stream: Some((u64::from(events), interval_ms)),
    };
    let idle = idle_rss_kib(server);
    // A stream run lasts until its last event: with agents, from their agreed start to the
    // streams' schedule (the events' interval times their count).
    let sampler = match agents {
        None => Sampler::start(server.resources(), SAMPLE_EVERY, Duration::ZERO),
        Some(agents) => Sampler::start_for(
            server.resources(),
            SAMPLE_EVERY,
            agents.start_in,
            Some(Duration::from_millis(u64::from(events) * interval_ms).max(SAMPLE_EVERY * 5)),
        ),
    };
    let load = cell
        .generate(context.client_cpus, agents, context.hdr_path)?
        .load;
    let stats = sampler.finish(idle, load.requests);
    Ok((load, stats))
}

fn idle_connections(
    server: &mut Server,
    path: &str,
    settle: Duration,
    variant: &Variant,
) -> Result<Outcome, String> {
    let before = rss_readings(server);
    let idle = mean(&before);
    let addr = server.base_url().trim_start_matches("http://").to_string();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
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
    let sampler = Sampler::start(server.resources(), SAMPLE_EVERY, settle);
    std::thread::sleep(settle + Duration::from_millis(500));
    let stats = sampler.finish(idle, 0);
    let mut while_held = rss_readings(server);
    if stats.samples > 0 {
        // The sampler's window counts too: its peak is one of its readings, its mean lies
        // between them.
        while_held.extend([stats.rss_peak_kib, stats.rss_mean_kib]);
    }
    drop(held);
    let rise_kib = stats.rss_mean_kib - idle;
    Ok(Outcome::IdleConnections {
        kib_per_connection: rise_kib.max(0.0) / wanted as f64,
        resolution_kib: Some(resolution_kib(&before, &while_held, rise_kib) / wanted as f64),
        server: stats,
    })
}

/// The smallest RSS rise the idle-connections figure can tell from noise, KiB (before dividing
/// by the connections): the spread of the readings before plus the spread of those while held,
/// at least one page (RSS moves in pages), and at least the drop when RSS fell while the
/// connections were held (a collection or a trim happened, so the rise was hidden).
fn resolution_kib(before: &[f64], held: &[f64], rise_kib: f64) -> f64 {
    let spread = |r: &[f64]| {
        let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = r.iter().copied().fold(f64::INFINITY, f64::min);
        (max - min).max(0.0)
    };
    (spread(before) + spread(held)).max(PAGE_KIB).max(-rise_kib)
}

fn cold_start(context: &TrialContext<'_>, starts: u32) -> Result<Outcome, String> {
    let mut starts_ms = Vec::with_capacity(starts as usize);
    for _ in 0..starts {
        let mut server = context
            .launcher
            .start(context.target, context.prepared, context.launch)
            .map_err(|e| e.to_string())?;
        starts_ms.push(server.cold_start().as_secs_f64() * 1000.0);
        server.stop();
    }
    Ok(Outcome::ColdStart { starts_ms })
}

/// RSS before load: the mean of a few readings, so one allocation spike does not count.
pub(crate) fn idle_rss_kib(server: &Server) -> f64 {
    mean(&rss_readings(server))
}

/// A few RSS readings 50 ms apart, KiB.
fn rss_readings(server: &Server) -> Vec<f64> {
    let source = server.resources();
    (0..RSS_READINGS)
        .map(|i| {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            source.read().rss_kib
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_resolution_is_the_noise_of_the_readings() {
        // Steady readings: one page is the least RSS can show.
        assert_eq!(resolution_kib(&[100.0; 5], &[140.0; 5], 40.0), PAGE_KIB);
        // Readings that wander: their spreads add.
        let before = [100.0, 180.0, 120.0];
        let held = [900.0, 1_000.0, 950.0];
        assert_eq!(resolution_kib(&before, &held, 830.0), 180.0);
        // RSS fell while the connections were held (a collection): the fall hid the rise.
        assert_eq!(
            resolution_kib(&[5_000.0; 3], &[2_000.0; 3], -3_000.0),
            3_000.0
        );
    }

    #[test]
    fn sustained_from_exactly_98_percent_of_the_rate() {
        for (asked, at_98) in [(10_000.0, 9_800.0), (2_000.0, 1_960.0), (700.0, 686.0)] {
            assert!(sustained(at_98, asked), "{at_98} of {asked}");
            assert!(sustained(asked, asked));
            assert!(!sustained(at_98 - 0.01, asked), "just below 98% of {asked}");
            // The largest value below 98% (positive doubles order like their bits).
            let next_down = f64::from_bits(at_98.to_bits() - 1);
            assert!(!sustained(next_down, asked), "{next_down} of {asked}");
        }
        assert!(!sustained(0.0, 10_000.0));
    }
}
