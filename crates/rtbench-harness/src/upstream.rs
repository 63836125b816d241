//! rtbench's own upstream token server for the relay scenario: it stands in for an LLM API.
//!
//! Every GET on any path gets a chunked `text/event-stream` of T tokens, one every I (the first at
//! once), each `id: k` / `data: {"seq":k,"sent_ns":<unix ns when written>}`. T and I are set
//! through the handle because the target learns one fixed `UPSTREAM_URL` at launch.
//!
//! One mio thread serves every request, so thousands of concurrent streams cost one thread. It
//! watches each socket for the peer's close between tokens (not only at the next write), so the
//! moment a target abandons its upstream request is recorded to about a millisecond. A peer that
//! half-closes (shuts down its writing side) counts as gone, as it does for most servers.

use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::HarnessError;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
/// A request head larger than this is refused.
const MAX_HEAD: usize = 16 * 1024;
/// Tokens are generated while the unsent output is below this, so a slow reader bounds memory.
const OUT_HIGH_WATER: usize = 16 * 1024;

/// What the upstream knows about one request it served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConnection {
    /// Increasing per request, from 0; see [`UpstreamServer::next_id`].
    pub id: u64,
    /// When the request head was complete.
    pub opened: SystemTime,
    /// Tokens the stream was set to have when the request arrived.
    pub tokens_planned: u32,
    /// Tokens written so far.
    pub tokens_sent: u32,
    /// When the connection ended: the peer closed or reset it, or (when `completed`) the upstream
    /// finished the stream and closed it.
    pub closed: Option<SystemTime>,
    /// Every token was sent and the response ended normally.
    pub completed: bool,
}

/// A running upstream token server on `127.0.0.1`. Its thread stops when the handle is dropped.
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use rtbench_harness::UpstreamServer;
///
/// let upstream = UpstreamServer::start().unwrap();
/// upstream.set_stream(3, Duration::from_millis(1));
/// assert!(upstream.url().starts_with("http://127.0.0.1:"));
/// let mut s = std::net::TcpStream::connect(upstream.addr()).unwrap();
/// s.write_all(b"GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
/// let mut body = String::new();
/// s.read_to_string(&mut body).unwrap();
/// assert!(body.contains(r#"data: {"seq":3,"sent_ns":"#));
/// let conn = upstream.wait_closed(0, Duration::from_secs(1)).unwrap();
/// assert!(conn.completed && conn.tokens_sent == 3);
/// ```
pub struct UpstreamServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    stream: Mutex<(u32, Duration)>,
    records: Mutex<Records>,
    /// Notified whenever a request opens or closes.
    changed: Condvar,
    stop: AtomicBool,
}

#[derive(Default)]
struct Records {
    next_id: u64,
    by_id: BTreeMap<u64, UpstreamConnection>,
}

