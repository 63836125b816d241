//! The exact merge of load outputs: agents that ran side by side ([`merge_agents`]) and slices
//! that ran one after another ([`merge_slices`], a sliced trial of `rtbench run --slices`).
//! Histograms add (exact), counters add; what differs is the time axis: agents share one window
//! (rates are over the longest), slices follow each other (their windows add).

use std::collections::BTreeMap;
use std::io::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::agent::AgentOutput;
use crate::error::LoadError;
use crate::hist::{self, IntervalReport};
use crate::stream_figures::{add_counts, StreamHistograms};
use crate::summary::{Ended, ErrorCounts, Model, StreamSummary, Summary};

/// The interval logs' period.
pub(crate) const INTERVAL_NS: u64 = 1_000_000_000;

/// One agent as the merge saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentReport {
    /// 0-based agent number.
    pub index: u64,
    /// Its measured window's wall-clock start, ns since the Unix epoch.
    pub start_wall_ns: u64,
    /// Its client CPU seconds, and as a fraction of its CPUs.
    pub client_cpu_s: f64,
    /// Fraction of its CPUs it used.
    pub client_cpu_fraction: f64,
    /// It used ≥ 90% of its CPUs.
    pub client_bound: bool,
    /// Responses it completed.
    pub requests: u64,
    /// How it ended.
    pub ended: Ended,
}

/// The agents' outputs merged.
#[derive(Debug, Clone)]
pub struct Merged {
    /// One summary for the whole run: counters added, latency from the added histograms.
    pub summary: Summary,
    /// Latest agent start − earliest, ns.
    pub start_skew_ns: u64,
    /// Each agent, in index order.
    pub agents: Vec<AgentReport>,
    /// Every agent of the split was there exactly once.
    pub complete: bool,
    /// The merged latency histogram (corrected in open runs), µs.
    pub latency: Histogram<u64>,
}

/// Merges agent outputs exactly (histograms add). Intervals are aligned on the earliest agent's
/// start: an agent's interval starting at offset o after its own start S lands in interval
/// round((S + o − S_min) / 1 s), so agents started a few ms apart add up second by second.
/// `hlog` receives the merged interval log.
pub fn merge_agents(
    outputs: &[AgentOutput],
    hlog: Option<&mut dyn Write>,
) -> Result<Merged, LoadError> {
    merge(outputs, Timeline::SideBySide, hlog)
}

/// Merges the slices of one sliced trial, measured one after another against one server with the
/// same connections (`rtbench run --slices`): histograms and counters add, and the measured
/// windows add up, so rates are over their sum. Intervals keep their wall-clock seconds (the
/// gaps between slices are the other servers' turns). [`Merged::agents`] has one entry per slice.
pub fn merge_slices(
    slices: &[AgentOutput],
    hlog: Option<&mut dyn Write>,
) -> Result<Merged, LoadError> {
    merge(slices, Timeline::OneAfterAnother, hlog)
}

/// How the merged outputs' measured windows lie in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timeline {
    /// Agents: one window, shared; their connections add.
    SideBySide,
    /// Slices: windows in sequence over the same connections.
    OneAfterAnother,
}

