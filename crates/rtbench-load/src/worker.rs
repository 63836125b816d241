//! One share-nothing worker: its connections, its event loop, its histograms and counters. The
//! loop is generic over the [`Schedule`] (so each model gets its own inlined copy) and over the
//! [`Backend`] that does its socket I/O: edge-triggered epoll (`worker_epoll`) or io_uring
//! (`worker_uring`). What a response means, and every figure, lives in the [`Book`].

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use crate::book::{Book, State, Window};
use crate::schedule::Schedule;
use crate::summary::Ended;
use crate::sys;
use crate::worker_out::{Class, WorkerOut};

/// Timeouts, reconnect back-offs and interval boundaries are checked this often (a coarse scan, so
/// nothing per request depends on the number of connections).
const TICK_NS: u64 = 10_000_000;
const INTERVAL_NS: u64 = 1_000_000_000;

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

/// A worker's socket I/O. Connection `i` is a slot: the backend holds at most one socket per slot,
/// and reports what happens on it to the [`Book`] in [`Backend::wait`].
pub(crate) trait Backend {
    /// Starts connecting slot `i` to the plan's address (the outcome comes through `wait`).
    fn connect(&mut self, i: usize) -> io::Result<()>;
    /// Writes the first `len` bytes of the plan's batch on slot `i`, now or with the next
    /// `wait`; false when that failed at once.
    fn send(&mut self, i: usize, len: usize) -> bool;
    /// Drops slot `i`'s socket, if it has one.
    fn close(&mut self, i: usize);
    /// Waits for I/O as `wait` says, and hands what happened to `book`.
    fn wait<S: Schedule>(&mut self, book: &mut Book<'_, S>, wait: Wait) -> io::Result<()>;
}

/// How long a [`Backend::wait`] may wait: from `now` until `wake` (monotonic ns), or precisely
/// until `due`, the schedule's next release, when that is earlier.
#[derive(Clone, Copy)]
pub(crate) struct Wait {
    pub now: u64,
    pub wake: u64,
    pub due: Option<u64>,
}

pub(crate) struct Worker<'p, S: Schedule, B: Backend> {
    book: Book<'p, S>,
    io: B,
}

impl<'p, S: Schedule, B: Backend> Worker<'p, S, B> {
    pub(crate) fn new(book: Book<'p, S>, io: B) -> Self {
        Worker { book, io }
    }

    /// Connects every connection before the clock starts (thousands of handshakes would otherwise
    /// eat a short run), waiting at most the timeout for the slow ones; those still pending then
    /// count as connect errors and are retried once the run goes. Returns the time it took.
    fn establish(&mut self, stop: &AtomicBool) -> io::Result<u64> {
        let begin = sys::now_ns();
        let deadline = begin + self.book.plan.timeout_ns;
        self.book.counting = true;
        for i in 0..self.book.conns.len() {
            self.connect(i, begin);
        }
        let mut now = begin;
        while now < deadline && !stop.load(Ordering::Relaxed) {
            if !self.book.conns.iter().any(|c| c.state == State::Connecting) {
                break;
            }
            let wake = deadline.min(now + TICK_NS);
            let due = None;
            self.io.wait(&mut self.book, Wait { now, wake, due })?;
            now = sys::now_ns();
        }
        for i in 0..self.book.conns.len() {
            if self.book.conns[i].state == State::Connecting {
                self.book.count(Class::Connect, 1);
                self.book.close(i, false);
            }
        }
        self.book.counting = false;
        Ok(sys::now_ns() - begin)
    }

