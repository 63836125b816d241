//! The report's tables as a reader meets them: cell tables with one column per idea, units in
//! the headers, client CPU and non-2xx counts per cell; an idle-connection figure below its
//! resolution said so; survey verdicts whose words agree with the ratios and ranks printed beside
//! them. Each test mutates a fixture so the case it pins is present.

use rtbench_results::{parse_run, sig, Outcome, Run, SCHEMA_VERSION};
use serde_json::{json, Value};

use super::{fixture, read, render_within};

/// Every markdown table whose bold title starts with `title`: (title, headers, rows).
fn md_tables(md: &str, title: &str) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let split = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect()
    };
    md.match_indices(&format!("**{title}"))
        .map(|(at, _)| {
            let rest = &md[at + 2..];
            let name = rest[..rest.find("**").unwrap()].to_string();
            let mut lines = rest.lines().skip_while(|l| !l.starts_with('|'));
            let headers = split(lines.next().unwrap());
            let rows = lines
                .skip(1)
                .take_while(|l| l.starts_with('|'))
                .map(split)
                .collect();
            (name, headers, rows)
        })
        .collect()
}

/// The row of `target` (its label) in a table.
fn row<'a>(rows: &'a [Vec<String>], target: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r.iter().any(|c| c == target))
        .unwrap_or_else(|| panic!("no row for {target}: {rows:?}"))
}

fn render_md(name: &str, run: &Value) -> String {
    read(&render_within(name, run, 60).markdown)
}

/// A typed copy of a fixture, written back as the current schema (for fields schema 1 lacks).
fn typed(name: &str) -> Run {
    let mut run = parse_run(&fixture(name).to_string()).unwrap();
    run.schema_version = SCHEMA_VERSION;
    run
}

/// The units a figure column may name; the other columns say what they count in words.
const UNITS: [&str; 6] = [", µs", ", ms", ", s", ", MiB", ", KiB", ", %"];
const WORDED: [&str; 4] = [
    "target",
    "status and flags",
    "errors / non-2xx (all trials)",
    "relay buffering",
];

#[test]
fn cell_tables_have_one_column_per_idea_each_with_its_unit() {
    for name in ["full", "degraded"] {
        let md = render_md(name, &fixture(name));
        let tables = md_tables(&md, "Scenario `");
        assert!(tables.len() >= 10, "{name}: one table per variant");
        for (title, headers, rows) in &tables {
            assert!(
                headers.len() <= 7,
                "{title}: {} columns {headers:?}",
                headers.len()
            );
            let mut ideas: Vec<String> = headers
                .iter()
                .map(|h| {
                    let words = UNITS.iter().find_map(|u| h.strip_suffix(u)).unwrap_or(h);
                    words.replace("achieved ", "").to_lowercase()
                })
                .collect();
            ideas.sort();
            let before = ideas.len();
            ideas.dedup();
            assert_eq!(
                before,
                ideas.len(),
                "{title}: a repeated column {headers:?}"
            );
            for h in headers {
                assert!(
                    WORDED.contains(&h.as_str())
                        || h.contains("req/s")
                        || UNITS.iter().any(|u| h.ends_with(u)),
                    "{title}: header {h:?} names no unit"
                );
            }
            for r in rows {
                assert_eq!(r.len(), headers.len(), "{title}: {r:?}");
            }
        }
        // The repeats the issue names: req/s beside achieved req/s, mean RSS beside the same
        // mean "at 10k".
        let (_, rate, _) = tables
            .iter()
            .find(|(t, ..)| t.contains("rate-10k"))
            .expect("a rate-10k table");
        assert!(!rate.contains(&"req/s".to_string()), "{rate:?}");
        assert!(
            !rate
                .iter()
                .any(|h| h.contains("at 10k") || h.contains("asked rate")),
            "{rate:?}"
        );
    }
}

