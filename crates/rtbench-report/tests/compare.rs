//! `compare` over the fixture runs in `tests/compare/` (written by `tests/compare/make_fixtures.py`).

use std::path::{Path, PathBuf};

use rtbench_report::{
    compare, read_run, render, CompareFormat, Comparison, Metric, Presence, ReportError,
    Thresholds, Verdict,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compare")
        .join(name)
}

fn compare_fixtures(base: &str, current: &str, t: &Thresholds) -> Comparison {
    let base = read_run(&fixture(base)).unwrap();
    let current = read_run(&fixture(current)).unwrap();
    compare(&base, &current, t)
}

fn verdicts(cmp: &Comparison, v: Verdict) -> Vec<String> {
    cmp.cells
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .filter(move |m| m.verdict == v)
                .map(move |m| format!("{} {} {}", c.target, c.scenario_label(), m.metric))
        })
        .collect()
}

fn text(cmp: &Comparison, format: CompareFormat) -> String {
    let mut out = Vec::new();
    render(cmp, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn rps_drop_of_20_percent_is_the_only_regression() {
    let cmp = compare_fixtures("base", "drop20", &Thresholds::default());
    assert_eq!(
        verdicts(&cmp, Verdict::Regression),
        ["axum plaintext/c64 rps"]
    );
    assert!(cmp.has_regression());
    assert_eq!(cmp.regressions(), 1);
    let cell = cmp
        .cells
        .iter()
        .find(|c| c.target == "axum" && c.scenario == "plaintext")
        .unwrap();
    let rps = cell
        .metrics
        .iter()
        .find(|m| m.metric == Metric::named("rps"))
        .unwrap();
    let change = rps.change.unwrap();
    let i = rps.interval.unwrap();
    assert!((change + 0.20).abs() < 0.02, "{change}");
    assert!(i.lo <= change && change <= i.hi && i.hi < -0.05, "{i:?}");
    assert_eq!((rps.base.unwrap().n, rps.current.unwrap().n), (5, 5));
}

#[test]
fn rps_drop_of_1_percent_is_no_change() {
    let cmp = compare_fixtures("base", "drop1", &Thresholds::default());
    assert!(
        !cmp.has_regression(),
        "{:?}",
        verdicts(&cmp, Verdict::Regression)
    );
    assert!(verdicts(&cmp, Verdict::Improvement).is_empty());
    assert_eq!(cmp.cells.len(), 6);
    // Every gated metric was judged (no cell fell through to "insufficient" or "not comparable").
    for c in &cmp.cells {
        for m in &c.metrics {
            if m.threshold.is_some() {
                assert_eq!(m.verdict, Verdict::NoChange, "{} {}", c.target, m.metric);
            }
        }
    }
}

#[test]
fn ungated_metrics_are_shown_not_gated_until_asked() {
    let cmp = compare_fixtures("base", "drop20", &Thresholds::default());
    let p99: Vec<Verdict> = cmp
        .cells
        .iter()
        .flat_map(|c| &c.metrics)
        .filter(|m| m.metric == Metric::named("p99"))
        .map(|m| m.verdict)
        .collect();
    assert_eq!(p99.len(), 4, "p99 shown for the four request cells");
    assert!(p99.iter().all(|v| *v == Verdict::NotGated));

    // Gating rps at 25% lets the 20% drop through; gating p99 at 0% judges every p99 row.
    let mut t = Thresholds::default();
    t.apply_gate_spec("rps=25%").unwrap();
    t.apply_gate_spec("p99=0%").unwrap();
    let cmp = compare_fixtures("base", "drop20", &t);
    assert!(!verdicts(&cmp, Verdict::Regression).contains(&"axum plaintext/c64 rps".to_string()));
    let gated: Vec<Verdict> = cmp
        .cells
        .iter()
        .flat_map(|c| &c.metrics)
        .filter(|m| m.metric == Metric::named("p99"))
        .map(|m| m.verdict)
        .collect();
    assert!(!gated.is_empty(), "no p99 row to gate");
    assert!(gated.iter().all(|v| *v != Verdict::NotGated));
}

#[test]
fn different_targets_are_listed_not_errors() {
    let cmp = compare_fixtures("base", "other-targets", &Thresholds::default());
    let presence = |target: &str| {
        let mut p: Vec<Presence> = cmp
            .cells
            .iter()
            .filter(|c| c.target == target)
            .map(|c| c.presence)
            .collect();
        p.dedup();
        p
    };
    assert_eq!(presence("axum"), [Presence::BaseOnly]);
    assert_eq!(presence("bun"), [Presence::CurrentOnly]);
    assert_eq!(presence("go-nethttp"), [Presence::Both]);
    let axum = cmp.cells.iter().find(|c| c.target == "axum").unwrap();
    assert!(axum.lost && axum.metrics.is_empty());
    assert!(
        axum.notes
            .iter()
            .any(|n| n.contains("target failed: verify: plaintext FAIL")),
        "{:?}",
        axum.notes
    );
    assert!(!cmp.has_regression(), "lost cells are not gated by default");

    let mut t = Thresholds::default();
    t.set_fail_on_lost(true);
    let cmp = compare_fixtures("base", "other-targets", &t);
    assert_eq!(cmp.regressions(), 3, "axum's three cells are lost");
    let term = text(&cmp, CompareFormat::Terminal);
    assert!(term.contains("REGRESSION (lost)"), "{term}");
    assert!(term.contains("only in current"), "{term}");
}

#[test]
fn two_trials_a_side_are_insufficient_and_not_gated() {
    let cmp = compare_fixtures("base", "few-trials", &Thresholds::default());
    assert!(!cmp.has_regression());
    let rows: Vec<_> = cmp.cells.iter().flat_map(|c| &c.metrics).collect();
    assert!(!rows.is_empty());
    for m in rows {
        assert_eq!(m.verdict, Verdict::InsufficientTrials, "{}", m.metric);
        assert!(m.interval.is_none() && m.change.is_some());
    }
    assert!(text(&cmp, CompareFormat::Terminal).contains("insufficient trials"));
}

#[test]
fn a_run_against_itself_is_exactly_unchanged() {
    let cmp = compare_fixtures("base", "base", &Thresholds::default());
    for m in cmp.cells.iter().flat_map(|c| &c.metrics) {
        assert_eq!(m.change, Some(0.0));
        let i = m.interval.unwrap();
        assert!(i.lo <= 0.0 && 0.0 <= i.hi, "{}: {i:?}", m.metric);
    }
    assert!(!cmp.has_regression());
}

#[test]
fn output_is_deterministic() {
    let a = compare_fixtures("base", "drop20", &Thresholds::default());
    let b = compare_fixtures("base", "drop20", &Thresholds::default());
    assert_eq!(text(&a, CompareFormat::Json), text(&b, CompareFormat::Json));
    let mut other_seed = Thresholds::default();
    other_seed.set_seed(1);
    let c = compare_fixtures("base", "drop20", &other_seed);
    assert_ne!(text(&a, CompareFormat::Json), text(&c, CompareFormat::Json));
    assert_eq!(
        verdicts(&a, Verdict::Regression),
        verdicts(&c, Verdict::Regression)
    );
}

#[test]
fn json_round_trips_the_verdicts() {
    let cmp = compare_fixtures("base", "drop20", &Thresholds::default());
    let v: serde_json::Value = serde_json::from_str(&text(&cmp, CompareFormat::Json)).unwrap();
    assert_eq!(v["settings"]["resamples"], 10_000);
    assert_eq!(v["settings"]["gates"]["rps"], 0.05);
    let regressions: Vec<String> = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["verdict"] == "regression")
                .map(move |m| format!("{} {}", c["target"], m["metric"]))
        })
        .collect();
    assert_eq!(regressions, [r#""axum" "rps""#]);
}

#[test]
fn markdown_leads_with_the_verdict_and_lists_regressions() {
    let cmp = compare_fixtures("base", "drop20", &Thresholds::default());
    let md = text(&cmp, CompareFormat::Markdown);
    assert!(
        md.starts_with("## rtbench compare: ❌ 1 regression"),
        "{md}"
    );
    let notable = md
        .split("### Regressions and improvements")
        .nth(1)
        .unwrap()
        .split("<details>")
        .next()
        .unwrap();
    assert!(
        notable.contains("| plaintext/c64 | axum | rps |"),
        "{notable}"
    );
    assert!(notable.contains("**REGRESSION**"), "{notable}");
    assert_eq!(
        notable.matches("\n| ").count(),
        2,
        "header + one row: {notable}"
    );

    let clean = text(
        &compare_fixtures("base", "drop1", &Thresholds::default()),
        CompareFormat::Markdown,
    );
    assert!(
        clean.starts_with("## rtbench compare: ✅ no regression"),
        "{clean}"
    );
    assert!(!clean.contains("### Regressions"));
}

#[test]
fn environment_differences_are_warned() {
    let base = read_run(&fixture("base")).unwrap();
    let mut current = read_run(&fixture("drop1")).unwrap();
    current.environment.launcher = "docker".into();
    current
        .environment
        .runtime_versions
        .insert("axum".into(), "2.0".into());
    let cmp = compare(&base, &current, &Thresholds::default());
    assert!(cmp
        .warnings
        .contains(&"launcher differs: base native, current docker".to_string()));
    assert!(cmp
        .warnings
        .contains(&"axum runtime version differs: base 1.0, current 2.0".to_string()));
}

#[test]
fn bad_inputs_name_the_file() {
    let err = |p: PathBuf| read_run(&p).unwrap_err();
    let corrupt = fixture("corrupt");
    let e = err(corrupt.clone());
    assert!(matches!(e, ReportError::Json { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!(
            "{}: not a valid run.json",
            corrupt.join("run.json").display()
        )),
        "{e}"
    );

    let v99 = fixture("schema-v99.json");
    let e = err(v99.clone());
    assert_eq!(
        e.to_string(),
        format!(
            "{}: schema_version 99, this rtbench reads versions 1 to 2",
            v99.display()
        )
    );

    let missing = fixture("no-such-run");
    let e = err(missing.clone());
    assert_eq!(
        e.to_string(),
        format!(
            "{}: no run.json here (expected a run folder written by `rtbench run`)",
            missing.join("run.json").display()
        )
    );
}

/// A schema-1 run against the same figures written as schema 2: the converter makes them one
/// kind of run, so the verdicts are those of two schema-1 files, and the output says which
/// version each side was read from.
#[test]
fn schema_1_against_schema_2_compares_like_two_schema_1_runs() {
    let mut current = read_run(&fixture("drop20")).unwrap();
    current.schema_version = rtbench_results::SCHEMA_VERSION;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("v2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let written = serde_json::to_string_pretty(&current).unwrap();
    assert!(written.contains("\"outcome\"") && !written.contains("memory_per_10k_mb"));
    std::fs::write(dir.join("run.json"), written).unwrap();

    let base = read_run(&fixture("base")).unwrap();
    let v2 = read_run(&dir).unwrap();
    assert_eq!((base.schema_version, v2.schema_version), (1, 2));
    let mixed = compare(&base, &v2, &Thresholds::default());
    let both_v1 = compare_fixtures("base", "drop20", &Thresholds::default());
    assert_eq!(
        verdicts(&mixed, Verdict::Regression),
        ["axum plaintext/c64 rps"]
    );
    for v in [Verdict::NoChange, Verdict::NotGated, Verdict::Improvement] {
        assert_eq!(verdicts(&mixed, v), verdicts(&both_v1, v), "{v:?}");
    }
    let out = text(&mixed, CompareFormat::Terminal);
    assert!(out.contains("schema 1, converted to 2)"), "{out}");
    assert!(out.contains("schema 2)"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `base` with axum plaintext/c64's rps trials set to `factors` × their own value.
fn with_axum_plaintext_rps(factors: &[f64]) -> rtbench_results::Run {
    let mut run = read_run(&fixture("base")).unwrap();
    let mut k = 0;
    for t in &mut run.trials {
        if t.target == "axum" && t.scenario == "plaintext" {
            if let Some(rtbench_results::Outcome::Http { load, .. }) = &mut t.outcome {
                load.rps *= factors[k % factors.len()];
                k += 1;
            }
        }
    }
    assert_eq!(k, 5, "five axum plaintext trials in the fixture");
    run
}

/// A spread-out drop whose interval reaches from well beyond the gate to inside it: inconclusive,
/// listed in its own section of the markdown and JSON with a trials estimate, never a failure.
#[test]
fn an_interval_across_the_gate_is_inconclusive_and_listed_apart() {
    let base = read_run(&fixture("base")).unwrap();
    let current = with_axum_plaintext_rps(&[0.78, 0.86, 0.90, 0.95, 1.01]);
    let cmp = compare(&base, &current, &Thresholds::default());
    assert_eq!(
        verdicts(&cmp, Verdict::Inconclusive),
        ["axum plaintext/c64 rps"]
    );
    assert!(!cmp.has_regression());
    assert_eq!(cmp.inconclusives(), 1);
    let u = &cmp.inconclusive[0];
    let i = u.interval.unwrap();
    assert!(i.lo < -0.05 && i.hi > -0.05, "{i:?}");
    let n = u.trials_to_decide.expect("an estimate");
    assert!(n > 5 && n <= rtbench_report::MAX_TRIALS_ESTIMATE, "{n}");

    let md = text(&cmp, CompareFormat::Markdown);
    assert!(
        md.starts_with("## rtbench compare: ✅ no regression"),
        "{md}"
    );
    let section = md
        .split("### Inconclusive")
        .nth(1)
        .and_then(|s| s.split("###").next())
        .unwrap_or_else(|| panic!("no inconclusive section:\n{md}"));
    let row = section
        .lines()
        .find(|l| l.starts_with("| plaintext/c64 | axum | rps |"))
        .unwrap_or_else(|| panic!("no row:\n{section}"));
    assert!(row.ends_with(&format!("| ~{n} per side |")), "{row}");

    let v: serde_json::Value = serde_json::from_str(&text(&cmp, CompareFormat::Json)).unwrap();
    let listed = v["inconclusive"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["target"], "axum");
    assert_eq!(listed[0]["metric"], "rps");
    assert_eq!(listed[0]["trials_to_decide"], n);
    let terminal = text(&cmp, CompareFormat::Terminal);
    assert!(terminal.contains("1 inconclusive"), "{terminal}");
}

/// Two targets of one run judged against each other give the verdicts two runs would give.
#[test]
fn within_one_run_matches_two_runs() {
    let mut run = read_run(&fixture("base")).unwrap();
    let drop20 = read_run(&fixture("drop20")).unwrap();
    let rename = |r: &mut rtbench_results::Run, to: &str| {
        r.trials.retain(|t| t.target == "axum");
        r.targets.retain(|t| t.name == "axum");
        for t in &mut r.trials {
            t.target = to.to_string();
        }
        for t in &mut r.targets {
            t.name = to.to_string();
        }
    };
    let mut newer = drop20.clone();
    rename(&mut run, "axum@1");
    rename(&mut newer, "axum@2");
    run.trials.extend(newer.trials);
    run.targets.extend(newer.targets);
    run.environment
        .runtime_versions
        .insert("axum@1".into(), "rustc 1.0".into());
    run.environment
        .runtime_versions
        .insert("axum@2".into(), "rustc 2.0".into());

    let t = Thresholds::default();
    let within = rtbench_report::compare_within(&run, "axum@1", "axum@2", &t).unwrap();
    assert_eq!(
        verdicts(&within, Verdict::Regression),
        ["axum@1 → axum@2 plaintext/c64 rps"]
    );
    let two_runs = compare_fixtures("base", "drop20", &t);
    let axum_only = |cmp: &Comparison, v| -> Vec<String> {
        verdicts(cmp, v)
            .into_iter()
            .filter(|s| s.starts_with("axum "))
            .map(|s| s.replace("axum ", ""))
            .collect()
    };
    for v in [
        Verdict::Regression,
        Verdict::NoChange,
        Verdict::Inconclusive,
    ] {
        let mine: Vec<String> = verdicts(&within, v)
            .into_iter()
            .map(|s| s.replace("axum@1 → axum@2 ", ""))
            .collect();
        assert_eq!(mine, axum_only(&two_runs, v), "{v:?}");
    }
    let out = text(&within, CompareFormat::Terminal);
    assert!(
        out.starts_with("within run ")
            && out.contains("base axum@1 (rustc 1.0), current axum@2 (rustc 2.0)"),
        "{out}"
    );

    let err = rtbench_report::compare_within(&run, "axum@1", "axum@9", &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "--within: bad value for `axum@9`: no such target in run {} (targets: axum@1, axum@2)",
            run.run_id
        )
    );
}

/// A run of `axum@1` and `axum@2` plaintext trials, round `r` (1-based) of each at
/// `machine[r-1] × rps`: the machine's state moves both targets of a round together.
fn drifting_rounds(machine: &[f64], base_rps: &[f64], current_rps: &[f64]) -> rtbench_results::Run {
    let mut run = read_run(&fixture("base")).unwrap();
    let template = run
        .trials
        .iter()
        .find(|t| t.target == "axum" && t.scenario == "plaintext")
        .unwrap()
        .clone();
    run.trials.clear();
    run.targets.retain(|t| t.name == "axum");
    let mut second = run.targets[0].clone();
    run.targets[0].name = "axum@1".into();
    second.name = "axum@2".into();
    run.targets.push(second);
    for (r, f) in machine.iter().enumerate() {
        for (name, rps) in [("axum@1", base_rps[r]), ("axum@2", current_rps[r])] {
            let mut t = template.clone();
            t.target = name.into();
            t.trial = r as u32 + 1;
            let Some(rtbench_results::Outcome::Http { load, .. }) = &mut t.outcome else {
                panic!("a plaintext trial has an HTTP outcome");
            };
            load.rps = f * rps;
            run.trials.push(t);
        }
    }
    run
}

fn rps_row(cmp: &Comparison) -> &rtbench_report::MetricComparison {
    cmp.cells
        .iter()
        .flat_map(|c| &c.metrics)
        .find(|m| m.metric.key() == "rps")
        .unwrap()
}

/// Interleaved rounds share the machine: a drift of ±15% from round to round moves both targets
/// and cancels in the paired changes. The current target is 10% slower in every round (±1%):
/// within one run that is a regression; the same trials taken as two independent runs cannot tell.
/// Two identical builds under the same drift read "no change", never a regression.
#[test]
fn within_pairs_rounds_so_a_shared_drift_cancels() {
    let machine = [1.0, 0.85, 1.12, 0.92, 1.05];
    let base = [100_000.0, 100_800.0, 99_400.0, 100_300.0, 99_900.0];
    let slower: Vec<f64> = base
        .iter()
        .zip([0.90, 0.89, 0.91, 0.90, 0.895])
        .map(|(b, f)| b * f)
        .collect();
    let t = Thresholds::default();

    let run = drifting_rounds(&machine, &base, &slower);
    let within = rtbench_report::compare_within(&run, "axum@1", "axum@2", &t).unwrap();
    let row = rps_row(&within);
    assert_eq!(row.verdict, Verdict::Regression, "{row:?}");
    assert_eq!(row.pairs, Some(5));
    let i = row.interval.unwrap();
    assert!(i.lo > -0.12 && i.hi < -0.08, "{i:?}");
    assert!(
        text(&within, CompareFormat::Terminal).contains("paired"),
        "the statistic is named"
    );

    // The same trials as two runs: independent samples, the drift widens the interval.
    let side = |name: &str| {
        let mut r = run.clone();
        r.trials.retain(|t| t.target == name);
        r.targets.retain(|t| t.name == name);
        for t in &mut r.trials {
            t.target = "axum".into();
        }
        for t in &mut r.targets {
            t.name = "axum".into();
        }
        r
    };
    let two_runs = rtbench_report::compare(&side("axum@1"), &side("axum@2"), &t);
    let row = rps_row(&two_runs);
    assert_eq!(row.verdict, Verdict::Inconclusive, "{row:?}");
    assert_eq!(row.pairs, None);

    let same: Vec<f64> = base
        .iter()
        .zip([1.01, 0.99, 1.0, 1.005, 0.995])
        .map(|(b, f)| b * f)
        .collect();
    let aa = rtbench_report::compare_within(
        &drifting_rounds(&machine, &base, &same),
        "axum@1",
        "axum@2",
        &t,
    )
    .unwrap();
    assert_eq!(
        rps_row(&aa).verdict,
        Verdict::NoChange,
        "{:?}",
        rps_row(&aa)
    );
}

/// A run of four targets t1..t4 with axum's plaintext trials, each target's rps scaled by
/// `factors[i]`.
fn four_targets(factors: [f64; 4]) -> rtbench_results::Run {
    let mut run = read_run(&fixture("base")).unwrap();
    let trials: Vec<_> = run
        .trials
        .iter()
        .filter(|t| t.target == "axum" && t.scenario == "plaintext")
        .cloned()
        .collect();
    let target = run
        .targets
        .iter()
        .find(|t| t.name == "axum")
        .unwrap()
        .clone();
    run.trials.clear();
    run.targets.clear();
    for (i, f) in factors.iter().enumerate() {
        let name = format!("t{}", i + 1);
        let mut record = target.clone();
        record.name = name.clone();
        run.targets.push(record);
        for mut t in trials.iter().cloned() {
            t.target = name.clone();
            let Some(rtbench_results::Outcome::Http { load, .. }) = &mut t.outcome else {
                panic!("a plaintext trial has an HTTP outcome");
            };
            load.rps *= f;
            run.trials.push(t);
        }
    }
    run
}

/// Most targets moving together is the machine: three of four 20% slower reads as one machine-wide
/// shift, no regression (exit 0); one of four is that target's regression; two of four (not more
/// than half) stay two regressions.
#[test]
fn most_targets_moving_together_is_a_machine_shift_not_regressions() {
    let t = Thresholds::default();
    let base = four_targets([1.0; 4]);

    let night = rtbench_report::compare(&base, &four_targets([0.8, 0.8, 0.8, 1.0]), &t);
    assert!(
        !night.has_regression(),
        "{:?}",
        verdicts(&night, Verdict::Regression)
    );
    assert_eq!(
        verdicts(&night, Verdict::MachineShift),
        [
            "t1 plaintext/c64 rps",
            "t2 plaintext/c64 rps",
            "t3 plaintext/c64 rps"
        ]
    );
    assert_eq!(night.machine_shifts.len(), 1);
    let shift = &night.machine_shifts[0];
    assert!(shift.worse && shift.measured == 4 && shift.targets == ["t1", "t2", "t3"]);
    assert!((shift.median_change + 0.2).abs() < 1e-9, "{shift:?}");
    let out = text(&night, CompareFormat::Terminal);
    assert!(
        out.contains("plaintext/c64 rps: 3 of 4 targets worse (median -20.0%)")
            && out.contains("1 machine-wide shift(s)"),
        "{out}"
    );
    assert!(text(&night, CompareFormat::Markdown).contains("### Machine-wide shifts"));

    let one = rtbench_report::compare(&base, &four_targets([0.8, 1.0, 1.0, 1.0]), &t);
    assert_eq!(
        verdicts(&one, Verdict::Regression),
        ["t1 plaintext/c64 rps"]
    );
    assert!(one.machine_shifts.is_empty());

    let two = rtbench_report::compare(&base, &four_targets([0.8, 0.8, 1.0, 1.0]), &t);
    assert_eq!(verdicts(&two, Verdict::Regression).len(), 2);
    assert!(two.machine_shifts.is_empty());
}
