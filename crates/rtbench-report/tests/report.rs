//! The report from fixture runs: every file produced, SVGs parse, PNGs decode at their size with
//! text drawn, the HTML renders in headless Chromium with its tables, and failed, unavailable,
//! client-bound and not-sustained cells are marked. Fixtures: `tests/fixtures/{full,degraded}`
//! (written by `tests/fixtures/make_fixtures.py`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::collections::BTreeSet;

use rtbench_report::{render_run, ReportError, ReportFiles};

/// Interval logs written for fixture runs, and what line charts draw from them.
#[path = "report/lines.rs"]
mod lines;
#[path = "report/tables.rs"]
mod tables;
use lines::{chart_svg, legend_entries, run_dir_with_logs};

/// A fresh scratch folder under cargo's per-target temp dir.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "report-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}/run.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A run folder holding `run` as its run.json.
fn run_dir(name: &str, run: &serde_json::Value) -> PathBuf {
    let dir = scratch(name);
    std::fs::write(dir.join("run.json"), serde_json::to_string(run).unwrap()).unwrap();
    dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Decodes a PNG: (width, height, RGB or RGBA bytes, bytes per pixel).
fn decode_png(p: &Path) -> (u32, u32, Vec<u8>, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(p).unwrap());
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bpp = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("{}: unexpected colour type {other:?}", p.display()),
    };
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, bpp)
}

/// Pixels darker than light grey in rows `y0..y1`: text and marks, not background.
fn dark_pixels(width: u32, buf: &[u8], bpp: usize, rows: std::ops::Range<u32>) -> usize {
    let stride = width as usize * bpp;
    rows.map(|y| &buf[y as usize * stride..(y as usize + 1) * stride])
        .flat_map(|row| row.chunks(bpp))
        .filter(|px| px[..3].iter().all(|c| *c < 120))
        .count()
}

/// Every SVG parses as XML with an `svg` root of the stated size; every PNG decodes at the
/// same size and has its title drawn (text needs the bundled font).
fn check_charts(files: &ReportFiles) {
    for chart in &files.charts {
        let svg = read(&chart.svg);
        let doc = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|e| panic!("{}: not XML: {e}", chart.svg.display()));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{}", chart.svg.display());
        assert_eq!(
            root.attribute("width"),
            Some(chart.info.width.to_string().as_str())
        );
        assert_eq!(
            root.attribute("height"),
            Some(chart.info.height.to_string().as_str())
        );
        assert!(
            svg.contains(&chart.info.title.replace('\'', "&apos;"))
                || svg.contains(&chart.info.title),
            "{}: title missing",
            chart.svg.display()
        );

        let (w, h, buf, bpp) = decode_png(&chart.png);
        assert_eq!(
            (w, h),
            (chart.info.width, chart.info.height),
            "{}",
            chart.png.display()
        );
        assert!(w == 1200 || w == 1600, "{}: width {w}", chart.png.display());
        // The title band holds nothing but the title's glyphs.
        let title_ink = dark_pixels(w, &buf, bpp, 8..48);
        assert!(
            title_ink > 500,
            "{}: title not drawn ({title_ink} dark pixels)",
            chart.png.display()
        );
    }
}

