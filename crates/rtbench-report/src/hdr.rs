//! A trial's HdrHistogram interval log (`hdr/<target>-<scenario>-<variant>-t<N>.hlog`, one
//! histogram per second of the measured window, written by the load engine), read back: the
//! intervals added into the trial's whole histograms, and each interval's count for throughput
//! over time. Only trials that timed requests (closed or open model) are read.

use std::collections::HashMap;
use std::path::{Component, Path};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use rtbench_results::{Model, Run, Trial, TrialStatus};

/// The tag the engine gives the histograms measured from the actual send (open model).
const UNCORRECTED_TAG: &str = "uncorrected";

/// One trial's log, its intervals added up.
#[derive(Debug, Clone)]
pub(crate) struct TrialLog {
    /// Latency from each request's due time (coordinated-omission corrected in open runs; the
    /// send time in closed runs), µs.
    pub latency: Histogram<u64>,
    /// Latency from the actual send; only open runs log it.
    pub uncorrected: Option<Histogram<u64>>,
    /// The untagged intervals in time order.
    pub intervals: Vec<Interval>,
}

/// One interval of the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    /// Seconds since the measured window began (warm-up is not logged).
    pub start_s: f64,
    pub length_s: f64,
    /// Responses timed in the interval.
    pub count: u64,
}

/// Parses an interval log. The error names what is wrong, not the file (the caller knows it).
pub(crate) fn parse(text: &[u8]) -> Result<TrialLog, String> {
    let mut deserializer = Deserializer::new();
    let mut latency: Option<Histogram<u64>> = None;
    let mut uncorrected: Option<Histogram<u64>> = None;
    let mut intervals = Vec::new();
    let mut base_time = false;
    for entry in IntervalLogIterator::new(text) {
        let entry = entry.map_err(|e| format!("not an HdrHistogram interval log ({e:?})"))?;
        let interval = match entry {
            LogEntry::BaseTime(_) => {
                base_time = true;
                continue;
            }
            LogEntry::StartTime(_) => continue,
            LogEntry::Interval(i) => i,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| format!("an interval's histogram is not base64: {e}"))?;
        let h: Histogram<u64> = deserializer
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("an interval's histogram does not decode: {e:?}"))?;
        let total = match interval.tag().map(|t| t.as_str()) {
            None => {
                intervals.push(Interval {
                    start_s: interval.start_timestamp().as_secs_f64(),
                    length_s: interval.duration().as_secs_f64(),
                    count: h.len(),
                });
                &mut latency
            }
            Some(UNCORRECTED_TAG) => &mut uncorrected,
            // Tags this report does not know are not latency it can name.
            Some(_) => continue,
        };
        add(total, &h)?;
    }
    let latency = latency.ok_or("the log holds no untagged (latency) interval")?;
    intervals.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    // Without a BaseTime the timestamps are seconds since the epoch: count from the first.
    if !base_time {
        if let Some(first) = intervals.first().map(|i| i.start_s) {
            for i in &mut intervals {
                i.start_s -= first;
            }
        }
    }
    Ok(TrialLog {
        latency,
        uncorrected,
        intervals,
    })
}

/// Adds `h` into `total`, which grows to any value range (hand-written logs may exceed the
/// engine's 1 µs – 60 s).
fn add(total: &mut Option<Histogram<u64>>, h: &Histogram<u64>) -> Result<(), String> {
    if total.is_none() {
        let empty =
            Histogram::new(h.sigfig()).map_err(|e| format!("histogram precision: {e:?}"))?;
        *total = Some(empty);
    }
    let sum = total.as_mut().expect("created above");
    sum.add(h)
        .map_err(|e| format!("intervals cannot be added: {e:?}"))
}

/// What reading a trial's log gave.
#[derive(Debug, Clone)]
pub(crate) enum LogState {
    Read(Box<TrialLog>),
    /// The file is not there (a results folder without `hdr/`, or a trial that failed early).
    Absent,
    /// The file is there but could not be read; the reason names it.
    Unreadable(String),
}

