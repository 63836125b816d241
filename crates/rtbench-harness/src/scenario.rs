//! Scenarios (`scenarios/*.toml`) and suites (`scenarios/suites/*.toml`). A scenario says what load
//! to put on a target; a suite picks scenarios, trials and (shorter or longer) durations.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::HarnessError;
use crate::target::toml_message;

/// What a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// Requests on `path`: closed model, or open model when `rate` is set.
    Http,
    /// Keep-alive connections held open without requests: memory per connection.
    IdleConnections,
    /// Repeated launches: process (or container) start → first 200 on /health.
    ColdStart,
    /// Concurrent SSE streams from the target's own `/sse`.
    Sse,
    /// SSE relayed by the target from rtbench's upstream token server.
    SseRelay,
}

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub kind: ScenarioKind,
    /// Request path (`http` and `sse`).
    #[serde(default)]
    pub path: Option<String>,
    /// Measured duration of each variant.
    #[serde(default, with = "opt_duration")]
    pub duration: Option<Duration>,
    /// Warm-up on the same connections, excluded from every figure.
    #[serde(default, with = "opt_duration")]
    pub warmup: Option<Duration>,
    /// `idle-connections`: how long connections are held before memory is read.
    #[serde(default, with = "opt_duration")]
    pub settle: Option<Duration>,
    /// `cold-start`: launches per trial.
    #[serde(default)]
    pub starts: Option<u32>,
    /// `sse`: events per stream; `sse-relay`: upstream tokens per stream.
    #[serde(default)]
    pub events: Option<u32>,
    /// `sse`/`sse-relay`: interval between events, ms.
    #[serde(default)]
    pub interval_ms: Option<u32>,
    /// `sse-relay`: the client disconnects after this many tokens in the abort test.
    #[serde(default)]
    pub abort_after: Option<u32>,
    /// `sse-relay`: how many sequential streams the abort test makes.
    #[serde(default)]
    pub abort_streams: Option<u32>,
    pub variants: Vec<Variant>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// One load shape within a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Short label used in results, e.g. `c64`.
    pub name: String,
    /// Connections (`http`, `idle-connections`) or concurrent streams (`sse`, `sse-relay`).
    pub connections: u32,
    /// Open model: requests per second over `connections`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Pipeline depth (closed `http` only); > 1 is labelled pipelined.
    #[serde(default)]
    pub pipeline: Option<u32>,
}

/// One suite file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Rounds; each round runs every target once, in rotated order.
    pub trials: u32,
    #[serde(rename = "scenario")]
    pub entries: Vec<SuiteEntry>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// A scenario picked by a suite, with optional overrides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteEntry {
    pub name: String,
    /// Only these variants (all when absent).
    #[serde(default)]
    pub variants: Option<Vec<String>>,
    #[serde(default, with = "opt_duration")]
    pub duration: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub warmup: Option<Duration>,
    #[serde(default)]
    pub starts: Option<u32>,
    #[serde(default)]
    pub events: Option<u32>,
}

/// A suite resolved against the scenario files: what the runner executes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub suite: Suite,
    /// Scenarios with the suite's overrides applied and variants filtered, in suite order.
    pub scenarios: Vec<Scenario>,
}

impl Scenario {
    /// Reads and checks one scenario file.
    pub fn load(path: &Path) -> Result<Scenario, HarnessError> {
        let mut scenario: Scenario = read_toml(path)?;
        scenario.file = path.to_path_buf();
        scenario.validate()?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), HarnessError> {
        let bad =
            |key: &str, why: &str| Err(HarnessError::config(&self.file, format!("{key}: {why}")));
        if self.variants.is_empty() {
            return bad("variants", "at least one variant is needed");
        }
        for v in &self.variants {
            if v.connections == 0 {
                return bad(&format!("variants.{}.connections", v.name), "must be > 0");
            }
            if v.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
                return bad(&format!("variants.{}.rate", v.name), "must be > 0");
            }
            if v.pipeline == Some(0) {
                return bad(&format!("variants.{}.pipeline", v.name), "must be >= 1");
            }
        }
        let needs_duration = matches!(
            self.kind,
            ScenarioKind::Http | ScenarioKind::Sse | ScenarioKind::SseRelay
        );
        if matches!(self.kind, ScenarioKind::Http) && self.duration.is_none() {
            return bad("duration", "an http scenario needs a duration");
        }
        let needs_path = matches!(
            self.kind,
            ScenarioKind::Http | ScenarioKind::Sse | ScenarioKind::SseRelay
        );
        if needs_path && self.path.is_none() {
            return bad("path", "this kind needs a request path");
        }
        if let Some(path) = &self.path {
            if !path.starts_with('/') {
                return bad("path", "must start with '/'");
            }
        }
        if self.duration == Some(Duration::ZERO) && needs_duration {
            return bad("duration", "must be > 0");
        }
        if self.kind == ScenarioKind::ColdStart && self.starts.unwrap_or(1) == 0 {
            return bad("starts", "must be > 0");
        }
        if matches!(self.kind, ScenarioKind::Sse | ScenarioKind::SseRelay) && self.events == Some(0)
        {
            return bad("events", "must be > 0");
        }
        Ok(())
    }

    /// Approximate wall time of one variant, for progress ETA.
    pub fn estimate(&self) -> Duration {
        let load = self.duration.unwrap_or(Duration::ZERO) + self.warmup.unwrap_or(Duration::ZERO);
        let stream = Duration::from_millis(
            u64::from(self.events.unwrap_or(0)) * u64::from(self.interval_ms.unwrap_or(0)),
        );
        let fixed = match self.kind {
            ScenarioKind::ColdStart => Duration::from_secs(u64::from(self.starts.unwrap_or(1))),
            ScenarioKind::IdleConnections => {
                self.settle.unwrap_or(Duration::from_secs(1)) + Duration::from_secs(2)
            }
            ScenarioKind::SseRelay => stream * 2 + Duration::from_secs(2),
            _ => stream,
        };
        load + fixed
    }
}