fn merge(
    outputs: &[AgentOutput],
    timeline: Timeline,
    hlog: Option<&mut dyn Write>,
) -> Result<Merged, LoadError> {
    let first = outputs.first().ok_or(LoadError::InvalidOption {
        option: "merge",
        reason: "needs at least one agent output".into(),
    })?;
    let model = first.summary.model;
    let base = outputs
        .iter()
        .map(|o| o.summary.start_wall_ns)
        .min()
        .unwrap_or(0);
    let skew = outputs
        .iter()
        .map(|o| o.summary.start_wall_ns)
        .max()
        .unwrap_or(0)
        - base;
    let mut latency = hist::new_histogram();
    let mut uncorrected = hist::new_histogram();
    let mut slots: BTreeMap<u64, IntervalReport> = BTreeMap::new();
    for o in outputs {
        if o.summary.model != model {
            return Err(LoadError::InvalidOption {
                option: "merge",
                reason: "the outputs come from runs of different models".into(),
            });
        }
        for i in &o.intervals {
            let at = o.summary.start_wall_ns - base + i.offset_ns;
            let index = (at + INTERVAL_NS / 2) / INTERVAL_NS;
            let slot = slots.entry(index).or_insert_with(|| IntervalReport {
                index,
                length_ns: 0,
                start_wall_ns: base,
                latency: hist::new_histogram(),
                uncorrected: (model == Model::Open).then(hist::new_histogram),
            });
            // Agents' same second is one span of time; two slices rounded into one second are
            // two spans (a rate read from the log needs their sum).
            slot.length_ns = match timeline {
                Timeline::SideBySide => slot.length_ns.max(i.length_ns),
                Timeline::OneAfterAnother => slot.length_ns + i.length_ns,
            };
            // Same bounds everywhere (the engine's), so adding cannot fail.
            match i.tag.as_deref() {
                None => {
                    let _ = slot.latency.add(&i.histogram);
                    let _ = latency.add(&i.histogram);
                }
                Some("uncorrected") => {
                    if let Some(u) = &mut slot.uncorrected {
                        let _ = u.add(&i.histogram);
                    }
                    let _ = uncorrected.add(&i.histogram);
                }
                Some(_) => {}
            }
        }
    }
    if let Some(out) = hlog {
        let (tx, rx) = std::sync::mpsc::channel();
        for (_, report) in slots {
            let _ = tx.send(report);
        }
        drop(tx);
        hist::write_hlog(out, 1, rx).map_err(|source| LoadError::Output {
            what: "merged interval log",
            source,
        })?;
    }
    let mut seen: Vec<u64> = outputs.iter().map(|o| o.share.index).collect();
    seen.sort_unstable();
    let complete = seen == (0..first.share.agents).collect::<Vec<_>>();
    let summary = add_summaries(outputs, timeline, &latency, &uncorrected);
    let mut agents: Vec<AgentReport> = outputs
        .iter()
        .map(|o| AgentReport {
            index: o.share.index,
            start_wall_ns: o.summary.start_wall_ns,
            client_cpu_s: o.summary.client_cpu_s,
            client_cpu_fraction: o.summary.client_cpu_fraction,
            client_bound: o.summary.client_bound,
            requests: o.summary.requests,
            ended: o.summary.ended,
        })
        .collect();
    agents.sort_by_key(|a| a.index);
    Ok(Merged {
        summary,
        start_skew_ns: skew,
        agents,
        complete,
        latency,
    })
}

