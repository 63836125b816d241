//! Rendering a [`Comparison`]: terminal, markdown and JSON. Every renderer reads the same
//! comparison; none computes a figure.
use std::io::{self, Write};

use rtbench_results::{Metric, SCHEMA_VERSION};

use crate::bootstrap::Interval;

use super::comparison::{
    CellComparison, Comparison, MetricComparison, Presence, SideStats, Undecided,
};
use super::judge::{Verdict, MAX_TRIALS_ESTIMATE};
use super::shift::CompareShift;

/// An output format of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompareFormat {
    /// A plain-text table for a terminal.
    Terminal,
    /// GitHub-flavoured markdown (for a CI job summary).
    Markdown,
    /// The `Comparison` as pretty JSON.
    Json,
}

/// Writes `cmp` to `out` in `format`.
pub fn render(cmp: &Comparison, format: CompareFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        CompareFormat::Terminal => write_terminal(cmp, out),
        CompareFormat::Markdown => write_markdown(cmp, out),
        CompareFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, cmp)?;
            writeln!(out)
        }
    }
}

fn fmt_pct(f: f64) -> String {
    format!("{:+.1}%", f * 100.0)
}

fn fmt_side(metric: Metric, s: Option<SideStats>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!(
            "{} ±{:.1}% n={}",
            metric.format(s.median),
            s.spread * 100.0,
            s.n
        ),
    }
}

fn fmt_interval(i: Option<Interval>) -> String {
    i.map_or_else(
        || "—".to_string(),
        |i| format!("{} .. {}", fmt_pct(i.lo), fmt_pct(i.hi)),
    )
}

fn fmt_gate(m: &MetricComparison) -> String {
    m.threshold.map_or_else(
        || "—".to_string(),
        |t| {
            format!(
                "{}{:.0}%",
                if m.higher_is_better { "-" } else { "+" },
                t * 100.0
            )
        },
    )
}

/// The columns of a metric row, shared by the terminal and markdown tables.
fn metric_columns(m: &MetricComparison) -> [String; 7] {
    [
        m.metric.key().to_string(),
        fmt_side(m.metric, m.base),
        fmt_side(m.metric, m.current),
        m.change.map_or_else(|| "—".to_string(), fmt_pct),
        fmt_interval(m.interval),
        fmt_gate(m),
        m.verdict.label().to_string(),
    ]
}

const HEADER: [&str; 9] = [
    "scenario",
    "target",
    "metric",
    "base",
    "current",
    "change",
    "95% interval",
    "gate",
    "verdict",
];

