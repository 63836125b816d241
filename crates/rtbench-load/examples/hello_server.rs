//! A small, fast hello-world HTTP/1.1 server for trying the engine without a reference target
//! (bench/vs-peers.sh falls back to it). One thread, edge-triggered epoll via mio, keep-alive and
//! pipelining; answers every request with `Hello, World!`.
//!
//! Usage: `cargo run --release -p rtbench-load --example hello_server -- [PORT]` (default 8080).

use std::collections::HashMap;
use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

struct Conn {
    sock: TcpStream,
    /// Bytes of a request head split across reads.
    pending: Vec<u8>,
    /// Responses not yet written (the socket buffer was full).
    out: Vec<u8>,
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse().expect("PORT must be a number"))
        .unwrap_or(8080);
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(64 * 1024);
    eprintln!("hello_server listening on 127.0.0.1:{port}");
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut sock, _)) = listener.accept() {
                    let _ = sock.set_nodelay(true);
                    let token = Token(next);
                    next += 1;
                    poll.registry().register(
                        &mut sock,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns.insert(
                        token.0,
                        Conn {
                            sock,
                            pending: Vec::new(),
                            out: Vec::new(),
                        },
                    );
                }
                continue;
            }
            let id = event.token().0;
            let Some(conn) = conns.get_mut(&id) else {
                continue;
            };
            if serve(conn, &mut buf, &mut out).is_err() {
                conns.remove(&id);
            }
        }
    }
}

/// Reads what arrived, answers every complete request head, writes what fits.
fn serve(conn: &mut Conn, buf: &mut [u8], out: &mut Vec<u8>) -> io::Result<()> {
    loop {
        match conn.sock.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                out.clear();
                let date = httpdate();
                conn.pending.extend_from_slice(&buf[..n]);
                let mut start = 0;
                while let Some(end) = find_head_end(&conn.pending[start..]) {
                    start += end;
                    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: hello_server\r\nDate: ");
                    out.extend_from_slice(date.as_bytes());
                    out.extend_from_slice(
                        b"\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
                    );
                }
                conn.pending.drain(..start);
                conn.out.extend_from_slice(out);
                if n < buf.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    while !conn.out.is_empty() {
        match conn.sock.write(&conn.out) {
            Ok(n) => {
                conn.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// IMF-fixdate of now, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn httpdate() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        months[(month - 1) as usize]
    )
}