    /// Connects, waits at `start` for every worker (so their clocks start together), then runs
    /// until the run's end or `stop`; returns what was measured.
    pub(crate) fn run(&mut self, start: &Barrier, stop: &AtomicBool) -> io::Result<WorkerOut> {
        // The barrier is passed whatever happens, so no worker waits forever for this one.
        let connected = self.establish(stop);
        start.wait();
        let connect_ns = connected?;
        let established = self
            .book
            .conns
            .iter()
            .filter(|c| c.state == State::Ready)
            .count() as u64;
        let plan = self.book.plan;
        if let Some(at) = plan.start_at_wall_ns {
            let wait = at.saturating_sub(sys::wall_ns());
            if wait > 0 && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_nanos(wait));
            }
        }
        let t0 = sys::now_ns();
        let t_measure = t0 + plan.warmup_ns;
        let end = plan.run_ns.map(|d| t_measure + d);
        let wall_offset = sys::wall_ns().wrapping_sub(t0);
        self.book.sched.start(t0);
        self.book.last_response = t0;
        let mut cpu_start = 0;
        let mut next_tick = t0 + TICK_NS;
        let mut interval_start = t_measure;
        let mut interval_index = 0u64;
        let mut ended = Ended::Completed;
        self.book.started = true;
        if plan.warmup_ns > 0 {
            // The warm-up starts now; without one, measuring starts at the loop's first turn,
            // which sends on every connection.
            self.send_all();
        }
        let mut now = t0;
        loop {
            let book = &mut self.book;
            if stop.load(Ordering::Relaxed) {
                ended = Ended::Interrupted;
                break;
            }
            if !book.measuring && now >= t_measure {
                book.measuring = true;
                book.counting = true;
                cpu_start = sys::thread_cpu_ns();
                book.sched.begin_measuring();
                book.last_response = now;
                // Idle connections may now spend the counted budget.
                self.send_all();
            }
            let book = &mut self.book;
            if end.is_some_and(|end| now >= end) {
                break;
            }
            if book.measuring && book.sched.finished() && book.inflight_total == 0 {
                break;
            }
            if plan.stall_ns.is_some_and(|stall| {
                book.measuring && now.saturating_sub(book.last_response) > stall
            }) {
                ended = Ended::Stalled;
                break;
            }
            book.sched.release(now, &mut book.ready);
            if !book.ready.is_empty() {
                let mut ready = std::mem::take(&mut book.ready);
                for &i in &ready {
                    self.book.send_next(i, &mut self.io);
                }
                ready.clear();
                self.book.ready = ready;
            }
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK_NS;
            }
            let book = &mut self.book;
            if book.measuring && now >= interval_start + INTERVAL_NS {
                book.end_interval(interval_index, INTERVAL_NS, t_measure + wall_offset);
                interval_index += 1;
                interval_start += INTERVAL_NS;
            }
            let mut wake = next_tick.min(interval_start + INTERVAL_NS);
            if !book.measuring {
                wake = wake.min(t_measure);
            }
            if let Some(end) = end {
                wake = wake.min(end);
            }
            let due = book.sched.next_release();
            self.io.wait(&mut self.book, Wait { now, wake, due })?;
            now = sys::now_ns();
            self.replace_closed(now);
        }
        let cpu_ns = if self.book.measuring {
            sys::thread_cpu_ns() - cpu_start
        } else {
            0
        };
        let measured_ns = match end {
            Some(end) if ended == Ended::Completed => end - t_measure,
            Some(end) => now.min(end).saturating_sub(t_measure),
            None => now.saturating_sub(t_measure),
        };
        if self.book.measuring {
            let length = now.min(end.unwrap_or(u64::MAX)) - interval_start;
            self.book
                .end_interval(interval_index, length, t_measure + wall_offset);
        }
        Ok(self.book.finish(Window {
            cpu_ns,
            measured_ns,
            ended,
            start_wall_ns: t_measure.wrapping_add(wall_offset),
            established,
            connect_ns,
        }))
    }

    fn send_all(&mut self) {
        for i in 0..self.book.conns.len() {
            self.book.send_next(i, &mut self.io);
        }
    }

    fn connect(&mut self, i: usize, now: u64) {
        match self.io.connect(i) {
            Ok(()) => self.book.on_connecting(i, now),
            Err(e) => {
                let out_of_files = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
                self.book.connect_failed(i, now, out_of_files);
            }
        }
    }

    /// Drops the sockets of connections closed this turn, and replaces them.
    fn replace_closed(&mut self, now: u64) {
        if self.book.closed.is_empty() {
            return;
        }
        let mut closed = std::mem::take(&mut self.book.closed);
        for &i in &closed {
            self.io.close(i);
            if self.book.sched.reconnect(i) {
                self.connect(i, now);
            } else {
                self.book.conns[i].state = State::Retired;
            }
        }
        closed.clear();
        self.book.closed = closed;
    }

    /// The coarse scan: timeouts, connect timeouts, back-offs that ended.
    fn tick(&mut self, now: u64) {
        let timeout = self.book.plan.timeout_ns;
        for i in 0..self.book.conns.len() {
            let conn = &self.book.conns[i];
            match conn.state {
                State::Ready if conn.inflight > 0 => {
                    let from = self.book.sched.timeout_from(i, conn.sent_at);
                    if now.saturating_sub(from) > timeout {
                        self.book.fail(i, Class::Timeout);
                    }
                }
                State::Connecting if now.saturating_sub(conn.since) > timeout => {
                    self.book.count(Class::Connect, 1);
                    self.book.close(i, false);
                }
                State::Backoff if now >= conn.since => self.connect(i, now),
                _ => {}
            }
        }
    }
}