#[test]
fn client_cpu_and_non_2xx_counts_are_shown_per_cell() {
    let mut run = fixture("full");
    let mut cpu = Vec::new();
    for t in run["trials"].as_array_mut().unwrap() {
        if t["target"] == "bun" && t["scenario"] == "plaintext" && t["variant"] == "c64" {
            let load = &mut t["load"];
            cpu.push(load["client_cpu_fraction"].as_f64().unwrap() * 100.0);
            let requests = load["requests"].as_u64().unwrap();
            load["errors"] = json!({"total": 13, "connect": 0, "read": 3, "write": 0,
                "timeout": 0, "status": 10, "parse": 0});
            load["status_codes"] = json!({"200": requests - 10, "503": 10});
        }
    }
    cpu.sort_by(f64::total_cmp);
    let md = render_md("errors", &run);
    let tables = md_tables(&md, "Scenario `plaintext`, 64 conns");
    let (_, headers, rows) = &tables[0];
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name:?} column: {headers:?}"))
    };
    let bun = row(rows, "Bun.serve");
    // Three trials, each with 3 read errors and 10 responses of 503.
    assert_eq!(bun[column("errors / non-2xx (all trials)")], "9 / 30 (503)");
    assert_eq!(
        row(rows, "Go net/http")[column("errors / non-2xx (all trials)")],
        "0 / 0"
    );
    let shown = &bun[column("client CPU, %")];
    assert!(
        shown.starts_with(&sig(cpu[1])),
        "client CPU median {} not in {shown:?}",
        sig(cpu[1])
    );
    // Another scenario without errors says so once instead of a column of zeros.
    assert!(md.contains("No errors and no non-2xx responses in any cell."));
}

/// Sets the idle figure and its resolution of `target`'s `variant` trials.
fn set_idle(run: &mut Run, target: &str, variant: &str, kib: f64, resolution: f64) {
    for t in run
        .trials
        .iter_mut()
        .filter(|t| t.target == target && t.variant == variant)
    {
        if let Some(Outcome::IdleConnections {
            kib_per_connection,
            resolution_kib,
            ..
        }) = &mut t.outcome
        {
            *kib_per_connection = kib;
            *resolution_kib = Some(resolution);
        }
    }
}

#[test]
fn an_idle_figure_below_its_resolution_is_said_so_not_printed() {
    let mut run = typed("full");
    // Bun's RSS did not rise with 1,000 connections held (the "0.0 KiB"); with 10,000
    // held the same noise is ten times finer. Axum's rise is well above its noise.
    set_idle(&mut run, "bun", "k1000", 0.0, 3.1);
    set_idle(&mut run, "bun", "k10000", 0.2, 0.31);
    set_idle(&mut run, "axum", "k1000", 1.1, 0.02);
    set_idle(&mut run, "axum", "k10000", 1.1, 0.002);
    let files = render_within("idle", &serde_json::to_value(&run).unwrap(), 60);
    let md = read(&files.markdown);

    let tables = md_tables(&md, "Scenario `idle-connections`, 1k idle conns");
    let (_, headers, rows) = &tables[0];
    let column = headers
        .iter()
        .position(|h| h == "memory per idle connection, KiB")
        .unwrap_or_else(|| panic!("{headers:?}"));
    assert_eq!(row(rows, "Bun.serve")[column], "< 3.10 KiB (resolution)");
    assert_eq!(row(rows, "Rust Axum (Tokio)")[column], "1.10");
    assert!(!md.contains("| 0.00 |"), "a zero printed as a value");

    // The headline takes the 10,000-connection variant.
    let headline = md.split("**Contents:**").next().unwrap();
    assert!(
        headline.contains("with 10k idle conns held")
            && headline.contains("Bun.serve < 0.310 KiB (resolution)")
            && !headline.contains("< 3.10 KiB"),
        "{headline}"
    );
    // The chart draws no bar for it and prints the resolution instead.
    let chart = files
        .charts
        .iter()
        .find(|c| c.info.id == "idle-connections")
        .unwrap();
    assert!(
        read(&chart.svg).contains("&lt; 3.10 KiB (resolution)")
            || read(&chart.svg).contains("< 3.10 KiB (resolution)")
    );

    // A run from before the resolution was recorded: a rise of nothing is still no figure.
    let mut old = fixture("full");
    for t in old["trials"].as_array_mut().unwrap() {
        if t["target"] == "bun" && t["scenario"] == "idle-connections" {
            t["kib_per_connection"] = json!(0.0);
        }
    }
    let md = render_md("idle-old", &old);
    assert!(md.contains("below resolution: RSS did not rise"), "old run");
}

