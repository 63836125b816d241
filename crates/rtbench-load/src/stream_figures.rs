//! What a worker's SSE streams measured, and how workers' figures add up into the summary's
//! stream section. Kept apart from the stream schedule so the schedule trait can name it without
//! depending on one of its implementations.

use hdrhistogram::Histogram;

use crate::hist;
use crate::summary::StreamSummary;

/// What a worker's streams measured (histograms merged over workers later).
pub(crate) struct StreamFigures {
    pub streams: u64,
    pub completed: u64,
    pub failed: u64,
    pub events: u64,
    /// Events each stream should deliver.
    pub expected_per_stream: u64,
    pub connect: Histogram<u64>,
    pub first_event: Histogram<u64>,
    pub gap: Histogram<u64>,
}

impl StreamFigures {
    /// Adds up the workers' figures into the summary's stream section.
    pub(crate) fn merge(
        all: impl Iterator<Item = StreamFigures>,
        event_latency: &Histogram<u64>,
        duration_s: f64,
    ) -> StreamSummary {
        let mut connect = hist::new_histogram();
        let mut first_event = hist::new_histogram();
        let mut gap = hist::new_histogram();
        let mut s = StreamSummary::default();
        for f in all {
            s.streams += f.streams;
            s.streams_completed += f.completed;
            s.streams_failed += f.failed;
            s.events_received += f.events;
            s.events_expected += f.streams * f.expected_per_stream;
            // Same bounds everywhere, so adding cannot fail.
            let _ = connect.add(&f.connect);
            let _ = first_event.add(&f.first_event);
            let _ = gap.add(&f.gap);
        }
        s.events_per_s = if duration_s > 0.0 {
            s.events_received as f64 / duration_s
        } else {
            0.0
        };
        s.connect_us = hist::percentiles(&connect);
        s.first_event_us = hist::percentiles(&first_event);
        s.gap_us = hist::percentiles(&gap);
        s.event_latency_us = hist::percentiles(event_latency);
        s
    }
}