#[test]
fn full_run_produces_every_file() {
    let (dir, _) = run_dir_with_logs("full", &fixture("full"));
    let files = render_run(&dir).unwrap();
    assert_eq!(files.dir, dir.join("report"));
    let ids: Vec<&str> = files.charts.iter().map(|c| c.info.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hello-rps",
            "json-rps",
            "memory-10k",
            "latency-plaintext-c64",
            "latency-plaintext-c256",
            "latency-json-c64",
            "latency-json-c256",
            "latency-rate-10k-r10000",
            "cpu-per-request",
            "throughput-time-plaintext",
            "throughput-time-json",
            "throughput-time-rate-10k",
            "sse",
            "cold-start",
            "idle-connections",
        ]
    );
    assert!(files.skipped.is_empty(), "{:?}", files.skipped);
    check_charts(&files);

    let md = read(&files.markdown);
    for needle in [
        "## Environment",
        "server on CPU 1, load generator on CPU 0",
        "0123456789abcdef0123456789abcdef01234567",
        "node-uws: v22.14.0",
        "§8 Hello-world throughput",
        "§11 Memory per 10k req/s",
        "| Rust Axum (Tokio) | axum | 600k+ | 1 |",
        "| Node + Workers pool | — | ~500 MB |",
        "![Hello-world throughput",
        "(hello-rps.png)",
        "(throughput-time-plaintext.png)",
        "(latency-rate-10k-r10000.png)",
        "Scenario `sse-relay`",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
    // Nothing in the full run is client-bound, failed or missing.
    for absent in [
        "client-bound 3/3",
        "FAILED",
        "unavailable:",
        "not sustained:",
    ] {
        assert!(!md.contains(absent), "report.md has {absent:?}");
    }
    // Every §8 and §11 row with a target got a verdict (§9's "consistent: …" is not one).
    let verdicts = md
        .lines()
        .filter(|l| {
            l.starts_with("| ")
                && (l.ends_with("| consistent |")
                    || l.contains("| consistent (ratio within")
                    || l.contains("than claimed"))
        })
        .count();
    assert_eq!(verdicts, 12, "{md}");
}

#[test]
fn html_is_self_contained() {
    let dir = run_dir("html", &fixture("degraded"));
    let files = render_run(&dir).unwrap();
    let html = read(&files.html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), files.charts.len());
    for forbidden in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!html.contains(forbidden), "report.html has {forbidden:?}");
    }
    // Links only within the page (the table of contents).
    let hrefs: Vec<&str> = html.split("href=\"").skip(1).collect();
    assert!(!hrefs.is_empty(), "no table of contents");
    for h in hrefs {
        assert!(
            h.starts_with('#'),
            "report.html links outside: {}",
            &h[..20]
        );
    }
    // The only URLs are XML namespace names, which fetch nothing.
    for (i, _) in html.match_indices("://") {
        let before = &html[i.saturating_sub(16)..i];
        assert!(
            before.contains("xmlns"),
            "external reference near {:?}",
            &html[i..i + 40]
        );
    }
}

#[test]
fn failed_unavailable_client_bound_and_unsustained_cells_are_marked() {
    let dir = run_dir("degraded", &fixture("degraded"));
    let files = render_run(&dir).unwrap();
    check_charts(&files);
    let svg = |id: &str| {
        read(
            &files
                .charts
                .iter()
                .find(|c| c.info.id == id)
                .unwrap_or_else(|| panic!("no chart {id}"))
                .svg,
        )
    };

    let hello = svg("hello-rps");
    assert!(hello.contains("FAILED: verification failed: GET /json returned 500"));
    assert!(hello.contains("unavailable: bun 1.2.5 needs glibc"));
    assert!(hello.contains("client-bound 3/3"));
    // The client-bound bar is hatched: white diagonal strokes inside one of axum's bars.
    assert!(
        hatch_over(&hello, "#D55E00"),
        "axum's client-bound bar is not hatched"
    );
    let memory = svg("memory-10k");
    assert!(
        memory.contains("not sustained: 8."),
        "node-http not marked not sustained"
    );
    let sse = svg("sse");
    assert!(sse.contains("leaked: 3 upstream request(s) never closed"));
    assert!(sse.contains("leaked: 30 upstream request(s) never closed"));
    let latency = svg("latency-rate-10k-r10000");
    assert!(latency.contains("FAILED: verification failed"));
    assert!(latency.contains("no line"));

    let md = read(&files.markdown);
    assert!(md.contains("| fastapi | FastAPI (uvicorn) | Python 3.12.8 | FAILED |"));
    assert!(md.contains("| bun | Bun.serve | — | unavailable |"));
    assert!(md.contains("at 256 conns ⚠ client-bound 3/3"));
    assert!(md.contains("inconclusive (faster than claimed?)"));
    assert!(md.contains("not sustained: 8."));
    assert!(md.contains("1 trial(s) failed"));

    let html = read(&files.html);
    assert!(html.contains("<td class=\"missing\">FAILED: verification failed"));
    assert!(html.contains("<td class=\"missing\">unavailable: bun 1.2.5"));
    assert!(html.contains("<td class=\"flagged\">client-bound 3/3</td>"));
    assert!(html.contains("class=\"inconclusive\""));
}