impl UpstreamServer {
    /// Binds `127.0.0.1:0` and starts serving, with 10 tokens every 10 ms until
    /// [`set_stream`](Self::set_stream) says otherwise.
    pub fn start() -> Result<UpstreamServer, HarnessError> {
        let os = |context: &str| {
            let context = format!("upstream server: {context}");
            move |source| HarnessError::Os { context, source }
        };
        let listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut listener = TcpListener::bind(listen_addr).map_err(os("bind 127.0.0.1:0"))?;
        let addr = listener.local_addr().map_err(os("local address"))?;
        let poll = Poll::new().map_err(os("create poll"))?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(os("register listener"))?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(os("create waker"))?);
        let shared = Arc::new(Shared {
            stream: Mutex::new((10, Duration::from_millis(10))),
            records: Mutex::new(Records::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let mut event_loop = EventLoop {
            poll,
            listener,
            shared: Arc::clone(&shared),
            conns: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            scratch: Vec::new(),
        };
        let thread = std::thread::Builder::new()
            .name("rtbench-upstream".into())
            .spawn(move || event_loop.run())
            .map_err(os("spawn thread"))?;
        Ok(UpstreamServer {
            addr,
            shared,
            waker,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/v1/stream`: what the target gets as `UPSTREAM_URL` (any path works).
    pub fn url(&self) -> String {
        format!("http://{}/v1/stream", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Streams for requests from now on: `tokens` tokens, one every `interval`, the first at once.
    pub fn set_stream(&self, tokens: u32, interval: Duration) {
        *lock(&self.shared.stream) = (tokens, interval);
    }

    /// The stream shape new requests get: `(tokens, interval)`.
    pub fn stream(&self) -> (u32, Duration) {
        *lock(&self.shared.stream)
    }

    /// Every request recorded since the last [`clear`](Self::clear), in arrival order.
    pub fn connections(&self) -> Vec<UpstreamConnection> {
        lock(&self.shared.records).by_id.values().cloned().collect()
    }

    /// One request's record.
    pub fn connection(&self, id: u64) -> Option<UpstreamConnection> {
        lock(&self.shared.records).by_id.get(&id).cloned()
    }

    /// The id the next request will get: requests with this id or higher came after this call.
    pub fn next_id(&self) -> u64 {
        lock(&self.shared.records).next_id
    }

    /// Requests whose connection is still open.
    pub fn open_count(&self) -> usize {
        let records = lock(&self.shared.records);
        records
            .by_id
            .values()
            .filter(|c| c.closed.is_none())
            .count()
    }

    /// Forgets the requests that have ended; open ones stay recorded.
    pub fn clear(&self) {
        lock(&self.shared.records)
            .by_id
            .retain(|_, c| c.closed.is_none());
    }

    /// Waits up to `timeout` for the first request with an id ≥ `from_id`.
    pub fn wait_opened(&self, from_id: u64, timeout: Duration) -> Option<UpstreamConnection> {
        self.wait_for(timeout, |r| r.by_id.range(from_id..).next().map(|(_, c)| c))
    }

    /// Waits up to `timeout` for request `id` to close; `None` when it is still open (or unknown).
    pub fn wait_closed(&self, id: u64, timeout: Duration) -> Option<UpstreamConnection> {
        self.wait_for(timeout, |r| r.by_id.get(&id).filter(|c| c.closed.is_some()))
    }

    fn wait_for(
        &self,
        timeout: Duration,
        find: impl Fn(&Records) -> Option<&UpstreamConnection>,
    ) -> Option<UpstreamConnection> {
        let deadline = Instant::now() + timeout;
        let mut records = lock(&self.shared.records);
        loop {
            if let Some(c) = find(&records) {
                return Some(c.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            records = match self.shared.changed.wait_timeout(records, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for UpstreamServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // A failed wake leaves the thread parked in poll; joining it would then hang forever.
        if self.waker.wake().is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// Locks a mutex, taking the data even if a panicking holder poisoned it (records stay usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    shared: Arc<Shared>,
    /// Slot `i` is the connection with token `i`.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Token due times: `(due, slot, generation)`, earliest first.
    timers: BinaryHeap<std::cmp::Reverse<(Instant, usize, u64)>>,
    scratch: Vec<u8>,
}

struct Conn {
    sock: TcpStream,
    /// Distinguishes this connection from an earlier one in the same slot, for stale timers.
    generation: u64,
    head: Vec<u8>,
    out: Vec<u8>,
    out_sent: usize,
    /// The due time of this connection's pending timer, so events do not stack duplicates.
    armed: Option<Instant>,
    phase: Phase,
}

enum Phase {
    Head,
    Streaming {
        record: u64,
        sent: u32,
        tokens: u32,
        interval: Duration,
        start: Instant,
    },
    /// The response is complete; close once `out` is written.
    Ending {
        record: Option<u64>,
    },
}

/// Why a connection is being dropped.
enum End {
    /// The peer went away (EOF, reset, write error).
    Peer,
    /// Our response is complete.
    Done,
}

impl EventLoop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let mut generation = 0u64;
        while !self.shared.stop.load(Ordering::SeqCst) {
            let timeout = self
                .timers
                .peek()
                .map(|t| t.0 .0.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(&mut generation),
                    WAKER => {}
                    Token(slot) => self.ready(slot),
                }
            }
            let now = Instant::now();
            while let Some(&std::cmp::Reverse((due, slot, gen))) = self.timers.peek() {
                if due > now {
                    break;
                }
                self.timers.pop();
                if matches!(&self.conns.get(slot), Some(Some(c)) if c.generation == gen) {
                    self.pump(slot);
                }
            }
        }
        let open: Vec<usize> = (0..self.conns.len()).collect();
        for slot in open {
            self.close(slot, End::Peer);
        }
    }

    fn accept(&mut self, generation: &mut u64) {
        loop {
            let mut sock = match self.listener.accept() {
                Ok((sock, _)) => sock,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of fds or similar: leave the rest in the backlog until a connection ends.
                Err(_) => return,
            };
            // Tokens are small writes that must leave at once.
            let _ = sock.set_nodelay(true);
            let slot = self.free.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.conns.len() - 1
            });
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut sock, Token(slot), interest)
                .is_err()
            {
                self.free.push(slot);
                continue;
            }
            *generation += 1;
            self.conns[slot] = Some(Conn {
                sock,
                generation: *generation,
                head: Vec::new(),
                out: Vec::new(),
                out_sent: 0,
                armed: None,
                phase: Phase::Head,
            });
        }
    }

    /// Handles readiness of one connection: reads (the request head, or the peer's close), then
    /// writes whatever is due.
    fn ready(&mut self, slot: usize) {
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match conn.sock.read(&mut buf) {
                Ok(0) => return self.close(slot, End::Peer),
                Ok(n) => {
                    if matches!(conn.phase, Phase::Head) {
                        conn.head.extend_from_slice(&buf[..n]);
                    }
                    // Anything after the head (a pipelined request) is ignored: one stream per
                    // connection, then close.
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(slot, End::Peer),
            }
        }
        if matches!(conn.phase, Phase::Head) {
            self.parse_head(slot);
        }
        self.pump(slot);
    }

    fn parse_head(&mut self, slot: usize) {
        let Some(Some(conn)) = self.conns.get_mut(slot) else {
            return;
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let reply: &[u8] = match req.parse(&conn.head) {
            Ok(httparse::Status::Complete(_)) if req.method == Some("GET") => {
                let (tokens, interval) = *lock(&self.shared.stream);
                let record = {
                    let mut records = lock(&self.shared.records);
                    let id = records.next_id;
                    records.next_id += 1;
                    records.by_id.insert(
                        id,
                        UpstreamConnection {
                            id,
                            opened: SystemTime::now(),
                            tokens_planned: tokens,
                            tokens_sent: 0,
                            closed: None,
                            completed: false,
                        },
                    );
                    id
                };
                self.shared.changed.notify_all();
                conn.out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nServer: rtbench-upstream\r\n\
                      Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
                      Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                );
                conn.phase = Phase::Streaming {
                    record,
                    sent: 0,
                    tokens,
                    interval,
                    start: Instant::now(),
                };
                return;
            }
            Ok(httparse::Status::Complete(_)) => {
                b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n\
                  Connection: close\r\n\r\n"
            }
            Ok(httparse::Status::Partial) if conn.head.len() <= MAX_HEAD => return,
            _ => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        };
        conn.out.extend_from_slice(reply);
        conn.phase = Phase::Ending { record: None };
    }

    /// Writes what is pending, generating the tokens that are due, and sets the next timer.
    fn pump(&mut self, slot: usize) {
        loop {
            let Some(Some(conn)) = self.conns.get_mut(slot) else {
                return;
            };
            while conn.out_sent < conn.out.len() {
                match conn.sock.write(&conn.out[conn.out_sent..]) {
                    Ok(0) => return self.close(slot, End::Peer),
                    Ok(n) => conn.out_sent += n,
                    // A writable event calls pump again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return self.close(slot, End::Peer),
                }
            }
            conn.out.clear();
            conn.out_sent = 0;
            let (record, sent, tokens, interval, start) = match &mut conn.phase {
                Phase::Head => return,
                Phase::Ending { .. } => return self.close(slot, End::Done),
                Phase::Streaming {
                    record,
                    sent,
                    tokens,
                    interval,
                    start,
                } => (*record, sent, *tokens, *interval, *start),
            };
            let now = Instant::now();
            let before = *sent;
            while *sent < tokens && conn.out.len() < OUT_HIGH_WATER {
                let due = start + interval.saturating_mul(*sent);
                if due > now {
                    if conn.armed != Some(due) {
                        conn.armed = Some(due);
                        let generation = conn.generation;
                        self.timers.push(std::cmp::Reverse((due, slot, generation)));
                    }
                    break;
                }
                *sent += 1;
                write_token(&mut conn.out, &mut self.scratch, *sent);
            }
            let sent_now = *sent;
            if sent_now == tokens {
                conn.out.extend_from_slice(b"0\r\n\r\n");
                conn.phase = Phase::Ending {
                    record: Some(record),
                };
            }
            if sent_now != before {
                if let Some(r) = lock(&self.shared.records).by_id.get_mut(&record) {
                    r.tokens_sent = sent_now;
                }
            }
            if conn.out.is_empty() {
                return;
            }
        }
    }

    fn close(&mut self, slot: usize, end: End) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.sock);
        self.free.push(slot);
        let record = match conn.phase {
            Phase::Streaming { record, .. } => Some(record),
            Phase::Ending { record } => record,
            Phase::Head => None,
        };
        if let Some(id) = record {
            if let Some(r) = lock(&self.shared.records).by_id.get_mut(&id) {
                r.closed = Some(SystemTime::now());
                r.completed = matches!(end, End::Done);
            }
            self.shared.changed.notify_all();
        }
        if matches!(end, End::Done) {
            let _ = conn.sock.shutdown(std::net::Shutdown::Write);
        }
    }
}

/// Appends token `seq` as one HTTP chunk, stamped with the current wall-clock time.
fn write_token(out: &mut Vec<u8>, scratch: &mut Vec<u8>, seq: u32) {
    let sent_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    scratch.clear();
    // Writing into a Vec cannot fail.
    let _ = write!(
        scratch,
        "id: {seq}\ndata: {{\"seq\":{seq},\"sent_ns\":{sent_ns}}}\n\n"
    );
    let _ = write!(out, "{:x}\r\n", scratch.len());
    out.extend_from_slice(scratch);
    out.extend_from_slice(b"\r\n");
}
