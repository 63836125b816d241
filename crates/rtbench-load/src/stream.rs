//! The stream model: each connection sends one `GET` and reads the SSE stream that answers it,
//! parsing events as bytes arrive and measuring each one.

use hdrhistogram::Histogram;

use crate::error::Rejection;
use crate::hist;
use crate::response::Response;
use crate::schedule::{BodyVerdict, Schedule, WallClock};
use crate::sse::{parse_stamp, SseParser};
use crate::stream_figures::StreamFigures;
use crate::sys;

/// One stream slot's progress. Kept apart from its parser so the parser's callback can update it.
#[derive(Default, Clone)]
struct Slot {
    /// Its request was sent (the stream was opened).
    started: bool,
    /// The response is 2xx: its body is an event stream.
    ok: bool,
    /// Completed, aborted on purpose or failed: counted once.
    ended: bool,
    requested_at: u64,
    last_event_at: u64,
    events: u64,
}

/// S concurrent SSE streams. Without a duration each slot runs one stream; with one, a slot whose
/// stream ended opens the next until the time is up.
pub(crate) struct Stream {
    slots: Vec<Slot>,
    parsers: Vec<SseParser>,
    repeat: bool,
    abort_after: Option<u64>,
    expected_per_stream: u64,
    /// Slots whose stream ended and that will not open another.
    retired: usize,
    completed: u64,
    failed: u64,
    events: u64,
    connect: Histogram<u64>,
    first_event: Histogram<u64>,
    gap: Histogram<u64>,
}

impl Stream {
    pub(crate) fn new(
        local: usize,
        repeat: bool,
        expected_per_stream: u64,
        abort_after: Option<u64>,
    ) -> Self {
        Stream {
            slots: vec![Slot::default(); local],
            parsers: (0..local).map(|_| SseParser::new()).collect(),
            repeat,
            abort_after,
            expected_per_stream,
            retired: 0,
            completed: 0,
            failed: 0,
            events: 0,
            connect: hist::new_histogram(),
            first_event: hist::new_histogram(),
            gap: hist::new_histogram(),
        }
    }

    fn end(&mut self, i: usize, completed: bool) {
        let slot = &mut self.slots[i];
        if slot.ended {
            return;
        }
        slot.ended = true;
        if completed {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
    }
}

impl Schedule for Stream {
    const RECORDS_RESPONSES: bool = false;

    fn grant(&mut self, i: usize) -> u32 {
        let slot = &mut self.slots[i];
        if slot.started {
            return 0;
        }
        slot.started = true;
        slot.requested_at = sys::now_ns();
        1
    }

    fn finished(&self) -> bool {
        !self.repeat && self.retired == self.slots.len()
    }

    fn reconnect(&mut self, i: usize) -> bool {
        if !self.repeat {
            self.retired += 1;
            return false;
        }
        self.slots[i] = Slot::default();
        self.parsers[i].reset();
        true
    }

    fn timeout_from(&self, i: usize, sent_at: u64) -> u64 {
        // A stream times out when no event arrived for the timeout, not when it is long.
        sent_at.max(self.slots[i].last_event_at)
    }

    fn on_connected(&mut self, _i: usize, started: u64, now: u64) {
        hist::record_ns(&mut self.connect, now.saturating_sub(started));
    }

    fn on_head(&mut self, i: usize, status: u16, event_stream: bool, _now: u64) -> BodyVerdict {
        let ok = (200..300).contains(&status);
        if ok && !event_stream {
            // "200 text/plain ok" is not a stream that ended after 0 events.
            self.end(i, false);
            return BodyVerdict::Reject(Rejection::NotEventStream);
        }
        self.slots[i].ok = ok;
        BodyVerdict::Continue
    }

    fn on_body(
        &mut self,
        i: usize,
        bytes: &[u8],
        now: u64,
        wall: &mut WallClock,
        latency: &mut Histogram<u64>,
    ) -> BodyVerdict {
        let slot = &mut self.slots[i];
        if !slot.ok {
            return BodyVerdict::Continue;
        }
        let limit = self.abort_after.unwrap_or(u64::MAX);
        let (first_event, gap, events) = (&mut self.first_event, &mut self.gap, &mut self.events);
        let fed = self.parsers[i].feed(bytes, &mut |event| {
            if slot.events >= limit {
                return;
            }
            slot.events += 1;
            *events += 1;
            if slot.events == 1 {
                hist::record_ns(first_event, now.saturating_sub(slot.requested_at));
            } else {
                hist::record_ns(gap, now.saturating_sub(slot.last_event_at));
            }
            slot.last_event_at = now;
            if let Some((_seq, sent_ns)) = parse_stamp(event.data) {
                hist::record_ns(latency, wall.now().saturating_sub(sent_ns));
            }
        });
        if let Err(e) = fed {
            return BodyVerdict::Reject(Rejection::Sse(e));
        }
        if slot.events >= limit {
            self.end(i, true);
            return BodyVerdict::Close;
        }
        BodyVerdict::Continue
    }

    fn on_done(&mut self, i: usize, response: &Response, _now: u64) {
        let ok = (200..300).contains(&response.status);
        self.end(i, ok);
    }

    fn on_close(&mut self, i: usize, _clean: bool, _now: u64) {
        // A stream that ended normally or was aborted on purpose was counted already.
        self.end(i, false);
    }

    fn close_idle(&self, i: usize) -> bool {
        self.slots[i].ended
    }

    fn stream_figures(&mut self) -> Option<StreamFigures> {
        let open = self.slots.iter().filter(|s| s.started && !s.ended).count() as u64;
        Some(StreamFigures {
            streams: self.completed + self.failed + open,
            completed: self.completed,
            failed: self.failed,
            events: self.events,
            expected_per_stream: self.expected_per_stream,
            connect: std::mem::replace(&mut self.connect, hist::new_histogram()),
            first_event: std::mem::replace(&mut self.first_event, hist::new_histogram()),
            gap: std::mem::replace(&mut self.gap, hist::new_histogram()),
        })
    }
}
