//! The relay scenario's measurements: does a target pass tokens on as they come (or buffer them),
//! and how fast does it abandon its upstream request when its client leaves?
//!
//! The target was launched with an [`UpstreamServer`]'s URL as `UPSTREAM_URL`; these functions set
//! the upstream's stream shape, open `/sse-relay` streams and read the upstream's own records of
//! when each of its requests ended.

use std::time::{Duration, Instant, SystemTime};

use rtbench_load::parse_stamp;
use rtbench_results::{median, quantile, LoadResult, Percentiles, RelayStats};

use crate::probe::{self, EventStream, Exchange, ProbeError};
use crate::{HarnessError, UpstreamServer};

const PATH: &str = "/sse-relay";
/// A gap below interval / this is "far below" the upstream interval: tokens arrived together.
const SHORT_GAP_DIVISOR: u32 = 4;
/// A gap above interval × this (in tenths) is a long one: tokens were held back.
const LONG_GAP_TENTHS: u32 = 15;
/// Buffering needs at least this many short gaps, and this fraction of all gaps (in percent).
const MIN_SHORT_GAPS: usize = 2;
// A fifth would do on a quiet machine; a busy one makes isolated (long, short) pairs of jitter.
const MIN_SHORT_GAP_PERCENT: usize = 30;

/// What the relay scenario does against one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Tokens in the stream used for buffering and added latency.
    pub tokens: u32,
    /// The upstream's interval between tokens.
    pub interval: Duration,
    /// Streams opened one after another for abort propagation.
    pub abort_streams: u32,
    /// Tokens each of those streams reads before its client leaves.
    pub abort_after_tokens: u32,
    /// An upstream request still open this long after its client left is leaked.
    pub leak_after: Duration,
}

impl Default for RelayConfig {
    /// 50 tokens every 20 ms; 10 abort streams leaving after 5 tokens; leaked after 5 s.
    fn default() -> Self {
        RelayConfig {
            tokens: 50,
            interval: Duration::from_millis(20),
            abort_streams: 10,
            abort_after_tokens: 5,
            leak_after: Duration::from_secs(5),
        }
    }
}

/// One relayed stream as the client saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelayedStream {
    /// Arrival of each token, from the moment the request was sent.
    pub arrivals: Vec<Duration>,
    /// Client receive − upstream send, per token, µs (same host clock).
    pub added_latency_us: Vec<f64>,
}

/// Abort propagation over several streams.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AbortReport {
    /// Client close → upstream request closed, ms, for each stream that was not leaked.
    pub abort_ms: Vec<f64>,
    /// Streams whose upstream request was still open [`RelayConfig::leak_after`] after the client left.
    pub leaked: u64,
    /// Upstream requests of this measurement still open after every client left and every wait
    /// ended.
    pub upstream_open_after: u64,
}

/// Runs the whole relay scenario: a short warm-up stream, one stream of `tokens` tokens
/// (buffering, added latency), then the abort streams. The upstream's stream shape is left as the
/// last step set it.
pub fn measure_relay(
    base_url: &str,
    upstream: &UpstreamServer,
    config: &RelayConfig,
) -> Result<RelayStats, HarnessError> {
    warm_up(base_url, upstream)?;
    let stream = relayed_stream(base_url, upstream, config.tokens, config.interval)?;
    let (buffering, buffering_evidence) = detect_buffering(&stream.arrivals, config.interval);
    let abort = measure_abort(base_url, upstream, config)?;
    Ok(RelayStats {
        added_latency_us: added_latency(&stream.added_latency_us),
        buffering,
        buffering_evidence,
        abort_ms: median(&abort.abort_ms),
        abort_ms_max: abort.abort_ms.iter().copied().reduce(f64::max),
        abort_streams: u64::from(config.abort_streams),
        leaked: abort.leaked,
        upstream_open_after: abort.upstream_open_after,
    })
}

