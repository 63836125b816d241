//! A small HTTP/1.1 client for probing a running target: one request per connection on a raw
//! socket, so verification and the relay scenario see the headers exactly as sent and time every
//! read themselves. Bodies may be chunked, length-framed or closed-delimited.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtbench_load::{ResponseEvent, ResponseParser, SseParser};

/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;

/// Why a probe failed.
#[derive(Debug)]
pub(crate) enum ProbeError {
    /// Nothing (more) arrived before the deadline.
    Timeout,
    Connect(io::Error),
    Io(io::Error),
    /// The bytes are not a valid HTTP response or event stream.
    Protocol(String),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Timeout => f.write_str("timed out"),
            ProbeError::Connect(e) => write!(f, "connect failed: {e}"),
            ProbeError::Io(e) => write!(f, "read/write failed: {e}"),
            ProbeError::Protocol(m) => f.write_str(m),
        }
    }
}

/// The socket address of a base URL `http://HOST:PORT` (a trailing `/` allowed).
pub(crate) fn target_addr(base_url: &str) -> Result<SocketAddr, String> {
    let bad = || format!("bad target URL '{base_url}': expected http://HOST:PORT");
    let rest = base_url.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') || !authority.contains(':') {
        return Err(bad());
    }
    authority
        .to_socket_addrs()
        .map_err(|e| format!("target URL '{base_url}': {e}"))?
        .next()
        .ok_or_else(bad)
}

/// The status line and headers of a response.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A complete response.
#[derive(Debug)]
pub(crate) struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// One event as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// When the read that completed the event returned.
    pub at: Instant,
    /// The same moment on the wall clock, ns since the Unix epoch (comparable to `sent_ns`).
    pub wall_ns: u64,
    pub id: Option<String>,
    pub data: String,
}

/// An open connection with the response head read; the body is read on demand.
pub(crate) struct Exchange {
    sock: TcpStream,
    /// When the request was written.
    pub sent_at: Instant,
    pub head: Head,
    /// The engine's framing (Content-Length, chunked, close-delimited, no-body statuses): one
    /// response parser for the load loop and the probes.
    framing: ResponseParser,
    ended: bool,
    /// Bytes read past the head, not yet decoded.
    leftover: Vec<u8>,
}

