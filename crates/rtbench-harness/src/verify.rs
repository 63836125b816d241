//! The contract checks run against a target before any load (design notes, "Verification").
//!
//! `/plaintext` and `/json` follow TechEmpower's FAIL and WARN rules; `/sse` must stream well-formed
//! events on schedule and end; `/sse-relay` must pass tokens on at once and abandon its upstream
//! request within a second of its client leaving. The checks run in parallel, so a whole
//! verification takes about two seconds (the `Date` rule alone needs a second between requests).

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rtbench_load::parse_stamp;
use rtbench_results::{CheckResult, CheckStatus};

use crate::probe::{self, Exchange, Head, ProbeError, Received};
use crate::relay;
use crate::UpstreamServer;

/// How long one plain request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The second request of the `Date` rule comes this long after the first, so a `Date` that is
/// refreshed every second must differ even when the refreshing timer fires late: uWebSockets.js
/// refreshes its Date on a one-second timer, and at 1.1 s a late tick on a busy machine read as
/// "the same Date 1.1 s later" (a CI run). A frozen or longer-cached Date still fails.
const DATE_RECHECK_AFTER: Duration = Duration::from_millis(2100);
/// `/sse` probe: events and interval.
const SSE_EVENTS: u32 = 5;
const SSE_INTERVAL: Duration = Duration::from_millis(200);
/// "First event at once": it must arrive before the second one is due (a server that buffers
/// events holds the first at least that long; a tighter bound would judge scheduling hiccups).
const SSE_FIRST_EVENT_WITHIN: Duration = SSE_INTERVAL;
/// `/sse-relay` probe: tokens and interval of the order/held-back part.
const RELAY_TOKENS: u32 = 8;
const RELAY_INTERVAL: Duration = Duration::from_millis(150);
/// A relayed token arriving later than this after its upstream send was held back: it was still
/// not written when the next token arrived. (A shorter bound judges the machine's scheduling
/// hiccups, not the relay: 90 ms delays were seen on a loaded 2-core machine.)
const RELAY_HELD_BACK: Duration = RELAY_INTERVAL;
/// The upstream request must be closed within this long of the client leaving.
const RELAY_ABORT_WITHIN: Duration = Duration::from_secs(1);

/// Runs every contract check against the target at `base_url` (`http://127.0.0.1:PORT`); the relay
/// check only when the target was launched with `upstream`'s URL as `UPSTREAM_URL`.
///
/// Results come in a fixed order: `plaintext`, `json`, `not-found`, `bad-request`, `sse`, then
/// `sse-relay` when an upstream is given. A malformed `base_url` fails every check with that reason.
/// While the relay check runs it sets the upstream's stream shape, and restores it afterwards.
pub fn verify(base_url: &str, upstream: Option<&UpstreamServer>) -> Vec<CheckResult> {
    let mut names = vec!["plaintext", "json", "not-found", "bad-request", "sse"];
    if upstream.is_some() {
        names.push("sse-relay");
    }
    let addr = match probe::target_addr(base_url) {
        Ok(addr) => addr,
        Err(reason) => {
            return names
                .into_iter()
                .map(|check| Verdict::default().fail(reason.clone()).result(check))
                .collect();
        }
    };
    thread::scope(|s| {
        let plaintext = s.spawn(move || check_hello(addr, Hello::Plaintext));
        let json = s.spawn(move || check_hello(addr, Hello::Json));
        let not_found = s.spawn(move || check_not_found(addr));
        let bad_request = s.spawn(move || check_bad_request(addr));
        let sse = s.spawn(move || check_sse(addr));
        let relay = upstream.map(|u| s.spawn(move || check_relay(addr, u)));
        let mut results = vec![
            plaintext.join(),
            json.join(),
            not_found.join(),
            bad_request.join(),
            sse.join(),
        ];
        results.extend(relay.map(|r| r.join()));
        results
            .into_iter()
            .zip(names)
            .map(|(r, check)| {
                r.unwrap_or_else(|_| {
                    Verdict::default()
                        .fail("the check itself panicked (an rtbench bug)")
                        .result(check)
                })
            })
            .collect()
    })
}

/// Findings of one check, turned into its [`CheckResult`] at the end.
#[derive(Debug, Default)]
struct Verdict {
    fails: Vec<String>,
    warns: Vec<String>,
}

