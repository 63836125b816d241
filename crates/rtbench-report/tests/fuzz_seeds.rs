//! Replays every committed seed of the `report_run` fuzz target through the target's own
//! property, so a plain `cargo test` (stable, no cargo-fuzz) catches a report change that panics
//! or hangs on one. Each seed gets a time limit: a hang is the defect this target guards.

#[path = "../../../fuzz/src/report_checks.rs"]
mod report_checks;

#[test]
fn every_report_run_seed_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/report_run");
    let (mut seeds, mut rendered) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(report_checks::report_run(&input));
        });
        let ok = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{}: no answer within 60 s", path.display()));
        seeds += 1;
        rendered += usize::from(ok);
    }
    assert!(seeds >= 5, "{}: only {seeds} seeds", dir.display());
    // The four run.json seeds render; only the truncated one is refused.
    assert_eq!(rendered, seeds - 1, "{}", dir.display());
}
