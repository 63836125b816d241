//! What the README promises when `rtbench run` is stopped from outside: SIGINT, SIGTERM and SIGHUP
//! mid-load end it with 128 + the signal, keep every finished trial and leave no server running
//! (SIGINT then `--resume`: run.rs); a SIGKILLed run keeps its finished trials, and `--resume`
//! completes the rest without repeating any.
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use rtbench_results::TrialStatus;

use crate::util::{
    leaked_after_exit, read_run, rtbench, scratch_root, send_signal, serial, server_pids,
    test_suite, wait_for_trials,
};

/// Two 1-trial cells on one launch: once the first is on disk, the second's load is running.
const TWO_CELLS: &str = "name = \"test\"\ntrials = 1\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"json\"\nvariants = [\"c64\"]\nduration = \"3s\"\nwarmup = \"0s\"\n";

#[test]
fn sigint_sigterm_and_sighup_mid_load_keep_finished_trials_and_leave_no_server() {
    let _serial = serial();
    // node-http started through a shell that waits for it (no `exec`, and a command after it so
    // the shell cannot exec it on its own), as many start scripts do: node is the shell's child,
    // so the parent-death signal rtbench gives its direct child does not reach it and only the
    // kill of the whole process group, the cleanup under test, does.
    let root = scratch_root(TWO_CELLS, &[("node-http", "node-http")], |_, manifest| {
        let waited = manifest
            .replace("start = \"exec ", "start = \"")
            .replace("server.js\"", "server.js; exit $?\"");
        assert_ne!(waited, manifest, "the start command changed");
        waited
    });
    for (signal, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let dir = root.path().join(format!("run-{signal}"));
        let child = test_suite(root.path(), &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let finished = wait_for_trials(&dir, 1);
        // The json cell's 3 s load started right after plaintext's trial was written.
        std::thread::sleep(Duration::from_millis(800));
        assert!(
            !server_pids("node-http").is_empty(),
            "the server is running mid-load"
        );
        send_signal(child.id(), signal);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "128 + {signal}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted by signal {signal}")),
            "{stderr}"
        );
        let leaked = leaked_after_exit(&["node-http"]);
        assert!(
            leaked.is_empty(),
            "signal {signal}: left running: {leaked:?}"
        );
        let after = read_run(&dir);
        assert_eq!(
            after.trials, finished.trials,
            "signal {signal}: the finished trial is kept and nothing else recorded"
        );
        assert_eq!(after.trials[0].status, TrialStatus::Ok);
        assert!(after.finished_at.is_none());
    }
}

#[test]
fn a_sigkilled_run_keeps_finished_trials_and_resume_completes_the_rest_once() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"json\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n";
    let root = scratch_root(suite, &[("go-nethttp", "go-nethttp")], |_, m| m);
    let dir = root.path().join("run");
    let mut child = test_suite(root.path(), &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_trials(&dir, 1);
    send_signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();
    let killed = read_run(&dir);
    assert!(
        (1..4).contains(&killed.trials.len()),
        "cut short with finished trials on disk: {:?}",
        killed.trials
    );
    assert!(killed.trials.iter().all(|t| t.status == TrialStatus::Ok));
    // No handler runs on SIGKILL: the server's parent-death signal ends it.
    let leaked = leaked_after_exit(&["go-nethttp"]);
    assert!(leaked.is_empty(), "left running after SIGKILL: {leaked:?}");

    let resumed_run = rtbench()
        .args(["run", "--no-report", "--root"])
        .arg(root.path())
        .arg("--resume")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&resumed_run.stderr);
    assert!(resumed_run.status.success(), "{stderr}");
    let resumed = read_run(&dir);
    for trial in &killed.trials {
        assert!(resumed.trials.contains(trial), "kept as it was: {trial:?}");
    }
    let cells: BTreeSet<_> = resumed
        .trials
        .iter()
        .map(|t| (t.scenario.as_str(), t.trial))
        .collect();
    assert_eq!(
        (resumed.trials.len(), cells.len()),
        (4, 4),
        "2 scenarios × 2 trials, none twice: {:?}",
        resumed.trials
    );
    let measured_again = stderr.lines().filter(|l| l.starts_with("ok   ")).count();
    assert_eq!(
        measured_again,
        4 - killed.trials.len(),
        "only the missing trials are measured: {stderr}"
    );
    assert!(resumed.finished_at.is_some());
}
