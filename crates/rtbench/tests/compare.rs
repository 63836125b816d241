//! `rtbench compare` through the binary: exit codes, files written, one-line errors naming the file.
//! Fixtures: crates/rtbench-report/tests/compare/ (see make_fixtures.py there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rtbench-report/tests/compare")
        .join(name)
}

fn rtbench(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtbench"))
        .arg("compare")
        .args(args)
        .output()
        .expect("run rtbench")
}

fn compare(base: &str, current: &str, extra: &[&str]) -> Output {
    let (b, c) = (fixture(base), fixture(current));
    let mut args = vec![b.as_os_str(), c.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    rtbench(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory unique to one test, removed and recreated.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compare-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rps_drop_of_20_percent_exits_1() {
    let dir = scratch("drop20");
    let md = dir.join("summary.md");
    let json = dir.join("cmp.json");
    let o = compare(
        "base",
        "drop20",
        &[
            "--markdown",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let row = out
        .lines()
        .find(|l| l.starts_with("plaintext/c64") && l.contains("axum"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("rps") && row.ends_with("REGRESSION"), "{row}");
    assert!(out.trim_end().ends_with("0 lost"), "{out}");
    assert!(out.contains("\n1 regression, 0 improvement(s)"), "{out}");
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .starts_with("## rtbench compare: ❌ 1 regression"));
    // The JSON's structure is tested in rtbench-report; here only that the file was written.
    let json = std::fs::read_to_string(&json).unwrap();
    assert!(
        json.contains(r#""run_id": "20261128T000000Z-bench1""#),
        "{json}"
    );
    assert!(json.contains(r#""verdict": "regression""#));
}

#[test]
fn rps_drop_of_1_percent_exits_0() {
    let o = compare("base", "drop1", &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("\nno regression, "), "{}", stdout(&o));
    assert!(!stdout(&o).contains("REGRESSION"));
}

#[test]
fn different_targets_are_listed_and_exit_0() {
    let o = compare("base", "other-targets", &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("only in base") && out.contains("only in current"),
        "{out}"
    );
    assert!(
        out.contains("3 only in base, 3 only in current, 3 lost"),
        "{out}"
    );
    // ... and fail the job when asked to treat lost cells as regressions.
    let o = compare("base", "other-targets", &["--fail-on-lost", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "--quiet prints nothing");
}

#[test]
fn corrupt_json_exits_2_naming_the_file() {
    let o = compare("base", "corrupt", &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let file = fixture("corrupt").join("run.json");
    assert!(
        err.starts_with(&format!(
            "rtbench: error: {}: not a valid run.json",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert_eq!(
        err.matches("EOF while parsing").count(),
        1,
        "cause once: {err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn schema_mismatch_and_missing_file_exit_2_naming_the_file() {
    let o = compare("schema-v99.json", "base", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "rtbench: error: {}: schema_version 99, this rtbench reads versions 1 to 2",
            fixture("schema-v99.json").display()
        )
    );
    let o = compare("base", "no-such-run", &[]);
    assert_eq!(o.status.code(), Some(2));
    let missing = fixture("no-such-run");
    assert!(
        stderr(&o).starts_with(&format!(
            "rtbench: error: {}: no run.json here",
            missing.join("run.json").display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn thresholds_file_and_gate_flags() {
    let dir = scratch("thresholds");
    // A 25% rps gate lets the 20% drop pass.
    let loose = dir.join("loose.toml");
    std::fs::write(&loose, "[gates]\nrps = \"25%\"\n").unwrap();
    let o = compare("base", "drop20", &["--thresholds", loose.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // A flag applies after the file and tightens it again.
    let o = compare(
        "base",
        "drop20",
        &["--thresholds", loose.to_str().unwrap(), "--gate", "rps=5%"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The example file in the repository is valid and keeps the defaults.
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/compare/thresholds.toml");
    let o = compare(
        "base",
        "drop20",
        &["--thresholds", example.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[gates]\nrps = \"5%\"\np95 = \"10%\"\n").unwrap();
    let o = compare("base", "drop20", &["--thresholds", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "rtbench: error: {}: unknown key `gates.p95`",
            bad.display()
        )),
        "{err}"
    );

    let o = compare("base", "drop20", &["--gate", "p95=10%"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--gate p95=10%: bad value for `p95`: unknown metric"),
        "{}",
        stderr(&o)
    );
    let o = compare("base", "drop20", &["--resamples", "100"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resamples: 100 resamples; at least 10000 needed"));
}
