//! `rtbench history append` and `rtbench trend` through the binary: 21 nightly runs made from the
//! compare fixture (crates/rtbench-report/tests/compare/base) with ±2% run-to-run wobble, then a
//! last run where one target drops (exit 1), every target drops (a machine-wide shift: exit 0),
//! or nothing changes (exit 0); and the one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const RUNS: usize = 21;

fn base_run() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../rtbench-report/tests/compare/base/run.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trend-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rtbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtbench"))
        .args(args)
        .output()
        .expect("run rtbench")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `i` of the series: its own id and date, every rps scaled by a ±2% wobble, and by
/// `last_drop(target)` in the newest run.
fn write_run(dir: &Path, i: usize, last_drop: &dyn Fn(&str) -> f64) -> PathBuf {
    let mut run = base_run();
    run["run_id"] = format!("202611{:02}T021700Z-bench1", i + 1).into();
    run["started_at"] = format!("2026-11-{:02}T02:17:00Z", i + 1).into();
    for trial in run["trials"].as_array_mut().unwrap() {
        let target = trial["target"].as_str().unwrap().to_string();
        let wobble = 1.0 + 0.02 * ((i as f64) * 1.7 + target.len() as f64).sin();
        let drop = if i == RUNS - 1 {
            last_drop(&target)
        } else {
            1.0
        };
        let rps = &mut trial["load"]["rps"];
        *rps = (rps.as_f64().unwrap() * wobble * drop).into();
    }
    let run_dir = dir.join(format!("run{i:02}"));
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("run.json"), run.to_string()).unwrap();
    run_dir
}

/// Appends the 21 runs to `DIR/history.jsonl` through the binary and returns its path.
fn history(dir: &Path, last_drop: &dyn Fn(&str) -> f64) -> PathBuf {
    let history = dir.join("history.jsonl");
    for i in 0..RUNS {
        let run = write_run(dir, i, last_drop);
        let o = rtbench(&[
            "history",
            "append",
            run.to_str().unwrap(),
            history.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    history
}

#[test]
fn one_target_dropping_in_the_newest_run_exits_1_with_charts_and_json() {
    let dir = scratch("one-target");
    let history = history(&dir, &|t| if t == "axum" { 0.8 } else { 1.0 });
    let lines = std::fs::read_to_string(&history).unwrap();
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    for key in [
        "run_id",
        "date",
        "git_commit",
        "host",
        "launcher",
        "target",
        "scenario",
    ] {
        assert!(first[key].is_string(), "{key} missing: {first}");
    }
    assert!(first["trials"].as_array().is_some_and(|t| t.len() == 5));
    assert!(
        first["median"].is_number() && first["better"].is_string() && first["unit"].is_string()
    );

    let out = dir.join("trend");
    let o = rtbench(&[
        "trend",
        history.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    let newest = md.split("## Machine-wide").next().unwrap();
    assert!(
        newest.contains("| axum |") && !newest.contains("go-nethttp"),
        "{md}"
    );
    assert!(md.contains("| -19.4% |"), "{md}");

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trend.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), RUNS);
    let changed: Vec<&Value> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["changes"].as_array().unwrap().is_empty())
        .collect();
    assert!(!changed.is_empty());
    for s in changed {
        assert_eq!(
            (s["target"].as_str(), s["metric"].as_str()),
            (Some("axum"), Some("rps"))
        );
        assert_eq!(s["changes"][0]["run"], RUNS - 1);
        assert_eq!(s["changes"][0]["machine_wide"], false);
    }
    // One ring per change point: on the changed chart, none on a flat one.
    let svg = std::fs::read_to_string(out.join("json-rps.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("axum\n"), "{svg}");
    assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
    let flat = std::fs::read_to_string(out.join("json-p50.svg")).unwrap();
    assert_eq!(flat.matches("<circle").count(), 0);
}

#[test]
fn every_target_dropping_together_is_a_machine_wide_shift_and_exits_0() {
    let dir = scratch("machine-wide");
    let history = history(&dir, &|_| 0.78);
    let o = rtbench(&["trend", history.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("No target-specific regression starts at the newest run"),
        "{out}"
    );
    assert!(
        out.contains("| rps | regression | 2 of 2: axum, go-nethttp |"),
        "{out}"
    );
    assert!(out.contains("(machine-wide)"), "{out}");
}

#[test]
fn a_steady_history_has_no_change_point_and_exits_0() {
    let dir = scratch("steady");
    let history = history(&dir, &|_| 1.0);
    let o = rtbench(&["trend", history.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("No change point in any series."),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_input_is_one_line_naming_the_cause_and_exit_2() {
    let dir = scratch("errors");
    let run = write_run(&dir, 0, &|_| 1.0);
    let history = dir.join("history.jsonl");
    let (run, history) = (run.to_str().unwrap(), history.to_str().unwrap());
    assert!(rtbench(&["history", "append", run, history])
        .status
        .success());
    let o = rtbench(&["history", "append", run, history]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already in the history"), "{}", text(&o));

    std::fs::write(dir.join("bad.jsonl"), "{}\n").unwrap();
    let bad = dir.join("bad.jsonl");
    let o = rtbench(&["trend", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("bad.jsonl:1: not a history record"),
        "{}",
        text(&o)
    );
    assert_eq!(text(&o).lines().count(), 1, "{}", text(&o));

    let o = rtbench(&["trend", dir.join("none.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("none.jsonl: no such history file"),
        "{}",
        text(&o)
    );
}
