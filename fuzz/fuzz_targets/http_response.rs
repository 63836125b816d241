//! The HTTP/1.1 response parser must never panic, and must report the same heads (status and
//! event-stream content type), responses, body bytes and error whether the bytes arrive in one
//! read, cut at a fuzzer-chosen point, or in fixed-size pieces; the end of the connection
//! (`finish`) must agree too. The properties live in `src/checks.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one of the checks
#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &[u8]| checks::http_response(input));
