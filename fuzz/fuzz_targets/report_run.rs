//! `rtbench report` on arbitrary run.json bytes: no panic, no hang, bounded memory (run with
//! `-rss_limit_mb`). The property lives in `src/report_checks.rs`.
#![no_main]

#[path = "../src/report_checks.rs"]
mod report_checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    report_checks::report_run(input);
});
