//! `rtbench run` end to end against real targets: the quick suite on a representative subset of
//! the targets (a compiled server, Go, Node and Python: `.ci/run` runs every target's quick suite
//! from containers, so this one stays CI-sized), a target killed mid-scenario, and SIGINT followed
//! by `--resume`.
use std::path::Path;
use std::process::Stdio;

use rtbench_results::{Outcome, Run, TargetStatus, TrialStatus};

use crate::util::{
    leaked_servers, read_run, repo, rtbench, scratch_root, send_signal, serial, test_suite,
    wait_for_trials,
};

/// The quick suite's targets here: one of each kind of runtime. Every one must be measured.
const QUICK_TARGETS: [&str; 4] = ["axum", "go-nethttp", "node-http", "fastapi"];

#[test]
fn quick_suite_end_to_end_on_representative_native_targets() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("run");
    let status = rtbench()
        .args(["run", "--launcher", "native", "--suite", "quick", "--quiet"])
        .arg("--targets")
        .arg(QUICK_TARGETS.join(","))
        .arg("--out")
        .arg(&dir)
        .current_dir(repo())
        .status()
        .unwrap();
    let run = read_run(&dir);
    let measured: Vec<_> = run
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Ok)
        .collect();
    for target in &run.targets {
        assert_ne!(
            target.status,
            TargetStatus::Failed,
            "{} failed: {:?}",
            target.name,
            target.reason
        );
        if target.status == TargetStatus::Unavailable {
            assert!(
                target.reason.as_deref().is_some_and(|r| !r.is_empty()),
                "{target:?}"
            );
        }
    }
    assert!(status.success(), "rtbench run exited {status}");
    assert_eq!(
        measured.len(),
        QUICK_TARGETS.len(),
        "each of them runs here: {:?}",
        run.targets
    );
    for target in &measured {
        let trials: Vec<_> = run
            .trials
            .iter()
            .filter(|t| t.target == target.name)
            .collect();
        for scenario in &run.suite.scenarios {
            assert!(
                trials.iter().any(|t| &t.scenario == scenario),
                "{} has no {scenario} trial",
                target.name
            );
        }
        for trial in trials {
            assert_eq!(trial.status, TrialStatus::Ok, "{trial:?}");
            if let Some(load) = trial.load() {
                assert!(load.rps > 0.0, "{trial:?}");
                let l = load.latency_us;
                assert!(
                    l.p50 <= l.p99 && l.p99 <= l.max,
                    "{} {}: {l:?}",
                    trial.target,
                    trial.scenario
                );
            }
            if let Some(server) = trial.server() {
                assert!(
                    server.rss_mean_kib > 1024.0 || server.rss_idle_kib > 1024.0,
                    "{trial:?}"
                );
            }
        }
    }
    summary_csv_matches_the_catalogue(&dir, &run);
    headroom_checked(&run);
    // The report of a real run: rendered at the end (no --no-report here), naming every target.
    let html = std::fs::read_to_string(dir.join("report/report.html")).expect("report.html");
    let markdown = std::fs::read_to_string(dir.join("report/report.md")).expect("report.md");
    for target in &measured {
        assert!(
            html.contains(&target.name) && markdown.contains(&target.name),
            "the report names {}",
            target.name
        );
    }
    let leaked = leaked_servers(&QUICK_TARGETS);
    assert!(leaked.is_empty(), "servers left running: {leaked:?}");
}