/// Every row of the full table: one per metric, or one per cell without metrics.
fn table_rows(cmp: &Comparison) -> Vec<[String; 9]> {
    let mut rows = Vec::new();
    for cell in &cmp.cells {
        let scenario = cell.scenario_label();
        if cell.metrics.is_empty() {
            let verdict = if cell.lost && cmp.settings.fail_on_lost {
                "REGRESSION (lost)"
            } else {
                match cell.presence {
                    Presence::BaseOnly => "only in base",
                    Presence::CurrentOnly => "only in current",
                    Presence::Both => "no ok trials",
                }
            };
            let mut row: [String; 9] = Default::default();
            row[0] = scenario;
            row[1] = cell.target.clone();
            row[2] = "—".to_string();
            row[8] = verdict.to_string();
            rows.push(row);
            continue;
        }
        for (i, m) in cell.metrics.iter().enumerate() {
            let [a, b, c, d, e, f, g] = metric_columns(m);
            let (s, t) = if i == 0 {
                (scenario.clone(), cell.target.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push([s, t, a, b, c, d, e, f, g]);
        }
    }
    rows
}

fn summary_line(cmp: &Comparison) -> String {
    let regressions = cmp.regressions();
    let head = match regressions {
        0 => "no regression".to_string(),
        1 => "1 regression".to_string(),
        n => format!("{n} regressions"),
    };
    let lost = cmp.cells.iter().filter(|c| c.lost).count();
    let shifts = match cmp.machine_shifts.len() {
        0 => String::new(),
        n => format!(", {n} machine-wide shift(s)"),
    };
    format!(
        "{head}, {} improvement(s), {} inconclusive{shifts}; {} cell(s) in both runs, {} only in base, {} only in current, {} lost",
        cmp.improvements(),
        cmp.inconclusives(),
        cmp.count(Presence::Both),
        cmp.count(Presence::BaseOnly),
        cmp.count(Presence::CurrentOnly),
        lost,
    )
}

fn gates_line(cmp: &Comparison) -> String {
    let gates: Vec<String> = Metric::compared()
        .filter_map(|m| {
            let t = cmp.settings.gates.get(m.key())?;
            Some(format!("{m} {:.0}%", t * 100.0))
        })
        .collect();
    let statistic = if cmp.within.is_some() {
        "the median of the rounds' changes (paired: both targets' trials of one round ran side by \
         side, and rounds are resampled)"
    } else {
        "the change in medians"
    };
    format!(
        "{:.0}% bootstrap intervals of {statistic} ({} resamples, seed {}); gates: {}; \
         a regression needs the whole interval beyond its gate, \"no change\" the whole interval \
         inside it; anything else is inconclusive",
        cmp.settings.confidence * 100.0,
        cmp.settings.resamples,
        cmp.settings.seed,
        if gates.is_empty() {
            "none".to_string()
        } else {
            gates.join(", ")
        }
    )
}

/// For a compare within one run: which target is the baseline, with the versions they reported.
fn within_line(cmp: &Comparison) -> Option<String> {
    let w = cmp.within.as_ref()?;
    let version = |v: &Option<String>| v.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
    Some(format!(
        "within run {}: base {}{}, current {}{}; cells matched by scenario and variant",
        cmp.base.run_id,
        w.base_target,
        version(&w.base_version),
        w.current_target,
        version(&w.current_version)
    ))
}

/// One machine-wide shift as a line: "plaintext/c64 rps: 3 of 4 targets worse (median −18.2%): a
/// shift of the machine between the runs, not a regression of theirs (axum, bun, deno)".
fn shift_line(s: &CompareShift) -> String {
    format!(
        "{} {}: {} of {} targets {} (median {}): the machine shifted between the runs; not \
         counted as the targets' {} ({})",
        s.scenario,
        s.metric.key(),
        s.targets.len(),
        s.measured,
        if s.worse { "worse" } else { "better" },
        fmt_pct(s.median_change),
        if s.worse {
            "regressions"
        } else {
            "improvements"
        },
        s.targets.join(", ")
    )
}

/// The trials estimate as a table shows it.
fn fmt_trials(u: &Undecided) -> String {
    u.trials_to_decide.map_or_else(
        || format!("more than {MAX_TRIALS_ESTIMATE} (the change sits on the gate)"),
        |n| format!("~{n} per side"),
    )
}

fn undecided_columns(u: &Undecided) -> [String; 6] {
    [
        u.scenario.clone(),
        u.target.clone(),
        u.metric.key().to_string(),
        u.change.map_or_else(|| "—".to_string(), fmt_pct),
        fmt_interval(u.interval),
        fmt_trials(u),
    ]
}

fn write_terminal(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    if let Some(line) = within_line(cmp) {
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "base    {} ({}, {}, {})\ncurrent {} ({}, {}, {})",
            cmp.base.run_id,
            short(&cmp.base.git_commit),
            cmp.base.suite,
            schema(cmp.base.schema_version),
            cmp.current.run_id,
            short(&cmp.current.git_commit),
            cmp.current.suite,
            schema(cmp.current.schema_version),
        )?;
    }
    writeln!(out, "{}", gates_line(cmp))?;
    for w in &cmp.warnings {
        writeln!(out, "warning: {w}")?;
    }
    writeln!(out)?;
    let rows = table_rows(cmp);
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", line(&HEADER.map(String::from)))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    let notes: Vec<String> = cmp
        .cells
        .iter()
        .flat_map(|c| {
            c.notes
                .iter()
                .map(move |n| format!("{} {}: {n}", c.target, c.scenario_label()))
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "note: {n}")?;
        }
    }
    if !cmp.machine_shifts.is_empty() {
        writeln!(
            out,
            "\nmachine-wide shifts (more than half of the targets moved together):"
        )?;
        for s in &cmp.machine_shifts {
            writeln!(out, "  {}", shift_line(s))?;
        }
    }
    if !cmp.inconclusive.is_empty() {
        writeln!(
            out,
            "\ninconclusive (the interval reaches across the gate):"
        )?;
        for u in &cmp.inconclusive {
            let [scenario, target, metric, change, interval, trials] = undecided_columns(u);
            writeln!(
                out,
                "  {target} {scenario} {metric}: {change} ({interval}); trials likely to decide: {trials}"
            )?;
        }
    }
    writeln!(out, "\n{}", summary_line(cmp))
}

