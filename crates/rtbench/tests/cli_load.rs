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
    // What was run, and the status-code breakdown.
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["rtbench_version"], env!("CARGO_PKG_VERSION"));
    assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["run"]["url"], url.as_str());
    assert_eq!(v["run"]["method"], "GET");
    assert_eq!(v["run"]["connections"], 4);
    assert_eq!(v["run"]["model"], "closed");
    assert_eq!(v["run"]["requests"], 2000);
    assert!(v["run"]["threads"].as_u64().unwrap() >= 1);
    assert_eq!(v["status_codes"]["200"], 2000);
    assert_eq!(v["ended"], "completed");
    assert_eq!(v["connections_established"], 4);
}

#[test]
fn output_file_holds_the_json_report_and_r_is_the_rate() {
    let addr = hello_server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    let url = format!("http://{addr}/");
    let out = rtbench(&[
        &url,
        "-c",
        "2",
        "-R",
        "200",
        "-d",
        "1s",
        "--cpus",
        "0",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Status       200: "), "{text}");
    assert!(text.contains("pinned to CPU 0"), "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).expect("one JSON object");
    assert_eq!(v["run"]["rate"], 200.0);
    assert_eq!(v["run"]["duration_s"], 1.0);
    assert_eq!(v["run"]["cpus"], serde_json::json!([0]));
    assert_eq!(v["model"], "open");
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
        " on epoll, ",
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

/// `--io uring` runs the load on io_uring and says so in the header and the JSON.
#[test]
fn io_uring_is_chosen_with_io_and_named_in_the_summary() {
    let url = format!("http://{}/", hello_server());
    let out = rtbench(&[&url, "--io", "uring", "-c", "4", "-n", "500", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["io"].as_str(), v["requests"].as_u64()),
        (Some("uring"), Some(500))
    );
    let out = rtbench(&[&url, "--io", "uring", "-c", "4", "-n", "500", "--cpus", "0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pinned to CPU 0 on io_uring, 500 requests"),
        "{text}"
    );
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
    // --help documents a refused connection as a target failure: exit 1, not bad input (2).
    assert_eq!(rtbench(&[&url, "-d", "1s"]).status.code(), Some(1));
    assert_eq!(rtbench(&["not a url"]).status.code(), Some(2));
    let help = String::from_utf8(rtbench(&["--help"]).stdout).unwrap();
    assert!(help.contains("connection refused or unreachable"), "{help}");
    assert!(help.contains("129, 130, 143"), "{help}");
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
    fails_with(
        &[&url, "--sse", "--io", "uring"],
        "--io uring does not apply to SSE streams",
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

/// A server that answers the first `answered` requests, then reads and never answers; with the
/// count of requests it received.
fn silent_after(answered: u64) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let received = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let count = count.clone();
            std::thread::spawn(move || {
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= answered {
                            continue;
                        }
                        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, received)
}

/// Issue 14.9: `-n 1000` against a server silent after 100 said "Requests 100" and exited 0.
#[test]
fn issue14_9_a_count_not_reached_says_why_and_exits_1() {
    let (addr, _) = silent_after(100);
    let url = format!("http://{addr}/");
    let out = rtbench(&[&url, "-c", "1", "-n", "1000", "--timeout", "200ms"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("ENDED EARLY"), "{text}");
    assert!(text.contains("100 of 1,000 requests answered"), "{text}");
    assert!(
        stderr(&out).contains("the run ended early: 100 of 1000"),
        "{}",
        stderr(&out)
    );
}

/// Issue 14.10: a failing --hlog write (/dev/full) discarded the finished summary.
#[test]
fn issue14_10_a_failing_hlog_write_prints_the_summary_then_the_error() {
    let addr = hello_server();
    let url = format!("http://{addr}/");
    let out = rtbench(&[&url, "-c", "2", "-n", "500", "--hlog", "/dev/full"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("Requests     500 in"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot write the"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
}

/// Issue 14.7 as the user saw it: `--sse` against `200 text/plain "ok"`.
#[test]
fn issue14_7_sse_against_plain_text_fails_with_content_type_errors() {
    let addr = hello_server();
    let url = format!("http://{addr}/sse");
    let out = rtbench(&[&url, "--sse", "--streams", "4"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("0 completed, 4 failed"), "{text}");
    assert!(text.contains("content-type 4"), "{text}");
    assert!(text.contains("is not text/event-stream"), "{text}");
    assert!(stderr(&out).contains("4 content-type"), "{}", stderr(&out));
}

/// Issue 14.6: SIGINT, SIGTERM and SIGHUP exited with nothing printed and empty files. Now the
/// summary of what was measured is printed (marked interrupted), the files are written, and the
/// exit status is 128 + the signal.
#[test]
fn issue14_6_signals_print_the_summary_write_the_files_and_exit_128_plus_n() {
    let addr = hello_server();
    let url = format!("http://{addr}/");
    for (signal, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (hlog, hgrm) = (dir.path().join("run.hlog"), dir.path().join("run.hgrm"));
        let child = Command::new(env!("CARGO_BIN_EXE_rtbench"))
            .args(["load", &url, "-c", "2", "-d", "1m", "--hlog"])
            .arg(&hlog)
            .arg("--hgrm")
            .arg(&hgrm)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2_300));
        // SAFETY: plain kill(2) of the child this test spawned.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let started = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}"
        );
        assert_eq!(
            out.status.code(),
            Some(128 + signal),
            "{name}: {}",
            stderr(&out)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&format!("INTERRUPTED  by {name} after 2.")),
            "{name}: {text}"
        );
        assert!(text.contains("req/s"), "{text}");
        let hlog = std::fs::read_to_string(&hlog).unwrap();
        let intervals = hlog
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()));
        assert!(intervals.count() >= 2, "{name}: {hlog}");
        let hgrm = std::fs::read_to_string(&hgrm).unwrap();
        assert!(hgrm.contains("Total count"), "{name}: {hgrm}");
        assert!(
            !hgrm.contains("Total count    =            0]"),
            "{name}: {hgrm}"
        );
    }
}

/// Issue 16.1: `--ceiling` loads a built-in server on other CPUs and reports the client's cost.
#[test]
fn ceiling_reports_the_clients_cost_per_request() {
    let out = rtbench(&["--ceiling", "-c", "8", "-d", "500ms", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["summary"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(v["summary"]["errors"]["total"], 0);
    let (cpu, max) = (
        v["cpu_us_per_request"].as_f64().unwrap(),
        v["max_rps_per_core"].as_f64().unwrap(),
    );
    assert!(cpu > 0.0 && (max * cpu / 1e6 - 1.0).abs() < 1e-9, "{v}");
    let client = v["client_cpus"].as_array().unwrap();
    let server = v["server_cpus"].as_array().unwrap();
    assert_eq!(client.len(), 1);
    if rtbench_load_cpus() > 1 {
        assert!(server.iter().all(|c| !client.contains(c)), "{v}");
        assert_eq!(v["shared_cpu"], false);
    }
    assert_eq!(v["summary"]["io"], "epoll", "the default backend");
    let out = rtbench(&[
        "--ceiling",
        "--io",
        "uring",
        "-c",
        "8",
        "-d",
        "500ms",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["io"], "uring", "{v}");
    assert!(v["summary"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(v["summary"]["errors"]["total"], 0);
    let out = rtbench(&["--ceiling", "--io", "uring", "-d", "300ms"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(1 io_uring worker)"), "{text}");
    let out = rtbench(&["--ceiling", "http://127.0.0.1:1/"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the URL conflicts with --ceiling"
    );
}

fn rtbench_load_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Issue 16.3 building blocks: three agents split one counted run, start at an agreed instant,
/// and `rtbench merge` adds them up exactly; a missing agent makes the merge incomplete.
#[test]
fn three_agents_split_a_run_and_merge_exactly() {
    let (addr, served) = counting_server();
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        + 1_500_000_000;
    let files: Vec<std::path::PathBuf> = (0..3)
        .map(|j| dir.path().join(format!("agent{j}.hlog")))
        .collect();
    let children: Vec<std::process::Child> = (0..3)
        .map(|j| {
            Command::new(env!("CARGO_BIN_EXE_rtbench"))
                .args(["load", &url, "-c", "7", "-n", "3001", "--cpus", "0"])
                .args([
                    "--agent",
                    &format!("{j}/3"),
                    "--start-at",
                    &start.to_string(),
                ])
                .arg("--agent-output")
                .arg(&files[j])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let merged = Command::new(env!("CARGO_BIN_EXE_rtbench"))
        .arg("merge")
        .args(&files)
        .arg("--json")
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", stderr(&merged));
    let v: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(v["complete"], true);
    assert_eq!(v["summary"]["requests"], 3001);
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        3001,
        "the server's own count"
    );
    assert_eq!(v["summary"]["connections"], 7);
    assert_eq!(v["summary"]["status_codes"]["200"], 3001);
    let agents = v["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3);
    assert!(agents
        .iter()
        .all(|a| a["client_cpu_s"].as_f64().unwrap() > 0.0));
    let requests: u64 = agents.iter().map(|a| a["requests"].as_u64().unwrap()).sum();
    assert_eq!(requests, 3001);
    // Processes started together, clocks at the agreed instant: well under a second apart.
    assert!(v["start_skew_ms"].as_f64().unwrap() < 500.0, "{v}");
    let out = Command::new(env!("CARGO_BIN_EXE_rtbench"))
        .arg("merge")
        .args(&files[..2])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2 of 3 agents (INCOMPLETE)"), "{text}");
}

/// A hello-world server counting the requests it answered.
fn counting_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    silent_after(u64::MAX)
}