/// The run's client ceiling is recorded for its own placement, and every request/response cell
/// has its headroom in (0, 2): above 0 because the cell completed requests, below 2 because no
/// server outruns the client's own ceiling twice over (noise of a shared machine allowed). Its
/// client-bound flag follows the one rule with that headroom. Stream cells have none: their work
/// is events, which the ceiling does not count.
fn headroom_checked(run: &Run) {
    let ceiling = run
        .environment
        .client_ceiling
        .as_ref()
        .expect("the run measured the client's ceiling");
    assert!(
        ceiling.max_rps_per_core > 0.0 && ceiling.rps > 0.0,
        "{ceiling:?}"
    );
    let placement = &run.environment.placement;
    assert_eq!(
        (&ceiling.client_cpus, &ceiling.server_cpus),
        (&placement.client_cpus, &placement.server_cpus)
    );
    let mut cells = 0;
    for trial in &run.trials {
        let at = format!("{} {}/{}", trial.target, trial.scenario, trial.variant);
        match &trial.outcome {
            Some(Outcome::Http { load, .. } | Outcome::Rate { load, .. }) => {
                cells += 1;
                let h = load
                    .client_headroom
                    .unwrap_or_else(|| panic!("{at}: no headroom"));
                assert!(h > 0.0 && h < 2.0, "{at}: headroom {h}");
                assert_eq!(
                    load.client_bound,
                    rtbench_load::client_bound(load.client_cpu_fraction, Some(h)),
                    "{at}: {load:?}"
                );
            }
            Some(Outcome::Sse { load, .. } | Outcome::SseRelay { load, .. }) => {
                assert_eq!(load.client_headroom, None, "{at}");
            }
            _ => {}
        }
    }
    assert!(cells > 0, "no request/response cell in {:?}", run.suite);
}

#[test]
fn a_run_measures_the_client_ceiling_once_and_gives_every_cell_its_headroom() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 1\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"rate-10k\"\nduration = \"1s\"\nwarmup = \"0s\"\n";
    let root = scratch_root(suite, &[("go-nethttp", "go-nethttp")], |_, m| m);
    let dir = root.path().join("run");
    let output = test_suite(root.path(), &dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run = read_run(&dir);
    headroom_checked(&run);
    assert_eq!(run.trials.len(), 2, "{:?}", run.trials);
    let reason = run.environment.placement.reason.as_deref().unwrap_or("");
    assert!(reason.contains("CPU"), "the placement's reason: {reason:?}");
    let lines = |prefix: &str| stderr.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(lines("client ceiling: "), 1, "once, in one line: {stderr}");
    assert_eq!(lines("placement: "), 1, "{stderr}");
}

/// summary.csv: the catalogue's header, one row per trial, and each row's run id and metric
/// cells equal to run.json's figures as the catalogue formats them.
fn summary_csv_matches_the_catalogue(dir: &Path, run: &rtbench_results::Run) {
    let mut reader = csv::Reader::from_path(dir.join("summary.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, rtbench_results::summary_header());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), run.trials.len());
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, trial) in rows.iter().zip(&run.trials) {
        assert_eq!(&row[column("run_id")], run.run_id);
        assert_eq!(&row[column("target")], trial.target);
        assert_eq!(&row[column("scenario")], trial.scenario);
        for metric in rtbench_results::Metric::all() {
            let cell = &row[column(metric.column())];
            match metric.value(trial) {
                Some(v) => {
                    let parsed: f64 = cell
                        .parse()
                        .unwrap_or_else(|_| panic!("{}: '{cell}' is no number", metric.column()));
                    assert!(
                        (parsed - v).abs() <= v.abs() * 1e-3 + 1e-3,
                        "{} {} {}: csv {parsed}, run.json {v}",
                        trial.target,
                        trial.scenario,
                        metric.column()
                    );
                }
                None => assert!(cell.is_empty(), "{}: '{cell}'", metric.column()),
            }
        }
    }
    assert!(
        header.iter().any(|h| h.starts_with("client_cpu")),
        "client CPU columns: {header:?}"
    );
}

#[test]
fn a_target_killed_mid_scenario_is_recorded_and_the_run_goes_on() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 1\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"10s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"json\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n";
    let root = scratch_root(
        suite,
        &[("go-nethttp", "go-crashy"), ("go-nethttp", "go-nethttp")],
        |name, manifest| {
            if name == "go-crashy" {
                // The server kills itself 7 s after start: verification passes, plaintext does not.
                manifest.replace(
                    "start = \"exec ",
                    "start = \"(sleep 7; kill -KILL $$) & exec ",
                )
            } else {
                manifest
            }
        },
    );
    let dir = root.path().join("run");
    let status = test_suite(root.path(), &dir).status().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a failure makes the exit code say so"
    );
    let run = read_run(&dir);
    let record = run.targets.iter().find(|t| t.name == "go-crashy").unwrap();
    assert_eq!(
        record.status,
        TargetStatus::Ok,
        "verification passed: {record:?}"
    );
    let crashed = run
        .trials
        .iter()
        .find(|t| t.target == "go-crashy" && t.scenario == "plaintext")
        .expect("the crashed trial is recorded");
    assert_eq!(crashed.status, TrialStatus::Failed);
    assert!(
        crashed.reason.as_deref().unwrap_or("").contains("exited"),
        "{crashed:?}"
    );
    let healthy: Vec<_> = run
        .trials
        .iter()
        .filter(|t| t.target == "go-nethttp")
        .collect();
    assert_eq!(healthy.len(), 2, "the other target ran every scenario");
    assert!(
        healthy.iter().all(|t| t.status == TrialStatus::Ok),
        "{healthy:?}"
    );
    let leaked = leaked_servers(&["go-crashy", "go-nethttp"]);
    assert!(leaked.is_empty(), "servers left running: {leaked:?}");
}

