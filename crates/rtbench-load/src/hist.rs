//! Latency histograms and their two standard text forms: the percentile distribution (`.hgrm`) and
//! the interval log (`.hlog`).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::Receiver;

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use crate::summary::Percentiles;

/// Lowest and highest trackable latency, µs (1 µs to 60 s), and significant digits.
const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 60_000_000;
const SIGFIG: u8 = 3;

/// A histogram of µs values over the engine's fixed range.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("constant bounds are valid")
}

/// Records a latency given in ns, as µs, clamped into the trackable range.
#[inline]
pub(crate) fn record_ns(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record((ns / 1_000).max(LOWEST_US));
}

/// A histogram as base64 of its V2 deflate serialization (the interval log's own encoding).
pub(crate) fn encode(h: &Histogram<u64>) -> io::Result<String> {
    use base64::Engine as _;
    use hdrhistogram::serialization::Serializer as _;
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| io::Error::other(format!("{e:?}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Reads what [`encode`] (or an interval log line) holds; the error says why not.
pub(crate) fn decode(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut &bytes[..])
        .map_err(|e| format!("{e:?}"))
}

/// The summary's percentile set of `h` (all zero when empty).
pub(crate) fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    let q = |q: f64| h.value_at_quantile(q) as f64;
    Percentiles {
        p50: q(0.5),
        p75: q(0.75),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        p9999: q(0.9999),
        max: h.max() as f64,
        mean: h.mean(),
    }
}

/// Writes HdrHistogram's percentile distribution (the format of Java's
/// `outputPercentileDistribution` and wrk2's `--latency`), values in milliseconds.
pub(crate) fn write_hgrm(h: &Histogram<u64>, out: &mut dyn Write) -> io::Result<()> {
    const SCALE: f64 = 1_000.0; // µs → ms
    writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    )?;
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / SCALE;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                writeln!(
                    out,
                    "{value:12.3} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                )?;
            } else {
                writeln!(out, "{value:12.3} {q:2.12} {total:10}")?;
            }
        }
    }
    writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean() / SCALE,
        h.stdev() / SCALE
    )?;
    writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max() as f64 / SCALE,
        h.len()
    )?;
    writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        2u64 << (SIGFIG as f64 * 10f64.log2()).ceil() as u32
    )?;
    Ok(())
}

/// One worker's histograms for one second of the measured window.
pub(crate) struct IntervalReport {
    /// Seconds since the measured window began.
    pub index: u64,
    /// Length of this interval in ns (the last one may be short).
    pub length_ns: u64,
    /// Wall-clock time the measured window began, ns since the Unix epoch.
    pub start_wall_ns: u64,
    pub latency: Histogram<u64>,
    pub uncorrected: Option<Histogram<u64>>,
}