/// The §8 table of a run whose plaintext req/s are `rps` per target (±1% across its trials).
fn hello_with(rps: &[(&str, f64)]) -> Value {
    let mut run = fixture("full");
    for t in run["trials"].as_array_mut().unwrap() {
        if t["scenario"] != "plaintext" {
            continue;
        }
        let (_, base) = rps.iter().find(|(n, _)| t["target"] == *n).unwrap();
        let k = t["trial"].as_f64().unwrap() - 2.0;
        t["load"]["rps"] = json!(base * (1.0 + 0.01 * k));
    }
    run
}

/// A ratio as printed (`0.58×`) or a claimed range (`0.42–0.67×`, `≥ 1.00×`): (low, high).
fn ratio_range(text: &str) -> (f64, f64) {
    let t = text.trim_end_matches('×');
    if let Some(low) = t.strip_prefix("≥ ") {
        return (low.parse().unwrap(), f64::INFINITY);
    }
    match t.split_once('–') {
        Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
        None => (t.parse().unwrap(), t.parse().unwrap()),
    }
}

/// Every verdict of the §8 and §11 tables agrees with the numbers in its own row: a ratio
/// verdict has the measured ratio outside the survey's printed range, plain "consistent" has it
/// inside, a rank verdict quotes the two rank columns and has the ratio inside the widened range.
fn verdicts_agree_with_their_rows(md: &str) {
    for title in ["§8 ", "§11 "] {
        for (name, headers, rows) in md_tables(md, title) {
            let col = |h: &str| headers.iter().position(|x| x.starts_with(h)).unwrap();
            let (ratio, claimed) = (col("measured ratio"), col("survey ratio"));
            let (rank, survey_rank, verdict) =
                (col("measured rank"), col("survey rank"), col("verdict"));
            for r in rows {
                let v = &r[verdict];
                if r[ratio] == "—" || v.starts_with("inconclusive") || v.starts_with("not measured")
                {
                    continue;
                }
                let measured = ratio_range(&r[ratio]).0;
                let (low, high) = ratio_range(&r[claimed]);
                let inside = measured >= low - 0.005 && measured <= high + 0.005;
                if v.starts_with("ranks ") {
                    let quoted = format!("({} vs {})", r[rank], r[survey_rank]);
                    assert!(
                        v.ends_with(&quoted),
                        "{name}: {v:?} does not quote {quoted}"
                    );
                    assert!(measured >= low / 1.25 - 0.005 && measured <= high * 1.25 + 0.005);
                } else if v.contains("than claimed") {
                    assert!(
                        !inside,
                        "{name}: {v:?} beside {} in {}",
                        r[ratio], r[claimed]
                    );
                } else if v == "consistent" {
                    assert!(
                        inside,
                        "{name}: consistent beside {} outside {}",
                        r[ratio], r[claimed]
                    );
                }
            }
        }
    }
}

#[test]
fn a_rank_decided_verdict_says_rank_beside_a_ratio_inside_the_range() {
    // Issue 13's container run: Go at 0.58× the fastest, inside the survey's 0.42–0.67×, but
    // overtaken by Bun and Node (uWebSockets) and tied with Node (stock http): 4th–5th.
    let run = hello_with(&[
        ("axum", 100e3),
        ("bun", 90e3),
        ("node-uws", 80e3),
        ("go-nethttp", 58e3),
        ("node-http", 57e3),
        ("fastapi", 10e3),
    ]);
    let md = render_md("go-rank", &run);
    let tables = md_tables(&md, "§8 ");
    let (_, headers, rows) = &tables[0];
    let go = row(rows, "go-nethttp");
    let verdict = &go[headers.iter().position(|h| h == "verdict").unwrap()];
    assert_eq!(verdict, "ranks lower than claimed (4–5 vs 2–3)");
    let headline = md.split("**Contents:**").next().unwrap();
    assert!(
        headline.contains(
            "Go net/http reaches 0.58× (survey 0.42–0.67×), ranks lower than claimed (4–5 vs 2–3)"
        ),
        "{headline}"
    );
    verdicts_agree_with_their_rows(&md);
    for name in ["full", "degraded"] {
        verdicts_agree_with_their_rows(&render_md(name, &fixture(name)));
    }
}