/// Which file layout a run was read from: an older one went through the converter.
fn schema(version: u32) -> String {
    if version == SCHEMA_VERSION {
        format!("schema {version}")
    } else {
        format!("schema {version}, converted to {SCHEMA_VERSION}")
    }
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn write_md_table(out: &mut dyn Write, rows: &[[String; 9]]) -> io::Result<()> {
    writeln!(out, "| {} |", HEADER.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(HEADER.len()))?;
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| match (i, c.as_str()) {
                (8, "REGRESSION") | (8, "REGRESSION (lost)") => format!("**{c}**"),
                _ => md_escape(c),
            })
            .collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

fn write_markdown(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    let mark = if cmp.has_regression() { "❌" } else { "✅" };
    writeln!(out, "## rtbench compare: {mark} {}\n", summary_line(cmp))?;
    match within_line(cmp) {
        Some(line) => writeln!(out, "{}. {}.\n", md_escape(&line), gates_line(cmp))?,
        None => writeln!(
            out,
            "Base `{}` (`{}`, {}) → current `{}` (`{}`, {}). {}.\n",
            md_escape(&cmp.base.run_id),
            short(&cmp.base.git_commit),
            schema(cmp.base.schema_version),
            md_escape(&cmp.current.run_id),
            short(&cmp.current.git_commit),
            schema(cmp.current.schema_version),
            gates_line(cmp)
        )?,
    }
    for w in &cmp.warnings {
        writeln!(out, "> ⚠️ {}", md_escape(w))?;
    }
    if !cmp.warnings.is_empty() {
        writeln!(out)?;
    }
    let notable: Vec<[String; 9]> = cmp
        .cells
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .filter(|m| matches!(m.verdict, Verdict::Regression | Verdict::Improvement))
                .map(move |m| {
                    let [a, b, d, e, f, g, h] = metric_columns(m);
                    [c.scenario_label(), c.target.clone(), a, b, d, e, f, g, h]
                })
        })
        .collect();
    if !notable.is_empty() {
        writeln!(out, "### Regressions and improvements\n")?;
        write_md_table(out, &notable)?;
        writeln!(out)?;
    }
    if !cmp.machine_shifts.is_empty() {
        writeln!(out, "### Machine-wide shifts\n")?;
        for s in &cmp.machine_shifts {
            writeln!(out, "- {}", md_escape(&shift_line(s)))?;
        }
        writeln!(out)?;
    }
    if !cmp.inconclusive.is_empty() {
        writeln!(out, "### Inconclusive\n")?;
        writeln!(
            out,
            "The interval reaches across the gate: these trials cannot tell a change from noise. \
             Trials likely to decide: the interval's width shrinking with 1/√n, its centre kept.\n"
        )?;
        writeln!(
            out,
            "| scenario | target | metric | change | 95% interval | trials likely to decide |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for u in &cmp.inconclusive {
            let cols = undecided_columns(u).map(|c| md_escape(&c));
            writeln!(out, "| {} |", cols.join(" | "))?;
        }
        writeln!(out)?;
    }
    let one_sided: Vec<&CellComparison> = cmp
        .cells
        .iter()
        .filter(|c| c.presence != Presence::Both || c.lost)
        .collect();
    if !one_sided.is_empty() {
        writeln!(out, "### Cells not in both runs\n")?;
        for c in one_sided {
            writeln!(
                out,
                "- `{}` `{}`: {}",
                md_escape(&c.target),
                md_escape(&c.scenario_label()),
                md_escape(&c.notes.join("; "))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "<details><summary>All cells ({})</summary>\n",
        cmp.cells.len()
    )?;
    write_md_table(out, &table_rows(cmp))?;
    let notes: Vec<String> = cmp
        .cells
        .iter()
        .filter(|c| c.presence == Presence::Both && !c.lost)
        .flat_map(|c| {
            c.notes.iter().map(move |n| {
                format!(
                    "- `{}` `{}`: {}",
                    md_escape(&c.target),
                    md_escape(&c.scenario_label()),
                    md_escape(n)
                )
            })
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "{n}")?;
        }
    }
    writeln!(
        out,
        "\nbase/current: median ± half the min–max range over ok trials (n). \
         \"insufficient trials\": fewer than {} on a side, no interval and no gate.\n\n</details>",
        cmp.settings.min_trials
    )
}
