//! Scale-out building blocks: one load run split over N agents, each agent's output file, and
//! the exact merge of those files.
//!
//! - [`split`] gives agent j of N its share: contiguous global connections (and in a counted
//!   closed run its share of the count). In the open model every agent keeps the whole run's rate
//!   and connection count and sends only on its own connections, so request k of global
//!   connection g is due at t0 + (g + k·C)/R on whichever agent owns g: the agents' schedules
//!   interleave into exactly the asked one (design.md, "open").
//! - Agents start their clocks at an agreed wall-clock instant ([`crate::LoadBuilder::start_at`]).
//! - [`write_agent_output`] writes what an agent measured as an HdrHistogram interval log (format
//!   1.3, V2 deflate-compressed histograms, µs), whose comment header carries the agent's share
//!   and its [`Summary`] as JSON, and in the stream model its whole-run connect, first-event and
//!   gap histograms (same encoding). The interval histograms are lossless and cover the whole
//!   measured window, so their sum is the agent's full histogram (event latency in the stream
//!   model).
//! - [`merge_agents`] adds the agents' histograms (exact), aligns their intervals on one time axis
//!   although the agents started at slightly different instants, adds their counters, and reports
//!   the start skew and each agent's client CPU. Stream runs merge the same way: stream counters
//!   add and the stream histograms add.

use std::io::{self, Write};

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::hist;
use crate::stream_figures::StreamHistograms;
use crate::summary::{Model, Summary};

const MAGIC: &str = "#[rtbench agent output, format 1]";
const SHARE_PREFIX: &str = "#[rtbench share: ";
const SUMMARY_PREFIX: &str = "#[rtbench summary: ";
const STREAM_PREFIX: &str = "#[rtbench stream histograms: ";

/// Agent `index` (0-based) of `agents`: which connections it owns and what it must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// 0-based agent number.
    pub index: u64,
    /// Agents in the run.
    pub agents: u64,
    /// Its first global connection.
    pub first: u64,
    /// Its connections: global connections `first..first + connections`.
    pub connections: u64,
    /// Connections of the whole run.
    pub total: u64,
    /// Its request count in a counted closed run (an open run's count stays global: the schedule
    /// decides which requests fall on which connection).
    pub requests: Option<u64>,
}

/// Splits a run of `connections` (and, counted and closed, `requests`) over `agents` agents as
/// evenly as whole connections allow: the first `connections % agents` agents get one more.
pub fn split(
    connections: u64,
    requests: Option<u64>,
    model: Model,
    agents: u64,
) -> Result<Vec<Share>, LoadError> {
    let invalid = |reason: String| LoadError::InvalidOption {
        option: "--agent",
        reason,
    };
    if agents == 0 {
        return Err(invalid("needs at least one agent".into()));
    }
    if agents > connections {
        return Err(invalid(format!(
            "{agents} agents need at least as many connections (got {connections})"
        )));
    }
    let part = |n: u64, j: u64| n / agents + u64::from(j < n % agents);
    let mut first = 0;
    Ok((0..agents)
        .map(|index| {
            let share = Share {
                index,
                agents,
                first,
                connections: part(connections, index),
                total: connections,
                requests: match model {
                    Model::Open => requests,
                    _ => requests.map(|n| part(n, index)),
                },
            };
            first += share.connections;
            share
        })
        .collect())
}

/// The stream histograms as they travel in an agent output's header.
#[derive(Serialize, Deserialize)]
struct EncodedStream {
    connect: String,
    first_event: String,
    gap: String,
}