impl Suite {
    /// Reads one suite file.
    pub fn load(path: &Path) -> Result<Suite, HarnessError> {
        let mut suite: Suite = read_toml(path)?;
        suite.file = path.to_path_buf();
        if suite.trials == 0 {
            return Err(HarnessError::config(path, "trials: must be >= 1"));
        }
        if suite.entries.is_empty() {
            return Err(HarnessError::config(
                path,
                "scenario: a suite needs at least one [[scenario]]",
            ));
        }
        Ok(suite)
    }
}

impl Plan {
    /// Loads `scenarios/suites/<suite>.toml` (or a path to a suite file) and every scenario it names
    /// from `scenarios/<name>.toml`.
    pub fn load(scenarios_dir: &Path, suite: &str) -> Result<Plan, HarnessError> {
        let suite_path = if suite.ends_with(".toml") {
            PathBuf::from(suite)
        } else {
            scenarios_dir.join("suites").join(format!("{suite}.toml"))
        };
        if !suite_path.is_file() {
            return Err(HarnessError::Unknown {
                kind: "suite",
                name: suite.to_string(),
                known: list_names(&scenarios_dir.join("suites")),
            });
        }
        let suite = Suite::load(&suite_path)?;
        let mut scenarios = Vec::new();
        for entry in &suite.entries {
            let path = scenarios_dir.join(format!("{}.toml", entry.name));
            if !path.is_file() {
                return Err(HarnessError::config(
                    &suite.file,
                    format!(
                        "scenario '{}' has no file {} (known: {})",
                        entry.name,
                        path.display(),
                        list_names(scenarios_dir)
                    ),
                ));
            }
            let mut scenario = Scenario::load(&path)?;
            if let Some(wanted) = &entry.variants {
                for name in wanted {
                    if !scenario.variants.iter().any(|v| &v.name == name) {
                        return Err(HarnessError::config(
                            &suite.file,
                            format!("scenario '{}' has no variant '{name}'", entry.name),
                        ));
                    }
                }
                scenario.variants.retain(|v| wanted.contains(&v.name));
            }
            scenario.duration = entry.duration.or(scenario.duration);
            scenario.warmup = entry.warmup.or(scenario.warmup);
            scenario.starts = entry.starts.or(scenario.starts);
            scenario.events = entry.events.or(scenario.events);
            scenario.validate()?;
            scenarios.push(scenario);
        }
        Ok(Plan { suite, scenarios })
    }

    /// Names of the scenarios in run order.
    pub fn scenario_names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.name.clone()).collect()
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|e| HarnessError::io(path, e))?;
    toml::from_str(&text).map_err(|e| HarnessError::config(path, toml_message(&e)))
}

fn list_names(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    names.sort();
    names.join(", ")
}

/// Durations in files are written as humans write them: "10s", "500ms", "2m".
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("bad duration '{text}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    const PLAINTEXT: &str = r#"
name = "plaintext"
kind = "http"
path = "/plaintext"
duration = "10s"
warmup = "2s"
[[variants]]
name = "c64"
connections = 64
[[variants]]
name = "c256"
connections = 256
"#;

    #[test]
    fn suite_overrides_and_filters() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "plaintext.toml", PLAINTEXT);
        write(
            tmp.path(),
            "suites/quick.toml",
            "name = \"quick\"\ntrials = 1\n[[scenario]]\nname = \"plaintext\"\nvariants = [\"c64\"]\nduration = \"2s\"\n",
        );
        let plan = Plan::load(tmp.path(), "quick").unwrap();
        let s = &plan.scenarios[0];
        assert_eq!(s.duration, Some(Duration::from_secs(2)));
        assert_eq!(s.warmup, Some(Duration::from_secs(2)));
        assert_eq!(s.variants.len(), 1);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "plaintext.toml",
            &format!("{PLAINTEXT}\nconections = 3\n"),
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("plaintext.toml") && err.contains("conections"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "x.toml",
            &PLAINTEXT.replace("connections = 64", "connections = 0"),
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("variants.c64.connections: must be > 0"),
            "{err}"
        );
        let path = write(
            tmp.path(),
            "y.toml",
            &PLAINTEXT.replace("\"10s\"", "\"ten\""),
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("y.toml") && err.contains("bad duration 'ten'"),
            "{err}"
        );
    }

    #[test]
    fn unknown_suite_lists_the_known_ones() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "suites/quick.toml",
            "name = \"quick\"\ntrials = 1\n",
        );
        let err = Plan::load(tmp.path(), "nope").unwrap_err().to_string();
        assert!(err.contains("unknown suite 'nope' (known: quick)"), "{err}");
    }

    #[test]
    fn the_shipped_scenarios_and_suites_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        for suite in ["quick", "article", "nightly"] {
            let plan = Plan::load(&dir, suite).unwrap_or_else(|e| panic!("{suite}: {e}"));
            assert!(!plan.scenarios.is_empty());
        }
    }
}
