//! The table `rtbench run` prints at the end: one line per cell, medians over the trials. Every
//! figure is a metric of the catalogue, written by its one formatter.
use rtbench_report::{group_trials, Cell};
use rtbench_results::{Metric, Run, TargetStatus};

/// The columns: the figures every load scenario has.
const COLUMNS: [(&str, &str, usize); 5] = [
    ("rps", "req/s", 12),
    ("p50", "p50", 10),
    ("p99", "p99", 10),
    ("memory", "RSS", 10),
    ("cpu", "CPU/req", 10),
];
/// Figures of one scenario kind, shown in the notes when a cell has them.
const NOTES: [&str; 5] = [
    "memory_per_10k",
    "kib_per_connection",
    "kib_per_stream",
    "cold_start",
    "relay_abort_ms",
];

/// Prints every cell's main figures, then the targets that were not measured and why.
pub fn print(run: &Run) {
    let mut header = format!("{:<12} {:<24} {:>6}", "target", "scenario", "trials");
    for (_, title, width) in COLUMNS {
        header += &format!(" {title:>width$}");
    }
    println!("{header}  notes");
    for (key, cell) in group_trials(&run.trials) {
        let mut line = format!(
            "{:<12} {:<24} {:>6}",
            key.target,
            format!("{}/{}", key.scenario, key.variant),
            format!("{}/{}", cell.ok.len(), cell.ok.len() + cell.failed.len()),
        );
        for (key, _, width) in COLUMNS {
            let figure = median(&cell, Metric::named(key)).unwrap_or_else(|| "-".into());
            line += &format!(" {figure:>width$}");
        }
        println!("{line}  {}", notes(&cell));
    }
    for target in &run.targets {
        if target.status != TargetStatus::Ok {
            println!(
                "{:<12} {}: {}",
                target.name,
                match target.status {
                    TargetStatus::Unavailable => "UNAVAILABLE",
                    _ => "FAILED",
                },
                target.reason.clone().unwrap_or_default()
            );
        }
    }
}

/// The median of `metric` over the cell's ok trials, formatted.
fn median(cell: &Cell<'_>, metric: Metric) -> Option<String> {
    let spread = cell.spread(|t| metric.value(t))?;
    Some(metric.format(spread.median))
}

fn notes(cell: &Cell<'_>) -> String {
    let mut notes = Vec::new();
    if !cell.failed.is_empty() {
        notes.push(format!("{} failed", cell.failed.len()));
    }
    let bound = cell.count(|t| t.load().is_some_and(|l| l.client_bound));
    if bound > 0 {
        notes.push(format!("client-bound in {bound}"));
    }
    if cell.count(|t| t.sustained() == Some(false)) > 0 {
        notes.push("rate not sustained".into());
    }
    for key in NOTES {
        let metric = Metric::named(key);
        let Some(figure) = median(cell, metric) else {
            continue;
        };
        // A figure below what its readings can resolve is no value: its resolution is given.
        let below = Metric::from_key(&format!("{key}_resolution"))
            .and_then(|r| Some((r, cell.spread(|t| r.value(t))?.median)))
            .filter(|(_, resolution)| {
                cell.spread(|t| metric.value(t))
                    .is_some_and(|s| s.median < *resolution)
            });
        match below {
            Some((r, resolution)) => notes.push(format!(
                "{} < {} (resolution)",
                metric.label(),
                r.format(resolution)
            )),
            None => notes.push(format!("{} {figure}", metric.label())),
        }
    }
    if let Some(relay) = cell.ok.last().and_then(|t| t.relay()) {
        if relay.abort_ms.is_none() {
            notes.push("upstream leaked".into());
        }
        if relay.buffering {
            notes.push("buffering".into());
        }
    }
    notes.join(", ")
}

#[cfg(test)]
mod tests {
    use rtbench_report::group_trials;
    use rtbench_results::{parse_run, Outcome};

    #[test]
    fn an_idle_figure_below_its_resolution_is_not_printed_as_a_value() {
        let fixture = include_str!("../../rtbench-report/tests/fixtures/full/run.json");
        let mut run = parse_run(fixture).unwrap();
        for t in run.trials.iter_mut().filter(|t| t.target == "bun") {
            if let Some(Outcome::IdleConnections {
                kib_per_connection,
                resolution_kib,
                ..
            }) = &mut t.outcome
            {
                *kib_per_connection = 0.0;
                *resolution_kib = Some(3.1);
            }
        }
        let cells = group_trials(&run.trials);
        let (_, bun) = cells
            .iter()
            .find(|(k, _)| k.target == "bun" && k.scenario == "idle-connections")
            .unwrap();
        let notes = super::notes(bun);
        assert!(
            notes.contains("KiB per idle connection < 3.10 KiB (resolution)"),
            "{notes}"
        );
        let (_, axum) = cells
            .iter()
            .find(|(k, _)| k.target == "axum" && k.scenario == "idle-connections")
            .unwrap();
        assert!(!super::notes(axum).contains("resolution"));
    }
}