/// Reads one whole relayed stream of `tokens` tokens, one every `interval` upstream.
pub fn relayed_stream(
    base_url: &str,
    upstream: &UpstreamServer,
    tokens: u32,
    interval: Duration,
) -> Result<RelayedStream, HarnessError> {
    let addr = probe::target_addr(base_url).map_err(|message| probe_error(base_url, message))?;
    upstream.set_stream(tokens, interval);
    let deadline = Instant::now() + Duration::from_secs(5) + interval * tokens;
    let mut events = open_relay(base_url, addr, deadline)?;
    let sent_at = events.exchange.sent_at;
    let mut out = RelayedStream::default();
    for k in 1..=tokens {
        let event = events
            .next(deadline)
            .map_err(|e| probe_error(base_url, format!("GET {PATH}: token {k}: {e}")))?
            .ok_or_else(|| {
                let message = format!("GET {PATH}: ended after {} of {tokens} tokens", k - 1);
                probe_error(base_url, message)
            })?;
        let (seq, sent_ns) = parse_stamp(&event.data).ok_or_else(|| {
            let message = format!("GET {PATH}: token {k} has no seq/sent_ns: {:?}", event.data);
            probe_error(base_url, message)
        })?;
        if seq != u64::from(k) {
            let message = format!("GET {PATH}: token {k} has seq {seq} (out of order)");
            return Err(probe_error(base_url, message));
        }
        out.arrivals.push(event.at - sent_at);
        out.added_latency_us
            .push(event.wall_ns.saturating_sub(sent_ns) as f64 / 1e3);
    }
    Ok(out)
}

/// Relays one short stream to its end, so that a runtime's first upstream request (lazy loading,
/// JIT, connection setup) does not pass for buffering in the stream measured next.
pub(crate) fn warm_up(base_url: &str, upstream: &UpstreamServer) -> Result<(), HarnessError> {
    relayed_stream(base_url, upstream, 3, Duration::ZERO).map(drop)
}

/// Whether tokens arrived in bursts, from their arrival times (since the request was sent) and
/// the upstream interval, with the gaps that show it.
///
/// A relay that passes tokens on shows gaps near the interval. One that buffers shows gaps far
/// below it (tokens delivered together) and long ones (tokens held back), counting the wait for
/// the first token, which the upstream sends at once. Flagged when at least two gaps, and at least
/// 30% of them, are under a quarter of the interval, and some wait exceeds 1.5 intervals.
pub fn detect_buffering(arrivals: &[Duration], interval: Duration) -> (bool, String) {
    if arrivals.len() < 3 || interval.is_zero() {
        return (
            false,
            format!(
                "not judged: {} tokens at an interval of {} ms",
                arrivals.len(),
                interval.as_millis()
            ),
        );
    }
    let gaps: Vec<Duration> = arrivals
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    let short_below = interval / SHORT_GAP_DIVISOR;
    let long_above = interval * LONG_GAP_TENTHS / 10;
    let short = gaps.iter().filter(|&&g| g < short_below).count();
    let long = gaps.iter().filter(|&&g| g > long_above).count();
    let first_late = arrivals[0] > long_above;
    let buffering = short >= MIN_SHORT_GAPS
        && short * 100 >= gaps.len() * MIN_SHORT_GAP_PERCENT
        && (long > 0 || first_late);
    let mut sorted = gaps.clone();
    sorted.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let evidence = format!(
        "{short} of {} gaps under {:.1} ms and {long} over {:.1} ms at an upstream interval of \
         {:.1} ms (gaps min {:.1} / median {:.1} / max {:.1} ms; first token after {:.1} ms)",
        gaps.len(),
        ms(short_below),
        ms(long_above),
        ms(interval),
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1]),
        ms(arrivals[0]),
    );
    (buffering, evidence)
}

