//! Where and in which order `rtbench run` measures, as the README says: the server on the server
//! CPUs and every thread of rtbench (its load workers included) on the client CPUs, read from
//! /proc while the load runs; the target order rotated each round; and an open-model cell the
//! target cannot keep up with flagged "not sustained" in run.json, the progress line and the report.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::time::Duration;

use rtbench_results::TrialStatus;

use crate::util::{read_run, rtbench, scratch_root, serial, server_pids, test_suite};

/// One thread of a process: its id, the CPUs it may run on (`Cpus_allowed_list`) and the CPU
/// time it has used so far, in clock ticks.
struct ThreadView {
    tid: u32,
    cpus: String,
    ticks: u64,
}

/// Every thread of `pid` now (none once it has ended).
fn threads_of(pid: u32) -> Vec<ThreadView> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut threads = Vec::new();
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse() else {
            continue;
        };
        let (Ok(status), Ok(stat)) = (
            std::fs::read_to_string(task.path().join("status")),
            std::fs::read_to_string(task.path().join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        let Some(cpus) = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        else {
            continue;
        };
        // Fields after the command's closing parenthesis start at field 3 (state); utime and
        // stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        threads.push(ThreadView {
            tid,
            cpus: cpus.trim().to_string(),
            ticks: tick(11) + tick(12),
        });
    }
    threads
}

#[test]
fn servers_and_load_run_on_their_cpus_and_the_target_order_rotates_each_round() {
    let _serial = serial();
    let targets = ["go-nethttp", "node-http"];
    let suite = "name = \"test\"\ntrials = 3\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"1s\"\nwarmup = \"0s\"\n";
    let root = scratch_root(suite, &targets.map(|t| (t, t)), |_, m| m);
    let dir = root.path().join("run");
    let mut child = test_suite(root.path(), &dir)
        .arg("--targets")
        .arg(targets.join(","))
        .args(["--server-cpus", "1", "--client-cpus", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Every 100 ms: the CPUs of every thread of rtbench while one of them is busy (≥ 30 ms of CPU
    // since the last look: the load) and a target's server runs, and of every thread of every
    // server seen. (Before the first target, the run measures the client's ceiling against a
    // built-in server thread on the server CPUs, by design: a server runs from then on.)
    let mut last_ticks: HashMap<u32, u64> = HashMap::new();
    let mut loaded_looks = 0;
    let mut client_cpus: BTreeMap<String, usize> = BTreeMap::new();
    let mut server_cpus: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let threads = threads_of(child.id());
        let busy = threads.iter().any(|t| {
            last_ticks
                .get(&t.tid)
                .is_some_and(|&was| t.ticks >= was + 3)
        });
        last_ticks = threads.iter().map(|t| (t.tid, t.ticks)).collect();
        let serving = targets.iter().any(|t| !server_pids(t).is_empty());
        if busy && serving {
            loaded_looks += 1;
            for thread in &threads {
                *client_cpus.entry(thread.cpus.clone()).or_default() += 1;
            }
        }
        for target in targets {
            for pid in server_pids(target) {
                let seen = server_cpus.entry(target).or_default();
                seen.extend(threads_of(pid).into_iter().map(|t| t.cpus));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "rtbench run exited {status}");
    assert!(
        loaded_looks >= 5,
        "rtbench was seen under load {loaded_looks} times"
    );
    assert_eq!(
        client_cpus.keys().collect::<Vec<_>>(),
        ["0"],
        "every thread of rtbench under load on the client CPU (CPU list: threads seen)"
    );
    for target in targets {
        assert_eq!(
            server_cpus
                .get(target)
                .map(|s| s.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(vec!["1"]),
            "every thread of {target}'s server on the server CPU"
        );
    }

    // run.json lists trials in the order they ran: each round's target order is the first
    // round's, rotated once more.
    let run = read_run(&dir);
    assert!(run.trials.iter().all(|t| t.status == TrialStatus::Ok));
    let order = |round: u32| {
        run.trials
            .iter()
            .filter(|t| t.trial == round)
            .map(|t| t.target.as_str())
            .collect::<Vec<&str>>()
    };
    let first = order(1);
    assert_eq!(first.len(), 2, "both targets in round 1: {first:?}");
    for round in 2..=3 {
        let mut expected = first.clone();
        expected.rotate_left((round as usize - 1) % first.len());
        assert_eq!(order(round), expected, "round {round}");
    }
    // And the rounds interleave: no target runs its 3 trials back to back.
    let sequence: Vec<&str> = run.trials.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(
        sequence,
        [first[0], first[1], first[1], first[0], first[0], first[1]]
    );
}

/// An open-model scenario far beyond what one server core answers (go-nethttp does about 100k
/// plaintext req/s on one core here; the survey's fastest row claims 600k+).
const RATE_800K: &str = "name = \"rate-800k\"\ndescription = \"GET /plaintext at 800,000 req/s\"\nkind = \"http\"\npath = \"/plaintext\"\nduration = \"2s\"\nwarmup = \"0s\"\n[[variants]]\nname = \"r800000\"\nconnections = 64\nrate = 800000.0\n";

#[test]
fn an_open_run_the_target_cannot_keep_up_with_is_flagged_not_sustained() {
    let _serial = serial();
    let suite = "name = \"test\"\ntrials = 1\n[[scenario]]\nname = \"rate-800k\"\n";
    let root = scratch_root(suite, &[("go-nethttp", "go-nethttp")], |_, m| m);
    std::fs::write(root.path().join("scenarios/rate-800k.toml"), RATE_800K).unwrap();
    let dir = root.path().join("run");
    let output = rtbench()
        .args(["run", "--launcher", "native", "--suite", "test", "--root"])
        .arg(root.path())
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let run = read_run(&dir);
    let trial = &run.trials[0];
    assert_eq!(trial.status, TrialStatus::Ok, "{trial:?}");
    let load = trial.load().unwrap();
    let achieved = load.achieved_rate.unwrap_or(load.rps);
    assert!(achieved < 784_000.0, "below 98%: {achieved}");
    assert_eq!(trial.sustained(), Some(false), "{achieved} req/s");
    assert_eq!(trial.memory_at_rate_mib(), None, "no memory figure");
    assert!(stderr.contains("NOT SUSTAINED"), "{stderr}");
    let report = std::fs::read_to_string(dir.join("report/report.md")).expect("report.md");
    assert!(
        report.contains("did not sustain the asked rate"),
        "the report's caveat:\n{report}"
    );
}
