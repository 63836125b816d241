//! What `run.json` records of the scenarios: every setting the runner uses, defaults included.
use std::path::Path;

use rtbench_harness::{describe_environment, read_run, scenario_defaults as d, Plan, RunWriter};
use rtbench_results::{Placement, Run, SCHEMA_VERSION};

/// One scenario of each kind, each file omitting every optional key.
const MINIMAL: [(&str, &str); 5] = [
    (
        "http",
        "kind = \"http\"\npath = \"/json\"\nduration = \"3s\"\n",
    ),
    ("idle", "kind = \"idle-connections\"\n"),
    ("cold", "kind = \"cold-start\"\n"),
    ("sse", "kind = \"sse\"\n"),
    ("relay", "kind = \"sse-relay\"\n"),
];

fn write_minimal_scenarios(dir: &Path) {
    std::fs::create_dir_all(dir.join("suites")).unwrap();
    let mut suite = String::from("name = \"minimal\"\ntrials = 1\n");
    for (name, body) in MINIMAL {
        let text =
            format!("name = \"{name}\"\n{body}[[variants]]\nname = \"v\"\nconnections = 2\n");
        std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
        suite += &format!("[[scenario]]\nname = \"{name}\"\n");
    }
    std::fs::write(dir.join("suites/minimal.toml"), suite).unwrap();
}

#[test]
fn run_json_records_every_scenario_default() {
    let tmp = tempfile::tempdir().unwrap();
    let scenarios = tmp.path().join("scenarios");
    write_minimal_scenarios(&scenarios);
    let plan = Plan::load(&scenarios, "minimal").unwrap();
    let placement = Placement {
        server_cpus: vec![1],
        client_cpus: vec![0],
        reason: None,
    };
    let run = Run {
        schema_version: SCHEMA_VERSION,
        run_id: "defaults".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
        environment: describe_environment("0", tmp.path(), "native", placement),
        suite: plan.suite_info(),
        chosen_targets: Vec::new(),
        targets: Vec::new(),
        trials: Vec::new(),
    };
    let dir = tmp.path().join("run");
    RunWriter::create(&dir, run).unwrap();

    let text = std::fs::read_to_string(dir.join("run.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let settings = &json["suite"]["settings"];
    let expected = serde_json::json!([
        {"name": "http", "description": "", "kind": "http", "path": "/json",
         "duration_ms": 3000, "warmup_ms": d::WARMUP_MS,
         "variants": [{"name": "v", "connections": 2, "pipeline": d::PIPELINE}]},
        {"name": "idle", "description": "", "kind": "idle-connections", "path": d::IDLE_PATH,
         "settle_ms": d::SETTLE_MS,
         "variants": [{"name": "v", "connections": 2, "pipeline": 1}]},
        {"name": "cold", "description": "", "kind": "cold-start", "starts": d::STARTS,
         "variants": [{"name": "v", "connections": 2, "pipeline": 1}]},
        {"name": "sse", "description": "", "kind": "sse", "path": d::SSE_PATH,
         "events": d::SSE_EVENTS, "interval_ms": d::SSE_INTERVAL_MS,
         "variants": [{"name": "v", "connections": 2, "pipeline": 1}]},
        {"name": "relay", "description": "", "kind": "sse-relay", "path": d::RELAY_PATH,
         "events": d::RELAY_EVENTS, "interval_ms": d::RELAY_INTERVAL_MS,
         "abort_after": d::ABORT_AFTER, "abort_streams": d::ABORT_STREAMS,
         "variants": [{"name": "v", "connections": 2, "pipeline": 1}]},
    ]);
    assert_eq!(settings, &expected, "{text}");
    // The documented values themselves (scenarios/README.md), so a changed default is a decision.
    assert_eq!(
        (d::SETTLE_MS, d::STARTS, d::SSE_EVENTS, d::RELAY_EVENTS),
        (2000, 5, 100, 50)
    );
    // What was written reads back (the runner resumes from it).
    let back = read_run(&dir).unwrap();
    assert_eq!(back.suite, plan.suite_info());
}