/// Counters add; rates are over the longest agent window (side by side) or the windows' sum (one
/// after another); latency comes from the added histograms (and in the stream model so do the
/// stream figures).
fn add_summaries(
    outputs: &[AgentOutput],
    timeline: Timeline,
    latency: &Histogram<u64>,
    uncorrected: &Histogram<u64>,
) -> Summary {
    let mut s = outputs[0].summary.clone();
    let all = || outputs.iter().map(|o| &o.summary);
    let sum = |f: fn(&Summary) -> u64| all().map(f).sum::<u64>();
    let sequential = timeline == Timeline::OneAfterAnother;
    s.duration_s = if sequential {
        all().map(|x| x.duration_s).sum()
    } else {
        all().map(|x| x.duration_s).fold(0.0, f64::max)
    };
    let per_s = |n: f64| {
        if s.duration_s > 0.0 {
            n / s.duration_s
        } else {
            0.0
        }
    };
    let ok: f64 = all().map(|x| (x.rps * x.duration_s).round()).sum();
    if !sequential {
        s.connections = sum(|x| x.connections);
        s.threads = sum(|x| x.threads);
    }
    s.requests = sum(|x| x.requests);
    s.bytes_read = sum(|x| x.bytes_read);
    s.rps = per_s(ok);
    s.transfer_bytes_per_s = per_s(s.bytes_read as f64);
    let mut e = ErrorCounts::default();
    for x in all() {
        e.add(&x.errors);
    }
    s.errors = e;
    s.latency_us = hist::percentiles(latency);
    if s.model == Model::Open {
        s.latency_uncorrected_us = Some(hist::percentiles(uncorrected));
        // Each slice asks the whole rate; side by side, every agent asks its part of it.
        let rates = all().filter_map(|x| x.target_rate);
        s.target_rate = Some(if sequential {
            rates.fold(0.0, f64::max)
        } else {
            rates.sum()
        });
        s.achieved_rate = Some(per_s(s.requests as f64));
        s.unsent_due = Some(all().filter_map(|x| x.unsent_due).sum());
    }
    if s.model == Model::Stream {
        let mut counts = StreamSummary::default();
        let mut histograms = StreamHistograms::default();
        for o in outputs {
            if let Some(x) = &o.summary.stream {
                add_counts(&mut counts, x);
            }
            if let Some(h) = &o.stream {
                histograms.add(h);
            }
        }
        s.stream = Some(histograms.summarize(counts, latency, s.duration_s));
    }
    s.requests_asked = all().map(|x| x.requests_asked).sum();
    s.client_cpu_s = all().map(|x| x.client_cpu_s).sum();
    let agents = outputs.len() as f64;
    s.client_cpu_fraction = if sequential {
        // The same CPUs throughout: their busy share over the windows' sum.
        let busy: f64 = all().map(|x| x.client_cpu_fraction * x.duration_s).sum();
        if s.duration_s > 0.0 {
            busy / s.duration_s
        } else {
            0.0
        }
    } else {
        all().map(|x| x.client_cpu_fraction).sum::<f64>() / agents
    };
    s.client_bound = all().any(|x| x.client_bound);
    s.ended = all()
        .map(|x| x.ended)
        .find(|e| *e != Ended::Completed)
        .unwrap_or_default();
    s.start_wall_ns = all().map(|x| x.start_wall_ns).min().unwrap_or(0);
    if !sequential {
        s.cpus = Vec::new();
    }
    s.connections_established = sum(|x| x.connections_established);
    s.connect_s = all().map(|x| x.connect_s).fold(0.0, f64::max);
    s.status_codes = BTreeMap::new();
    s.error_reasons = BTreeMap::new();
    for x in all() {
        for (k, n) in &x.status_codes {
            *s.status_codes.entry(*k).or_insert(0) += n;
        }
        for (k, n) in &x.error_reasons {
            *s.error_reasons.entry(k.clone()).or_insert(0) += n;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    use super::*;
    use crate::agent::tests::summary;
    use crate::agent::{AgentInterval, Share};

    /// A 2 s slice started at `start_wall_ns`: `requests` responses of `value_us`, one interval per second.
    fn slice(
        index: u64,
        start_wall_ns: u64,
        requests: u64,
        value_us: u64,
        cpu: f64,
    ) -> AgentOutput {
        let intervals = (0..2)
            .map(|k| {
                let mut histogram = hist::new_histogram();
                histogram.record_n(value_us, requests / 2).unwrap();
                AgentInterval {
                    tag: None,
                    offset_ns: k * INTERVAL_NS,
                    length_ns: INTERVAL_NS,
                    histogram,
                }
            })
            .collect();
        AgentOutput {
            share: Share {
                index,
                agents: 2,
                first: 0,
                connections: 2,
                total: 2,
                requests: None,
            },
            summary: summary(start_wall_ns, requests, cpu),
            intervals,
            stream: None,
        }
    }

    #[test]
    fn slices_add_their_windows_and_keep_their_connections() {
        let t0 = 1_700_000_000_000_000_000;
        // Two 2 s slices 4 s apart (another server's turn between them).
        let slices = [
            slice(0, t0, 1_000, 100, 0.5),
            slice(1, t0 + 4 * INTERVAL_NS, 3_000, 300, 1.5),
        ];
        let mut hlog = Vec::new();
        let merged = merge_slices(&slices, Some(&mut hlog)).unwrap();
        let s = &merged.summary;
        assert_eq!(s.duration_s, 4.0, "the windows add");
        assert_eq!(s.requests, 4_000);
        assert_eq!(s.rps, 1_000.0, "4,000 responses over 4 measured seconds");
        assert_eq!(
            (s.connections, s.threads),
            (2, 1),
            "the same connections throughout"
        );
        assert_eq!(s.client_cpu_s, 2.0);
        // Busy 0.25 of its CPU for 2 s, then 0.75 for 2 s.
        assert_eq!(s.client_cpu_fraction, 0.5);
        assert_eq!(s.cpus, vec![0]);
        assert_eq!(merged.latency.len(), 4_000);
        assert_eq!(merged.latency.count_at(300), 3_000);
        // The interval log keeps wall-clock seconds: 0, 1, then 4, 5.
        let starts: Vec<f64> = IntervalLogIterator::new(&hlog)
            .filter_map(|e| match e.unwrap() {
                LogEntry::Interval(i) => Some(i.start_timestamp().as_secs_f64()),
                _ => None,
            })
            .collect();
        assert_eq!(starts, [0.0, 1.0, 4.0, 5.0]);
        // A slice whose first interval rounds to a second another slice's interval has (5.4 s →
        // 5) shares that slot, and the slot's length is both spans.
        let third = slice(2, t0 + 5 * INTERVAL_NS + 2 * INTERVAL_NS / 5, 100, 300, 0.1);
        let mut hlog = Vec::new();
        let three = [slices[0].clone(), slices[1].clone(), third];
        merge_slices(&three, Some(&mut hlog)).unwrap();
        let slots: Vec<(f64, f64)> = IntervalLogIterator::new(&hlog)
            .filter_map(|e| match e.unwrap() {
                LogEntry::Interval(i) => Some((
                    i.start_timestamp().as_secs_f64(),
                    i.duration().as_secs_f64(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            slots,
            [(0.0, 1.0), (1.0, 1.0), (4.0, 1.0), (5.0, 2.0), (6.0, 1.0)]
        );
        // Side by side the same outputs would be one 2 s window over 4 connections.
        let side_by_side = merge_agents(&slices, None).unwrap().summary;
        assert_eq!(
            (side_by_side.duration_s, side_by_side.connections),
            (2.0, 4)
        );
    }
}
