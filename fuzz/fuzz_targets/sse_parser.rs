//! The SSE parser must never panic, and must give the same events and the same error whether the
//! stream arrives in one read, cut at a fuzzer-chosen point, or in fixed-size pieces. The
//! properties live in `src/checks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::sse_parser(input));
