//! `rtbench run --slices`: the round's targets measured together, in alternating slices.
use std::path::Path;

use crate::util::{leaked_servers, read_run, scratch_root, serial, test_suite};

/// The wall-clock span an interval log covers, s since the epoch: its start time plus its first
/// interval's start, to its last interval's end.
fn span(hlog: &Path) -> (f64, f64) {
    let text = std::fs::read_to_string(hlog).unwrap();
    let start: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("#[StartTime: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a StartTime line")
        .parse()
        .unwrap();
    let intervals: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"'))
        .map(|l| {
            let mut fields = l.split(',').map(|f| f.parse::<f64>().unwrap());
            (fields.next().unwrap(), fields.next().unwrap())
        })
        .collect();
    let (first, _) = intervals[0];
    let (last, length) = intervals[intervals.len() - 1];
    (start + first, start + last + length)
}

/// Two targets, 4 slices per cell: each trial is one measured second made of 4 slices, the two
/// targets' measured windows interleave (one after the other they would not overlap), the run
/// records its slices, the other scenario kinds still run target by target, and no server is
/// left.
#[test]
fn sliced_targets_interleave_and_each_trial_sums_its_slices() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 2\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"200ms\"\n[[scenario]]\nname = \"cold-start\"\nstarts = 1\n";
    let root = scratch_root(
        suite,
        &[("go-nethttp", "go-nethttp"), ("go-nethttp", "go-other")],
        |_, m| m,
    );
    let dir = root.path().join("run");
    let output = test_suite(root.path(), &dir)
        .args(["--slices", "4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("in 4 alternating slices"), "{stderr}");
    let run = read_run(&dir);
    assert_eq!(run.environment.slices, Some(4));
    let cells = |scenario: &str| {
        run.trials
            .iter()
            .filter(|t| t.scenario == scenario)
            .collect::<Vec<_>>()
    };
    let plaintext = cells("plaintext");
    assert_eq!(plaintext.len(), 4, "2 targets × 2 trials");
    for trial in &plaintext {
        let load = trial.load().expect("an ok trial");
        let server = trial.server().unwrap();
        // Four slices of 250 ms: their windows add up to the cell's second.
        assert!(
            (load.duration_s - 1.0).abs() < 0.05,
            "{}: {} s",
            trial.target,
            load.duration_s
        );
        assert!(load.requests > 0 && load.errors.total == 0, "{load:?}");
        assert_eq!(load.connections, 64, "the slices' connections do not add");
        assert!(server.samples > 0 && server.cpu_s > 0.0, "{server:?}");
    }
    for trial in 1..=2 {
        let hlog = |target: &str| {
            let t = plaintext
                .iter()
                .find(|t| t.target == target && t.trial == trial)
                .unwrap();
            dir.join(t.hdr_log.as_ref().unwrap())
        };
        let (a, b) = (span(&hlog("go-nethttp")), span(&hlog("go-other")));
        assert!(
            a.0 < b.1 && b.0 < a.1,
            "trial {trial}: the targets' windows interleave: {a:?} {b:?}"
        );
    }
    assert_eq!(
        cells("cold-start").len(),
        4,
        "cold starts still run per target"
    );
    let leaked = leaked_servers(&["go-nethttp", "go-other"]);
    assert!(leaked.is_empty(), "no server left: {leaked:?}");
}