/// Merges the workers' interval histograms and writes them as an HdrHistogram interval log
/// (format 1.3; deflate-compressed V2 histograms, values in µs). Only intervals not yet reported by
/// every worker are held, so memory does not grow with the run's length.
pub(crate) fn write_hlog(
    mut out: &mut dyn Write,
    workers: usize,
    reports: Receiver<IntervalReport>,
) -> io::Result<()> {
    let secs = |ns: u64| {
        format!(
            "{}.{:03}",
            ns / 1_000_000_000,
            ns % 1_000_000_000 / 1_000_000
        )
    };
    // The header needs the window's start, which the first report brings.
    let mut reports = reports.into_iter().peekable();
    let start_wall_ns = reports
        .peek()
        .map_or_else(crate::sys::wall_ns, |r| r.start_wall_ns);
    writeln!(out, "#[Histogram log format version 1.3]")?;
    writeln!(
        out,
        "#[Written by rtbench-load; values are latencies in microseconds]"
    )?;
    writeln!(
        out,
        "#[Tags: untagged = latency from the due time (coordinated-omission corrected in open runs), \
         'uncorrected' = from the actual send]"
    )?;
    writeln!(
        out,
        "#[StartTime: {} (seconds since epoch)]",
        secs(start_wall_ns)
    )?;
    writeln!(
        out,
        "#[BaseTime: {} (seconds since epoch)]",
        secs(start_wall_ns)
    )?;
    writeln!(
        out,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    )?;
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .begin_log_with(&mut out, &mut serializer)
        .map_err(io::Error::other)?;
    let mut pending: BTreeMap<u64, (usize, IntervalReport)> = BTreeMap::new();
    let mut write = |report: &IntervalReport| -> io::Result<()> {
        let start = std::time::Duration::from_secs(report.index);
        let length = std::time::Duration::from_nanos(report.length_ns);
        log.write_histogram(&report.latency, start, length, None)
            .map_err(io::Error::other)?;
        if let Some(u) = &report.uncorrected {
            let tag = Tag::new("uncorrected");
            log.write_histogram(u, start, length, tag)
                .map_err(io::Error::other)?;
        }
        Ok(())
    };
    for report in reports {
        let index = report.index;
        let entry = match pending.remove(&index) {
            None => (1, report),
            Some((n, mut merged)) => {
                // Same bounds everywhere, so adding cannot fail.
                let _ = merged.latency.add(&report.latency);
                if let (Some(m), Some(u)) = (&mut merged.uncorrected, &report.uncorrected) {
                    let _ = m.add(u);
                }
                merged.length_ns = merged.length_ns.max(report.length_ns);
                (n + 1, merged)
            }
        };
        if entry.0 == workers {
            write(&entry.1)?;
        } else {
            pending.insert(index, entry);
        }
    }
    for (_, (_, report)) in pending {
        write(&report)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    #[test]
    fn values_are_clamped_into_range() {
        let mut h = new_histogram();
        record_ns(&mut h, 10);
        record_ns(&mut h, 120 * 1_000_000_000);
        record_ns(&mut h, 250_000);
        assert_eq!(h.len(), 3);
        assert_eq!(h.min(), 1);
        assert!(h.max() >= 59_000_000 && h.max() <= 60_100_000);
        assert!(h.equivalent(h.value_at_quantile(0.5), 250));
    }

    #[test]
    fn hgrm_has_the_standard_shape() {
        let mut h = new_histogram();
        for us in 1..=1000u64 {
            record_ns(&mut h, us * 1000);
        }
        let mut out = Vec::new();
        write_hgrm(&h, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert!(lines[2].trim_start().starts_with("0.001 0.000000000000"));
        let last_row = lines[lines.len() - 4];
        assert!(last_row.contains("1.000000000000       1000"), "{last_row}");
        assert!(text.contains("#[Max     =        1.000, Total count    =         1000]"));
        assert!(text.ends_with("SubBuckets     =         2048]\n"));
    }

    #[test]
    fn hlog_merges_workers_and_parses_back() {
        let (tx, rx) = std::sync::mpsc::channel();
        for worker in 0..2u64 {
            for index in 0..3u64 {
                let mut latency = new_histogram();
                latency.record(100 * (worker + 1)).unwrap();
                let mut uncorrected = new_histogram();
                uncorrected.record(5).unwrap();
                tx.send(IntervalReport {
                    index,
                    length_ns: 1_000_000_000,
                    start_wall_ns: 1_700_000_000_123_000_000,
                    latency,
                    uncorrected: Some(uncorrected),
                })
                .unwrap();
            }
        }
        drop(tx);
        let mut out = Vec::new();
        write_hlog(&mut out, 2, rx).unwrap();
        let mut intervals = 0;
        let mut base = None;
        for entry in IntervalLogIterator::new(&out) {
            match entry.unwrap() {
                LogEntry::BaseTime(t) => base = Some(t),
                LogEntry::StartTime(_) => {}
                LogEntry::Interval(i) => {
                    let bytes = base64_decode(i.encoded_histogram());
                    let h: Histogram<u64> =
                        Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
                    if i.tag().is_none() {
                        assert_eq!(h.len(), 2);
                        assert_eq!(i.max(), 200.0);
                        intervals += 1;
                    } else {
                        assert_eq!(i.tag().unwrap().as_str(), "uncorrected");
                    }
                }
            }
        }
        assert_eq!(intervals, 3);
        assert_eq!(base.unwrap().as_millis(), 1_700_000_000_123);
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in text.bytes().filter(|&c| c != b'=') {
            let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}
