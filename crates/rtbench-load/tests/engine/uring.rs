//! `--io uring`: the io_uring backend against the same real servers as epoll, held to the same
//! figures (each test here runs a test of the epoll backend's on io_uring), and to the same
//! error classes as epoll where servers fail.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rtbench_load::{IoBackend, LoadBuilder, StreamOptions};

use super::server::{Reply, Server};
use super::{load, timing};

const URING: IoBackend = IoBackend::Uring;

super::on_backend!(URING);

#[test]
fn open_model_holds_10000_per_second() {
    let _t = timing();
    super::open_model_rate(10_000.0, 20, URING);
}

/// Responses far larger than a provided buffer, pipelined over connections that together want
/// more buffers than the ring holds: a response spans buffers, and the ring runs dry and is
/// refilled (the multishot receive ends with ENOBUFS and is re-armed) without losing a byte.
#[test]
fn responses_larger_than_the_buffer_ring_arrive_whole() {
    let body = "x".repeat(100_000);
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let len = reply.len() as u64;
    let server = Server::start(move |_| Reply::Bytes(reply.clone().into_bytes()));
    let s = load(
        LoadBuilder::new(&server.url("/"))
            .io(URING)
            .connections(16)
            .pipeline(4)
            .requests(640),
    );
    assert_eq!((s.requests, server.requests()), (640, 640));
    assert_eq!(s.errors.total, 0, "{:?}", s.errors);
    assert_eq!(s.bytes_read, 640 * len);
}

/// A server that answers `answered` requests in all, then stops listening (once it has accepted
/// `accepts` connections, so none waits unaccepted; reconnects are then refused) and resets
/// (SO_LINGER 0) every connection that sends another request. Returns its address and how many
/// connections it reset.
fn answering_then_resetting(answered: u64, accepts: u64) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (total, resets) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // Set by the first connection over the count; the listener is gone once `closed` is set.
    let (closing, closed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let accept = {
        let (total, resets, closing, closed) = (
            total.clone(),
            resets.clone(),
            closing.clone(),
            closed.clone(),
        );
        move || {
            let mut accepted = 0;
            while !(closing.load(Ordering::SeqCst) && accepted >= accepts) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                accepted += 1;
                stream.set_nonblocking(false).unwrap();
                let (total, resets, closing, closed) = (
                    total.clone(),
                    resets.clone(),
                    closing.clone(),
                    closed.clone(),
                );
                std::thread::spawn(move || {
                    // The engine's requests have no body: each ends at its blank line.
                    let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
                    while let Some(Ok(line)) = lines.next() {
                        if !line.is_empty() {
                            continue;
                        }
                        if total.fetch_add(1, Ordering::SeqCst) < answered {
                            let _ = stream.write_all(super::server::HELLO);
                            continue;
                        }
                        closing.store(true, Ordering::SeqCst);
                        while !closed.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        reset(&stream);
                        resets.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                });
            }
            drop(listener);
            closed.store(true, Ordering::SeqCst);
        }
    };
    std::thread::spawn(accept);
    (addr, resets)
}

/// Closes with an RST instead of a FIN.
fn reset(stream: &std::net::TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` is a valid struct of the size passed; the socket is open.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// A reset with a request in flight is a read error and a refused reconnect a connect error,
/// on io_uring exactly as on epoll.
#[test]
fn resets_and_refused_reconnects_count_as_with_epoll() {
    let _shared = super::shared();
    for io in [IoBackend::Epoll, URING] {
        // The engine's probe connection, then the run's four.
        let (addr, resets) = answering_then_resetting(100, 5);
        let s = super::run_alone(
            LoadBuilder::new(&format!("http://{addr}/"))
                .io(io)
                .connections(4)
                .duration(Duration::from_millis(600)),
        );
        let e = s.errors;
        assert_eq!(s.requests, 100, "{io:?}: every answer counted");
        assert_eq!(resets.load(Ordering::SeqCst), 4, "{io:?}");
        assert_eq!(e.read, 4, "{io:?}: one read error per reset: {e:?}");
        // The first retry of each comes 50 ms after its reset, then every 50 ms until the end.
        assert!(e.connect >= 4 * 5, "{io:?}: refused reconnects: {e:?}");
        assert_eq!(e.total, e.read + e.connect, "{io:?}: no other class: {e:?}");
        assert_eq!(s.duration_s, 0.6, "{io:?}");
    }
}

#[test]
fn the_stream_model_is_refused_in_one_line() {
    let err = LoadBuilder::new("http://127.0.0.1:1/sse")
        .io(URING)
        .stream(StreamOptions::default())
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--io uring does not apply to SSE streams (the stream model runs on epoll)"
    );
}
