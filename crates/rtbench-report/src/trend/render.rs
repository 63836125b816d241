//! The trend as markdown (for a job summary and the published pages) and as JSON.

use std::io::{self, Write};

use super::analysis::{Direction, Trend};

fn pct(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn cell_label(scenario: &str, variant: &str) -> String {
    if variant.is_empty() {
        scenario.to_string()
    } else {
        format!("{scenario}/{variant}")
    }
}

/// The trend as markdown: newest-run verdict first, then machine-wide shifts, then every change.
pub fn write_markdown(trend: &Trend, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "# rtbench trend")?;
    writeln!(w)?;
    let (first, last) = match (trend.runs.first(), trend.runs.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return writeln!(w, "The history is empty."),
    };
    writeln!(
        w,
        "{} runs, {} to {} (newest `{}`, commit `{}`); {} series. Change points: E-Divisive means \
         with a Student's t-test, p < {}{}.",
        trend.runs.len(),
        first.date,
        last.date,
        last.run_id,
        last.git_commit,
        trend.series.len(),
        trend.max_p_value,
        if trend.min_magnitude > 0.0 {
            format!(
                " and a change of at least {:.1}%",
                trend.min_magnitude * 100.0
            )
        } else {
            String::new()
        }
    )?;
    writeln!(w)?;
    writeln!(w, "## Newest run")?;
    writeln!(w)?;
    let bad = trend.newest_regressions();
    if bad.is_empty() {
        writeln!(w, "No target-specific regression starts at the newest run.")?;
    } else {
        writeln!(
            w,
            "**{} regression(s) start at the newest run:**",
            bad.len()
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "| target | scenario | metric | before | after | change | p |"
        )?;
        writeln!(w, "|---|---|---|---:|---:|---:|---:|")?;
        for (s, c) in bad {
            writeln!(
                w,
                "| {} | {} | {} | {:.1} {} | {:.1} {} | {} | {:.1e} |",
                s.target,
                cell_label(&s.scenario, &s.variant),
                s.metric,
                c.mean_before,
                s.unit,
                c.mean_after,
                s.unit,
                pct(c.relative_change),
                c.p_value
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "## Machine-wide shifts")?;
    writeln!(w)?;
    if trend.machine_shifts.is_empty() {
        writeln!(w, "None: no run moved most targets together.")?;
    } else {
        writeln!(
            w,
            "Most targets moved together in these runs: the machine changed, not the runtimes. \
             Not counted as regressions."
        )?;
        writeln!(w)?;
        writeln!(w, "| run | date | metric | direction | targets moved |")?;
        writeln!(w, "|---|---|---|---|---|")?;
        for m in &trend.machine_shifts {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} of {}: {} |",
                m.run_id,
                trend.runs[m.run].date,
                m.metric,
                direction_label(m.direction),
                m.targets.len(),
                m.measured,
                m.targets.join(", ")
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "## Change points")?;
    writeln!(w)?;
    let mut any = false;
    for s in &trend.series {
        for c in &s.changes {
            if !any {
                writeln!(
                    w,
                    "| run | target | scenario | metric | before | after | change | kind |"
                )?;
                writeln!(w, "|---|---|---|---|---:|---:|---:|---|")?;
                any = true;
            }
            writeln!(
                w,
                "| {} | {} | {} | {} | {:.1} | {:.1} | {} | {}{} |",
                c.run_id,
                s.target,
                cell_label(&s.scenario, &s.variant),
                s.metric,
                c.mean_before,
                c.mean_after,
                pct(c.relative_change),
                direction_label(c.direction),
                if c.machine_wide {
                    " (machine-wide)"
                } else {
                    ""
                }
            )?;
        }
    }
    if !any {
        writeln!(w, "No change point in any series.")?;
    }
    Ok(())
}

fn direction_label(d: Direction) -> &'static str {
    match d {
        Direction::Regression => "regression",
        Direction::Improvement => "improvement",
    }
}

/// The trend as pretty JSON (every series with its points and changes).
pub fn write_json(trend: &Trend, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, trend).map_err(io::Error::other)?;
    writeln!(w)
}
