//! The native launcher never leaves a process behind: not when the target crashes at start, not
//! when it never becomes ready, not when it is stopped while children of its own run.
use std::path::Path;
use std::time::{Duration, Instant};

use rtbench_harness::{HarnessError, LaunchOptions, NativeServer, Target};

fn target(dir: &Path, start: &str) -> Target {
    let folder = dir.join("fake");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("target.toml"),
        format!(
            "name = \"fake\"\ndisplay_name = \"Fake\"\nruntime = \"sh\"\nruntime_version = \"1\"\n\
             language = \"sh\"\nframework = \"none\"\nsurvey_row = \"Go net/http\"\nport = 9\n\
             [native]\nstart = '''{start}'''\nversion = \"echo 1\"\n"
        ),
    )
    .unwrap();
    Target::load(&folder).unwrap()
}

fn options(dir: &Path, ready_timeout: Duration) -> LaunchOptions {
    LaunchOptions {
        server_cpus: vec![0],
        workers: 1,
        upstream_url: None,
        log: dir.join("server.log"),
        ready_timeout,
        cache_root: dir.join("cache"),
    }
}

/// Process ids whose command line contains `marker`.
fn running(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(marker) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// A string only this test's processes carry on their command line.
fn marker() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("rtbench-launcher-test-{}-{n}", std::process::id())
}

#[test]
fn a_target_that_crashes_at_start_fails_fast_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker();
    let t = target(dir.path(), &format!("echo boom-{m} >&2; sleep 0.2; exit 3"));
    let started = Instant::now();
    let err = NativeServer::start(&t, &options(dir.path(), Duration::from_secs(30))).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no waiting for a dead server"
    );
    let text = err.to_string();
    assert!(matches!(err, HarnessError::Start { .. }), "{text}");
    assert!(text.contains("exited"), "{text}");
    assert!(
        text.contains(&format!("boom-{m}")),
        "the log tail is shown: {text}"
    );
    assert!(running(&m).is_empty());
}

#[test]
fn a_target_that_never_becomes_ready_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker();
    // A child of the server that ignores SIGTERM: only the group SIGKILL ends it. Neither shell
    // execs, so the marker (each shell's `$0`) stays on their command lines for as long as they
    // live; a leaked child is seen, not hidden by an `exec` that rewrote its command line.
    let t = target(
        dir.path(),
        &format!(
            "sh -c 'trap \"\" TERM; while :; do sleep 1; done' {m}-child & \
             exec sh -c 'while :; do sleep 1; done' {m}-server"
        ),
    );
    // Watch from another thread while `start` waits: both processes must have been seen running,
    // or the emptiness checked below proves nothing.
    let done = std::sync::atomic::AtomicBool::new(false);
    let seen = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut most = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(running(&m).len());
                std::thread::sleep(Duration::from_millis(20));
            }
            most
        });
        let err =
            NativeServer::start(&t, &options(dir.path(), Duration::from_secs(1))).unwrap_err();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(err.to_string().contains("not ready after"), "{err}");
        watcher.join().unwrap()
    });
    // (The shell that starts them carries the marker too, for the moment before its `exec`.)
    assert!(
        seen >= 2,
        "the server and its TERM-ignoring child both ran: {seen}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !running(&m).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(running(&m).is_empty(), "left behind: {:?}", running(&m));
}

#[test]
fn stop_ends_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker();
    let script = dir.path().join("serve.py");
    std::fs::write(
        &script,
        "import http.server, os, subprocess, sys\n\
         subprocess.Popen(['sh', '-c', 'sleep 300', sys.argv[1]])\n\
         class H(http.server.BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'ok')\n\
         http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n",
    )
    .unwrap();
    let t = target(
        dir.path(),
        &format!("exec python3 {} {m}", script.display()),
    );
    let mut server =
        NativeServer::start(&t, &options(dir.path(), Duration::from_secs(30))).unwrap();
    assert!(server.cold_start() > Duration::ZERO);
    assert_eq!(running(&m).len(), 2, "python and its sleep child run");
    server.stop();
    assert!(running(&m).is_empty(), "left behind: {:?}", running(&m));
}
