//! A worker's ledger, whatever does its I/O: the state of each connection, response parsing,
//! latency recording, counters and interval reports. The I/O backends (`worker_epoll`,
//! `worker_uring`) hand it the bytes they read and the connects and failures they see; it decides
//! what each means and never touches a socket itself.

use std::sync::mpsc::Sender;

use hdrhistogram::Histogram;

use crate::error::Rejection;
use crate::hist::{self, IntervalReport};
use crate::response::{Response, ResponseEvent, ResponseParser};
use crate::schedule::{BodyVerdict, Schedule, WallClock};
use crate::summary::{Ended, ErrorCounts};
use crate::sys;
use crate::worker::{Backend, Plan};
use crate::worker_out::{Class, WorkerOut};

/// A refused or failed connect is retried after this long.
const BACKOFF_NS: u64 = 50_000_000;
/// Status codes are three digits; one counter each, so counting never allocates.
const STATUS_SLOTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Closed, waiting to be replaced at the end of the loop turn.
    Closed,
    /// Failed to connect; retry at `since`.
    Backoff,
    Connecting,
    Ready,
    /// Closed for good (an ended stream).
    Retired,
}

pub(crate) struct Conn {
    pub state: State,
    parser: ResponseParser,
    /// Requests written (or being written) and not yet answered.
    pub inflight: u32,
    /// When the current batch was sent.
    pub sent_at: u64,
    /// Connect start, or when a back-off ends.
    pub since: u64,
    /// The current batch was sent inside the measured window.
    measured: bool,
    /// Requests answered or lost over the slot's lifetime: the index of the oldest in flight.
    done: u64,
}

/// One worker's ledger: its connections' bookkeeping, histograms and counters.
pub(crate) struct Book<'p, S: Schedule> {
    pub plan: &'p Plan,
    pub sched: S,
    pub conns: Vec<Conn>,
    /// Connections the schedule made due this turn, and connections closed this turn (their
    /// sockets are dropped and replaced at the end of the turn).
    pub ready: Vec<usize>,
    pub closed: Vec<usize>,
    pub measuring: bool,
    latency: Histogram<u64>,
    uncorrected: Histogram<u64>,
    total_latency: Histogram<u64>,
    total_uncorrected: Histogram<u64>,
    requests: u64,
    ok: u64,
    bytes: u64,
    errors: ErrorCounts,
    pub inflight_total: u64,
    pub last_response: u64,
    /// A connect failed for want of file descriptors: the run cannot hold its connections.
    pub out_of_files: bool,
    hlog: Option<Sender<IntervalReport>>,
    /// The clock runs: connections may send. False while connecting, before the clock starts.
    pub started: bool,
    /// Errors are counted (the measured window, and connecting before the clock).
    pub counting: bool,
    statuses: Box<[u64]>,
    reasons: Vec<(Rejection, u64)>,
}

/// What one loop measured besides the ledger's own figures.
pub(crate) struct Window {
    pub cpu_ns: u64,
    pub measured_ns: u64,
    pub ended: Ended,
    pub start_wall_ns: u64,
    pub established: u64,
    pub connect_ns: u64,
}

