//! The history file: JSON Lines, one line per run × target × scenario × variant × metric, only
//! ever appended to. Each line stands alone (run identity, units, direction, median and every
//! trial), so a history outlives any change to the results schema or the metric list.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use rtbench_results::Run;
use serde::{Deserialize, Serialize};

use super::TrendError;
use rtbench_results::Metric;

use crate::stats::{group_trials, median};

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughput: a drop is the regression.
    Higher,
    /// Latency, memory, CPU: a rise is the regression.
    Lower,
}

/// One metric of one cell in one run, as the appender takes it: no results-schema type, so
/// whatever produces metrics (the metric catalogue, through `run_history_records`) can feed it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub target: String,
    pub scenario: String,
    /// Empty when the scenario has one variant.
    pub variant: String,
    /// The metric's key (`rps`, `p50`, …).
    pub metric: String,
    /// Unit as shown (`req/s`, `µs`, `KiB`, …).
    pub unit: String,
    pub better: Better,
    /// One value per ok trial.
    pub trials: Vec<f64>,
}

/// Which run the points come from.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStamp {
    pub run_id: String,
    /// RFC 3339 UTC start of the run.
    pub date: String,
    pub git_commit: String,
    pub host: String,
    /// `native` or `docker`.
    pub launcher: String,
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub run_id: String,
    /// RFC 3339 UTC start of the run.
    pub date: String,
    pub git_commit: String,
    pub host: String,
    pub launcher: String,
    pub target: String,
    /// The target runtime's self-reported version, when the run recorded one.
    #[serde(default)]
    pub runtime_version: Option<String>,
    pub scenario: String,
    #[serde(default)]
    pub variant: String,
    pub metric: String,
    pub unit: String,
    pub better: Better,
    /// Median of `trials`.
    pub median: f64,
    pub trials: Vec<f64>,
}

/// The history lines of one run: one per point with at least one finite trial value.
/// `runtime_version` gives a target's runtime version, when known.
pub fn history_records(
    stamp: &RunStamp,
    points: &[MetricPoint],
    runtime_version: impl Fn(&str) -> Option<String>,
) -> Vec<HistoryRecord> {
    points
        .iter()
        .filter_map(|p| {
            let trials: Vec<f64> = p.trials.iter().copied().filter(|v| v.is_finite()).collect();
            Some(HistoryRecord {
                run_id: stamp.run_id.clone(),
                date: stamp.date.clone(),
                git_commit: stamp.git_commit.clone(),
                host: stamp.host.clone(),
                launcher: stamp.launcher.clone(),
                target: p.target.clone(),
                runtime_version: runtime_version(&p.target),
                scenario: p.scenario.clone(),
                variant: p.variant.clone(),
                metric: p.metric.clone(),
                unit: p.unit.clone(),
                better: p.better,
                median: median(&trials)?,
                trials,
            })
        })
        .collect()
}

/// The run's identity and its history lines.
///
/// The metrics come from compare's list ([`Metric::ALL`]) and the values are read from the current
/// results schema here, in this one function: when the metric catalogue lands, only this function
/// changes.
pub fn run_history_records(run: &Run) -> Vec<HistoryRecord> {
    let stamp = RunStamp {
        run_id: run.run_id.clone(),
        date: run.started_at.clone(),
        git_commit: run.environment.git_commit.clone(),
        host: run.environment.hostname.clone(),
        launcher: run.environment.launcher.clone(),
    };
    let mut points = Vec::new();
    for (key, cell) in group_trials(&run.trials) {
        for metric in Metric::compared() {
            let trials = cell.values(|t| metric.value(t));
            if trials.is_empty() {
                continue;
            }
            points.push(MetricPoint {
                target: key.target.clone(),
                scenario: key.scenario.clone(),
                variant: key.variant.clone(),
                metric: metric.key().to_string(),
                unit: metric.unit().symbol().to_string(),
                better: if metric.higher_is_better() {
                    Better::Higher
                } else {
                    Better::Lower
                },
                trials,
            });
        }
    }
    let runtime_version = |target: &str| {
        run.targets
            .iter()
            .find(|t| t.name == target)
            .and_then(|t| t.version.clone())
            .or_else(|| run.environment.runtime_versions.get(target).cloned())
    };
    history_records(&stamp, &points, runtime_version)
}

/// Every line of the history at `path`. A missing file is an empty history.
pub fn read_history(path: &Path) -> Result<Vec<HistoryRecord>, TrendError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(TrendError::io(path, error)),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| TrendError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| TrendError::BadLine {
            path: path.to_path_buf(),
            line: n + 1,
            message: e.to_string(),
        })?;
        out.push(record);
    }
    Ok(out)
}

/// Appends `records` to the history at `path` (created when missing) in one write. A run already
/// in the history is refused, so a retried job cannot count a run twice. Returns the lines written.
pub fn append_history(path: &Path, records: &[HistoryRecord]) -> Result<usize, TrendError> {
    let known: BTreeSet<String> = read_history(path)?.into_iter().map(|r| r.run_id).collect();
    if let Some(dup) = records.iter().find(|r| known.contains(&r.run_id)) {
        return Err(TrendError::DuplicateRun {
            path: path.to_path_buf(),
            run_id: dup.run_id.clone(),
        });
    }
    let mut text = String::new();
    for r in records {
        text.push_str(&serde_json::to_string(r).expect("history record serializes"));
        text.push('\n');
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| TrendError::io(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| TrendError::io(path, e))?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(id: &str) -> RunStamp {
        RunStamp {
            run_id: id.into(),
            date: "2026-01-01T02:17:00Z".into(),
            git_commit: "abc123".into(),
            host: "bench1".into(),
            launcher: "docker".into(),
        }
    }

    fn point(target: &str, trials: &[f64]) -> MetricPoint {
        MetricPoint {
            target: target.into(),
            scenario: "plaintext".into(),
            variant: String::new(),
            metric: "rps".into(),
            unit: "/s".into(),
            better: Better::Higher,
            trials: trials.to_vec(),
        }
    }

    #[test]
    fn history_round_trips_and_refuses_a_run_twice() {
        let dir = std::env::temp_dir().join(format!("rtbench-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.jsonl");
        let version = |t: &str| (t == "axum").then(|| "1.0".to_string());
        let first = history_records(
            &stamp("r1"),
            &[point("axum", &[3.0, 1.0, 2.0]), point("bun", &[f64::NAN])],
            version,
        );
        assert_eq!(first.len(), 1, "a point without a finite trial is no line");
        assert_eq!(first[0].median, 2.0);
        assert_eq!(first[0].runtime_version.as_deref(), Some("1.0"));
        assert_eq!(append_history(&path, &first).unwrap(), 1);
        let second = history_records(&stamp("r2"), &[point("bun", &[5.0, 7.0])], version);
        append_history(&path, &second).unwrap();

        let back = read_history(&path).unwrap();
        assert_eq!(back, [first.clone(), second].concat());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().all(|l| l.contains(r#""better":"higher""#)));

        let err = append_history(&path, &first).unwrap_err().to_string();
        assert!(err.contains("r1") && err.contains("already"), "{err}");
        assert_eq!(read_history(&path).unwrap().len(), 2);

        std::fs::write(&path, "{\"run_id\":1}\n").unwrap();
        let err = read_history(&path).unwrap_err().to_string();
        assert!(err.contains("history.jsonl:1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_history_is_empty() {
        assert!(read_history(Path::new("/nonexistent/h.jsonl"))
            .unwrap()
            .is_empty());
    }
}
