use rtbench_harness::{verify, UpstreamServer};
use rtbench_results::{CheckResult, CheckStatus};

use crate::util::{dead_url, Flaw, TestTarget};

fn check<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == name)
        .unwrap_or_else(|| panic!("no {name} check in {results:?}"))
}

/// Asserts `name` has `status` and its reason mentions `words`.
fn assert_check(results: &[CheckResult], name: &str, status: CheckStatus, words: &str) {
    let r = check(results, name);
    assert_eq!(r.status, status, "{name}: {r:?}");
    let reason = r.reason.as_deref().unwrap_or("");
    assert!(reason.contains(words), "{name}: {reason:?} lacks {words:?}");
}

fn assert_pass(results: &[CheckResult], names: &[&str]) {
    for name in names {
        let r = check(results, name);
        assert_eq!(r.status, CheckStatus::Pass, "{r:?}");
        assert_eq!(r.reason, None);
    }
}

#[test]
fn a_correct_server_passes_every_check() {
    let upstream = UpstreamServer::start().unwrap();
    let target = TestTarget::start(Flaw::None, Some(upstream.url()));
    let started = std::time::Instant::now();
    let results = verify(&target.url(), Some(&upstream));
    let names: Vec<&str> = results.iter().map(|r| r.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "plaintext",
            "json",
            "not-found",
            "bad-request",
            "sse",
            "sse-relay"
        ]
    );
    assert_pass(&results, &names);
    // The checks run side by side: the Date rule's 2.1 s wait dominates.
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn no_date_fails_plaintext_and_json_only() {
    let target = TestTarget::start(Flaw::NoDate, None);
    let results = verify(&target.url(), None);
    assert_check(&results, "plaintext", CheckStatus::Fail, "no Date header");
    assert_check(&results, "json", CheckStatus::Fail, "no Date header");
    assert_pass(&results, &["not-found", "bad-request", "sse"]);
}

#[test]
fn wrong_content_type_fails() {
    let target = TestTarget::start(Flaw::WrongContentType, None);
    let results = verify(&target.url(), None);
    assert_check(
        &results,
        "plaintext",
        CheckStatus::Fail,
        "Content-Type 'text/html'",
    );
    assert_check(
        &results,
        "json",
        CheckStatus::Fail,
        "Content-Type 'text/html'",
    );
    assert_pass(&results, &["sse"]);
}

#[test]
fn a_frozen_date_fails_on_the_second_request() {
    let target = TestTarget::start(Flaw::FrozenDate, None);
    let results = verify(&target.url(), None);
    assert_check(&results, "plaintext", CheckStatus::Fail, "the same Date");
    assert_check(&results, "json", CheckStatus::Fail, "a cached Date");
}

#[test]
fn buffered_sse_fails() {
    let target = TestTarget::start(Flaw::BufferedSse, None);
    let results = verify(&target.url(), None);
    // Everything arrives at the end: the first event is late (and the rest come too early after it).
    assert_check(&results, "sse", CheckStatus::Fail, "the first event came");
    assert_pass(&results, &["plaintext", "json"]);
}

#[test]
fn a_relay_that_holds_tokens_back_fails() {
    let upstream = UpstreamServer::start().unwrap();
    let target = TestTarget::start(Flaw::BufferedRelay, Some(upstream.url()));
    let results = verify(&target.url(), Some(&upstream));
    assert_check(&results, "sse-relay", CheckStatus::Fail, "held back");
}

#[test]
fn a_relay_that_ignores_disconnects_fails() {
    let upstream = UpstreamServer::start().unwrap();
    let target = TestTarget::start(Flaw::RelayIgnoresDisconnect, Some(upstream.url()));
    let results = verify(&target.url(), Some(&upstream));
    assert_check(&results, "sse-relay", CheckStatus::Fail, "still open");
    // It relays in order and at once; only the abort is wrong.
    assert_pass(&results, &["plaintext", "sse"]);
    assert_eq!(upstream.open_count(), 1, "{:?}", upstream.connections());
}

#[test]
fn an_unreachable_target_fails_every_check() {
    let results = verify(&dead_url(), None);
    assert_eq!(results.len(), 5);
    for r in &results {
        assert_eq!(r.status, CheckStatus::Fail, "{r:?}");
        assert!(r.reason.as_deref().unwrap().contains("connect"), "{r:?}");
    }
}

#[test]
fn a_malformed_url_fails_every_check_naming_it() {
    for r in verify("127.0.0.1:8080", None) {
        assert_eq!(r.status, CheckStatus::Fail);
        assert!(r
            .reason
            .unwrap()
            .contains("bad target URL '127.0.0.1:8080'"));
    }
}