/// Opens [`RelayConfig::abort_streams`] streams one after another; each client leaves after
/// [`RelayConfig::abort_after_tokens`] tokens, and the upstream's record says when the target
/// closed the matching upstream request.
///
/// A target that leaks makes each of its streams wait the whole [`RelayConfig::leak_after`].
pub fn measure_abort(
    base_url: &str,
    upstream: &UpstreamServer,
    config: &RelayConfig,
) -> Result<AbortReport, HarnessError> {
    let addr = probe::target_addr(base_url).map_err(|message| probe_error(base_url, message))?;
    // Long enough that only the target's abort can end an upstream request during the wait.
    let tokens = config.abort_after_tokens.saturating_add(100_000);
    upstream.set_stream(tokens, config.interval);
    let first_id = upstream.next_id();
    let mut report = AbortReport::default();
    for _ in 0..config.abort_streams {
        let from_id = upstream.next_id();
        let deadline =
            Instant::now() + Duration::from_secs(5) + config.interval * config.abort_after_tokens;
        let mut events = open_relay(base_url, addr, deadline)?;
        for k in 1..=config.abort_after_tokens {
            match events.next(deadline) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let message = format!("GET {PATH}: ended after {} tokens", k - 1);
                    return Err(probe_error(base_url, message));
                }
                Err(e) => {
                    let message = format!("GET {PATH}: token {k}: {e}");
                    return Err(probe_error(base_url, message));
                }
            }
        }
        let Some(conn) = upstream.wait_opened(from_id, Duration::from_secs(1)) else {
            let message = format!("GET {PATH}: tokens arrived but the upstream saw no request");
            return Err(probe_error(base_url, message));
        };
        drop(events);
        let left_at = SystemTime::now();
        match upstream.wait_closed(conn.id, config.leak_after) {
            Some(c) => {
                let after = c
                    .closed
                    .and_then(|t| t.duration_since(left_at).ok())
                    .unwrap_or_default();
                report.abort_ms.push(after.as_secs_f64() * 1e3);
            }
            None => report.leaked += 1,
        }
    }
    report.upstream_open_after = upstream
        .connections()
        .iter()
        .filter(|c| c.id >= first_id && c.closed.is_none())
        .count() as u64;
    Ok(report)
}

/// Added latency per token from per-token samples (client receive − upstream send, µs).
pub fn added_latency(samples_us: &[f64]) -> Percentiles {
    let finite: Vec<f64> = samples_us
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    let at = |q: f64| quantile(&finite, q).unwrap_or(0.0);
    Percentiles {
        p50: at(0.50),
        p75: at(0.75),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        p9999: at(0.9999),
        max: at(1.0),
        mean: if finite.is_empty() {
            0.0
        } else {
            finite.iter().sum::<f64>() / finite.len() as f64
        },
    }
}

/// Added latency per token from a stream run against `/sse-relay`: the relay forwards the
/// upstream's `sent_ns`, so the event latency is exactly receive − upstream send. `None` when the
/// result is not of a stream run.
pub fn added_latency_from_load(load: &LoadResult) -> Option<Percentiles> {
    load.stream.as_ref().map(|s| s.event_latency_us)
}

fn open_relay(
    base_url: &str,
    addr: std::net::SocketAddr,
    deadline: Instant,
) -> Result<EventStream, HarnessError> {
    let x = Exchange::open(addr, PATH, deadline)
        .map_err(|e: ProbeError| probe_error(base_url, format!("GET {PATH}: {e}")))?;
    if x.head.status != 200 {
        let message = format!("GET {PATH}: status {} (want 200)", x.head.status);
        return Err(probe_error(base_url, message));
    }
    Ok(x.events())
}

fn probe_error(base_url: &str, message: String) -> HarnessError {
    HarnessError::Probe {
        url: base_url.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn steady_stream_is_not_buffering() {
        let arrivals: Vec<u64> = (0..20).map(|k| 1 + k * 20).collect();
        let (flag, evidence) = detect_buffering(&ms(&arrivals), Duration::from_millis(20));
        assert!(!flag, "{evidence}");
        assert!(evidence.starts_with("0 of 19 gaps"), "{evidence}");
    }

    #[test]
    fn jitter_is_not_buffering() {
        // One late token makes one long and one shorter gap, not a burst.
        let arrivals = ms(&[1, 21, 41, 75, 82, 101, 121, 141, 161, 181]);
        assert!(!detect_buffering(&arrivals, Duration::from_millis(20)).0);
    }

    #[test]
    fn bursts_are_buffering() {
        // Pairs of tokens flushed together: gaps alternate ~0 and 2 intervals.
        let arrivals = ms(&[21, 21, 61, 61, 101, 101, 141, 141, 181, 181]);
        let (flag, evidence) = detect_buffering(&arrivals, Duration::from_millis(20));
        assert!(flag, "{evidence}");
    }

    #[test]
    fn everything_at_the_end_is_buffering() {
        let arrivals = ms(&[400, 400, 400, 401, 401, 401]);
        assert!(detect_buffering(&arrivals, Duration::from_millis(20)).0);
    }

    #[test]
    fn percentiles_interpolate_like_the_report() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = added_latency(&samples);
        assert_eq!((p.p50, p.max), (50.5, 100.0));
        assert!((p.p90 - 90.1).abs() < 1e-9 && (p.p99 - 99.01).abs() < 1e-9);
        assert_eq!(p.mean, 50.5);
        assert_eq!(median(&[]), None);
    }
}