#[test]
fn charts_missing_a_scenario_are_skipped_and_said() {
    let mut run = fixture("full");
    run["suite"]["scenarios"] = serde_json::json!(["plaintext"]);
    let trials = run["trials"].as_array_mut().unwrap();
    trials.retain(|t| t["scenario"] == "plaintext");
    let dir = run_dir("partial", &run);
    let files = render_run(&dir).unwrap();
    let ids: Vec<&str> = files.charts.iter().map(|c| c.info.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hello-rps",
            "latency-plaintext-c64",
            "latency-plaintext-c256",
            "cpu-per-request"
        ]
    );
    let md = read(&files.markdown);
    assert!(md.contains("Not drawn: "));
    for needle in [
        "JSON throughput (GET /json): the run has no `json` scenario.",
        "the run has no `rate-10k` scenario",
        "the run has no `sse` or `sse-relay` scenario",
        "the run has no `cold-start` scenario",
        "the run has no `idle-connections` scenario",
        "This run has no `rate-10k` scenario, so nothing here was measured.",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
    check_charts(&files);
}

#[test]
fn bad_input_names_the_file() {
    let empty = scratch("empty");
    let err = render_run(&empty).unwrap_err();
    assert!(matches!(err, ReportError::MissingRun { .. }), "{err}");
    assert!(err.to_string().contains("run.json"), "{err}");

    let dir = scratch("garbage");
    std::fs::write(dir.join("run.json"), "{ not json").unwrap();
    let err = render_run(&dir).unwrap_err();
    assert!(matches!(err, ReportError::Json { .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&dir.join("run.json").display().to_string()));

    let mut run = fixture("full");
    run["schema_version"] = serde_json::json!(99);
    let dir = run_dir("version", &run);
    let err = render_run(&dir).unwrap_err();
    assert!(matches!(err, ReportError::SchemaVersion { .. }), "{err}");
    assert!(err.to_string().contains("schema_version 99"), "{err}");

    let mut run = fixture("full");
    run["trials"][0]["load"]["rps"] = serde_json::json!("fast");
    let dir = run_dir("schema", &run);
    let err = render_run(&dir).unwrap_err();
    assert!(matches!(err, ReportError::Json { .. }), "{err}");
    assert!(err.to_string().contains("line"), "{err}");
}

/// Chromium from PATH; CI installs Debian's `chromium`. Missing is a failure, not a skip.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(name))
            .find(|p| p.is_file());
        if let Some(p) = found {
            return p;
        }
    }
    panic!(
        "chromium not found on PATH: the HTML report test needs headless Chromium \
         (Debian: apt-get install chromium)"
    );
}