/// The contract checks run on a process of their own: every trial is measured on a process they
/// never touched (round 1 after verification in the same process ran slower and scattered).
#[test]
fn no_trial_runs_on_the_process_the_checks_ran_on() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"500ms\"\nwarmup = \"0s\"\n";
    let root = scratch_root(suite, &[("go-nethttp", "go-nethttp")], |_, m| m);
    let dir = root.path().join("run");
    let output = test_suite(root.path(), &dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Each launch prints "go-nethttp pid N listening on …" into the target's log.
    let log = std::fs::read_to_string(dir.join("logs/go-nethttp.log")).unwrap();
    let pids: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" listening on "))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(
        pids.len(),
        3,
        "one launch for the checks, one per trial: {log}"
    );
    assert!(
        pids[0] != pids[1] && pids[1] != pids[2],
        "each launch its own process: {pids:?}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    let verified = lines
        .iter()
        .position(|l| l.contains("verifying the contract"))
        .expect("the checks ran");
    let relaunched = lines
        .iter()
        .position(|l| l.contains("relaunching for the trials"))
        .expect("a fresh process for the trials");
    let first_trial = lines
        .iter()
        .position(|l| l.contains("plaintext/c64 trial 1"))
        .expect("trial 1 ran");
    assert!(
        verified < relaunched && relaunched < first_trial,
        "{stderr}"
    );
}

#[test]
fn sigint_keeps_finished_trials_and_resume_completes_the_run() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"json\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n";
    // Two targets in the root, one chosen: a resume must measure only the chosen one.
    let root = scratch_root(
        suite,
        &[("go-nethttp", "go-nethttp"), ("go-nethttp", "go-other")],
        |_, m| m,
    );
    let dir = root.path().join("run");
    let mut child = test_suite(root.path(), &dir)
        .args(["--targets", "go-nethttp"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_trials(&dir, 1);
    send_signal(child.id(), libc::SIGINT);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    let interrupted = read_run(&dir);
    assert!(
        !interrupted.trials.is_empty(),
        "finished trials are on disk"
    );
    assert!(interrupted.trials.len() < 4, "the run was cut short");
    let leaked = leaked_servers(&["go-nethttp"]);
    assert!(leaked.is_empty(), "no server survives SIGINT: {leaked:?}");
    assert_eq!(interrupted.chosen_targets, ["go-nethttp"]);

    let resume = |flags: &[&str]| {
        rtbench()
            .args(["run", "--no-report", "--root"])
            .arg(root.path())
            .arg("--resume")
            .arg(&dir)
            .args(flags)
            .output()
            .unwrap()
    };
    for (flags, refusal) in [
        (&["--targets", "axum"][..], "--targets axum differs"),
        (&["--suite", "quick"][..], "--suite quick differs"),
        (&["--launcher", "docker"][..], "--launcher docker differs"),
        (&["--server-cpus", "0"][..], "--server-cpus CPUs 0 differs"),
    ] {
        let refused = resume(flags);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(refusal) && stderr.lines().count() == 1,
            "one line naming the flag: {stderr}"
        );
        assert_eq!(
            read_run(&dir),
            interrupted,
            "a refused resume writes nothing"
        );
    }

    // Flags that agree are accepted; the launcher and placement come from run.json.
    let resumed_run = resume(&["--targets", "go-nethttp", "--suite", "test"]);
    let stderr = String::from_utf8_lossy(&resumed_run.stderr);
    assert!(resumed_run.status.success(), "{stderr}");
    assert!(
        stderr.contains("ok   go-nethttp json/c64 trial 2: "),
        "without a terminal, one plain line per step: {stderr}"
    );
    let resumed = read_run(&dir);
    assert_eq!(
        resumed.trials.len(),
        4,
        "2 scenarios × 2 trials, none twice"
    );
    for trial in &interrupted.trials {
        assert!(
            resumed.trials.contains(trial),
            "finished trials kept as they were"
        );
    }
    assert!(resumed.finished_at.is_some());
    assert!(interrupted.environment.client_ceiling.is_some());
    assert_eq!(
        resumed.environment.client_ceiling, interrupted.environment.client_ceiling,
        "a resumed run keeps the ceiling it measured at its start"
    );

    // Interrupted while provisioning: run.json holds the choice and nothing else yet.
    let early = root.path().join("early");
    std::fs::create_dir_all(&early).unwrap();
    let mut nothing_done = interrupted.clone();
    nothing_done.targets.clear();
    nothing_done.trials.clear();
    std::fs::write(
        early.join("run.json"),
        serde_json::to_vec(&nothing_done).unwrap(),
    )
    .unwrap();
    let status = rtbench()
        .args(["run", "--no-report", "--root"])
        .arg(root.path())
        .arg("--resume")
        .arg(&early)
        .status()
        .unwrap();
    assert!(status.success());
    let completed = read_run(&early);
    let measured: Vec<_> = completed.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(measured, ["go-nethttp"], "only the chosen target");
    assert_eq!(completed.trials.len(), 4);
}