/// The interval logs of a run's trials that timed requests, keyed by trial.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logs {
    states: HashMap<(String, String, String, u32), LogState>,
}

fn key(t: &Trial) -> (String, String, String, u32) {
    (
        t.target.clone(),
        t.scenario.clone(),
        t.variant.clone(),
        t.trial,
    )
}

/// The log's path relative to the run folder: as the trial records it, else the runner's name.
fn relative_path(t: &Trial) -> String {
    t.hdr_log.clone().unwrap_or_else(|| {
        format!(
            "hdr/{}-{}-{}-t{}.hlog",
            t.target, t.scenario, t.variant, t.trial
        )
    })
}

impl Logs {
    /// No logs at all: a report built from a parsed run alone.
    pub fn none() -> Logs {
        Logs::default()
    }

    /// Reads the log of every ok trial of `run` that timed requests, from `run_dir`.
    pub fn read(run_dir: &Path, run: &Run) -> Logs {
        let mut states = HashMap::new();
        for t in &run.trials {
            let timed = t
                .load()
                .is_some_and(|l| matches!(l.model, Model::Closed | Model::Open));
            if t.status != TrialStatus::Ok || !timed {
                continue;
            }
            let relative = relative_path(t);
            let inside = Path::new(&relative)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            let state = if !inside {
                LogState::Unreadable(format!("{relative}: not a path inside the run folder"))
            } else {
                match std::fs::read(run_dir.join(&relative)) {
                    Ok(bytes) => match parse(&bytes) {
                        Ok(log) => LogState::Read(Box::new(log)),
                        Err(e) => LogState::Unreadable(format!("{relative}: {e}")),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => LogState::Absent,
                    Err(e) => LogState::Unreadable(format!("{relative}: {e}")),
                }
            };
            states.insert(key(t), state);
        }
        Logs { states }
    }

    /// What reading `trial`'s log gave ([`LogState::Absent`] for a trial not read).
    pub fn of(&self, trial: &Trial) -> &LogState {
        static ABSENT: LogState = LogState::Absent;
        self.states.get(&key(trial)).unwrap_or(&ABSENT)
    }

    /// The trial's log when it was read.
    pub fn read_log(&self, trial: &Trial) -> Option<&TrialLog> {
        match self.of(trial) {
            LogState::Read(log) => Some(log),
            _ => None,
        }
    }

    /// Whether any trial's log was read.
    pub fn any(&self) -> bool {
        self.states.values().any(|s| matches!(s, LogState::Read(_)))
    }
}

/// A real open-model log from `results/sample` (axum, 10,000 req/s, 10 s), for the tests of
/// everything that reads logs.
#[cfg(test)]
pub(crate) const SAMPLE_LOG: &[u8] =
    include_bytes!("../tests/fixtures/hlog/axum-rate-10k-r10000-t1.hlog");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_log_adds_up() {
        let log = parse(SAMPLE_LOG).unwrap();
        let counted: u64 = log.intervals.iter().map(|i| i.count).sum();
        assert_eq!(counted, log.latency.len());
        assert!(log.intervals.len() >= 9, "{:?}", log.intervals);
        assert_eq!(log.intervals[0].start_s, 0.0);
        // 10,000 req/s for about 10 s.
        assert!((90_000..=110_000).contains(&log.latency.len()));
        let uncorrected = log
            .uncorrected
            .expect("open runs log the uncorrected latency");
        assert_eq!(uncorrected.len(), log.latency.len());
        // Corrected latency includes the queueing the uncorrected one hides.
        assert!(log.latency.value_at_quantile(0.99) >= uncorrected.value_at_quantile(0.99));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(parse(b"#[Histogram log format version 1.3]\n0.000,1.000,5.0,@@@@\n").is_err());
        let err = parse(b"").unwrap_err();
        assert!(err.contains("no untagged"), "{err}");
    }
}
