//! Replays every committed fuzz seed through the fuzz targets' own properties, so a plain
//! `cargo test` (stable, no cargo-fuzz) catches a parser change that breaks one.

#[allow(dead_code)]
#[path = "../../../fuzz/src/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        check(&input);
        seeds += 1;
    }
    assert!(seeds >= 2, "{}: only {seeds} seeds", dir.display());
}

#[test]
fn every_http_response_seed_passes() {
    replay("http_response", checks::http_response);
}

#[test]
fn every_sse_parser_seed_passes() {
    replay("sse_parser", checks::sse_parser);
}