impl Verdict {
    fn fail(mut self, reason: impl Into<String>) -> Self {
        self.fails.push(reason.into());
        self
    }

    fn result(self, check: &str) -> CheckResult {
        let status = if !self.fails.is_empty() {
            CheckStatus::Fail
        } else if !self.warns.is_empty() {
            CheckStatus::Warn
        } else {
            CheckStatus::Pass
        };
        let reasons: Vec<String> = self.fails.into_iter().chain(self.warns).collect();
        CheckResult {
            check: check.to_owned(),
            status,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Hello {
    Plaintext,
    Json,
}

impl Hello {
    fn path(self) -> &'static str {
        match self {
            Hello::Plaintext => "/plaintext",
            Hello::Json => "/json",
        }
    }

    fn name(self) -> &'static str {
        &self.path()[1..]
    }

    fn mime(self) -> &'static str {
        match self {
            Hello::Plaintext => "text/plain",
            Hello::Json => "application/json",
        }
    }
}

fn check_hello(addr: SocketAddr, kind: Hello) -> CheckResult {
    let path = kind.path();
    let mut v = Verdict::default();
    let first = match probe::get(addr, path, Instant::now() + REQUEST_TIMEOUT) {
        Ok(r) => r,
        Err(e) => return v.fail(format!("GET {path}: {e}")).result(kind.name()),
    };
    let first_at = Instant::now();
    let head = &first.head;
    if head.status != 200 {
        v.fails
            .push(format!("GET {path}: status {} (want 200)", head.status));
    }
    if first.body.is_empty() {
        v.fails.push(format!("GET {path}: empty body"));
    }
    for name in ["Server", "Date", "Content-Type"] {
        if head.header(name).is_none() {
            v.fails.push(format!("GET {path}: no {name} header"));
        }
    }
    if head.header("Content-Length").is_none() && head.header("Transfer-Encoding").is_none() {
        v.fails.push(format!(
            "GET {path}: neither Content-Length nor Transfer-Encoding"
        ));
    }
    if let Some(ct) = head.header("Content-Type") {
        if !content_type_ok(ct, kind.mime()) {
            v.fails.push(format!(
                "GET {path}: Content-Type '{ct}' (want {}, optionally '; charset=utf-8')",
                kind.mime()
            ));
        }
    }
    match kind {
        Hello::Plaintext => plaintext_body(&first.body, &mut v),
        Hello::Json => json_body(&first.body, &mut v),
    }
    let Some(date) = head.header("Date").map(str::to_owned) else {
        return v.result(kind.name());
    };
    if !is_imf_fixdate(&date) {
        v.warns.push(format!(
            "GET {path}: Date '{date}' is not in IMF-fixdate form"
        ));
    }
    thread::sleep(DATE_RECHECK_AFTER.saturating_sub(first_at.elapsed()));
    match probe::get(addr, path, Instant::now() + REQUEST_TIMEOUT) {
        Ok(second) => match second.head.header("Date") {
            Some(d) if d == date => v.fails.push(format!(
                "GET {path}: the same Date '{date}' {:.1} s later (a cached Date)",
                first_at.elapsed().as_secs_f64()
            )),
            Some(_) => {}
            None => v
                .fails
                .push(format!("GET {path}: no Date header on a second request")),
        },
        Err(e) => v.fails.push(format!("GET {path} (second request): {e}")),
    }
    v.result(kind.name())
}

/// `^<mime>(; ?charset=(UTF|utf)-8)?$`, as TechEmpower's verifier matches it.
fn content_type_ok(ct: &str, mime: &str) -> bool {
    let Some(rest) = ct.strip_prefix(mime) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(';') else {
        return rest.is_empty();
    };
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    matches!(rest, "charset=UTF-8" | "charset=utf-8")
}

fn plaintext_body(body: &[u8], v: &mut Verdict) {
    let text = String::from_utf8_lossy(body);
    if !text.to_lowercase().contains("hello, world!") {
        v.fails.push(format!(
            "GET /plaintext: body {:?} does not contain 'hello, world!'",
            shorten(&text)
        ));
    } else if body.len() > 13 {
        v.warns.push(format!(
            "GET /plaintext: body is {} bytes (more than 'Hello, World!')",
            body.len()
        ));
    }
}

