//! One share-nothing worker: its connections, its edge-triggered event loop, its histograms and
//! counters. The loop is generic over the [`Schedule`], so each model gets its own inlined copy.
//!
//! Per request the loop makes one `send` and one `recv`: the request bytes are prepared once,
//! sockets are registered for read and write readiness once (edge-triggered, never re-armed), and a
//! read that returns less than the buffer is taken to have drained the socket (a new arrival raises
//! a new edge), so there is no extra read ending in `EAGAIN`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Barrier;
use std::time::Duration;

use hdrhistogram::Histogram;
use mio::event::Event;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use crate::error::Rejection;
use crate::hist::{self, IntervalReport};
use crate::response::{Response, ResponseEvent, ResponseParser};
use crate::schedule::{BodyVerdict, Schedule, WallClock};
use crate::summary::{Ended, ErrorCounts};
use crate::sys::{self, Timer};
use crate::worker_out::{Class, WorkerOut};

/// Timeouts, reconnect back-offs and interval boundaries are checked this often (a coarse scan, so
/// nothing per request depends on the number of connections).
const TICK_NS: u64 = 10_000_000;
/// A refused or failed connect is retried after this long.
const BACKOFF_NS: u64 = 50_000_000;
/// One read buffer per worker; body bytes are skipped, never kept per connection.
const READ_BUFFER: usize = 64 * 1024;
const INTERVAL_NS: u64 = 1_000_000_000;
const TIMER_TOKEN: Token = Token(usize::MAX);

/// What every worker of a run shares, read-only.
pub(crate) struct Plan {
    pub addr: SocketAddr,
    /// `pipeline` copies of the request, back to back.
    pub batch: Vec<u8>,
    pub request_len: usize,
    pub head: bool,
    pub timeout_ns: u64,
    pub warmup_ns: u64,
    /// Measured length of a timed run.
    pub run_ns: Option<u64>,
    /// A counted run ends early when no response completes for this long.
    pub stall_ns: Option<u64>,
    /// Wall-clock instant (ns since the Unix epoch) at which the clock starts, agreed between
    /// agents of a scaled-out run; `None`: as soon as every worker has connected.
    pub start_at_wall_ns: Option<u64>,
}

/// Status codes are three digits; one counter each, so counting never allocates.
const STATUS_SLOTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Closed, waiting to be replaced at the end of the event batch.
    Closed,
    /// Failed to connect; retry at `since`.
    Backoff,
    Connecting,
    Ready,
    /// Closed for good (an ended stream).
    Retired,
}

struct Conn {
    sock: Option<TcpStream>,
    state: State,
    parser: ResponseParser,
    /// Requests written (or being written) and not yet answered.
    inflight: u32,
    /// Bytes of the current batch written so far, and its length.
    out_off: u32,
    out_len: u32,
    /// When the current batch was sent.
    sent_at: u64,
    /// Connect start, or when a back-off ends.
    since: u64,
    /// The current batch was sent inside the measured window.
    measured: bool,
    /// Requests answered or lost over the slot's lifetime: the index of the oldest in flight.
    done: u64,
}

pub(crate) struct Worker<'p, S: Schedule> {
    plan: &'p Plan,
    sched: S,
    conns: Vec<Conn>,
    registry: Registry,
    buf: Box<[u8]>,
    ready: Vec<usize>,
    closed: Vec<usize>,
    measuring: bool,
    latency: Histogram<u64>,
    uncorrected: Histogram<u64>,
    total_latency: Histogram<u64>,
    total_uncorrected: Histogram<u64>,
    requests: u64,
    ok: u64,
    bytes: u64,
    errors: ErrorCounts,
    inflight_total: u64,
    last_response: u64,
    /// A connect failed for want of file descriptors: the run cannot hold its connections.
    out_of_files: bool,
    hlog: Option<Sender<IntervalReport>>,
    /// The clock runs: connections may send. False while connecting, before the clock starts.
    started: bool,
    /// Errors are counted (the measured window, and connecting before the clock).
    counting: bool,
    statuses: Box<[u64]>,
    reasons: Vec<(Rejection, u64)>,
}

