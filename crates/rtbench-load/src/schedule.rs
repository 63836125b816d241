//! When each connection may send: the only place that decides timing. The load loop is generic over
//! [`Schedule`], so every model runs the same loop with its decisions inlined.

use hdrhistogram::Histogram;

use crate::error::Rejection;
use crate::response::Response;
use crate::stream_figures::StreamFigures;

/// Decides what connections send and when. Connections are a worker's local indices.
pub(crate) trait Schedule {
    /// Whether latency is measured from a due time distinct from the send (the open model), so the
    /// worker also keeps an uncorrected histogram.
    const CORRECTED: bool = false;

    /// Whether each response's latency is recorded (the stream model records event latency
    /// through [`Schedule::on_body`] instead).
    const RECORDS_RESPONSES: bool = true;

    /// The run (warm-up included) starts at monotonic time `t0`.
    fn start(&mut self, _t0: u64) {}

    /// The warm-up ended: from now on sends count towards request budgets.
    fn begin_measuring(&mut self) {}

    /// How many requests idle connection `i` may write now (0: none for now).
    fn grant(&mut self, i: usize) -> u32;

    /// Makes due every request whose time has come by `now`; pushes each connection that went from
    /// owing nothing to owing something onto `ready` (so at most once per connection per call).
    fn release(&mut self, _now: u64, _ready: &mut Vec<usize>) {}

    /// The next time [`Schedule::release`] has work, if any.
    fn next_release(&self) -> Option<u64> {
        None
    }

    /// When request `k` of connection `i` was due (the closed model: when it was sent).
    #[inline]
    fn due(&self, _i: usize, _k: u64, sent_at: u64) -> u64 {
        sent_at
    }

    /// No connection will be granted another request.
    fn finished(&self) -> bool;

    /// Requests that fell due but were not sent (open model).
    fn unsent(&self) -> u64 {
        0
    }

    /// Whether connection `i`, which just closed, should be replaced by a new one.
    fn reconnect(&mut self, _i: usize) -> bool {
        true
    }

    /// Time from which connection `i`'s timeout runs, given its oldest request's send time.
    #[inline]
    fn timeout_from(&self, _i: usize, sent_at: u64) -> u64 {
        sent_at
    }

    /// Connection `i`, whose connect began at `started`, is established.
    #[inline]
    fn on_connected(&mut self, _i: usize, _started: u64, _now: u64) {}

    /// Whether idle connection `i`, granted nothing, should be closed (an ended stream).
    #[inline]
    fn close_idle(&self, _i: usize) -> bool {
        false
    }

    /// The stream model's figures, taken once at the end.
    fn stream_figures(&mut self) -> Option<StreamFigures> {
        None
    }

    /// A response head arrived on connection `i` (`event_stream`: its content type is
    /// `text/event-stream`). The verdict may reject the response.
    #[inline]
    fn on_head(&mut self, _i: usize, _status: u16, _event_stream: bool, _now: u64) -> BodyVerdict {
        BodyVerdict::Continue
    }

    /// Body bytes arrived on connection `i` at `now`; latencies of what they complete go into
    /// `latency` (the worker's primary histogram). The verdict may close the connection (an SSE
    /// stream aborted on purpose, or a malformed one).
    #[inline]
    fn on_body(
        &mut self,
        _i: usize,
        _bytes: &[u8],
        _now: u64,
        _wall: &mut WallClock,
        _latency: &mut Histogram<u64>,
    ) -> BodyVerdict {
        BodyVerdict::Continue
    }

    /// A response on connection `i` completed.
    #[inline]
    fn on_done(&mut self, _i: usize, _response: &Response, _now: u64) {}

    /// Connection `i` closed; `clean` is false when it failed.
    #[inline]
    fn on_close(&mut self, _i: usize, _clean: bool, _now: u64) {}
}

/// What the body hook wants done with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyVerdict {
    Continue,
    /// Close the connection on purpose (not an error).
    Close,
    /// The response is rejected (malformed, or not what was asked for): count an error for the
    /// reason and close.
    Reject(Rejection),
}

/// Reads the wall clock at most once per batch of body bytes, and only when asked.
pub(crate) struct WallClock {
    ns: Option<u64>,
}

impl WallClock {
    pub(crate) fn new() -> Self {
        WallClock { ns: None }
    }
    pub(crate) fn now(&mut self) -> u64 {
        *self.ns.get_or_insert_with(crate::sys::wall_ns)
    }
}

/// The closed model: an idle connection sends its next batch at once.
pub(crate) struct Closed {
    pipeline: u32,
    /// Requests left to send after the warm-up (`None`: unlimited, the run is timed).
    budget: Option<u64>,
    counting: bool,
}

impl Closed {
    pub(crate) fn new(pipeline: u32, budget: Option<u64>) -> Self {
        Closed {
            pipeline,
            budget,
            counting: false,
        }
    }
}

impl Schedule for Closed {
    fn begin_measuring(&mut self) {
        self.counting = true;
    }

    #[inline]
    fn grant(&mut self, _i: usize) -> u32 {
        match &mut self.budget {
            Some(left) if self.counting => {
                let n = (*left).min(u64::from(self.pipeline));
                *left -= n;
                n as u32
            }
            _ => self.pipeline,
        }
    }

    fn finished(&self) -> bool {
        self.counting && self.budget == Some(0)
    }
}