fn json_body(body: &[u8], v: &mut Verdict) {
    let shown = || shorten(&String::from_utf8_lossy(body));
    let object = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(o)) => o,
        Ok(_) => {
            return v
                .fails
                .push(format!("GET /json: body {:?} is not an object", shown()))
        }
        Err(e) => {
            return v
                .fails
                .push(format!("GET /json: body {:?} is not JSON: {e}", shown()))
        }
    };
    match object.get("message").and_then(|m| m.as_str()) {
        Some(m) if m.to_lowercase() == "hello, world!" => {}
        _ => v.fails.push(format!(
            "GET /json: body {:?} has no message 'hello, world!'",
            shown()
        )),
    }
    if object.len() > 1 {
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        v.warns
            .push(format!("GET /json: extra keys ({})", keys.join(", ")));
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate), checked by shape.
fn is_imf_fixdate(date: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() == 29
        && DAYS.contains(&&date[0..3])
        && &date[3..5] == ", "
        && digits(5..7)
        && b[7] == b' '
        && MONTHS.contains(&&date[8..11])
        && b[11] == b' '
        && digits(12..16)
        && b[16] == b' '
        && digits(17..19)
        && b[19] == b':'
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
        && &date[25..] == " GMT"
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn check_not_found(addr: SocketAddr) -> CheckResult {
    let path = "/rtbench-no-such-path";
    let v = Verdict::default();
    let v = match probe::get(addr, path, Instant::now() + REQUEST_TIMEOUT) {
        Ok(r) if r.head.status == 404 => v,
        Ok(r) => v.fail(format!("GET {path}: status {} (want 404)", r.head.status)),
        Err(e) => v.fail(format!("GET {path}: {e}")),
    };
    v.result("not-found")
}

fn check_bad_request(addr: SocketAddr) -> CheckResult {
    let mut v = Verdict::default();
    for path in [
        "/sse?events=0",
        "/sse?events=100001",
        "/sse?events=ten",
        "/sse?interval_ms=60001",
        "/sse?interval_ms=-1",
        "/sse?events=3&interval_ms=1.5",
    ] {
        // Only the head: a server that wrongly accepts would stream for a long time.
        match Exchange::open(addr, path, Instant::now() + REQUEST_TIMEOUT) {
            Ok(x) if x.head.status == 400 => {}
            Ok(x) => v
                .fails
                .push(format!("GET {path}: status {} (want 400)", x.head.status)),
            Err(e) => v.fails.push(format!("GET {path}: {e}")),
        }
    }
    v.result("bad-request")
}

fn check_sse(addr: SocketAddr) -> CheckResult {
    let ms = SSE_INTERVAL.as_millis();
    let path = format!("/sse?events={SSE_EVENTS}&interval_ms={ms}");
    let mut v = Verdict::default();
    let deadline = Instant::now() + REQUEST_TIMEOUT + SSE_INTERVAL * SSE_EVENTS;
    let x = match Exchange::open(addr, &path, deadline) {
        Ok(x) => x,
        Err(e) => return v.fail(format!("GET {path}: {e}")).result("sse"),
    };
    event_stream_head(&x.head, &path, &mut v);
    if !v.fails.is_empty() {
        return v.result("sse");
    }
    match x.head.header("Cache-Control") {
        Some(cc) if cc.to_ascii_lowercase().contains("no-cache") => {}
        other => v.fails.push(format!(
            "GET {path}: Cache-Control {other:?} (want no-cache)"
        )),
    }
    let sent_at = x.sent_at;
    let mut stream = x.events();
    let mut first: Option<Instant> = None;
    let tolerance = (SSE_INTERVAL / 10).max(Duration::from_millis(5));
    for k in 1..=SSE_EVENTS {
        let event = match stream.next(deadline) {
            Ok(Some(e)) => e,
            Ok(None) => {
                v.fails.push(format!(
                    "GET {path}: the stream ended after {} events (want {SSE_EVENTS})",
                    k - 1
                ));
                return v.result("sse");
            }
            Err(e) => {
                v.fails
                    .push(format!("GET {path}: waiting for event {k}: {e}"));
                return v.result("sse");
            }
        };
        if let Err(reason) = well_formed(&event, k) {
            v.fails.push(format!("GET {path}: {reason}"));
            return v.result("sse");
        }
        let t0 = *first.get_or_insert(event.at);
        if k == 1 {
            let wait = event.at - sent_at;
            if wait > SSE_FIRST_EVENT_WITHIN {
                v.fails.push(format!(
                    "GET {path}: the first event came {} ms after the request (want it at once)",
                    wait.as_millis()
                ));
            }
        }
        let early = SSE_INTERVAL * (k - 1);
        let after = event.at - t0;
        if after + tolerance < early {
            v.fails.push(format!(
                "GET {path}: event {k} came {} ms after the first (want ≥ {} ms)",
                after.as_millis(),
                early.as_millis()
            ));
            return v.result("sse");
        }
    }
    match stream.next(Instant::now() + SSE_INTERVAL + Duration::from_secs(1)) {
        Ok(None) => {}
        Ok(Some(_)) => v
            .fails
            .push(format!("GET {path}: an event after event {SSE_EVENTS}")),
        Err(ProbeError::Timeout) => v.fails.push(format!(
            "GET {path}: the response did not end after event {SSE_EVENTS}"
        )),
        Err(e) => v
            .fails
            .push(format!("GET {path}: after the last event: {e}")),
    }
    v.result("sse")
}

/// Status 200 and a `text/event-stream` content type.
fn event_stream_head(head: &Head, path: &str, v: &mut Verdict) {
    if head.status != 200 {
        v.fails
            .push(format!("GET {path}: status {} (want 200)", head.status));
    }
    match head.header("Content-Type") {
        Some(ct) if ct.starts_with("text/event-stream") => {}
        other => v.fails.push(format!(
            "GET {path}: Content-Type {other:?} (want text/event-stream)"
        )),
    }
}

/// Event `k` must carry `id: k` and `{"seq":k,"sent_ns":n}` with `n` the wall clock of its send.
fn well_formed(event: &Received, k: u32) -> Result<u64, String> {
    let Some((seq, sent_ns)) = parse_stamp(&event.data) else {
        return Err(format!(
            "event {k}: data {:?} is not {{\"seq\":k,\"sent_ns\":n}}",
            shorten(&event.data)
        ));
    };
    if seq != u64::from(k) {
        return Err(format!("event {k} has seq {seq} (out of order)"));
    }
    let id = k.to_string();
    if event.id.as_deref() != Some(id.as_str()) {
        return Err(format!("event {k} has id {:?} (want {k})", event.id));
    }
    // Same host clock: a stamp more than a second off is not the Unix time in ns.
    if event.wall_ns.abs_diff(sent_ns) > 1_000_000_000 {
        return Err(format!(
            "event {k}: sent_ns {sent_ns} is not the current Unix time in ns"
        ));
    }
    Ok(sent_ns)
}

fn check_relay(addr: SocketAddr, upstream: &UpstreamServer) -> CheckResult {
    let saved = upstream.stream();
    let v = relay_in_order(addr, upstream, Verdict::default());
    let v = if v.fails.is_empty() {
        relay_abort(addr, upstream, v)
    } else {
        v
    };
    upstream.set_stream(saved.0, saved.1);
    v.result("sse-relay")
}

/// Every token arrives, in order, within [`RELAY_HELD_BACK`] of its upstream send.
fn relay_in_order(addr: SocketAddr, upstream: &UpstreamServer, mut v: Verdict) -> Verdict {
    let path = "/sse-relay";
    if let Err(e) = relay::warm_up(&format!("http://{addr}"), upstream) {
        return v.fail(format!("warm-up stream: {e}"));
    }
    upstream.set_stream(RELAY_TOKENS, RELAY_INTERVAL);
    let deadline = Instant::now() + REQUEST_TIMEOUT + RELAY_INTERVAL * RELAY_TOKENS;
    let x = match Exchange::open(addr, path, deadline) {
        Ok(x) => x,
        Err(e) => return v.fail(format!("GET {path}: {e}")),
    };
    event_stream_head(&x.head, path, &mut v);
    if !v.fails.is_empty() {
        return v;
    }
    let mut stream = x.events();
    let mut worst: Option<(u32, u64)> = None;
    for k in 1..=RELAY_TOKENS {
        let event = match stream.next(deadline) {
            Ok(Some(e)) => e,
            Ok(None) => {
                return v.fail(format!(
                    "GET {path}: the stream ended after {} of {RELAY_TOKENS} tokens",
                    k - 1
                ))
            }
            Err(e) => return v.fail(format!("GET {path}: waiting for token {k}: {e}")),
        };
        let sent_ns = match well_formed(&event, k) {
            Ok(sent_ns) => sent_ns,
            Err(reason) => return v.fail(format!("GET {path}: {reason}")),
        };
        let late_ns = event.wall_ns.saturating_sub(sent_ns);
        if worst.map_or(true, |(_, w)| late_ns > w) {
            worst = Some((k, late_ns));
        }
    }
    if let Some((k, late_ns)) = worst {
        if Duration::from_nanos(late_ns) > RELAY_HELD_BACK {
            v.fails.push(format!(
                "GET {path}: token {k} arrived {} ms after the upstream sent it \
                 (want < {} ms: tokens are held back)",
                late_ns / 1_000_000,
                RELAY_HELD_BACK.as_millis()
            ));
        }
    }
    v
}

/// A client that leaves after a few tokens makes the target close its upstream request within
/// [`RELAY_ABORT_WITHIN`].
fn relay_abort(addr: SocketAddr, upstream: &UpstreamServer, mut v: Verdict) -> Verdict {
    let path = "/sse-relay";
    // Long enough that only the target's abort can end the upstream request in time.
    upstream.set_stream(100_000, Duration::from_millis(20));
    let from_id = upstream.next_id();
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut stream = match Exchange::open(addr, path, deadline) {
        Ok(x) => x.events(),
        Err(e) => return v.fail(format!("GET {path} (abort check): {e}")),
    };
    for k in 1..=3 {
        if let Err(e) = stream.next(deadline) {
            return v.fail(format!(
                "GET {path} (abort check): waiting for token {k}: {e}"
            ));
        }
    }
    let Some(conn) = upstream.wait_opened(from_id, Duration::ZERO) else {
        return v.fail(format!(
            "GET {path}: tokens arrived but the upstream saw no request"
        ));
    };
    drop(stream);
    let left_at = SystemTime::now();
    match upstream.wait_closed(conn.id, RELAY_ABORT_WITHIN) {
        Some(closed) => {
            let after = closed
                .closed
                .and_then(|c| c.duration_since(left_at).ok())
                .unwrap_or_default();
            if after > RELAY_ABORT_WITHIN {
                v.fails.push(format!(
                    "GET {path}: the upstream request closed {} ms after the client left (want ≤ {} ms)",
                    after.as_millis(),
                    RELAY_ABORT_WITHIN.as_millis()
                ));
            }
        }
        None => v.fails.push(format!(
            "GET {path}: the upstream request was still open {} ms after the client left \
             (the relay does not abort it)",
            RELAY_ABORT_WITHIN.as_millis()
        )),
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_techempower_pattern() {
        for ok in [
            "text/plain",
            "text/plain; charset=utf-8",
            "text/plain;charset=UTF-8",
        ] {
            assert!(content_type_ok(ok, "text/plain"), "{ok}");
        }
        for bad in [
            "text/html",
            "text/plain;  charset=utf-8",
            "text/plain; charset=Utf-8",
            "text/plain; charset=iso-8859-1",
            "text/plainx",
            "text/plain;",
        ] {
            assert!(!content_type_ok(bad, "text/plain"), "{bad}");
        }
    }

    #[test]
    fn imf_fixdate_shape() {
        assert!(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert!(!is_imf_fixdate(bad), "{bad}");
        }
    }

    #[test]
    fn json_rules() {
        let mut v = Verdict::default();
        json_body(br#"{"message":"Hello, World!"}"#, &mut v);
        assert!(v.fails.is_empty() && v.warns.is_empty());
        json_body(br#"{"message":"HELLO, WORLD!","extra":1}"#, &mut v);
        assert!(v.fails.is_empty() && v.warns.len() == 1);
        for bad in [
            &br#"["Hello, World!"]"#[..],
            br#"{"msg":"Hello, World!"}"#,
            b"nope",
        ] {
            let mut v = Verdict::default();
            json_body(bad, &mut v);
            assert_eq!(v.fails.len(), 1);
        }
    }
}
