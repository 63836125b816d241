use std::time::Duration;

use rtbench_harness::{
    added_latency, detect_buffering, measure_abort, measure_relay, relayed_stream, HarnessError,
    RelayConfig, UpstreamServer,
};

use crate::util::{dead_url, Flaw, TestTarget};

const INTERVAL: Duration = Duration::from_millis(25);

fn relay(flaw: Flaw) -> (UpstreamServer, TestTarget) {
    let upstream = UpstreamServer::start().unwrap();
    let target = TestTarget::start(flaw, Some(upstream.url()));
    (upstream, target)
}

#[test]
fn a_steady_relay_is_not_flagged() {
    let (upstream, target) = relay(Flaw::None);
    let stream = relayed_stream(&target.url(), &upstream, 30, INTERVAL).unwrap();
    assert_eq!(stream.arrivals.len(), 30);
    let (buffering, evidence) = detect_buffering(&stream.arrivals, INTERVAL);
    assert!(!buffering, "{evidence}");
    // Passed on at once: typically far below one interval (the median, so a busy machine's
    // scheduling hiccup does not decide).
    let median = added_latency(&stream.added_latency_us).p50;
    assert!(median < 10_000.0, "{median} µs");
}

#[test]
fn a_bursty_relay_is_flagged() {
    let (upstream, target) = relay(Flaw::BufferedRelay);
    let stream = relayed_stream(&target.url(), &upstream, 30, INTERVAL).unwrap();
    let (buffering, evidence) = detect_buffering(&stream.arrivals, INTERVAL);
    assert!(buffering, "{evidence}");
    assert!(evidence.contains("gaps under 6.2 ms"), "{evidence}");
}

#[test]
fn a_correct_relay_aborts_its_upstream_promptly() {
    let (upstream, target) = relay(Flaw::None);
    let config = RelayConfig {
        abort_streams: 3,
        abort_after_tokens: 3,
        interval: INTERVAL,
        ..RelayConfig::default()
    };
    let report = measure_abort(&target.url(), &upstream, &config).unwrap();
    assert_eq!(report.leaked, 0);
    assert_eq!(report.upstream_open_after, 0);
    assert_eq!(report.abort_ms.len(), 3);
    // The test relay notices at its second write after the client left: about two intervals.
    for ms in &report.abort_ms {
        assert!((0.0..500.0).contains(ms), "{report:?}");
    }
}

#[test]
fn a_relay_that_ignores_disconnects_is_leaked() {
    let (upstream, target) = relay(Flaw::RelayIgnoresDisconnect);
    let config = RelayConfig {
        abort_streams: 1,
        abort_after_tokens: 2,
        interval: INTERVAL,
        ..RelayConfig::default()
    };
    let started = std::time::Instant::now();
    let report = measure_abort(&target.url(), &upstream, &config).unwrap();
    assert_eq!(report.leaked, 1, "{report:?}");
    assert!(report.abort_ms.is_empty());
    assert_eq!(report.upstream_open_after, 1);
    // Leaked means not closed within the full 5 s.
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[test]
fn measure_relay_fills_the_relay_stats() {
    let (upstream, target) = relay(Flaw::None);
    let config = RelayConfig {
        tokens: 20,
        interval: INTERVAL,
        abort_streams: 2,
        abort_after_tokens: 2,
        ..RelayConfig::default()
    };
    let stats = measure_relay(&target.url(), &upstream, &config).unwrap();
    assert!(!stats.buffering, "{}", stats.buffering_evidence);
    assert!(stats.buffering_evidence.contains(" of 19 gaps under"));
    let lat = stats.added_latency_us;
    assert!(
        lat.p50 > 0.0 && lat.p50 <= lat.p99 && lat.p99 <= lat.max,
        "{lat:?}"
    );
    assert!(lat.p50 < 10_000.0, "{lat:?}");
    assert_eq!(stats.abort_streams, 2);
    assert_eq!(stats.leaked, 0);
    let (median, max) = (stats.abort_ms.unwrap(), stats.abort_ms_max.unwrap());
    assert!(median <= max && max < 500.0, "{stats:?}");
    assert_eq!(stats.upstream_open_after, 0);
}

#[test]
fn an_unreachable_target_is_an_error_naming_it() {
    let upstream = UpstreamServer::start().unwrap();
    let url = dead_url();
    let err = relayed_stream(&url, &upstream, 3, INTERVAL).unwrap_err();
    assert!(matches!(err, HarnessError::Probe { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&url) && message.contains("connect"),
        "{message}"
    );
}
