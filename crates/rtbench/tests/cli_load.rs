//! `rtbench load` as a user runs it: the built binary against servers on 127.0.0.1 ephemeral ports.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};

/// A keep-alive hello-world server, one thread per connection, running until the test ends.
fn hello_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 13\r\n\r\nHello, World!";
                        if stream.write_all(reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

fn rtbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtbench"))
        .arg("load")
        .args(args)
        .output()
        .expect("run rtbench")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Bad input gives exactly one line `rtbench: error: ...` and a non-zero exit, never a panic.
fn fails_with(args: &[&str], message: &str) {
    let out = rtbench(args);
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("rtbench: error: "), "{args:?}: {err}");
    assert!(
        err.contains(message),
        "{args:?}: expected '{message}' in {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn json_prints_exactly_one_summary_object() {
    let addr = hello_server();
    let url = format!("http://{addr}/plaintext");
    let out = rtbench(&[&url, "-c", "4", "-n", "2000", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON value");
    assert_eq!(v["requests"], 2000);
    assert_eq!(v["model"], "closed");
    assert_eq!(v["errors"]["total"], 0);
    for key in ["connect", "read", "write", "timeout", "status", "parse"] {
        assert_eq!(v["errors"][key], 0, "errors.{key}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(
            v["latency_us"][key].as_f64().unwrap() > 0.0,
            "latency_us.{key}"
        );
    }
    for key in ["duration_s", "rps", "client_cpu_s"] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}");
    }
    assert!(v["client_bound"].is_boolean());
    assert!(
        v.get("target_rate").is_none(),
        "closed runs have no target rate"
    );
}

#[test]
fn open_runs_report_rates_and_uncorrected_latency() {
    let addr = hello_server();
    let url = format!("http://{addr}/");
    let out = rtbench(&[&url, "-c", "4", "--rate", "500", "-d", "1s", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"], "open");
    assert_eq!(v["target_rate"], 500.0);
    let achieved = v["achieved_rate"].as_f64().unwrap();
    assert!((400.0..=510.0).contains(&achieved), "{achieved}");
    assert!(v["latency_uncorrected_us"]["p99"].as_f64().unwrap() > 0.0);
}

#[test]
fn human_summary_shows_rates_latency_errors_and_cpu() {
    let addr = hello_server();
    let dir = std::env::temp_dir().join(format!("rtbench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (hgrm, hlog) = (dir.join("run.hgrm"), dir.join("run.hlog"));
    let url = format!("http://{addr}/");
    let out = rtbench(&[
        &url,
        "-c",
        "2",
        "-d",
        "1200ms",
        "--pipeline",
        "2",
        "-H",
        "X-Test: 1",
        "--hgrm",
        hgrm.to_str().unwrap(),
        "--hlog",
        hlog.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "req/s",
        "Transfer",
        "p50",
        "p99.99",
        "max",
        "Errors       none",
        "Client CPU",
        "pipelined ×2",
    ] {
        assert!(text.contains(needle), "'{needle}' missing in:\n{text}");
    }
    let hgrm = std::fs::read_to_string(&hgrm).unwrap();
    assert!(hgrm.contains("Value     Percentile TotalCount 1/(1-Percentile)"));
    let hlog = std::fs::read_to_string(&hlog).unwrap();
    assert!(hlog.contains("\"StartTimestamp\""));
    assert!(
        hlog.lines()
            .filter(|l| l.starts_with("0.000,1.000,"))
            .count()
            == 1,
        "{hlog}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_connection_exits_non_zero_with_the_reason() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    fails_with(
        &[&url, "-d", "1s"],
        &format!("connection refused by 127.0.0.1:{port}"),
    );
}

#[test]
fn bad_input_is_one_clear_line() {
    let addr = hello_server();
    let url = format!("http://{addr}/");
    fails_with(&["not a url"], "invalid URL 'not a url'");
    fails_with(&["https://127.0.0.1/"], "https is not supported");
    fails_with(
        &["http://no-such-host.invalid/"],
        "cannot resolve host 'no-such-host.invalid'",
    );
    fails_with(&[&url, "-c", "0"], "--connections must be > 0");
    fails_with(&[&url, "-c", "-5"], "--connections must be > 0 (got -5)");
    fails_with(&[&url, "-n", "0"], "--requests must be > 0");
    fails_with(&[&url, "--rate", "-1"], "--rate must be > 0");
    fails_with(&[&url, "--pipeline", "0"], "--pipeline must be > 0");
    fails_with(
        &[&url, "-d", "-3s"],
        "invalid duration '-3s' for --duration",
    );
    fails_with(&[&url, "-d", "0s"], "--duration must be > 0");
    fails_with(
        &[&url, "--timeout", "soon"],
        "invalid duration 'soon' for --timeout",
    );
    fails_with(&[&url, "-H", "no colon"], "invalid header 'no colon'");
    fails_with(&[&url, "--cpus", "x"], "--cpus 'x' is not a CPU list");
    fails_with(
        &[&url, "--events", "5"],
        "--events applies to SSE streams only",
    );
}

/// A contract-shaped /sse: `events` events one `interval_ms` apart, then the response ends.
fn sse_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let (mut buf, mut head) = ([0u8; 4096], Vec::new());
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(n @ 1..) => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let query = |key: &str| -> u64 {
                    let pat = format!("{key}=");
                    head.split(['?', '&', ' '])
                        .find_map(|p| p.strip_prefix(&pat)?.parse().ok())
                        .unwrap_or(10)
                };
                let (events, interval) = (query("events"), query("interval_ms"));
                let mut body = Vec::new();
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
                for k in 1..=events {
                    if k > 1 {
                        std::thread::sleep(std::time::Duration::from_millis(interval));
                    }
                    let ns = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos();
                    body.clear();
                    body.extend_from_slice(
                        format!("id: {k}\ndata: {{\"seq\":{k},\"sent_ns\":{ns}}}\n\n").as_bytes(),
                    );
                    let chunk =
                        [format!("{:x}\r\n", body.len()).as_bytes(), &body, b"\r\n"].concat();
                    if stream.write_all(&chunk).is_err() {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            });
        }
    });
    addr
}

#[test]
fn sse_streams_report_events_and_stream_figures() {
    let addr = sse_server();
    let url = format!("http://{addr}/sse");
    let out = rtbench(&[
        &url,
        "--sse",
        "--streams",
        "20",
        "--events",
        "5",
        "--interval-ms",
        "5",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"], "stream");
    assert_eq!(v["stream"]["streams_completed"], 20);
    assert_eq!(v["stream"]["events_received"], 100);
    assert_eq!(v["stream"]["events_expected"], 100);
    assert!(v["stream"]["event_latency_us"]["p99"].as_f64().unwrap() > 0.0);

    let out = rtbench(&[
        &url,
        "--sse",
        "--streams",
        "5",
        "--events",
        "50",
        "--abort-after",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("5 opened, 5 completed, 0 failed"), "{text}");
    assert!(text.contains("Events       15 of 15 expected"), "{text}");
    for row in ["connect", "1st event", "gap", "latency"] {
        assert!(text.contains(row), "{row} missing in {text}");
    }
}

#[test]
fn too_few_file_descriptors_is_a_clear_error() {
    let addr = hello_server();
    let script = format!(
        "ulimit -n 100 && exec '{}' load http://{addr}/ -c 200 -d 1s",
        env!("CARGO_BIN_EXE_rtbench")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert_eq!(
        err.trim(),
        "rtbench: error: 200 connections need about 264 file descriptors but the limit is 100 \
         (raise it with `ulimit -n`)"
    );
}