/// The open model: request `k` of global connection `g` is due at `t0 + (g + k·C)/R`. Due times
/// of all connections interleave in that global order, so one cursor walks them in time order.
pub(crate) struct Open {
    ns_per_request: f64,
    t0: u64,
    /// Connections over all workers (C).
    total: u64,
    /// Global index of this worker's first connection.
    first: u64,
    pipeline: u32,
    /// Requests due so far and sent so far, per local connection.
    due: Vec<u64>,
    sent: Vec<u64>,
    /// Next request to fall due: local connection and its k.
    cursor_i: usize,
    cursor_k: u64,
    next_due: u64,
    /// Global request indices at or past this are never due (a counted open run).
    limit: Option<u64>,
    exhausted: bool,
    unsent: u64,
}

impl Open {
    /// `limit_after_warmup`: a request count that starts after `warmup_ns`.
    pub(crate) fn new(
        rate: f64,
        total: u64,
        first: u64,
        local: usize,
        pipeline: u32,
        limit_after_warmup: Option<(u64, u64)>,
    ) -> Self {
        let ns_per_request = 1e9 / rate;
        let limit = limit_after_warmup
            .map(|(n, warmup_ns)| (warmup_ns as f64 / ns_per_request).ceil() as u64 + n);
        Open {
            ns_per_request,
            t0: 0,
            total,
            first,
            pipeline,
            due: vec![0; local],
            sent: vec![0; local],
            cursor_i: 0,
            cursor_k: 0,
            next_due: 0,
            limit,
            exhausted: local == 0 || limit.is_some_and(|l| first >= l),
            unsent: 0,
        }
    }

    #[inline]
    fn due_time(&self, i: usize, k: u64) -> u64 {
        let global = self.first + i as u64 + k * self.total;
        self.t0 + (global as f64 * self.ns_per_request) as u64
    }
}

impl Schedule for Open {
    const CORRECTED: bool = true;

    fn start(&mut self, t0: u64) {
        self.t0 = t0;
        self.next_due = self.due_time(0, 0);
    }

    #[inline]
    fn grant(&mut self, i: usize) -> u32 {
        let owed = self.due[i] - self.sent[i];
        let n = owed.min(u64::from(self.pipeline));
        self.sent[i] += n;
        self.unsent -= n;
        n as u32
    }

    fn release(&mut self, now: u64, ready: &mut Vec<usize>) {
        while !self.exhausted && self.next_due <= now {
            let i = self.cursor_i;
            self.due[i] += 1;
            self.unsent += 1;
            if self.due[i] - self.sent[i] == 1 {
                ready.push(i);
            }
            self.cursor_i += 1;
            if self.cursor_i == self.due.len() {
                self.cursor_i = 0;
                self.cursor_k += 1;
            }
            let global = self.first + self.cursor_i as u64 + self.cursor_k * self.total;
            if self.limit.is_some_and(|l| global >= l) {
                self.exhausted = true;
            }
            self.next_due = self.due_time(self.cursor_i, self.cursor_k);
        }
    }

    fn next_release(&self) -> Option<u64> {
        (!self.exhausted).then_some(self.next_due)
    }

    #[inline]
    fn due(&self, i: usize, k: u64, _sent_at: u64) -> u64 {
        self.due_time(i, k)
    }

    fn finished(&self) -> bool {
        self.exhausted && self.unsent == 0
    }

    fn unsent(&self) -> u64 {
        self.unsent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_hands_out_exactly_the_budget() {
        let mut s = Closed::new(16, Some(40));
        assert_eq!(s.grant(0), 16, "warm-up is not counted");
        s.begin_measuring();
        let grants: Vec<u32> = (0..4).map(|i| s.grant(i)).collect();
        assert_eq!(grants, [16, 16, 8, 0]);
        assert!(s.finished());
        let mut timed = Closed::new(1, None);
        timed.begin_measuring();
        assert_eq!(timed.grant(0), 1);
        assert!(!timed.finished());
    }

    #[test]
    fn open_due_times_interleave_connections() {
        // 1000 req/s over 4 connections, this worker owns global connections 2 and 3.
        let mut s = Open::new(1000.0, 4, 2, 2, 1, None);
        s.start(1_000_000_000);
        assert_eq!(s.due(0, 0, 0), 1_002_000_000);
        assert_eq!(s.due(1, 0, 0), 1_003_000_000);
        assert_eq!(s.due(0, 1, 0), 1_006_000_000);
        let mut ready = Vec::new();
        s.release(1_005_999_999, &mut ready);
        assert_eq!(ready, [0, 1]);
        assert_eq!(s.next_release(), Some(1_006_000_000));
        assert_eq!(s.grant(0), 1);
        assert_eq!(s.grant(0), 0);
        ready.clear();
        // Connection 1 stays busy while three more fall due: one ready push, three owed.
        s.release(1_015_000_000, &mut ready);
        assert_eq!(ready, [0]);
        assert_eq!(s.unsent(), 1 + 3 + 3);
        assert_eq!(s.grant(1), 1, "pipeline 1 sends one at a time");
        assert_eq!(s.grant(1), 1);
    }

    #[test]
    fn counted_open_run_stops_after_the_count() {
        let mut s = Open::new(1000.0, 2, 0, 2, 4, Some((5, 0)));
        s.start(0);
        let mut ready = Vec::new();
        s.release(u64::MAX / 2, &mut ready);
        assert_eq!(s.unsent(), 5);
        assert_eq!(s.grant(0) + s.grant(1), 5);
        assert!(s.finished());
        assert_eq!(s.next_release(), None);
    }
}