/// Writes an agent's output: its share and summary (and, in the stream model, `stream`: the
/// run's [`crate::Outcome::stream_histograms`]) in the header, then the interval log the run
/// wrote (`hlog`, from [`crate::Hooks::hlog`]).
pub fn write_agent_output(
    out: &mut dyn Write,
    share: &Share,
    summary: &Summary,
    stream: Option<&StreamHistograms>,
    hlog: &[u8],
) -> io::Result<()> {
    writeln!(out, "{MAGIC}")?;
    writeln!(out, "{SHARE_PREFIX}{}]", serde_json::to_string(share)?)?;
    writeln!(out, "{SUMMARY_PREFIX}{}]", serde_json::to_string(summary)?)?;
    if let Some(h) = stream {
        let encoded = EncodedStream {
            connect: hist::encode(&h.connect)?,
            first_event: hist::encode(&h.first_event)?,
            gap: hist::encode(&h.gap)?,
        };
        writeln!(out, "{STREAM_PREFIX}{}]", serde_json::to_string(&encoded)?)?;
    }
    out.write_all(hlog)
}

/// One interval of an agent's log.
#[derive(Debug, Clone)]
pub struct AgentInterval {
    /// `None`: latency (corrected in open runs); `Some("uncorrected")`: from the send.
    pub tag: Option<String>,
    /// Seconds since the agent's measured window began, ns.
    pub offset_ns: u64,
    /// Interval length, ns.
    pub length_ns: u64,
    /// Latencies in µs.
    pub histogram: Histogram<u64>,
}

/// An agent output file, read back.
#[derive(Debug, Clone)]
pub struct AgentOutput {
    /// The agent's share.
    pub share: Share,
    /// What it measured.
    pub summary: Summary,
    /// Its interval log.
    pub intervals: Vec<AgentInterval>,
    /// Stream model: its connect, first-event and gap histograms.
    pub stream: Option<StreamHistograms>,
}

