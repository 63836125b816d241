//! `rtbench verify` against the real targets, and what an interrupted launch leaves behind.
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{processes_mentioning, repo, rtbench, serial};

#[test]
fn every_target_available_here_passes_verification() {
    let _serial = serial();
    let output = rtbench()
        .args(["verify", "--launcher", "native"])
        .current_dir(repo())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "verify failed:\n{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let targets = std::fs::read_dir(repo().join("targets"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("target.toml").is_file())
        .count();
    let passed: std::collections::BTreeSet<&str> = stdout
        .lines()
        .filter(|l| l.contains(" PASS "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // The runtimes every machine that runs these tests has (scripts/test sets them up): these
    // must be verified, so a run where every target says UNAVAILABLE cannot pass.
    for must_pass in ["axum", "go-nethttp", "node-http"] {
        assert!(
            passed.contains(must_pass),
            "{must_pass} must pass here:\n{stdout}"
        );
    }
    let unavailable = stdout.lines().filter(|l| l.contains("UNAVAILABLE")).count();
    assert_eq!(
        passed.len() + unavailable,
        targets,
        "every target passes or says why it cannot run:\n{stdout}"
    );
    for check in [
        "plaintext",
        "json",
        "not-found",
        "bad-request",
        "sse",
        "sse-relay",
    ] {
        let passes = stdout
            .lines()
            .filter(|l| l.split_whitespace().nth(2) == Some(check))
            .count();
        assert!(
            passes >= passed.len(),
            "{check} was checked for every target"
        );
    }
}

#[test]
fn sigint_during_a_launch_leaves_no_server_behind() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("scenarios")).unwrap();
    let target = root.path().join("targets/slow");
    std::fs::create_dir_all(&target).unwrap();
    let marker = format!("rtbench-verify-sigint-{}", std::process::id());
    std::fs::write(
        target.join("target.toml"),
        format!(
            "name = \"slow\"\ndisplay_name = \"Slow\"\nruntime = \"sh\"\nruntime_version = \"1\"\n\
             language = \"sh\"\nframework = \"none\"\nsurvey_row = \"Go net/http\"\nport = 9\n\
             [native]\nstart = \"sh -c 'sleep 301; :' {marker} & exec sh -c 'sleep 300; :' {marker}\"\nversion = \"echo 1\"\n"
        ),
    )
    .unwrap();
    let mut child = rtbench()
        .args([
            "verify",
            "--launcher",
            "native",
            "--ready-timeout",
            "60",
            "--root",
        ])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_mentioning(&marker).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_mentioning(&marker).len(),
        2,
        "the server and its child started"
    );
    // SAFETY: kill on a child we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        processes_mentioning(&marker).len(),
        0,
        "nothing survives Ctrl-C"
    );
}

/// Issue 14.3: a provisioning command (a `cargo build`, an `npm ci`) runs in its own process group,
/// and SIGINT during it kills the whole group, children that ignore SIGTERM and SIGINT included.
#[test]
fn sigint_during_provisioning_leaves_no_provisioning_process_behind() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("scenarios")).unwrap();
    let target = root.path().join("targets/slowbuild");
    std::fs::create_dir_all(&target).unwrap();
    let marker = format!("rtbench-provision-sigint-{}", std::process::id());
    std::fs::write(
        target.join("target.toml"),
        format!(
            "name = \"slowbuild\"\ndisplay_name = \"Slow build\"\nruntime = \"sh\"\nruntime_version = \"1\"\n\
             language = \"sh\"\nframework = \"none\"\nsurvey_row = \"Go net/http\"\nport = 9\n\
             [native]\nprovision = [\"sh -c 'trap \\\"\\\" TERM INT; while :; do sleep 1; done' {marker}-build & wait\"]\n\
             start = \"exec sleep 300\"\nversion = \"echo 1\"\n"
        ),
    )
    .unwrap();
    let mut child = rtbench()
        .args(["verify", "--launcher", "native", "--root"])
        .arg(root.path())
        .env("RTBENCH_CACHE", root.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let build = format!("{marker}-build");
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_mentioning(&build).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !processes_mentioning(&build).is_empty(),
        "the provisioning command started"
    );
    // SAFETY: kill on a child we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_mentioning(&marker),
        Vec::<String>::new(),
        "nothing of the provisioning survives Ctrl-C"
    );
}

/// Containers by default, natively when no Docker daemon answers: said in one line, with the
/// daemons asked (issue 12.2). `DOCKER_HOST` and the private socket point at sockets nobody serves,
/// and the root has no `.ci/dockerd.sh`, so rtbench cannot start its own daemon either.
#[test]
fn no_docker_daemon_means_native_said_in_one_line() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("scenarios")).unwrap();
    std::fs::create_dir_all(root.path().join("targets")).unwrap();
    let dead = root.path().join("dead.sock");
    let output = rtbench()
        .args(["verify", "--root"])
        .arg(root.path())
        .env("DOCKER_HOST", format!("unix://{}", dead.display()))
        .env("RTBENCH_DOCKER_SOCK", root.path().join("private.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("launcher: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("launcher: native ("), "{stderr}");
    assert!(lines[0].contains(&dead.display().to_string()), "{stderr}");
    assert!(lines[0].contains("private.sock"), "{stderr}");
}

/// Regression: `verify --server-cpus 1` panicked inside clap (an `Option<Vec<_>>` flag is read as
/// repeated values); a CPU list is one value and the run gets as far as naming the bad target.
#[test]
fn verify_takes_a_cpu_list() {
    let output = rtbench()
        .args([
            "verify",
            "no-such-target",
            "--server-cpus",
            "1",
            "--launcher",
            "native",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown target 'no-such-target'"),
        "{stderr}"
    );
}
