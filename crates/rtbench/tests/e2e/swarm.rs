//! Issue 16.4: `rtbench load --agents` on a real single-node Docker Swarm (the private daemon;
//! the test inits the swarm and leaves it), agents on the host network against a counting server
//! on 127.0.0.1. Functional checks only: no figure here is a performance measurement.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use crate::util::{rtbench, serial};

pub(crate) fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("these tests need the docker CLI and a daemon (DOCKER_HOST)")
}

pub(crate) fn swarm_state() -> String {
    let out = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert!(out.status.success(), "docker info: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A single-node swarm for the test, left when dropped (also on a failed assertion).
pub(crate) struct Swarm;

impl Swarm {
    pub(crate) fn init() -> Swarm {
        let out = docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        assert!(out.status.success(), "docker swarm init: {out:?}");
        Swarm
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        docker(&["swarm", "leave", "--force"]);
    }
}

/// No rtbench agent service or task container is left on this daemon.
pub(crate) fn assert_nothing_left() {
    let containers = docker(&["ps", "-a", "--format", "{{.Names}}"]);
    let left: Vec<String> = String::from_utf8_lossy(&containers.stdout)
        .lines()
        .filter(|n| n.starts_with("rtbench-agents-"))
        .map(String::from)
        .collect();
    assert!(left.is_empty(), "agent containers left: {left:?}");
    if swarm_state() == "active" {
        let services = docker(&["service", "ls", "--format", "{{.Name}}"]);
        let text = String::from_utf8_lossy(&services.stdout);
        assert!(
            !text.contains("rtbench-agents-"),
            "agent services left: {text}"
        );
    }
}

/// A keep-alive hello-world server counting the requests it answered.
fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let answered = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_nodelay(true);
            let count = count.clone();
            std::thread::spawn(move || {
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(reply).is_err() {
                            return;
                        }
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (addr, answered)
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The sum of the untagged (latency) histograms of an HdrHistogram interval log.
fn latency_sum(log: &[u8]) -> Histogram<u64> {
    let mut sum = Histogram::<u64>::new(3).unwrap();
    for entry in IntervalLogIterator::new(log) {
        let LogEntry::Interval(i) = entry.unwrap() else {
            continue;
        };
        if i.tag().is_some() {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(i.encoded_histogram())
            .unwrap();
        let h: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
        sum.add(&h).unwrap();
    }
    sum
}

pub(crate) fn agents_sum(dir: &Path, agents: u64) -> Histogram<u64> {
    let mut sum = Histogram::<u64>::new(3).unwrap();
    for j in 0..agents {
        let path = dir.join(format!("agent-{j}.hlog"));
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let output = rtbench_load::read_agent_output(&path.display().to_string(), &text).unwrap();
        assert_eq!(output.share.index, j);
        for i in output.intervals.iter().filter(|i| i.tag.is_none()) {
            sum.add(&i.histogram).unwrap();
        }
    }
    sum
}

/// Without a swarm: one line naming the cause. With `--swarm-init` against a port nobody listens
/// on: every agent fails with its reason, the run is incomplete (exit 1), and the swarm, the
/// service and the containers are gone afterwards.
#[test]
fn swarm_agents_without_a_swarm_and_failing_agents_say_why() {
    let _serial = serial();
    if swarm_state() == "active" {
        // Left by a killed earlier run of this test on the private daemon.
        docker(&["swarm", "leave", "--force"]);
    }
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/");
    let out = rtbench()
        .args(["load", &url, "--agents", "2", "-c", "2", "-d", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("in no swarm") && err.contains("--swarm-init"),
        "{err}"
    );

    let out = rtbench()
        .args(["load", &url, "--agents", "2", "-c", "2", "-d", "1s"])
        .args(["--swarm-init", "--agents-start-in", "3s"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for j in 0..2 {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("agent {j} failed: ")))
            .unwrap_or_else(|| panic!("no failure line for agent {j}: {err}"));
        assert!(line.contains(&closed.to_string()), "{line}");
    }
    assert!(err.contains("the run is incomplete"), "{err}");
    assert_eq!(swarm_state(), "inactive", "--swarm-init leaves the swarm");
    assert_nothing_left();
}

/// Three agents, closed and open: exact counts, exact histogram sums, the open rate kept, each
/// agent's client CPU and the start skew reported, nothing left.
#[test]
fn three_swarm_agents_merge_exactly_and_keep_the_open_rate() {
    let _serial = serial();
    if swarm_state() == "active" {
        docker(&["swarm", "leave", "--force"]);
    }
    let swarm = Swarm::init();
    let (addr, served) = counting_server();
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let agents_dir = dir.path().join("agents");
    let merged_log = dir.path().join("merged.hlog");

    let out = rtbench()
        .args([
            "load", &url, "--agents", "3", "-c", "6", "-n", "3000", "--json",
        ])
        .args(["--agents-start-in", "4s", "--cpus", "0"])
        .arg("--agents-output")
        .arg(&agents_dir)
        .arg("--hlog")
        .arg(&merged_log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["summary"]["requests"], 3000, "{v}");
    assert_eq!(
        served.load(Ordering::SeqCst),
        3000,
        "the server's own count"
    );
    let agents = v["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3);
    assert!(
        agents
            .iter()
            .all(|a| a["client_cpu_s"].as_f64().unwrap() > 0.0),
        "{v}"
    );
    assert!(v["start_skew_ms"].as_f64().is_some(), "{v}");
    let sum = agents_sum(&agents_dir, 3);
    assert_eq!(sum.len(), 3000);
    let merged = latency_sum(&std::fs::read(&merged_log).unwrap());
    assert_eq!(merged, sum, "the merged histogram is the agents' sum");
    assert_nothing_left();

    // Open model: 3 agents at 3,000 req/s in total.
    let before = served.load(Ordering::SeqCst);
    let out = rtbench()
        .args([
            "load", &url, "--agents", "3", "-c", "12", "-R", "3000", "-d", "3s",
        ])
        .args(["--agents-start-in", "4s", "--json", "--cpus", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let achieved = v["summary"]["achieved_rate"].as_f64().unwrap();
    assert!(
        (achieved - 3000.0).abs() <= 30.0,
        "achieved {achieved} req/s of 3000: {v}"
    );
    assert_eq!(v["summary"]["target_rate"].as_f64(), Some(3000.0), "{v}");
    assert!(served.load(Ordering::SeqCst) - before >= v["summary"]["requests"].as_u64().unwrap());
    drop(swarm);
    assert_nothing_left();
}

/// The stream model through 3 agents against rtbench's own SSE server (the relay checks'
/// upstream, counting what it sent): the merged event count is what the server sent, the stream
/// counters add up, and `rtbench merge` of the agents' outputs gives the same figures.
#[test]
fn stream_loads_through_three_agents_merge_every_event_the_server_sent() {
    let _serial = serial();
    if swarm_state() == "active" {
        docker(&["swarm", "leave", "--force"]);
    }
    let swarm = Swarm::init();
    let upstream = rtbench_harness::UpstreamServer::start().unwrap();
    upstream.set_stream(20, std::time::Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let agents_dir = dir.path().join("agents");
    let out = rtbench()
        .args([
            "load",
            &upstream.url(),
            "--agents",
            "3",
            "--sse",
            "--streams",
            "7",
        ])
        .args([
            "--events",
            "20",
            "--interval-ms",
            "5",
            "--json",
            "--cpus",
            "0",
        ])
        .args(["--agents-start-in", "3s", "--agents-output"])
        .arg(&agents_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent: u64 = upstream
        .connections()
        .iter()
        .map(|c| u64::from(c.tokens_sent))
        .sum();
    assert_eq!(sent, 7 * 20, "the server sent every stream's events");
    let stream = &v["summary"]["stream"];
    assert_eq!(stream["events_received"], sent, "{v}");
    assert_eq!(stream["events_expected"], 140, "{v}");
    assert_eq!(stream["streams_completed"], 7, "{v}");
    assert_eq!(stream["streams_failed"], 0, "{v}");
    assert!(
        stream["first_event_us"]["p50"].as_f64().unwrap() > 0.0,
        "{v}"
    );
    assert!(
        stream["gap_us"]["p50"].as_f64().unwrap() >= 1_000.0,
        "5 ms gaps: {v}"
    );
    let agents = v["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "{v}");
    // Connections split 3 + 2 + 2: each agent read its streams' events.
    let events_of = |j: u64| {
        let path = agents_dir.join(format!("agent-{j}.hlog"));
        let output =
            rtbench_load::read_agent_output("agent", &std::fs::read(path).unwrap()).unwrap();
        output.summary.stream.unwrap().events_received
    };
    assert_eq!((events_of(0), events_of(1), events_of(2)), (60, 40, 40));
    let files: Vec<std::path::PathBuf> = (0..3)
        .map(|j| agents_dir.join(format!("agent-{j}.hlog")))
        .collect();
    let merged = rtbench()
        .arg("merge")
        .args(&files)
        .arg("--json")
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", stderr(&merged));
    let m: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(
        m["summary"]["stream"], v["summary"]["stream"],
        "merge agrees"
    );
    drop(swarm);
    assert_nothing_left();
}