impl<'p, S: Schedule> Worker<'p, S> {
    /// Allocates everything the loop needs, so the loop itself allocates nothing.
    pub(crate) fn new(
        plan: &'p Plan,
        sched: S,
        connections: usize,
        registry: Registry,
        hlog: Option<Sender<IntervalReport>>,
    ) -> Self {
        let parser = if plan.head {
            ResponseParser::for_head_requests()
        } else {
            ResponseParser::new()
        };
        let conns = (0..connections)
            .map(|_| Conn {
                sock: None,
                state: State::Closed,
                parser: parser.clone(),
                inflight: 0,
                out_off: 0,
                out_len: 0,
                sent_at: 0,
                since: 0,
                measured: false,
                done: 0,
            })
            .collect();
        Worker {
            plan,
            sched,
            conns,
            registry,
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            ready: Vec::with_capacity(connections),
            closed: Vec::with_capacity(connections),
            measuring: false,
            latency: hist::new_histogram(),
            uncorrected: hist::new_histogram(),
            total_latency: hist::new_histogram(),
            total_uncorrected: hist::new_histogram(),
            requests: 0,
            ok: 0,
            bytes: 0,
            errors: ErrorCounts::default(),
            inflight_total: 0,
            last_response: 0,
            out_of_files: false,
            hlog,
            started: false,
            counting: false,
            statuses: vec![0; STATUS_SLOTS].into_boxed_slice(),
            reasons: Vec::new(),
        }
    }

    /// Connects every connection before the clock starts (thousands of handshakes would otherwise
    /// eat a short run), waiting at most `timeout` for the slow ones; those still pending then
    /// count as connect errors and are retried once the run goes. Returns the time it took.
    fn establish(
        &mut self,
        poll: &mut Poll,
        events: &mut Events,
        stop: &AtomicBool,
    ) -> io::Result<u64> {
        let begin = sys::now_ns();
        let deadline = begin + self.plan.timeout_ns;
        self.counting = true;
        for i in 0..self.conns.len() {
            self.connect(i, begin);
        }
        let mut now = begin;
        while now < deadline && !stop.load(Ordering::Relaxed) {
            if !self.conns.iter().any(|c| c.state == State::Connecting) {
                break;
            }
            let wait = Duration::from_nanos((deadline - now).min(TICK_NS));
            match poll.poll(events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() != TIMER_TOKEN {
                    self.on_event(event.token().0, event);
                }
            }
            now = sys::now_ns();
        }
        for i in 0..self.conns.len() {
            if self.conns[i].state == State::Connecting {
                self.count(Class::Connect, 1);
                self.close(i, false);
            }
        }
        self.counting = false;
        Ok(sys::now_ns() - begin)
    }