impl<'p, S: Schedule> Book<'p, S> {
    /// Allocates everything the loop needs, so the loop itself allocates nothing.
    pub(crate) fn new(
        plan: &'p Plan,
        sched: S,
        connections: usize,
        hlog: Option<Sender<IntervalReport>>,
    ) -> Self {
        let parser = if plan.head {
            ResponseParser::for_head_requests()
        } else {
            ResponseParser::new()
        };
        let conns = (0..connections)
            .map(|_| Conn {
                state: State::Closed,
                parser: parser.clone(),
                inflight: 0,
                sent_at: 0,
                since: 0,
                measured: false,
                done: 0,
            })
            .collect();
        Book {
            plan,
            sched,
            conns,
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

    #[inline]
    pub(crate) fn is_ready(&self, i: usize) -> bool {
        self.conns[i].state == State::Ready
    }

    /// Folds one interval's histograms into the totals, and reports them to the interval log.
    pub(crate) fn end_interval(&mut self, index: u64, length_ns: u64, start_wall_ns: u64) {
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

    /// Hands over what was measured; the ledger is spent.
    pub(crate) fn finish(&mut self, window: Window) -> WorkerOut {
        self.hlog = None;
        WorkerOut {
            latency: std::mem::replace(&mut self.total_latency, hist::new_histogram()),
            uncorrected: S::CORRECTED
                .then(|| std::mem::replace(&mut self.total_uncorrected, hist::new_histogram())),
            requests: self.requests,
            ok: self.ok,
            bytes: self.bytes,
            errors: self.errors,
            cpu_ns: window.cpu_ns,
            measured_ns: window.measured_ns,
            unsent: self.sched.unsent(),
            stream: self.sched.stream_figures(),
            out_of_files: self.out_of_files,
            ended: window.ended,
            start_wall_ns: window.start_wall_ns,
            established: window.established,
            connect_ns: window.connect_ns,
            status_codes: self
                .statuses
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(status, &n)| (status as u16, n))
                .collect(),
            reasons: std::mem::take(&mut self.reasons),
        }
    }

    pub(crate) fn count(&mut self, class: Class, n: u64) {
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

    /// Connection `i`'s connect began (its socket exists and is registered).
    pub(crate) fn on_connecting(&mut self, i: usize, now: u64) {
        let conn = &mut self.conns[i];
        conn.since = now;
        conn.state = State::Connecting;
    }

    /// Connection `i` could not connect (`out_of_files`: for want of descriptors); its socket,
    /// if any, is already gone.
    pub(crate) fn connect_failed(&mut self, i: usize, now: u64, out_of_files: bool) {
        self.out_of_files |= out_of_files;
        self.count(Class::Connect, 1);
        self.sched.on_close(i, false, now);
        let retry = self.sched.reconnect(i);
        let conn = &mut self.conns[i];
        conn.state = if retry {
            State::Backoff
        } else {
            State::Retired
        };
        conn.since = now + BACKOFF_NS;
    }

    /// Connection `i` is established.
    pub(crate) fn on_connected(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        conn.state = State::Ready;
        self.sched.on_connected(i, conn.since, sys::now_ns());
    }

    /// Sends connection `i`'s next batch through `io` if it is idle and the schedule grants one.
    #[inline]
    pub(crate) fn send_next(&mut self, i: usize, io: &mut impl Backend) {
        if let Some(len) = self.next_batch(i) {
            if !io.send(i, len) {
                self.fail(i, Class::Write);
            }
        }
    }

    /// Grants connection `i` its next batch if it is idle and the schedule allows one: returns
    /// how many bytes of [`Plan::batch`] to write.
    #[inline]
    fn next_batch(&mut self, i: usize) -> Option<usize> {
        let conn = &self.conns[i];
        if conn.state != State::Ready || conn.inflight != 0 || !self.started {
            return None;
        }
        let n = self.sched.grant(i);
        if n == 0 {
            if self.sched.close_idle(i) {
                self.close(i, true);
            }
            return None;
        }
        let conn = &mut self.conns[i];
        conn.inflight = n;
        conn.sent_at = sys::now_ns();
        conn.measured = self.measuring;
        self.inflight_total += u64::from(n);
        Some(n as usize * self.plan.request_len)
    }

    /// Reading connection `i` failed: a reset with nothing outstanding is an idle close, not a
    /// failure.
    pub(crate) fn on_read_error(&mut self, i: usize) {
        if self.conns[i].inflight > 0 {
            self.fail(i, Class::Read);
        } else {
            self.close(i, true);
        }
    }

    /// Parses bytes read from connection `i`; false once the connection was closed.
    #[inline]
    pub(crate) fn consume(&mut self, i: usize, mut data: &[u8], now: u64) -> bool {
        if self.conns[i].measured {
            self.bytes += data.len() as u64;
        }
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
                            // Closed on purpose (an SSE stream aborted after k events): no error.
                            self.close(i, true);
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

    /// The peer closed connection `i`: a response delimited by the close completes now.
    pub(crate) fn on_eof(&mut self, i: usize) {
        if let Ok(Some(response)) = self.conns[i].parser.finish() {
            if !self.complete(i, &response, sys::now_ns()) {
                return;
            }
        }
        self.on_read_error(i);
    }

    /// Counts a failure for every request the connection had outstanding (at least one), then
    /// closes it.
    pub(crate) fn fail(&mut self, i: usize, class: Class) {
        let lost = u64::from(self.conns[i].inflight).max(1);
        self.count(class, lost);
        self.close(i, false);
    }

    /// Marks connection `i` closed; its socket goes at the end of the loop turn.
    pub(crate) fn close(&mut self, i: usize, clean: bool) {
        let conn = &mut self.conns[i];
        if !matches!(conn.state, State::Ready | State::Connecting) {
            return;
        }
        conn.state = State::Closed;
        conn.parser.reset();
        conn.done += u64::from(conn.inflight);
        self.inflight_total -= u64::from(conn.inflight);
        conn.inflight = 0;
        self.closed.push(i);
        self.sched.on_close(i, clean, sys::now_ns());
    }
}
