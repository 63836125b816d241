//! `rtbench run` end to end against real targets: the quick suite on every target available here,
//! a target killed mid-scenario, and SIGINT followed by `--resume`.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rtbench_results::{TargetStatus, TrialStatus};

use crate::util::{processes_mentioning, read_run, repo, rtbench, serial};

/// A scratch root holding `scenarios/` (the shipped ones plus `suites/test.toml`) and copies of
/// the named targets; `edit` may rewrite a copied manifest.
fn scratch_root(
    suite: &str,
    targets: &[(&str, &str)],
    edit: impl Fn(&str, String) -> String,
) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let scenarios = root.path().join("scenarios/suites");
    std::fs::create_dir_all(&scenarios).unwrap();
    for entry in std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(
                entry.path(),
                root.path().join("scenarios").join(entry.file_name()),
            )
            .unwrap();
        }
    }
    std::fs::write(scenarios.join("test.toml"), suite).unwrap();
    for (source, name) in targets {
        let from = repo().join("targets").join(source);
        let to = root.path().join("targets").join(name);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap().flatten() {
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        let manifest = std::fs::read_to_string(to.join("target.toml")).unwrap();
        let manifest = manifest.replace(
            &format!("name = \"{source}\""),
            &format!("name = \"{name}\""),
        );
        std::fs::write(to.join("target.toml"), edit(name, manifest)).unwrap();
    }
    root
}

/// `rtbench run` of the scratch root's `test` suite into `out`.
fn test_suite(root: &Path, out: &Path) -> Command {
    let mut command = rtbench();
    command
        .args([
            "run",
            "--launcher",
            "native",
            "--suite",
            "test",
            "--quiet",
            "--no-report",
        ])
        .arg("--root")
        .arg(root)
        .arg("--out")
        .arg(out);
    command
}

#[test]
fn quick_suite_end_to_end_on_every_native_target() {
    let _serial = serial();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("run");
    let status = rtbench()
        .args([
            "run",
            "--launcher",
            "native",
            "--suite",
            "quick",
            "--quiet",
            "--no-report",
        ])
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
    assert!(
        measured.len() >= 5,
        "every target but node-uws runs here: {:?}",
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
    let csv_rows = csv::Reader::from_path(dir.join("summary.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(csv_rows, run.trials.len());
    assert!(
        processes_mentioning(&repo().join(".cache/targets").display().to_string()).is_empty(),
        "servers left running"
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
    assert!(processes_mentioning(&root.path().display().to_string()).is_empty());
}

#[test]
fn sigint_keeps_finished_trials_and_resume_completes_the_run() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n[[scenario]]\nname = \"json\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n";
    let root = scratch_root(suite, &[("go-nethttp", "go-nethttp")], |_, m| m);
    let dir = root.path().join("run");
    let mut child = test_suite(root.path(), &dir)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Generous: on a cold cache this includes building the target.
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if dir.join("run.json").is_file() && !read_run(&dir).trials.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill on a child we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    let interrupted = read_run(&dir);
    assert!(
        !interrupted.trials.is_empty(),
        "finished trials are on disk"
    );
    assert!(interrupted.trials.len() < 4, "the run was cut short");
    let cache = repo()
        .join(".cache/targets/go-nethttp")
        .display()
        .to_string();
    assert!(
        processes_mentioning(&cache).is_empty(),
        "no server survives SIGINT"
    );

    let status = rtbench()
        .args([
            "run",
            "--launcher",
            "native",
            "--quiet",
            "--no-report",
            "--root",
        ])
        .arg(root.path())
        .arg("--resume")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
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
    let row = text
        .lines()
        .find(|l| l.starts_with("| plaintext/c64 | go-nethttp | rps |"))
        .unwrap_or_else(|| panic!("no rps row:\n{text}"))
        .to_string();
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
        row.contains("no change") || row.contains("inconclusive"),
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