/// Reads what [`write_agent_output`] wrote; `name` names the file in errors.
pub fn read_agent_output(name: &str, text: &[u8]) -> Result<AgentOutput, LoadError> {
    let bad = |reason: String| LoadError::AgentOutput {
        file: name.to_owned(),
        reason,
    };
    let body = std::str::from_utf8(text).map_err(|_| bad("not UTF-8 text".into()))?;
    if !body.starts_with(MAGIC) {
        return Err(bad("not an rtbench agent output (no header)".into()));
    }
    let field = |prefix: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(prefix)?.strip_suffix(']'))
            .ok_or_else(|| bad(format!("no '{}' line", prefix.trim_start_matches("#["))))
    };
    let share: Share =
        serde_json::from_str(field(SHARE_PREFIX)?).map_err(|e| bad(format!("share: {e}")))?;
    let summary: Summary =
        serde_json::from_str(field(SUMMARY_PREFIX)?).map_err(|e| bad(format!("summary: {e}")))?;
    let stream = match summary.model {
        Model::Stream => {
            let e: EncodedStream = serde_json::from_str(field(STREAM_PREFIX)?)
                .map_err(|e| bad(format!("stream histograms: {e}")))?;
            let one =
                |text: &str| hist::decode(text).map_err(|e| bad(format!("stream histograms: {e}")));
            Some(StreamHistograms {
                connect: one(&e.connect)?,
                first_event: one(&e.first_event)?,
                gap: one(&e.gap)?,
            })
        }
        _ => None,
    };
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(text) {
        let entry = entry.map_err(|e| bad(format!("interval log: {e:?}")))?;
        let LogEntry::Interval(i) = entry else {
            continue;
        };
        let histogram = hist::decode(i.encoded_histogram())
            .map_err(|e| bad(format!("interval histogram: {e}")))?;
        intervals.push(AgentInterval {
            tag: i.tag().map(|t| t.as_str().to_owned()),
            offset_ns: i.start_timestamp().as_nanos() as u64,
            length_ns: i.duration().as_nanos() as u64,
            histogram,
        });
    }
    Ok(AgentOutput {
        share,
        summary,
        intervals,
        stream,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::hist::IntervalReport;
    use crate::merge::{merge_agents, INTERVAL_NS};
    use crate::schedule::{Open, Schedule};
    use crate::summary::Percentiles;
    use crate::summary::{Ended, ErrorCounts, StreamSummary};

    #[test]
    fn split_gives_contiguous_even_shares() {
        let shares = split(10, Some(100), Model::Closed, 3).unwrap();
        let got: Vec<(u64, u64, Option<u64>)> = shares
            .iter()
            .map(|s| (s.first, s.connections, s.requests))
            .collect();
        assert_eq!(got, [(0, 4, Some(34)), (4, 3, Some(33)), (7, 3, Some(33))]);
        assert!(shares.iter().all(|s| s.total == 10 && s.agents == 3));
        let open = split(10, Some(100), Model::Open, 3).unwrap();
        assert!(
            open.iter().all(|s| s.requests == Some(100)),
            "open counts stay global"
        );
        assert_eq!(
            split(2, None, Model::Closed, 3).unwrap_err().to_string(),
            "--agent 3 agents need at least as many connections (got 2)"
        );
        assert!(split(2, None, Model::Closed, 0).is_err());
    }

    /// Due times of every request of the first `rounds` rounds on the given connections.
    fn due_times(rate: f64, total: u64, first: u64, local: usize, rounds: u64) -> Vec<u64> {
        let mut s = Open::new(rate, total, first, local, 1, None);
        s.start(1_000_000_000);
        (0..local)
            .flat_map(|i| (0..rounds).map(move |k| (i, k)))
            .map(|(i, k)| s.due(i, k, 0))
            .collect()
    }

    #[test]
    fn open_shares_interleave_into_exactly_the_asked_schedule() {
        let (rate, connections) = (3_000.0, 64);
        let mut whole = due_times(rate, connections, 0, connections as usize, 50);
        whole.sort_unstable();
        for agents in [1, 2, 3, 5] {
            let mut union: Vec<u64> = split(connections, None, Model::Open, agents)
                .unwrap()
                .iter()
                .flat_map(|s| due_times(rate, s.total, s.first, s.connections as usize, 50))
                .collect();
            union.sort_unstable();
            assert_eq!(union, whole, "{agents} agents");
        }
    }

    #[test]
    fn a_counted_open_run_asks_each_agent_for_its_part_of_the_count() {
        for agents in [1, 2, 3, 7] {
            let asked: u64 = (0..agents)
                .map(|j| {
                    crate::LoadBuilder::new("http://127.0.0.1:1/")
                        .connections(10)
                        .rate(100.0)
                        .requests(1_001)
                        .agent(j, agents)
                        .build()
                        .unwrap()
                        .requests_asked()
                        .unwrap()
                })
                .sum();
            assert_eq!(asked, 1_001, "{agents} agents");
        }
    }

    /// A closed 2 s run's summary (2 connections, 1 thread).
    pub(crate) fn summary(start_wall_ns: u64, requests: u64, cpu: f64) -> Summary {
        Summary {
            model: Model::Closed,
            io: crate::summary::IoBackend::Uring,
            connections: 2,
            pipeline: 1,
            threads: 1,
            requests,
            duration_s: 2.0,
            rps: requests as f64 / 2.0,
            bytes_read: requests * 10,
            transfer_bytes_per_s: requests as f64 * 5.0,
            errors: ErrorCounts::default(),
            latency_us: Percentiles::default(),
            latency_uncorrected_us: None,
            target_rate: None,
            achieved_rate: None,
            unsent_due: None,
            client_cpu_s: cpu,
            client_cpu_fraction: cpu / 2.0,
            client_bound: false,
            stream: None,
            ended: Ended::Completed,
            requests_asked: None,
            start_wall_ns,
            cpus: vec![0],
            connections_established: 2,
            connect_s: 0.0,
            status_codes: BTreeMap::from([(200, requests)]),
            error_reasons: BTreeMap::new(),
        }
    }

    /// An agent output whose interval k holds `per_interval` values of `value_us`.
    fn agent_file(index: u64, start_wall_ns: u64, value_us: u64, per_interval: u64) -> Vec<u8> {
        let (tx, rx) = std::sync::mpsc::channel();
        for k in 0..2 {
            let mut latency = hist::new_histogram();
            latency.record_n(value_us + k, per_interval).unwrap();
            tx.send(IntervalReport {
                index: k,
                length_ns: INTERVAL_NS,
                start_wall_ns,
                latency,
                uncorrected: None,
            })
            .unwrap();
        }
        drop(tx);
        let mut hlog = Vec::new();
        hist::write_hlog(&mut hlog, 1, rx).unwrap();
        let share = split(4, None, Model::Closed, 2).unwrap()[index as usize];
        let mut out = Vec::new();
        let s = summary(start_wall_ns, 2 * per_interval, 0.5 + index as f64);
        write_agent_output(&mut out, &share, &s, None, &hlog).unwrap();
        out
    }

    #[test]
    fn merge_adds_histograms_exactly_and_aligns_agents_started_apart() {
        let t0 = 1_700_000_000_000_000_000;
        let a = read_agent_output("a", &agent_file(0, t0, 100, 1_000)).unwrap();
        // Agent 1 started 3 ms later; its intervals still land on seconds 0 and 1.
        let b = read_agent_output("b", &agent_file(1, t0 + 3_000_000, 5_000, 10)).unwrap();
        assert_eq!(a.intervals.len(), 2);
        let mut hlog = Vec::new();
        let merged = merge_agents(&[b.clone(), a.clone()], Some(&mut hlog)).unwrap();
        assert_eq!(merged.start_skew_ns, 3_000_000);
        assert!(merged.complete);
        let mut sum = hist::new_histogram();
        for i in a.intervals.iter().chain(&b.intervals) {
            sum.add(&i.histogram).unwrap();
        }
        assert_eq!(merged.latency, sum, "the merged histogram is the exact sum");
        assert_eq!(merged.latency.len(), 2 * 1_010);
        let s = &merged.summary;
        assert_eq!((s.requests, s.connections), (2_020, 4));
        assert_eq!(s.status_codes.get(&200), Some(&2_020));
        assert_eq!(s.rps, 1_010.0);
        assert_eq!(s.client_cpu_s, 2.0);
        assert_eq!(s.start_wall_ns, t0);
        let cpus: Vec<(u64, f64)> = merged
            .agents
            .iter()
            .map(|a| (a.index, a.client_cpu_s))
            .collect();
        assert_eq!(cpus, [(0, 0.5), (1, 1.5)]);
        // The merged log: two intervals, each the sum of both agents' same second.
        let intervals: Vec<Histogram<u64>> = IntervalLogIterator::new(&hlog)
            .filter_map(|e| match e.unwrap() {
                LogEntry::Interval(i) => Some(i),
                _ => None,
            })
            .map(|i| hist::decode(i.encoded_histogram()).unwrap())
            .collect();
        assert_eq!(intervals.len(), 2);
        assert_eq!(intervals[0].len(), 1_010);
        assert_eq!(intervals[1].count_at(101), 1_000);
        assert_eq!(intervals[1].count_at(5_001), 10);
        // Only agent 0 of 2: the merge says the run is incomplete.
        assert!(!merge_agents(&[a], None).unwrap().complete);
    }

    /// One histogram holding `n` values of `value_us`.
    fn filled(value_us: u64, n: u64) -> Histogram<u64> {
        let mut h = hist::new_histogram();
        h.record_n(value_us, n).unwrap();
        h
    }

    /// A stream agent: `streams` streams of `events` events each, event latency `latency_us` in
    /// one interval, first event after `first_us`, gaps of `gap_us`.
    fn stream_agent(index: u64, start_wall_ns: u64, streams: u64, events: u64) -> AgentOutput {
        let k = index + 1;
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(IntervalReport {
            index: 0,
            length_ns: INTERVAL_NS,
            start_wall_ns,
            latency: filled(100 * k, streams * events),
            uncorrected: None,
        })
        .unwrap();
        drop(tx);
        let mut hlog = Vec::new();
        hist::write_hlog(&mut hlog, 1, rx).unwrap();
        let histograms = StreamHistograms {
            connect: filled(50 * k, streams),
            first_event: filled(1_000 * k, streams),
            gap: filled(10_000 * k, streams * (events - 1)),
        };
        let mut s = summary(start_wall_ns, streams, 0.25);
        s.model = Model::Stream;
        s.connections = streams;
        s.stream = Some(StreamSummary {
            streams,
            streams_completed: streams,
            streams_failed: 0,
            events_received: streams * events,
            events_expected: streams * events,
            events_per_s: (streams * events) as f64 / 2.0,
            ..StreamSummary::default()
        });
        let share = split(5, None, Model::Stream, 2).unwrap()[index as usize];
        let mut out = Vec::new();
        write_agent_output(&mut out, &share, &s, Some(&histograms), &hlog).unwrap();
        read_agent_output("stream agent", &out).unwrap()
    }

    #[test]
    fn stream_outputs_merge_exactly_counters_and_histograms_add() {
        let t0 = 1_700_000_000_000_000_000;
        let a = stream_agent(0, t0, 3, 10);
        let b = stream_agent(1, t0 + 2_000_000, 2, 10);
        assert_eq!(a.stream.as_ref().unwrap().first_event.len(), 3, "read back");
        let merged = merge_agents(&[a.clone(), b.clone()], None).unwrap();
        let s = merged.summary.stream.as_ref().expect("a stream section");
        assert_eq!(
            (s.streams, s.streams_completed, s.streams_failed),
            (5, 5, 0)
        );
        assert_eq!((s.events_received, s.events_expected), (50, 50));
        assert_eq!(s.events_per_s, 25.0, "50 events over the 2 s window");
        let sum = |f: fn(&StreamHistograms) -> &Histogram<u64>| {
            let mut h = hist::new_histogram();
            for o in [&a, &b] {
                h.add(f(o.stream.as_ref().unwrap())).unwrap();
            }
            h
        };
        let first = sum(|h| &h.first_event);
        assert_eq!(first.len(), 5);
        assert_eq!(s.first_event_us, hist::percentiles(&first));
        // 3 of 5 first events at 1 ms, 2 at 2 ms: the median is agent 0's, the max agent 1's.
        assert_eq!(s.first_event_us.p50, 1_000.0);
        assert_eq!(s.first_event_us.max, 2_000.0);
        assert_eq!(s.connect_us, hist::percentiles(&sum(|h| &h.connect)));
        let gap = sum(|h| &h.gap);
        assert_eq!(gap.len(), 45);
        assert_eq!(s.gap_us, hist::percentiles(&gap));
        // Event latency comes from the interval logs, like every model's latency.
        assert_eq!(merged.latency.len(), 50);
        assert_eq!(s.event_latency_us, hist::percentiles(&merged.latency));
        assert_eq!(merged.summary.latency_us, s.event_latency_us);
        assert_eq!(merged.summary.requests, 5);
        assert_eq!(merged.start_skew_ns, 2_000_000);
    }

    #[test]
    fn a_stream_output_without_its_histograms_is_refused() {
        let a = stream_agent(0, 1, 1, 2);
        let mut out = Vec::new();
        write_agent_output(&mut out, &a.share, &a.summary, None, b"").unwrap();
        let err = read_agent_output("s.agent", &out).unwrap_err().to_string();
        assert_eq!(err, "s.agent: no 'rtbench stream histograms: ' line");
    }

    #[test]
    fn unreadable_agent_files_name_the_file() {
        let err = read_agent_output("x.agent", b"hello").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.agent: not an rtbench agent output (no header)"
        );
    }
}