fn headless(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[test]
fn html_renders_in_headless_chromium() {
    let dir = run_dir("chromium", &fixture("degraded"));
    let files = render_run(&dir).unwrap();
    let url = format!("file://{}", files.html.canonicalize().unwrap().display());

    let shot = dir.join("screenshot.png");
    let out = headless(&scratch("chromium-profile"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,3000")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, h, buf, bpp) = decode_png(&shot);
    assert_eq!((w, h), (1200, 3000));
    let ink = dark_pixels(w, &buf, bpp, 0..h);
    assert!(ink > 20_000, "the page looks blank ({ink} dark pixels)");
    // Colour, not just text: the charts' runtime colours are on the first screen.
    let coloured = buf
        .chunks(bpp)
        .filter(|px| {
            let (mx, mn) = (px[..3].iter().max().unwrap(), px[..3].iter().min().unwrap());
            mx - mn > 80
        })
        .count();
    assert!(
        coloured > 5_000,
        "no chart colours on screen ({coloured} pixels)"
    );

    let dom = dump_dom(&url);
    for needle in [
        "<table id=\"environment\">",
        "<table id=\"survey-8\">",
        "<table id=\"survey-11\">",
        "<table id=\"scenario-plaintext-c64\">",
        "Rust Axum (Tokio)",
        "FAILED: verification failed",
        "client-bound 3/3",
        "<svg",
    ] {
        assert!(dom.contains(needle), "chromium's DOM lacks {needle:?}");
    }
}

/// Whether a white hatch stroke (opacity 0.85) starts inside a bar filled with `colour`.
fn hatch_over(svg: &str, colour: &str) -> bool {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let num = |n: &roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
    let bars: Vec<(f64, f64, f64, f64)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(colour))
        .filter_map(|n| {
            Some((
                num(&n, "x")?,
                num(&n, "y")?,
                num(&n, "width")?,
                num(&n, "height")?,
            ))
        })
        .collect();
    assert!(!bars.is_empty(), "no bar in {colour}");
    let starts: Vec<(f64, f64)> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("polyline")
                && n.attribute("stroke") == Some("#FFFFFF")
                && n.attribute("opacity") == Some("0.85")
        })
        .filter_map(|n| {
            let first = n
                .attribute("points")?
                .split_whitespace()
                .next()?
                .to_string();
            let (x, y) = first.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect();
    starts.iter().any(|(px, py)| {
        bars.iter()
            .any(|(x, y, w, h)| *px >= *x && *px <= x + w && *py >= *y && *py <= y + h)
    })
}

#[test]
fn an_unflagged_run_has_no_hatching() {
    let dir = run_dir("unhatched", &fixture("full"));
    let files = render_run(&dir).unwrap();
    let hello = read(&files.charts[0].svg);
    assert!(!hatch_over(&hello, "#D55E00"));
}

/// Renders `run` with a time limit: extreme figures once made plotters loop for ever.
/// A run that measured the client's ceiling: the environment says it, and the scenario tables
/// show each cell's headroom beside its client CPU.
#[test]
fn the_client_ceiling_and_each_cells_headroom_are_shown() {
    let mut run = fixture("full");
    run["environment"]["client_ceiling"] = serde_json::json!({
        "client_cpus": [0], "server_cpus": [1], "connections": 64, "duration_s": 3.0,
        "rps": 150000.0, "client_cpu_fraction": 0.75, "cpu_us_per_request": 5.0,
        "max_rps_per_core": 200000.0, "shared_cpu": false
    });
    // Each target its own headroom (a value equal in every cell is said once, below the table).
    for t in run["trials"].as_array_mut().unwrap() {
        let spread = t["target"].as_str().unwrap().len() as f64 / 100.0;
        if t["load"].is_object() {
            t["load"]["client_headroom"] = serde_json::json!(0.40 + spread);
        }
    }
    let files = render_within("ceiling", &run, 120);
    let md = read(&files.markdown);
    assert!(
        md.contains(
            "| Client ceiling | 200k req/s per client core (5.00 µs client CPU per request"
        ),
        "{md}"
    );
    assert!(md.contains("| client CPU, % | client headroom"), "{md}");
    assert!(md.contains(" | 0.44"), "{md}"); // axum: 0.40 + 4 / 100
                                             // Without a ceiling the environment says so and no headroom column is drawn.
    let md = read(&render_within("no-ceiling", &fixture("full"), 120).markdown);
    assert!(
        md.contains("| Client ceiling | not measured in this run"),
        "{md}"
    );
    assert!(!md.contains("client headroom"), "{md}");
}

/// The DOM of `url` after headless Chromium has rendered it.
fn dump_dom(url: &str) -> String {
    let out = headless(&scratch("chromium-profile"))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn render_within(name: &str, run: &serde_json::Value, secs: u64) -> ReportFiles {
    let dir = run_dir(name, run);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(render_run(&dir));
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{name}: the report took over {secs} s"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Sets `key` of every trial's load (or its latency percentiles) to `value`.
fn mutate(run: &mut serde_json::Value, f: impl Fn(&mut serde_json::Value)) {
    for t in run["trials"].as_array_mut().unwrap() {
        if t["load"].is_object() {
            f(&mut t["load"]);
        }
    }
}

#[test]
fn extreme_figures_are_refused_not_drawn() {
    for (name, value) in [("huge", 1e308), ("large", 1e300), ("negative", -5.0)] {
        let mut run = fixture("full");
        mutate(&mut run, |l| {
            l["latency_us"]["p50"] = serde_json::json!(value);
            l["rps"] = serde_json::json!(value);
        });
        let files = render_within(name, &run, 60);
        assert!(!files.refused.is_empty(), "{name}: nothing refused");
        assert!(
            files
                .refused
                .iter()
                .any(|l| l.contains("p50") && l.contains("no measurement")),
            "{name}: {:?}",
            files.refused
        );
        check_charts(&files);
        let md = read(&files.markdown);
        assert!(
            md.contains("refused: run.json holds"),
            "{name}: cells not marked"
        );
        assert!(md.contains("Values refused"), "{name}");
        let hello = read(&files.charts[0].svg);
        assert!(
            hello.contains("refused"),
            "{name}: chart does not say refused"
        );
    }
    // JSON has no NaN or infinity: such a file is refused with the file named, not a panic.
    let text = serde_json::to_string(&fixture("full")).unwrap().replacen(
        "\"rps\":",
        "\"rps\":NaN,\"x\":",
        1,
    );
    let dir = scratch("nan");
    std::fs::write(dir.join("run.json"), text).unwrap();
    let err = render_run(&dir).unwrap_err();
    assert!(err.to_string().contains("run.json"), "{err}");
}

/// The ten targets of the project: the fixture's six plus four copies under the new names.
fn ten_targets() -> serde_json::Value {
    let mut run = fixture("full");
    let extra = [
        (
            "node-cluster",
            "Node 22 cluster",
            "Node + Workers pool",
            "go-nethttp",
        ),
        ("deno", "Deno.serve", "", "bun"),
        ("workerd", "workerd", "", "node-http"),
        ("hono-bun", "Hono on Bun", "", "fastapi"),
    ];
    for (name, display, row, like) in extra {
        let mut target = run["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == like)
            .unwrap()
            .clone();
        target["name"] = serde_json::json!(name);
        target["display_name"] = serde_json::json!(display);
        target["survey_row"] = if row.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(row)
        };
        run["targets"].as_array_mut().unwrap().push(target);
        let copies: Vec<serde_json::Value> = run["trials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["target"] == like)
            .map(|t| {
                let mut t = t.clone();
                t["target"] = serde_json::json!(name);
                // Its own log, under the runner's name.
                t["hdr_log"] = serde_json::Value::Null;
                t
            })
            .collect();
        assert!(!copies.is_empty());
        run["trials"].as_array_mut().unwrap().extend(copies);
    }
    run
}

#[test]
fn ten_targets_get_ten_distinct_colours_in_one_order() {
    let run = ten_targets();
    let (dir, _) = run_dir_with_logs("ten", &run);
    let files = render_run(&dir).unwrap();
    check_charts(&files);
    // Line charts: every target's legend entry has a colour and a marker shape of its own.
    for id in [
        "latency-plaintext-c64",
        "latency-rate-10k-r10000",
        "throughput-time-plaintext",
        "throughput-time-rate-10k",
    ] {
        let entries = legend_entries(&chart_svg(&files, id));
        assert_eq!(entries.len(), 10, "{id}: legend {entries:?}");
        let colours: BTreeSet<&str> = entries.iter().map(|e| e.1.as_str()).collect();
        let shapes: BTreeSet<&str> = entries.iter().map(|e| e.2.as_str()).collect();
        let pairs: BTreeSet<(&str, &str)> = entries
            .iter()
            .map(|e| (e.1.as_str(), e.2.as_str()))
            .collect();
        assert_eq!(colours.len(), 10, "{id}: colours shared: {entries:?}");
        assert_eq!(shapes.len(), 10, "{id}: markers shared: {entries:?}");
        assert_eq!(
            pairs.len(),
            10,
            "{id}: colour and marker shared: {entries:?}"
        );
    }
    let hello = read(&files.charts[0].svg);
    let doc = roxmltree::Document::parse(&hello).unwrap();
    // The legend swatches: 12×12 squares, one per target per panel.
    let swatches: Vec<&str> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("rect")
                && n.attribute("width") == Some("12")
                && n.attribute("height") == Some("12")
        })
        .filter_map(|n| n.attribute("fill"))
        .collect();
    // Top: all ten; bottom (ratios to the fastest): the six survey rows, then the four the
    // survey's §8 has no row for, with their measured ratio only.
    assert_eq!(swatches.len(), 20, "{swatches:?}");
    let (top, bottom) = swatches.split_at(10);
    let distinct: std::collections::BTreeSet<&&str> = top.iter().collect();
    assert_eq!(distinct.len(), 10, "colours shared: {top:?}");
    let in_top_order: Vec<&&str> = top.iter().filter(|c| bottom.contains(c)).collect();
    assert_eq!(
        in_top_order,
        bottom.iter().collect::<Vec<_>>(),
        "the two panels order targets differently"
    );
    let md = read(&files.markdown);
    // §8 and §11: the targets the survey's table has no row for are measured rows, marked.
    for (claim, rows) in [
        (
            "§8",
            ["node-cluster", "deno", "workerd", "hono-bun"].as_slice(),
        ),
        ("§11", ["deno", "workerd", "hono-bun"].as_slice()),
    ] {
        let table = md
            .split(&format!("**{claim} "))
            .nth(1)
            .and_then(|t| t.split("\n\n").nth(1))
            .unwrap_or_else(|| panic!("no {claim} table"));
        for target in rows {
            let row = table
                .lines()
                .find(|l| l.starts_with(&format!("| — | {target} |")))
                .unwrap_or_else(|| panic!("{claim}: no row for {target}:\n{table}"));
            assert!(
                row.ends_with("| not in the survey's table |") && row.contains('×'),
                "{claim}: {row}"
            );
        }
    }
    // §9: every target has a row with the survey's stance and a verdict.
    for needle in [
        "| FastAPI (uvicorn) | buffers in 3/3 trials",
        "works well (FastAPI with StreamingResponse) | contradicted: buffers tokens |",
        "| Deno.serve | no (3 trials)",
        "| not named | no claim; measured: unbuffered, aborts propagate |",
        "| workerd | no (3 trials)",
    ] {
        assert!(md.contains(needle), "§9 table lacks {needle:?}");
    }
}

#[test]
fn headline_and_contents_render_in_chromium() {
    let run = fixture("full");
    let files = render_within("headline", &run, 60);
    // The fastest plaintext median, computed here from the fixture's trials.
    let mut best = (String::new(), 0.0);
    for target in run["targets"].as_array().unwrap() {
        let name = target["name"].as_str().unwrap();
        for variant in ["c64", "c256"] {
            let mut v: Vec<f64> = run["trials"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| {
                    t["target"] == name && t["scenario"] == "plaintext" && t["variant"] == variant
                })
                .filter_map(|t| t["load"]["rps"].as_f64())
                .collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let median = v[v.len() / 2];
            if median > best.1 {
                best = (target["display_name"].as_str().unwrap().to_string(), median);
            }
        }
    }
    assert!(best.1 > 0.0, "the fixture has plaintext trials");
    let figure = rtbench_results::Unit::PerSecond.format(best.1);
    let url = format!("file://{}", files.html.canonicalize().unwrap().display());
    let dom = dump_dom(&url);
    let headline = dom.split("<nav").next().unwrap();
    assert!(
        headline.contains(&format!("at {figure}")),
        "headline lacks the fastest figure {figure}: {headline}"
    );
    assert!(headline.contains("0123456789abcdef0123456789abcdef01234567"));
    let anchors: Vec<&str> = dom
        .split("href=\"#")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(anchors.len(), 8, "every section in the contents");
    for a in anchors {
        assert!(
            dom.contains(&format!("id=\"{a}\"")),
            "anchor #{a} resolves to nothing"
        );
    }
}

#[test]
fn png_and_svg_carry_provenance() {
    let files = render_within("provenance", &fixture("full"), 60);
    assert!(!files.charts.is_empty());
    for chart in &files.charts {
        let svg = read(&chart.svg);
        assert!(
            svg.contains("0123456789abcdef0123456789abcdef01234567"),
            "{}: no commit",
            chart.svg.display()
        );
        let (w, h, buf, bpp) = decode_png(&chart.png);
        let ink = dark_pixels(w, &buf, bpp, h - 24..h - 4);
        assert!(
            ink > 300,
            "{}: footer has no ink ({ink})",
            chart.png.display()
        );
    }
}
