//! The table `rtbench run` prints at the end: one line per cell, medians over the trials.
use rtbench_report::{group_trials, Cell};
use rtbench_results::{Run, TargetStatus, Trial};

/// Prints every cell's main figures, then the targets that were not measured and why.
pub fn print(run: &Run) {
    println!(
        "{:<12} {:<24} {:>6} {:>11} {:>9} {:>9} {:>10} {:>9}  notes",
        "target", "scenario", "trials", "req/s", "p50 ms", "p99 ms", "RSS MiB", "CPU µs/r"
    );
    for (key, cell) in group_trials(&run.trials) {
        let median = |metric: fn(&Trial) -> Option<f64>| cell.spread(metric).map(|s| s.median);
        let show = |v: Option<f64>, scale: f64, digits: usize| {
            v.map_or_else(|| "-".to_string(), |v| format!("{:.*}", digits, v * scale))
        };
        println!(
            "{:<12} {:<24} {:>6} {:>11} {:>9} {:>9} {:>10} {:>9}  {}",
            key.target,
            format!("{}/{}", key.scenario, key.variant),
            format!("{}/{}", cell.ok.len(), cell.ok.len() + cell.failed.len()),
            show(median(|t| t.load.as_ref().map(|l| l.rps)), 1.0, 0),
            show(
                median(|t| t.load.as_ref().map(|l| l.latency_us.p50)),
                1e-3,
                2
            ),
            show(
                median(|t| t.load.as_ref().map(|l| l.latency_us.p99)),
                1e-3,
                2
            ),
            show(
                median(|t| t.server.as_ref().map(|s| s.rss_mean_kib)),
                1.0 / 1024.0,
                1
            ),
            show(
                median(|t| t.server.as_ref().and_then(|s| s.cpu_us_per_request)),
                1.0,
                1
            ),
            notes(&cell),
        );
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

fn notes(cell: &Cell<'_>) -> String {
    let mut notes = Vec::new();
    if !cell.failed.is_empty() {
        notes.push(format!("{} failed", cell.failed.len()));
    }
    let bound = cell.count(|t| t.load.as_ref().is_some_and(|l| l.client_bound));
    if bound > 0 {
        notes.push(format!("client-bound in {bound}"));
    }
    if cell.count(|t| t.sustained == Some(false)) > 0 {
        notes.push("rate not sustained".into());
    }
    if let Some(mb) = cell.spread(|t| t.memory_per_10k_mb) {
        notes.push(format!("{:.1} MB per 10k req/s", mb.median));
    }
    if let Some(kib) = cell.spread(|t| t.kib_per_connection) {
        notes.push(format!("{:.1} KiB/conn", kib.median));
    }
    if let Some(kib) = cell.spread(|t| t.kib_per_stream) {
        notes.push(format!("{:.1} KiB/stream", kib.median));
    }
    if let Some(ms) = cell.spread(|t| rtbench_report::median(&t.cold_start_ms)) {
        notes.push(format!("cold start {:.0} ms", ms.median));
    }
    if let Some(relay) = cell.ok.last().and_then(|t| t.relay.as_ref()) {
        notes.push(match relay.abort_ms {
            Some(ms) => format!("abort {ms:.1} ms"),
            None => "upstream leaked".into(),
        });
        if relay.buffering {
            notes.push("buffering".into());
        }
    }
    notes.join(", ")
}
