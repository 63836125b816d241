//! What a worker's SSE streams measured, and how workers' (or agents') figures add up into the
//! summary's stream section. Kept apart from the stream schedule so the schedule trait can name
//! it without depending on one of its implementations.

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

/// A stream run's whole-run histograms besides the event latency (which the interval log
/// carries), µs: what an agent hands over so that agents merge exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamHistograms {
    /// Connect start → TCP established.
    pub connect: Histogram<u64>,
    /// Request sent → first event parsed.
    pub first_event: Histogram<u64>,
    /// Gap between consecutive events of one stream.
    pub gap: Histogram<u64>,
}

impl Default for StreamHistograms {
    fn default() -> Self {
        StreamHistograms {
            connect: hist::new_histogram(),
            first_event: hist::new_histogram(),
            gap: hist::new_histogram(),
        }
    }
}

impl StreamHistograms {
    /// Adds `other` (same bounds everywhere, the engine's, so adding cannot fail).
    pub(crate) fn add(&mut self, other: &StreamHistograms) {
        let _ = self.connect.add(&other.connect);
        let _ = self.first_event.add(&other.first_event);
        let _ = self.gap.add(&other.gap);
    }

    /// The stream section from added counters (`counts`; its percentiles are replaced) and these
    /// histograms, with the event latency from `event_latency`.
    pub(crate) fn summarize(
        &self,
        counts: StreamSummary,
        event_latency: &Histogram<u64>,
        duration_s: f64,
    ) -> StreamSummary {
        StreamSummary {
            events_per_s: if duration_s > 0.0 {
                counts.events_received as f64 / duration_s
            } else {
                0.0
            },
            connect_us: hist::percentiles(&self.connect),
            first_event_us: hist::percentiles(&self.first_event),
            gap_us: hist::percentiles(&self.gap),
            event_latency_us: hist::percentiles(event_latency),
            ..counts
        }
    }
}

/// Adds the counters of several stream sections (workers' or agents').
pub(crate) fn add_counts(into: &mut StreamSummary, s: &StreamSummary) {
    into.streams += s.streams;
    into.streams_completed += s.streams_completed;
    into.streams_failed += s.streams_failed;
    into.events_received += s.events_received;
    into.events_expected += s.events_expected;
}

impl StreamFigures {
    /// Adds up the workers' figures into the summary's stream section, and the histograms behind
    /// it.
    pub(crate) fn merge(
        all: impl Iterator<Item = StreamFigures>,
        event_latency: &Histogram<u64>,
        duration_s: f64,
    ) -> (StreamSummary, StreamHistograms) {
        let mut histograms = StreamHistograms::default();
        let mut counts = StreamSummary::default();
        for f in all {
            add_counts(
                &mut counts,
                &StreamSummary {
                    streams: f.streams,
                    streams_completed: f.completed,
                    streams_failed: f.failed,
                    events_received: f.events,
                    events_expected: f.streams * f.expected_per_stream,
                    ..StreamSummary::default()
                },
            );
            histograms.add(&StreamHistograms {
                connect: f.connect,
                first_event: f.first_event,
                gap: f.gap,
            });
        }
        let summary = histograms.summarize(counts, event_latency, duration_s);
        (summary, histograms)
    }
}
