//! Regression tests of issue 14: servers that misbehave in the ways a first user's targets did.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use rtbench_load::{run_until, Ended, Hooks, LoadBuilder, Outcome, StopHandle, StreamOptions};

use super::server::{Reply, Server, HELLO};
use super::{run_alone, shared, timing};

/// Issue 14.5: connections used to be opened while the clock already ran, so a run whose
/// handshakes took longer than its duration measured nothing and said "Errors none". Here the
/// server's accept queue overflows and it starts accepting only after 1.2 s: the kernel's SYN
/// retransmission (at 1 s, then 3 s) decides when the last connections are established.
#[test]
fn issue14_5_connections_are_established_before_the_clock_starts() {
    let _t = timing();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1_200));
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        if stream.write_all(HELLO).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    // More connections than std's listen backlog (128) holds, so some wait for the server.
    let s = run_alone(
        LoadBuilder::new(&url)
            .connections(300)
            .threads(1)
            .timeout(Duration::from_secs(8))
            .duration(Duration::from_secs(1)),
    );
    assert_eq!(s.connections_established, 300, "{s:?}");
    assert!(s.connect_s >= 1.0, "connecting took {} s", s.connect_s);
    assert!(
        s.requests > 300,
        "{} requests in the measured second",
        s.requests
    );
    assert_eq!(s.errors.total, 0, "{:?}", s.errors);
    assert_eq!(s.duration_s, 1.0);
}

/// Issue 14.7: `200 text/plain "ok"` to a stream request was counted as a completed stream of 0
/// events, with no error.
#[test]
fn issue14_7_a_response_that_is_not_an_event_stream_is_a_content_type_error() {
    let _shared = shared();
    let server = Server::start(|_| {
        Reply::Bytes(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        )
    });
    let s = run_alone(
        LoadBuilder::new(&server.url("/sse"))
            .connections(10)
            .stream(StreamOptions::default()),
    );
    let st = s.stream.unwrap();
    assert_eq!((st.streams_completed, st.streams_failed), (0, 10), "{st:?}");
    assert_eq!(st.events_received, 0);
    assert_eq!(s.errors.content_type, 10, "{:?}", s.errors);
    assert_eq!(s.errors.total, 10);
    assert_eq!(
        s.error_reasons
            .get("a 2xx response to a stream request is not text/event-stream"),
        Some(&10),
        "{:?}",
        s.error_reasons
    );
    // The media type is matched as such: parameters and case do not matter.
    let server = Server::start(|_| {
        Reply::Bytes(b"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 9\r\n\r\ndata: x\n\n".to_vec())
    });
    let s = run_alone(
        LoadBuilder::new(&server.url("/sse"))
            .connections(3)
            .stream(StreamOptions::default()),
    );
    assert_eq!(s.stream.unwrap().streams_completed, 3);
    assert_eq!(s.errors.total, 0);
}

