//! An in-process target on 127.0.0.1 that follows the contract, or breaks one rule on purpose.
//!
//! Plain blocking std sockets, a thread per connection, one request per connection: the simplest
//! server that can be correct, so a failing check points at the flaw, not at the server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The rule a [`TestTarget`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Follows the contract.
    None,
    /// No `Date` header anywhere.
    NoDate,
    /// `/plaintext` and `/json` answer `text/html`.
    WrongContentType,
    /// One `Date`, computed at start and sent forever.
    FrozenDate,
    /// `/sse` writes every event at the end.
    BufferedSse,
    /// `/sse-relay` passes tokens on in bursts, every 100 ms.
    BufferedRelay,
    /// `/sse-relay` keeps reading its upstream after the client left.
    RelayIgnoresDisconnect,
}

/// A running in-process target; stops accepting when dropped.
pub struct TestTarget {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestTarget {
    /// Starts a target with `flaw`, relaying from `upstream` (an `http://host:port/path` URL).
    pub fn start(flaw: Flaw, upstream: Option<String>) -> TestTarget {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let frozen_date = http_date(SystemTime::now());
        let server = Arc::new(Server {
            flaw,
            upstream,
            frozen_date,
        });
        let stop_flag = Arc::clone(&stop);
        let accept = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let server = Arc::clone(&server);
                thread::spawn(move || {
                    let _ = server.serve(conn);
                });
            }
        });
        TestTarget {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

struct Server {
    flaw: Flaw,
    upstream: Option<String>,
    frozen_date: String,
}

impl Server {
    fn serve(&self, mut conn: TcpStream) -> io::Result<()> {
        conn.set_nodelay(true)?;
        let target = read_request_target(&conn)?;
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        match path {
            "/plaintext" => self.fixed(&mut conn, 200, "text/plain", b"Hello, World!"),
            "/json" => {
                let body = serde_json::json!({"message": "Hello, World!"}).to_string();
                self.fixed(&mut conn, 200, "application/json", body.as_bytes())
            }
            "/health" => self.fixed(&mut conn, 200, "text/plain", b"ok"),
            "/sse" => match sse_params(query) {
                Some((events, interval)) => self.sse(&mut conn, events, interval),
                None => self.fixed(&mut conn, 400, "text/plain", b"bad query"),
            },
            "/sse-relay" => self.relay(&mut conn),
            _ => self.fixed(&mut conn, 404, "text/plain", b"not found"),
        }
    }

    fn head(&self, status: u16, content_type: &str, framing: &str) -> String {
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            _ => "Not Found",
        };
        let content_type = match (self.flaw, status, content_type) {
            (Flaw::WrongContentType, 200, "text/plain" | "application/json") => "text/html",
            _ => content_type,
        };
        let date = match self.flaw {
            Flaw::NoDate => String::new(),
            Flaw::FrozenDate => format!("Date: {}\r\n", self.frozen_date),
            _ => format!("Date: {}\r\n", http_date(SystemTime::now())),
        };
        format!(
            "HTTP/1.1 {status} {reason}\r\nServer: test-target\r\n{date}\
             Content-Type: {content_type}\r\n{framing}Connection: close\r\n\r\n"
        )
    }

    fn fixed(&self, conn: &mut TcpStream, status: u16, ct: &str, body: &[u8]) -> io::Result<()> {
        let framing = format!("Content-Length: {}\r\n", body.len());
        let mut out = self.head(status, ct, &framing).into_bytes();
        out.extend_from_slice(body);
        conn.write_all(&out)
    }

    fn stream_head(&self, conn: &mut TcpStream) -> io::Result<()> {
        let framing = "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n";
        conn.write_all(self.head(200, "text/event-stream", framing).as_bytes())
    }

    fn sse(&self, conn: &mut TcpStream, events: u32, interval: Duration) -> io::Result<()> {
        self.stream_head(conn)?;
        let start = Instant::now();
        let mut held = Vec::new();
        for k in 1..=events {
            let due = start + interval * (k - 1);
            thread::sleep(due.saturating_duration_since(Instant::now()));
            let sent_ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let event = format!("id: {k}\ndata: {{\"seq\":{k},\"sent_ns\":{sent_ns}}}\n\n");
            let chunk = chunk(event.as_bytes());
            if self.flaw == Flaw::BufferedSse {
                held.extend_from_slice(&chunk);
            } else {
                conn.write_all(&chunk)?;
            }
        }
        held.extend_from_slice(b"0\r\n\r\n");
        conn.write_all(&held)
    }

    /// Forwards the upstream's chunked body as it is (the framing is the same on both sides).
    fn relay(&self, conn: &mut TcpStream) -> io::Result<()> {
        let url = self.upstream.as_deref().expect("no upstream configured");
        let rest = url.strip_prefix("http://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let up = TcpStream::connect(authority)?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        (&up).write_all(request.as_bytes())?;
        let mut up = BufReader::new(up);
        loop {
            let mut line = String::new();
            if up.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
        }
        self.stream_head(conn)?;
        let mut buf = [0u8; 16 * 1024];
        let mut held = Vec::new();
        let mut last_flush = Instant::now();
        let mut client_gone = false;
        loop {
            let n = up.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if client_gone {
                // The flaw: nobody is listening, yet the upstream request goes on.
                continue;
            }
            held.extend_from_slice(&buf[..n]);
            if self.flaw == Flaw::BufferedRelay && last_flush.elapsed() < Duration::from_millis(400)
            {
                continue;
            }
            last_flush = Instant::now();
            if conn.write_all(&held).is_err() {
                if self.flaw != Flaw::RelayIgnoresDisconnect {
                    // Dropping `up` closes the upstream request.
                    return Ok(());
                }
                client_gone = true;
            }
            held.clear();
        }
        conn.write_all(&held)
    }
}

fn read_request_target(conn: &TcpStream) -> io::Result<String> {
    let mut reader = BufReader::new(conn);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    Ok(request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned())
}

/// `events` in 1..=100000 and `interval_ms` in 0..=60000, defaults 10 and 10.
fn sse_params(query: &str) -> Option<(u32, Duration)> {
    let (mut events, mut interval_ms) = (10u32, 10u64);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=')? {
            ("events", v) => events = v.parse().ok()?,
            ("interval_ms", v) => interval_ms = v.parse().ok()?,
            _ => {}
        }
    }
    ((1..=100_000).contains(&events) && interval_ms <= 60_000)
        .then(|| (events, Duration::from_millis(interval_ms)))
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An address where nothing listens.
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn http_date_matches_a_known_date() {
    let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
}
