//! The client's ceiling: the engine against a minimal built-in plaintext server on other CPUs, so
//! what limits the figure is the client, and what it costs per request is the client's own.
//!
//! The server is as lean as a server gets (edge-triggered epoll, one read and one write per batch
//! of requests, a constant response), so the client's CPU per request here is its floor against
//! any real target, and requests ÷ client CPU seconds is the most one client core can drive.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::config::LoadBuilder;
use crate::engine::run;
use crate::error::LoadError;
use crate::summary::{IoBackend, Summary};
use crate::sys;

/// The built-in server's answer, as the contract's /plaintext.
const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nServer: rtbench\r\nContent-Type: text/plain\r\n\
Content-Length: 13\r\n\r\nHello, World!";
const LISTENER: Token = Token(usize::MAX);

/// What [`ceiling`] measures with.
#[derive(Debug, Clone, PartialEq)]
pub struct CeilingOptions {
    /// CPUs of the client's workers (one pinned worker each).
    pub client_cpus: Vec<usize>,
    /// CPUs of the built-in server's threads (one each); best disjoint from the client's.
    pub server_cpus: Vec<usize>,
    /// Connections (64, as the suite's plaintext scenario).
    pub connections: u64,
    /// Measured time.
    pub duration: Duration,
    /// The client's socket I/O (epoll by default), so the ceiling can be measured both ways.
    pub io: IoBackend,
}

impl CeilingOptions {
    /// The client on the first CPU this process may use and the server on the others (on the
    /// same one when there is no other), 64 connections, 5 s.
    pub fn new() -> Self {
        let allowed = sys::allowed_cpus();
        let client = allowed.first().copied().unwrap_or(0);
        let others: Vec<usize> = allowed.iter().copied().filter(|&c| c != client).collect();
        CeilingOptions {
            client_cpus: vec![client],
            server_cpus: if others.is_empty() {
                vec![client]
            } else {
                others
            },
            connections: 64,
            duration: Duration::from_secs(5),
            io: IoBackend::Epoll,
        }
    }
}

impl Default for CeilingOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`ceiling`] measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ceiling {
    /// The load run against the built-in server.
    pub summary: Summary,
    /// Where each side ran.
    pub client_cpus: Vec<usize>,
    /// The server's CPUs.
    pub server_cpus: Vec<usize>,
    /// Client CPU per completed request, µs.
    pub cpu_us_per_request: f64,
    /// The most requests per second one fully busy client core completes: 1 / CPU per request.
    pub max_rps_per_core: f64,
    /// Client and server shared a CPU (a one-CPU machine): the ceiling is a low estimate.
    pub shared_cpu: bool,
}

/// The share (of its CPUs, or of its ceiling) from which the client is taken to be the limit.
pub const CLIENT_BOUND_SHARE: f64 = 0.9;

/// Whether a load's figure may measure the client rather than the server: the client used at
/// least [`CLIENT_BOUND_SHARE`] of its CPUs, or (when the run measured a ceiling) completed at
/// least that share of what its cores can at the ceiling. The one definition of the flag: the
/// engine applies it without a ceiling, the runner again with the run's.
pub fn client_bound(cpu_fraction: f64, headroom: Option<f64>) -> bool {
    cpu_fraction >= CLIENT_BOUND_SHARE || headroom.is_some_and(|h| h >= CLIENT_BOUND_SHARE)
}

/// How much of the client's ceiling a load used: its req/s ÷ (ceiling per core × client cores);
/// 1.0 = the client completes what its cores can, so the server may be faster than measured.
/// `None` without a usable ceiling (no request completed against the built-in server) or cores.
pub fn headroom(rps: f64, max_rps_per_core: f64, client_cores: usize) -> Option<f64> {
    let capacity = max_rps_per_core * client_cores as f64;
    (capacity > 0.0 && capacity.is_finite() && rps.is_finite()).then(|| rps / capacity)
}