/// `rtbench compare a b`: its exit code and the rps row of its markdown.
fn compare_rps_row(root: &Path, a: &Path, b: &Path) -> (Option<i32>, String) {
    let markdown = root.join("compare.md");
    let output = rtbench()
        .arg("compare")
        .args([a, b])
        .arg("--markdown")
        .arg(&markdown)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&markdown).unwrap_or_default();
    // The row, prefixed with the heading of the section it sits in (inconclusive cells have a
    // section of their own, and their rows carry the trials estimate instead of a verdict word).
    let mut heading = "";
    let mut row = None;
    for line in text.lines() {
        if line.starts_with('#') {
            heading = line;
        } else if line.starts_with("| plaintext/c64 | go-nethttp | rps |") {
            row = Some(format!("{heading} {line}"));
            break;
        }
    }
    let row = row.unwrap_or_else(|| panic!("no rps row:\n{text}"));
    (output.status.code(), row)
}

// Real runs through compare, with outcomes that do not depend on the machine's noise (two separate
// real runs can differ by 20% when the host shifts, which `bench/aa-false-alarms.sh` measures):
// a 3-trial run against itself takes the gated path and must not say "regression"; two 1-trial runs
// (the quick suite's shape) must be listed as "insufficient trials" and never gated.
#[test]
fn real_runs_compare_clean() {
    let _serial = serial();
    let suite = |trials: u32| {
        format!("name = \"test\"\ntrials = {trials}\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"500ms\"\n")
    };
    let root = scratch_root(&suite(3), &[("go-nethttp", "go-nethttp")], |_, m| m);
    let gated = root.path().join("gated");
    assert!(test_suite(root.path(), &gated).status().unwrap().success());
    let (code, row) = compare_rps_row(root.path(), &gated, &gated);
    assert_eq!(code, Some(0), "{row}");
    // Gated, so judged: "no change", or "inconclusive" when this machine's trial-to-trial noise
    // makes the interval reach past the gate; never a regression, never ungated.
    assert!(
        row.contains("no change") || row.contains("### Inconclusive"),
        "3 trials a side are gated: {row}"
    );

    std::fs::write(root.path().join("scenarios/suites/test.toml"), suite(1)).unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for dir in [&a, &b] {
        assert!(test_suite(root.path(), dir).status().unwrap().success());
    }
    let (code, row) = compare_rps_row(root.path(), &a, &b);
    assert_eq!(code, Some(0), "{row}");
    assert!(
        row.contains("insufficient"),
        "1 trial a side is never gated: {row}"
    );
}
