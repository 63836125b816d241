use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use rtbench_harness::UpstreamServer;
use rtbench_load::{parse_stamp, SseParser};

/// Sends a GET and reads the head; the reader is positioned at the (chunked) body.
fn open(upstream: &UpstreamServer) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(upstream.addr()).unwrap();
    s.write_all(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            return r;
        }
    }
}

/// Reads one chunk: one token event.
fn token(r: &mut BufReader<TcpStream>) -> (u64, u64) {
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let size = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut data = vec![0; size + 2];
    r.read_exact(&mut data).unwrap();
    let mut stamp = None;
    SseParser::new()
        .feed(&data[..size], &mut |e| stamp = parse_stamp(e.data))
        .unwrap();
    stamp.unwrap()
}

#[test]
fn streams_the_configured_tokens_on_schedule_then_ends() {
    let upstream = UpstreamServer::start().unwrap();
    upstream.set_stream(5, Duration::from_millis(30));
    assert_eq!(upstream.stream(), (5, Duration::from_millis(30)));
    let mut r = open(&upstream);
    let start = Instant::now();
    let mut first_sent = 0;
    for k in 1..=5u64 {
        let (seq, sent_ns) = token(&mut r);
        assert_eq!(seq, k);
        if k == 1 {
            first_sent = sent_ns;
            assert!(start.elapsed() < Duration::from_millis(100));
        } else {
            let since_first = Duration::from_nanos(sent_ns - first_sent);
            assert!(
                since_first >= Duration::from_millis(30 * (k - 1)),
                "{since_first:?}"
            );
        }
    }
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "0\r\n\r\n");
    let conn = upstream.wait_closed(0, Duration::from_secs(1)).unwrap();
    assert!(conn.completed);
    assert_eq!((conn.tokens_planned, conn.tokens_sent), (5, 5));
}

#[test]
fn a_client_leaving_between_tokens_is_seen_at_once() {
    let upstream = UpstreamServer::start().unwrap();
    // The next write is a second away: only watching the socket can notice the close sooner.
    upstream.set_stream(10, Duration::from_secs(1));
    let mut r = open(&upstream);
    token(&mut r);
    drop(r);
    let left = SystemTime::now();
    let conn = upstream.wait_closed(0, Duration::from_millis(500)).unwrap();
    let after = conn
        .closed
        .unwrap()
        .duration_since(left)
        .unwrap_or_default();
    // Far sooner than the next write, a second away (usually about a millisecond).
    assert!(after < Duration::from_millis(200), "{after:?}");
    assert!(!conn.completed);
    assert_eq!(conn.tokens_sent, 1);
    assert_eq!(upstream.open_count(), 0);
}

#[test]
fn serves_a_thousand_concurrent_streams() {
    let upstream = UpstreamServer::start().unwrap();
    upstream.set_stream(1000, Duration::from_millis(100));
    let mut clients: Vec<_> = (0..1000).map(|_| open(&upstream)).collect();
    for c in &mut clients {
        assert_eq!(token(c).0, 1);
    }
    assert_eq!(upstream.open_count(), 1000);
    // Every stream keeps its schedule under that load.
    for c in clients.iter_mut().take(10) {
        assert_eq!(token(c).0, 2);
    }
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(2);
    while upstream.open_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(upstream.open_count(), 0);
    upstream.clear();
    assert!(upstream.connections().is_empty());
    assert_eq!(upstream.next_id(), 1000);
}

#[test]
fn refuses_other_methods_and_garbage() {
    let upstream = UpstreamServer::start().unwrap();
    for (request, status) in [
        (
            &b"POST /v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"[..],
            "405",
        ),
        (b"\x00\x01 nonsense\r\n\r\n", "400"),
    ] {
        let mut s = TcpStream::connect(upstream.addr()).unwrap();
        s.write_all(request).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with(&format!("HTTP/1.1 {status}")), "{reply}");
    }
    assert!(upstream.connections().is_empty());
}