/// Measures the client's ceiling for plaintext: runs the engine against a built-in server on
/// `options.server_cpus` and divides requests by the client's CPU time.
pub fn ceiling(options: &CeilingOptions) -> Result<Ceiling, LoadError> {
    let server =
        BuiltinServer::start(&options.server_cpus).map_err(|source| LoadError::Worker {
            what: "starting the built-in server",
            source,
        })?;
    let config = LoadBuilder::new(&format!("http://{}/plaintext", server.addr))
        .connections(options.connections)
        .cpus(options.client_cpus.clone())
        .duration(options.duration)
        .io(options.io)
        .build()?;
    let summary = run(&config);
    server.stop();
    let summary = summary?;
    let cpu_s_per_request = if summary.requests > 0 {
        summary.client_cpu_s / summary.requests as f64
    } else {
        0.0
    };
    Ok(Ceiling {
        cpu_us_per_request: cpu_s_per_request * 1e6,
        max_rps_per_core: if cpu_s_per_request > 0.0 {
            1.0 / cpu_s_per_request
        } else {
            0.0
        },
        shared_cpu: options
            .server_cpus
            .iter()
            .any(|c| options.client_cpus.contains(c)),
        client_cpus: options.client_cpus.clone(),
        server_cpus: options.server_cpus.clone(),
        summary,
    })
}

/// One thread per server CPU, each with its own epoll set over the shared listener.
struct BuiltinServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl BuiltinServer {
    fn start(cpus: &[usize]) -> io::Result<BuiltinServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for &cpu in cpus {
            let listener = TcpListener::from_std(listener.try_clone()?);
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                let _ = sys::pin_to(cpu);
                let _ = serve(listener, &stop);
            }));
        }
        Ok(BuiltinServer {
            addr,
            stop,
            threads,
        })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

struct Conn {
    sock: TcpStream,
    /// Bytes of a request head not yet ended (`\r\n\r\n` split across reads).
    tail: usize,
}

fn serve(mut listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(64 * HELLO.len());
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut sock, _)) = listener.accept() {
                    let _ = sock.set_nodelay(true);
                    let slot = conns.iter().position(Option::is_none).unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry()
                        .register(&mut sock, Token(slot), Interest::READABLE)?;
                    conns[slot] = Some(Conn { sock, tail: 0 });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if !answer(conn, &mut buf, &mut out) {
                conns[slot] = None;
            }
        }
    }
    Ok(())
}

/// Reads what arrived and answers every request it completes; false once the connection ended.
fn answer(conn: &mut Conn, buf: &mut [u8], out: &mut Vec<u8>) -> bool {
    loop {
        match conn.sock.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                out.clear();
                // The client's requests carry no body: each ends at its blank line. `tail`
                // carries how much of a "\r\n\r\n" the previous read ended with.
                for &b in &buf[..n] {
                    conn.tail = match (conn.tail, b) {
                        (0 | 2, b'\r') => conn.tail + 1,
                        (1 | 3, b'\n') if conn.tail == 3 => {
                            out.extend_from_slice(HELLO);
                            0
                        }
                        (1, b'\n') => 2,
                        (_, b'\r') => 1,
                        _ => 0,
                    };
                }
                if !out.is_empty() && conn.sock.write_all(out).is_err() {
                    return false;
                }
                if n < buf.len() {
                    return true;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_the_share_of_the_client_cores_ceiling() {
        assert_eq!(headroom(50_000.0, 100_000.0, 1), Some(0.5));
        assert_eq!(headroom(150_000.0, 100_000.0, 2), Some(0.75));
        assert_eq!(headroom(1.0, 0.0, 1), None, "no ceiling measured");
        assert_eq!(headroom(1.0, 100_000.0, 0), None, "no client core");
    }

    #[test]
    fn client_bound_at_90_percent_of_cpu_or_of_the_ceiling() {
        assert!(client_bound(0.9, None), "exactly 90% of its CPUs");
        assert!(!client_bound(0.8999, None), "just below");
        assert!(client_bound(0.2, Some(0.9)), "exactly 90% of its ceiling");
        assert!(!client_bound(0.2, Some(0.8999)), "just below");
        assert!(client_bound(0.95, Some(0.1)), "either one is enough");
        assert!(!client_bound(0.5, None), "no ceiling: CPU alone decides");
    }

    #[test]
    fn the_builtin_server_answers_every_request_however_it_is_split() {
        let server = BuiltinServer::start(&[sys::allowed_cpus()[0]]).unwrap();
        let mut sock = std::net::TcpStream::connect(server.addr).unwrap();
        let requests = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(5);
        for piece in requests.chunks(3) {
            sock.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut got = vec![0u8; HELLO.len() * 5];
        sock.read_exact(&mut got).unwrap();
        assert_eq!(got, HELLO.repeat(5));
        server.stop();
    }
}