    /// Runs the load loop until the run's end; returns what was measured.
    /// Connects, waits at `start` for every worker (so their clocks start together), then runs
    /// until the run's end or `stop`.
    pub(crate) fn run(
        &mut self,
        poll: &mut Poll,
        timer: Option<&mut Timer>,
        start: &Barrier,
        stop: &AtomicBool,
    ) -> io::Result<WorkerOut> {
        let mut events = Events::with_capacity(self.conns.len().clamp(16, 1024));
        // The barrier is passed whatever happens, so no worker waits forever for this one.
        let connected = self.establish(poll, &mut events, stop);
        start.wait();
        let connect_ns = connected?;
        let established = self
            .conns
            .iter()
            .filter(|c| c.state == State::Ready)
            .count() as u64;
        if let Some(at) = self.plan.start_at_wall_ns {
            let wait = at.saturating_sub(sys::wall_ns());
            if wait > 0 && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_nanos(wait));
            }
        }
        let mut timer = timer;
        if let Some(t) = timer.as_deref() {
            self.registry.register(
                &mut SourceFd(&std::os::fd::AsRawFd::as_raw_fd(t)),
                TIMER_TOKEN,
                Interest::READABLE,
            )?;
        }
        let t0 = sys::now_ns();
        let t_measure = t0 + self.plan.warmup_ns;
        let end = self.plan.run_ns.map(|d| t_measure + d);
        let wall_offset = sys::wall_ns().wrapping_sub(t0);
        self.sched.start(t0);
        self.last_response = t0;
        let mut cpu_start = 0;
        let mut next_tick = t0 + TICK_NS;
        let mut interval_start = t_measure;
        let mut interval_index = 0u64;
        let mut ended = Ended::Completed;
        self.started = true;
        if self.plan.warmup_ns > 0 {
            // The warm-up starts now; without one, measuring starts at the loop's first turn,
            // which sends on every connection.
            for i in 0..self.conns.len() {
                self.try_send(i);
            }
        }
        let mut now = t0;
        loop {
            if stop.load(Ordering::Relaxed) {
                ended = Ended::Interrupted;
                break;
            }
            if !self.measuring && now >= t_measure {
                self.measuring = true;
                self.counting = true;
                cpu_start = sys::thread_cpu_ns();
                self.sched.begin_measuring();
                self.last_response = now;
                // Idle connections may now spend the counted budget.
                for i in 0..self.conns.len() {
                    self.try_send(i);
                }
            }
            if end.is_some_and(|end| now >= end) {
                break;
            }
            if self.measuring && self.sched.finished() && self.inflight_total == 0 {
                break;
            }
            if self.plan.stall_ns.is_some_and(|stall| {
                self.measuring && now.saturating_sub(self.last_response) > stall
            }) {
                ended = Ended::Stalled;
                break;
            }
            self.sched.release(now, &mut self.ready);
            if !self.ready.is_empty() {
                let mut ready = std::mem::take(&mut self.ready);
                for &i in &ready {
                    self.try_send(i);
                }
                ready.clear();
                self.ready = ready;
            }
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK_NS;
            }
            if self.measuring && now >= interval_start + INTERVAL_NS {
                self.end_interval(interval_index, INTERVAL_NS, t_measure + wall_offset);
                interval_index += 1;
                interval_start += INTERVAL_NS;
            }
            let mut wake = next_tick.min(interval_start + INTERVAL_NS);
            if !self.measuring {
                wake = wake.min(t_measure);
            }
            if let Some(end) = end {
                wake = wake.min(end);
            }
            if let (Some(due), Some(t)) = (self.sched.next_release(), timer.as_deref_mut()) {
                if due < wake {
                    t.arm_at(due);
                }
            }
            let wait = Duration::from_nanos(wake.saturating_sub(now));
            match poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() != TIMER_TOKEN {
                    self.on_event(event.token().0, event);
                }
            }
            now = sys::now_ns();
            if !self.closed.is_empty() {
                let mut closed = std::mem::take(&mut self.closed);
                for &i in &closed {
                    if self.sched.reconnect(i) {
                        self.connect(i, now);
                    } else {
                        self.conns[i].state = State::Retired;
                    }
                }
                closed.clear();
                self.closed = closed;
            }
        }
        let cpu_ns = if self.measuring {
            sys::thread_cpu_ns() - cpu_start
        } else {
            0
        };
        let measured_ns = match end {
            Some(end) if ended == Ended::Completed => end - t_measure,
            Some(end) => now.min(end).saturating_sub(t_measure),
            None => now.saturating_sub(t_measure),
        };
        if self.measuring {
            let length = now.min(end.unwrap_or(u64::MAX)) - interval_start;
            self.end_interval(interval_index, length, t_measure + wall_offset);
        }
        self.hlog = None;
        Ok(WorkerOut {
            latency: std::mem::replace(&mut self.total_latency, hist::new_histogram()),
            uncorrected: S::CORRECTED
                .then(|| std::mem::replace(&mut self.total_uncorrected, hist::new_histogram())),
            requests: self.requests,
            ok: self.ok,
            bytes: self.bytes,
            errors: self.errors,
            cpu_ns,
            measured_ns,
            unsent: self.sched.unsent(),
            stream: self.sched.stream_figures(),
            out_of_files: self.out_of_files,
            ended,
            start_wall_ns: t_measure.wrapping_add(wall_offset),
            established,
            connect_ns,
            status_codes: self
                .statuses
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(status, &n)| (status as u16, n))
                .collect(),
            reasons: std::mem::take(&mut self.reasons),
        })
    }

    /// Folds one interval's histograms into the totals, and reports them to the interval log.
    fn end_interval(&mut self, index: u64, length_ns: u64, start_wall_ns: u64) {
        if let Some(tx) = &self.hlog {
            let report = IntervalReport {
                index,
                length_ns,
                start_wall_ns,
                latency: self.latency.clone(),
                uncorrected: S::CORRECTED.then(|| self.uncorrected.clone()),
            };
            if tx.send(report).is_err() {
                // The log writer failed; it reports why. Stop feeding it.
                self.hlog = None;
            }
        }
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.total_latency.add(&self.latency);
        self.latency.reset();
        if S::CORRECTED {
            let _ = self.total_uncorrected.add(&self.uncorrected);
            self.uncorrected.reset();
        }
    }

    fn count(&mut self, class: Class, n: u64) {
        if !self.counting {
            return;
        }
        let e = &mut self.errors;
        match class {
            Class::Connect => e.connect += n,
            Class::Read => e.read += n,
            Class::Write => e.write += n,
            Class::Timeout => e.timeout += n,
            Class::Parse => e.parse += n,
            Class::ContentType => e.content_type += n,
        }
    }

    /// Counts a rejected response by class and reason, then closes its connection.
    fn reject(&mut self, i: usize, rejection: Rejection) {
        let class = match rejection {
            Rejection::NotEventStream => Class::ContentType,
            _ => Class::Parse,
        };
        if self.counting {
            match self.reasons.iter_mut().find(|(r, _)| *r == rejection) {
                Some((_, n)) => *n += 1,
                None => self.reasons.push((rejection, 1)),
            }
        }
        self.fail(i, class);
    }

    fn connect(&mut self, i: usize, now: u64) {
        let conn = &mut self.conns[i];
        conn.since = now;
        match TcpStream::connect(self.plan.addr) {
            Ok(mut sock) => {
                match self.registry.register(
                    &mut sock,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    Ok(()) => {
                        conn.sock = Some(sock);
                        conn.state = State::Connecting;
                    }
                    Err(_) => self.connect_failed(i, now),
                }
            }
            Err(e) => {
                if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    self.out_of_files = true;
                }
                self.connect_failed(i, now);
            }
        }
    }

    fn connect_failed(&mut self, i: usize, now: u64) {
        self.count(Class::Connect, 1);
        self.sched.on_close(i, false, now);
        let retry = self.sched.reconnect(i);
        let conn = &mut self.conns[i];
        conn.sock = None;
        conn.state = if retry {
            State::Backoff
        } else {
            State::Retired
        };
        conn.since = now + BACKOFF_NS;
    }

    fn on_event(&mut self, i: usize, event: &Event) {
        let Some(conn) = self.conns.get(i) else {
            return;
        };
        match conn.state {
            State::Connecting => {
                if event.is_writable() || event.is_error() || event.is_write_closed() {
                    self.finish_connect(i);
                }
            }
            State::Ready => {
                if event.is_writable() && conn.out_off < conn.out_len {
                    self.flush(i);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.on_readable(i, event.is_read_closed() || event.is_error());
                }
            }
            // A late event of a socket already dropped.
            State::Closed | State::Backoff | State::Retired => {}
        }
    }

    fn finish_connect(&mut self, i: usize) {
        let Some(sock) = self.conns[i].sock.as_ref() else {
            return;
        };
        let connected = match sock.take_error() {
            Ok(None) => match sock.peer_addr() {
                Ok(_) => true,
                // Not yet: a spurious wake-up; the real edge follows.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(_) => false,
            },
            Ok(Some(_)) | Err(_) => false,
        };
        if !connected {
            let now = sys::now_ns();
            self.connect_failed(i, now);
            return;
        }
        let _ = sock.set_nodelay(true);
        let conn = &mut self.conns[i];
        conn.state = State::Ready;
        self.sched.on_connected(i, conn.since, sys::now_ns());
        self.try_send(i);
    }

    /// Sends the next batch if connection `i` is idle and the schedule grants one.
    #[inline]
    fn try_send(&mut self, i: usize) {
        let conn = &self.conns[i];
        if conn.state != State::Ready || conn.inflight != 0 || !self.started {
            return;
        }
        let n = self.sched.grant(i);
        if n == 0 {
            if self.sched.close_idle(i) {
                self.close(i, true);
            }
            return;
        }
        let now = sys::now_ns();
        let conn = &mut self.conns[i];
        conn.inflight = n;
        conn.sent_at = now;
        conn.measured = self.measuring;
        conn.out_off = 0;
        conn.out_len = n * self.plan.request_len as u32;
        self.inflight_total += u64::from(n);
        self.flush(i);
    }

    /// Writes what is left of the current batch; stops at `WouldBlock` until the next edge.
    fn flush(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        let Some(sock) = conn.sock.as_mut() else {
            return;
        };
        while conn.out_off < conn.out_len {
            match sock.write(&self.plan.batch[conn.out_off as usize..conn.out_len as usize]) {
                Ok(n) => conn.out_off += n as u32,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.fail(i, Class::Write);
                    return;
                }
            }
        }
    }

    /// Reads until a short read (the socket is drained: new data raises a new edge) or, when the
    /// peer has closed (`hup`: no edge will follow), until the end of the stream.
    fn on_readable(&mut self, i: usize, hup: bool) {
        let mut buf = std::mem::take(&mut self.buf);
        while let Some(sock) = self.conns[i].sock.as_mut() {
            match sock.read(&mut buf) {
                Ok(0) => {
                    self.on_eof(i);
                    break;
                }
                Ok(n) => {
                    let now = sys::now_ns();
                    if self.conns[i].measured {
                        self.bytes += n as u64;
                    }
                    if !self.consume(i, &buf[..n], now) || (n < buf.len() && !hup) {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // A reset with nothing outstanding is an idle close, not a failure.
                    if self.conns[i].inflight > 0 {
                        self.fail(i, Class::Read);
                    } else {
                        self.close(i, true);
                    }
                    break;
                }
            }
        }
        self.buf = buf;
        self.try_send(i);
    }

    /// Parses bytes read from connection `i`; false once the connection was closed.
    #[inline]
    fn consume(&mut self, i: usize, mut data: &[u8], now: u64) -> bool {
        let mut wall = WallClock::new();
        loop {
            match self.conns[i].parser.next(&mut data) {
                Ok(None) => return true,
                Ok(Some(ResponseEvent::Done(response))) => {
                    if !self.complete(i, &response, now) {
                        return false;
                    }
                }
                Ok(Some(ResponseEvent::Head {
                    status,
                    event_stream,
                })) => {
                    if let BodyVerdict::Reject(why) =
                        self.sched.on_head(i, status, event_stream, now)
                    {
                        self.reject(i, why);
                        return false;
                    }
                }
                Ok(Some(ResponseEvent::Body(bytes))) => {
                    match self
                        .sched
                        .on_body(i, bytes, now, &mut wall, &mut self.latency)
                    {
                        BodyVerdict::Continue => {}
                        BodyVerdict::Close => {
                            self.abort(i);
                            return false;
                        }
                        BodyVerdict::Reject(why) => {
                            self.reject(i, why);
                            return false;
                        }
                    }
                }
                Err(e) => {
                    self.reject(i, Rejection::Parse(e));
                    return false;
                }
            }
        }
    }

    /// Accounts one complete response; false when the connection closed after it.
    #[inline]
    fn complete(&mut self, i: usize, response: &Response, now: u64) -> bool {
        let conn = &mut self.conns[i];
        if conn.inflight == 0 {
            // A response nobody asked for: the byte stream cannot be trusted.
            self.reject(i, Rejection::Unsolicited);
            return false;
        }
        let k = conn.done;
        conn.done += 1;
        conn.inflight -= 1;
        self.inflight_total -= 1;
        self.last_response = now;
        if conn.measured {
            let sent_at = conn.sent_at;
            self.requests += 1;
            self.statuses[usize::from(response.status) % STATUS_SLOTS] += 1;
            if (200..300).contains(&response.status) {
                self.ok += 1;
            } else {
                self.errors.status += 1;
            }
            if S::RECORDS_RESPONSES {
                let due = self.sched.due(i, k, sent_at);
                hist::record_ns(&mut self.latency, now.saturating_sub(due));
            }
            if S::CORRECTED {
                hist::record_ns(&mut self.uncorrected, now.saturating_sub(sent_at));
            }
        }
        self.sched.on_done(i, response, now);
        if response.close {
            // Requests pipelined behind a closing response are lost.
            let lost = u64::from(self.conns[i].inflight);
            self.count(Class::Read, lost);
            self.close(i, true);
            return false;
        }
        true
    }

    fn on_eof(&mut self, i: usize) {
        if let Ok(Some(response)) = self.conns[i].parser.finish() {
            if !self.complete(i, &response, sys::now_ns()) {
                return;
            }
        }
        if self.conns[i].inflight > 0 {
            self.fail(i, Class::Read);
        } else {
            self.close(i, true);
        }
    }

    /// Counts a failure for every request the connection had outstanding (at least one), then
    /// closes it.
    fn fail(&mut self, i: usize, class: Class) {
        let lost = u64::from(self.conns[i].inflight).max(1);
        self.count(class, lost);
        self.close(i, false);
    }

    /// Closes on purpose (an SSE stream aborted after k events): no error.
    fn abort(&mut self, i: usize) {
        self.close(i, true);
    }

    fn close(&mut self, i: usize, clean: bool) {
        let conn = &mut self.conns[i];
        if !matches!(conn.state, State::Ready | State::Connecting) {
            return;
        }
        // Dropping the socket closes it, which also removes it from the epoll set.
        conn.sock = None;
        conn.state = State::Closed;
        conn.parser.reset();
        conn.done += u64::from(conn.inflight);
        self.inflight_total -= u64::from(conn.inflight);
        conn.inflight = 0;
        conn.out_off = 0;
        conn.out_len = 0;
        self.closed.push(i);
        self.sched.on_close(i, clean, sys::now_ns());
    }

    /// The coarse scan: timeouts, connect timeouts, back-offs that ended.
    fn tick(&mut self, now: u64) {
        let timeout = self.plan.timeout_ns;
        for i in 0..self.conns.len() {
            let conn = &self.conns[i];
            match conn.state {
                State::Ready if conn.inflight > 0 => {
                    let from = self.sched.timeout_from(i, conn.sent_at);
                    if now.saturating_sub(from) > timeout {
                        self.fail(i, Class::Timeout);
                    }
                }
                State::Connecting if now.saturating_sub(conn.since) > timeout => {
                    self.count(Class::Connect, 1);
                    self.close(i, false);
                }
                State::Backoff if now >= conn.since => self.connect(i, now),
                _ => {}
            }
        }
    }
}