impl Exchange {
    /// Connects, sends `GET path` and reads the response head, all before `deadline`.
    pub fn open(addr: SocketAddr, path: &str, deadline: Instant) -> Result<Exchange, ProbeError> {
        let left = remaining(deadline)?;
        let mut sock = TcpStream::connect_timeout(&addr, left).map_err(|e| {
            if e.kind() == io::ErrorKind::TimedOut {
                ProbeError::Timeout
            } else {
                ProbeError::Connect(e)
            }
        })?;
        sock.set_nodelay(true).map_err(ProbeError::Io)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: rtbench-verify\r\nAccept: */*\r\n\r\n"
        );
        sock.set_write_timeout(Some(remaining(deadline)?))
            .map_err(ProbeError::Io)?;
        sock.write_all(request.as_bytes()).map_err(io_error)?;
        let sent_at = Instant::now();
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            let n = read_until(&mut sock, &mut chunk, deadline)?;
            if n == 0 {
                return Err(ProbeError::Protocol(
                    "connection closed before a complete response head".into(),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head {
                        status: resp.code.unwrap_or(0),
                        headers: resp
                            .headers
                            .iter()
                            .map(|h| {
                                let value = String::from_utf8_lossy(h.value).trim().to_owned();
                                (h.name.to_owned(), value)
                            })
                            .collect(),
                    };
                    // The framing parser reads the head again (cheaply) to learn how the body ends.
                    let mut framing = ResponseParser::new();
                    let mut input = &buf[..];
                    match framing.next(&mut input) {
                        Ok(Some(ResponseEvent::Head { .. })) => {}
                        Ok(_) => {
                            return Err(ProbeError::Protocol("response head not recognised".into()))
                        }
                        Err(e) => {
                            return Err(ProbeError::Protocol(format!("malformed response: {e}")))
                        }
                    }
                    debug_assert_eq!(buf.len() - input.len(), len);
                    return Ok(Exchange {
                        sock,
                        sent_at,
                        head,
                        framing,
                        ended: false,
                        leftover: input.to_vec(),
                    });
                }
                Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => {}
                Ok(httparse::Status::Partial) => {
                    return Err(ProbeError::Protocol("response head over 64 KiB".into()))
                }
                Err(e) => return Err(ProbeError::Protocol(format!("malformed response: {e}"))),
            }
        }
    }

    /// Reads more of the body, appending the decoded bytes to `out`. `Ok(false)` once the body
    /// has ended (nothing appended).
    pub fn read_body(&mut self, out: &mut Vec<u8>, deadline: Instant) -> Result<bool, ProbeError> {
        loop {
            if self.ended {
                return Ok(false);
            }
            let raw = if self.leftover.is_empty() {
                let mut chunk = [0u8; 16 * 1024];
                let n = read_until(&mut self.sock, &mut chunk, deadline)?;
                if n == 0 {
                    // A close-delimited body ends here; any other body was cut short.
                    return match self.framing.finish() {
                        Ok(Some(_)) => {
                            self.ended = true;
                            Ok(false)
                        }
                        _ => Err(ProbeError::Protocol(
                            "connection closed before the body ended".into(),
                        )),
                    };
                }
                chunk[..n].to_vec()
            } else {
                std::mem::take(&mut self.leftover)
            };
            let before = out.len();
            let mut input = &raw[..];
            // Bytes after the end belong to a next response nobody asked for: ignored.
            while !self.ended {
                match self.framing.next(&mut input) {
                    Ok(Some(ResponseEvent::Body(bytes))) => out.extend_from_slice(bytes),
                    Ok(Some(ResponseEvent::Done(_))) => self.ended = true,
                    Ok(Some(ResponseEvent::Head { .. })) => {
                        return Err(ProbeError::Protocol("a second response head".into()))
                    }
                    Ok(None) => break,
                    Err(e) => return Err(ProbeError::Protocol(format!("malformed body: {e}"))),
                }
            }
            if out.len() > before {
                return Ok(true);
            }
        }
    }

    /// Reads the whole body.
    pub fn body(mut self, deadline: Instant) -> Result<Response, ProbeError> {
        let mut body = Vec::new();
        while self.read_body(&mut body, deadline)? {}
        Ok(Response {
            head: self.head,
            body,
        })
    }

    /// Turns the body into a stream of timed SSE events.
    pub fn events(self) -> EventStream {
        EventStream {
            exchange: self,
            parser: SseParser::new(),
            pending: VecDeque::new(),
            decoded: Vec::new(),
        }
    }
}

/// A response body parsed as `text/event-stream`, each event stamped with its arrival.
pub(crate) struct EventStream {
    pub exchange: Exchange,
    parser: SseParser,
    pending: VecDeque<Received>,
    decoded: Vec<u8>,
}

impl EventStream {
    /// The next event, or `Ok(None)` when the body ended (an unfinished last event is dropped, as
    /// the SSE specification says).
    pub fn next(&mut self, deadline: Instant) -> Result<Option<Received>, ProbeError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(Some(e));
            }
            self.decoded.clear();
            if !self.exchange.read_body(&mut self.decoded, deadline)? {
                return Ok(None);
            }
            let at = Instant::now();
            let wall_ns = unix_ns(SystemTime::now());
            let pending = &mut self.pending;
            self.parser
                .feed(&self.decoded, &mut |e| {
                    pending.push_back(Received {
                        at,
                        wall_ns,
                        id: e.id.map(str::to_owned),
                        data: e.data.to_owned(),
                    })
                })
                .map_err(|e| ProbeError::Protocol(e.to_string()))?;
        }
    }
}

/// `GET path`, the whole response, before `deadline`.
pub(crate) fn get(addr: SocketAddr, path: &str, deadline: Instant) -> Result<Response, ProbeError> {
    Exchange::open(addr, path, deadline)?.body(deadline)
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn remaining(deadline: Instant) -> Result<Duration, ProbeError> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or(ProbeError::Timeout)
}

fn io_error(e: io::Error) -> ProbeError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ProbeError::Timeout,
        _ => ProbeError::Io(e),
    }
}

fn read_until(
    sock: &mut TcpStream,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, ProbeError> {
    loop {
        sock.set_read_timeout(Some(remaining(deadline)?))
            .map_err(ProbeError::Io)?;
        match sock.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other.map_err(io_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            target_addr("http://127.0.0.1:8080/").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        for bad in [
            "127.0.0.1:80",
            "http://127.0.0.1",
            "https://x:1",
            "http://1.2.3.4:5/x",
        ] {
            assert!(target_addr(bad).is_err(), "{bad}");
        }
    }
}
