//! Runtime versions side by side: `rtbench run --targets node-http@22,node-http@24` on the real
//! Node releases (npm's `node` package, each from its own lockfile and cache folder), interleaved
//! trial by trial, then `rtbench compare RUN --within`.
use crate::util::{read_run, repo, rtbench, serial};

#[test]
fn two_node_versions_run_interleaved_and_compare_within() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("versions.toml");
    std::fs::write(
        &suite,
        "name = \"versions\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"300ms\"\n",
    )
    .unwrap();
    let out = tmp.path().join("run");
    let status = rtbench()
        .args(["run", "--launcher", "native", "--quiet", "--no-report"])
        .args(["--targets", "node-http@22,node-http@24"])
        .arg("--suite")
        .arg(&suite)
        .arg("--root")
        .arg(repo())
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let run = read_run(&out);
    let names: Vec<&str> = run.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["node-http@22", "node-http@24"]);
    let versions = &run.environment.runtime_versions;
    assert_eq!(
        (
            versions.get("node-http@22").map(String::as_str),
            versions.get("node-http@24").map(String::as_str)
        ),
        (Some("v22.23.3"), Some("v24.21.0")),
        "{versions:?}"
    );
    // Interleaved: each round runs both versions before the next round starts.
    let mut trials: Vec<(&str, &str, u32)> = run
        .trials
        .iter()
        .map(|t| (t.started_at.as_str(), t.target.as_str(), t.trial))
        .collect();
    trials.sort();
    let rounds: Vec<u32> = trials.iter().map(|t| t.2).collect();
    assert_eq!(rounds, [1, 1, 2, 2], "{trials:?}");
    let mut first_round: Vec<&str> = trials[..2].iter().map(|t| t.1).collect();
    first_round.sort();
    assert_eq!(first_round, ["node-http@22", "node-http@24"]);

    let markdown = tmp.path().join("within.md");
    let output = rtbench()
        .arg("compare")
        .arg(&out)
        .args(["--within", "node-http@22,node-http@24", "--quiet"])
        .arg("--markdown")
        .arg(&markdown)
        .output()
        .unwrap();
    // Two trials a side: shown, never gated, so never a failure.
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        md.contains("base node-http@22 (v22.23.3), current node-http@24 (v24.21.0)"),
        "{md}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with("| plaintext/c64 | node-http@22 → node-http@24 | rps |"))
        .unwrap_or_else(|| panic!("no rps row:\n{md}"));
    assert!(row.contains("insufficient trials"), "{row}");

    let output = rtbench()
        .arg("compare")
        .arg(&out)
        .args(["--within", "node-http@22,node-http@20"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no such target in run") && stderr.contains("node-http@22, node-http@24"),
        "{stderr}"
    );
}