/// Issue 14.9: a counted run against a server that goes silent stopped with "Requests 100" and
/// nothing saying it ended early.
#[test]
fn issue14_9_a_counted_run_against_a_silent_server_ends_stalled() {
    let _shared = shared();
    let server = Server::start(|ctx| {
        if ctx.total <= 100 {
            Reply::Bytes(HELLO.to_vec())
        } else {
            Reply::Nothing
        }
    });
    let started = Instant::now();
    let s = run_alone(
        LoadBuilder::new(&server.url("/"))
            .connections(1)
            .timeout(Duration::from_millis(200))
            .requests(1_000),
    );
    assert_eq!(s.ended, Ended::Stalled);
    assert_eq!((s.requests, s.requests_asked), (100, Some(1_000)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Issue 14.12: more than 96 headers used to be a parse error without a reason. Hundreds parse;
/// past the limit the reason is named.
#[test]
fn issue14_12_many_headers_parse_and_the_limit_is_named() {
    let _shared = shared();
    let head = |n: usize| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
        for k in 0..n {
            r.extend_from_slice(format!("X-{k}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\nok");
        r
    };
    let server = Server::start(move |_| Reply::Bytes(head(300)));
    let s = run_alone(
        LoadBuilder::new(&server.url("/"))
            .connections(2)
            .requests(200),
    );
    assert_eq!(
        (s.requests, s.errors.total),
        (200, 0),
        "{:?}",
        s.error_reasons
    );
    assert_eq!(s.status_codes.get(&200), Some(&200));

    let server = Server::start(move |_| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n".to_vec();
        for _ in 0..9_000 {
            r.extend_from_slice(b"a:b\r\n");
        }
        r.extend_from_slice(b"\r\nok");
        Reply::Bytes(r)
    });
    let s = run_alone(
        LoadBuilder::new(&server.url("/"))
            .connections(1)
            .duration(Duration::from_millis(300)),
    );
    assert!(s.errors.parse > 0, "{:?}", s.errors);
    assert!(
        s.error_reasons
            .contains_key("response head has more than 8192 headers"),
        "{:?}",
        s.error_reasons
    );
}

/// Issue 14.6, engine side: a stopped run returns what it measured, marked interrupted.
#[test]
fn a_stopped_run_returns_what_it_measured() {
    let _shared = shared();
    let server = Server::hello();
    let config = LoadBuilder::new(&server.url("/"))
        .connections(2)
        .duration(Duration::from_secs(30))
        .build()
        .unwrap();
    let stop = StopHandle::new();
    let stopper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            stop.stop();
        })
    };
    let started = Instant::now();
    let outcome = run_until(&config, Hooks::default(), &stop).unwrap();
    stopper.join().unwrap();
    let s = outcome.summary;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(s.ended, Ended::Interrupted);
    assert!(
        s.requests > 0 && s.duration_s > 0.3 && s.duration_s < 3.0,
        "{s:?}"
    );
    assert!(s.rps > 0.0);
}

/// A writer that always fails, like /dev/full.
struct Full;

impl Write for Full {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("no space left on device"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue 14.10, engine side: an interval log that cannot be written does not discard the summary.
#[test]
fn issue14_10_a_failing_interval_log_keeps_the_summary() {
    let _shared = shared();
    let server = Server::hello();
    let config = LoadBuilder::new(&server.url("/"))
        .connections(2)
        .requests(500)
        .build()
        .unwrap();
    let mut full = Full;
    let hooks = Hooks {
        hlog: Some(&mut full),
        hgrm: None,
    };
    let Outcome {
        summary,
        output_errors,
        ..
    } = run_until(&config, hooks, &StopHandle::new()).unwrap();
    assert_eq!(summary.requests, 500);
    assert_eq!(output_errors.len(), 1);
    assert!(
        output_errors[0]
            .to_string()
            .starts_with("cannot write the interval log: "),
        "{}",
        output_errors[0]
    );
}

/// Issue 16.2: several CPUs give one worker each, pinned to its CPU (seen from /proc while the
/// run goes).
#[test]
fn several_cpus_get_one_pinned_worker_each() {
    let _t = timing();
    let cpus = rtbench_load::allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("one CPU here: nothing to check");
        return;
    }
    let server = Server::hello();
    let config = LoadBuilder::new(&server.url("/"))
        .connections(8)
        .cpus(cpus.clone())
        .duration(Duration::from_millis(800))
        .build()
        .unwrap();
    assert_eq!(config.threads(), cpus.len() as u64);
    let stop = StopHandle::new();
    let pinned = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.is_stopped() {
                for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                    let status = std::fs::read_to_string(task.path().join("status"));
                    let Ok(status) = status else { continue };
                    let list = status
                        .lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(str::trim);
                    if let Some(cpu) = list.and_then(|l| l.parse::<usize>().ok()) {
                        seen.insert((task.file_name(), cpu));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        });
        let outcome = run_until(&config, Hooks::default(), &StopHandle::new());
        stop.stop();
        let s = outcome.unwrap().summary;
        assert_eq!(
            (s.threads, s.cpus.clone()),
            (cpus.len() as u64, cpus.clone())
        );
        assert!(s.requests > 0);
        watcher.join().unwrap()
    });
    for cpu in &cpus {
        let workers = pinned.iter().filter(|(_, c)| c == cpu).count();
        assert_eq!(workers, 1, "CPU {cpu}: {pinned:?}");
    }
}
