//! Scenarios (`scenarios/*.toml`) and suites (`scenarios/suites/*.toml`). A scenario says what load
//! to put on a target; a suite picks scenarios, trials and (shorter or longer) durations.
use std::path::{Path, PathBuf};
use std::time::Duration;

use rtbench_results::{KindSettings, ScenarioSettings, SuiteInfo, VariantSettings};
use serde::Deserialize;

use crate::error::HarnessError;

/// What a scenario measures, as scenario files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ScenarioKind {
    Http,
    IdleConnections,
    ColdStart,
    Sse,
    SseRelay,
}

/// The documented defaults, settled here once (see `scenarios/README.md`); nothing downstream
/// has a default of its own.
pub mod defaults {
    /// `http`: warm-up, ms.
    pub const WARMUP_MS: u64 = 0;
    /// `idle-connections`: the request each connection makes first.
    pub const IDLE_PATH: &str = "/plaintext";
    /// `idle-connections`: how long connections are held before memory is read, ms.
    pub const SETTLE_MS: u64 = 2000;
    /// `cold-start`: launches per trial.
    pub const STARTS: u32 = 5;
    /// `sse`: the stream path, events per stream and the interval between them.
    pub const SSE_PATH: &str = "/sse";
    pub const SSE_EVENTS: u32 = 100;
    pub const SSE_INTERVAL_MS: u32 = 20;
    /// `sse-relay`: the relay path, upstream tokens per stream and the interval between them.
    pub const RELAY_PATH: &str = "/sse-relay";
    pub const RELAY_EVENTS: u32 = 50;
    pub const RELAY_INTERVAL_MS: u32 = 20;
    /// `sse-relay` abort test: the client leaves after this many tokens, this many times.
    pub const ABORT_AFTER: u32 = 5;
    pub const ABORT_STREAMS: u32 = 5;
    /// Pipeline depth of a variant that does not say.
    pub const PIPELINE: u32 = 1;
}

/// One scenario file as written: optional keys, checked and resolved by [`ScenarioFile::resolve`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    kind: ScenarioKind,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, with = "opt_duration")]
    duration: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    warmup: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    settle: Option<Duration>,
    #[serde(default)]
    starts: Option<u32>,
    #[serde(default)]
    events: Option<u32>,
    #[serde(default)]
    interval_ms: Option<u32>,
    #[serde(default)]
    abort_after: Option<u32>,
    #[serde(default)]
    abort_streams: Option<u32>,
    variants: Vec<VariantFile>,
}

/// One load shape as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    name: String,
    connections: u32,
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    pipeline: Option<u32>,
}

/// A scenario with every setting resolved: what the runner executes and `run.json` records.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The kind with its settings, defaults applied.
    pub settings: ScenarioSettings,
    /// The file it came from.
    pub file: PathBuf,
}

/// One load shape within a scenario.
pub type Variant = VariantSettings;

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
    /// The suite as it was asked for (a name or a file), recorded so a resume loads the same.
    pub source: String,
    /// Scenarios with the suite's overrides applied and variants filtered, in suite order.
    pub scenarios: Vec<Scenario>,
}

impl Scenario {
    /// Reads, checks and resolves one scenario file.
    pub fn load(path: &Path) -> Result<Scenario, HarnessError> {
        ScenarioFile::read(path)?.resolve(path)
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn kind(&self) -> &KindSettings {
        &self.settings.kind
    }

    pub fn variants(&self) -> &[Variant] {
        &self.settings.variants
    }

    /// Approximate wall time of one variant, for progress ETA.
    pub fn estimate(&self) -> Duration {
        let stream = |events: u32, interval_ms: u32| {
            Duration::from_millis(u64::from(events) * u64::from(interval_ms))
        };
        match self.settings.kind {
            KindSettings::Http {
                duration_ms,
                warmup_ms,
                ..
            } => Duration::from_millis(duration_ms + warmup_ms),
            KindSettings::IdleConnections { settle_ms, .. } => {
                Duration::from_millis(settle_ms) + Duration::from_secs(2)
            }
            KindSettings::ColdStart { starts } => Duration::from_secs(u64::from(starts)),
            KindSettings::Sse {
                events,
                interval_ms,
                ..
            } => stream(events, interval_ms),
            KindSettings::SseRelay {
                events,
                interval_ms,
                ..
            } => stream(events, interval_ms) * 2 + Duration::from_secs(2),
        }
    }
}

impl ScenarioFile {
    fn read(path: &Path) -> Result<ScenarioFile, HarnessError> {
        read_toml(path)
    }

    /// Checks the file and settles every default, once.
    fn resolve(self, file: &Path) -> Result<Scenario, HarnessError> {
        let bad = |key: &str, why: &str| Err(HarnessError::config(file, format!("{key}: {why}")));
        if self.variants.is_empty() {
            return bad("variants", "at least one variant is needed");
        }
        let http = self.kind == ScenarioKind::Http;
        let mut variants: Vec<VariantSettings> = Vec::with_capacity(self.variants.len());
        for v in self.variants {
            let key = |k: &str| format!("variants.{}.{k}", v.name);
            if variants.iter().any(|seen| seen.name == v.name) {
                // A second variant of one name would share the first one's results and never run.
                return bad("variants", &format!("the name '{}' is used twice", v.name));
            }
            if v.connections == 0 {
                return bad(&key("connections"), "must be > 0");
            }
            if let Some(rate) = v.rate {
                if !http {
                    return bad(&key("rate"), "only http scenarios take a rate");
                }
                if !(rate > 0.0 && rate.is_finite()) {
                    return bad(&key("rate"), "must be > 0");
                }
            }
            if let Some(depth) = v.pipeline {
                if !http {
                    return bad(&key("pipeline"), "only http scenarios are pipelined");
                }
                if depth == 0 {
                    return bad(&key("pipeline"), "must be >= 1");
                }
            }
            variants.push(VariantSettings {
                name: v.name,
                connections: v.connections,
                rate: v.rate,
                pipeline: v.pipeline.unwrap_or(defaults::PIPELINE),
            });
        }
        if let Some(path) = &self.path {
            if !path.starts_with('/') {
                return bad("path", "must start with '/'");
            }
        }
        // Keys a kind does not use are refused, so a file never seems to set what is ignored.
        let used: &[&str] = match self.kind {
            ScenarioKind::Http => &["path", "duration", "warmup"],
            ScenarioKind::IdleConnections => &["path", "settle"],
            ScenarioKind::ColdStart => &["starts"],
            ScenarioKind::Sse => &["path", "events", "interval_ms"],
            ScenarioKind::SseRelay => &[
                "path",
                "events",
                "interval_ms",
                "abort_after",
                "abort_streams",
            ],
        };
        let given = [
            ("path", self.path.is_some()),
            ("duration", self.duration.is_some()),
            ("warmup", self.warmup.is_some()),
            ("settle", self.settle.is_some()),
            ("starts", self.starts.is_some()),
            ("events", self.events.is_some()),
            ("interval_ms", self.interval_ms.is_some()),
            ("abort_after", self.abort_after.is_some()),
            ("abort_streams", self.abort_streams.is_some()),
        ];
        for (key, set) in given {
            if set && !used.contains(&key) {
                return bad(key, "not used by this kind of scenario");
            }
        }
        let positive = |key: &str, value: Option<u32>, default: u32| match value {
            Some(0) => Err(HarnessError::config(file, format!("{key}: must be > 0"))),
            v => Ok(v.unwrap_or(default)),
        };
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let path = |default: &str| self.path.clone().unwrap_or_else(|| default.to_string());
        let kind = match self.kind {
            ScenarioKind::Http => {
                let Some(duration) = self.duration else {
                    return bad("duration", "an http scenario needs a duration");
                };
                if duration.is_zero() {
                    return bad("duration", "must be > 0");
                }
                let Some(path) = self.path.clone() else {
                    return bad("path", "an http scenario needs a request path");
                };
                KindSettings::Http {
                    path,
                    duration_ms: ms(duration),
                    warmup_ms: self.warmup.map_or(defaults::WARMUP_MS, ms),
                }
            }
            ScenarioKind::IdleConnections => KindSettings::IdleConnections {
                path: path(defaults::IDLE_PATH),
                settle_ms: self.settle.map_or(defaults::SETTLE_MS, ms),
            },
            ScenarioKind::ColdStart => KindSettings::ColdStart {
                starts: positive("starts", self.starts, defaults::STARTS)?,
            },
            ScenarioKind::Sse => KindSettings::Sse {
                path: path(defaults::SSE_PATH),
                events: positive("events", self.events, defaults::SSE_EVENTS)?,
                interval_ms: self.interval_ms.unwrap_or(defaults::SSE_INTERVAL_MS),
            },
            ScenarioKind::SseRelay => KindSettings::SseRelay {
                path: path(defaults::RELAY_PATH),
                events: positive("events", self.events, defaults::RELAY_EVENTS)?,
                interval_ms: self.interval_ms.unwrap_or(defaults::RELAY_INTERVAL_MS),
                abort_after: positive("abort_after", self.abort_after, defaults::ABORT_AFTER)?,
                abort_streams: positive(
                    "abort_streams",
                    self.abort_streams,
                    defaults::ABORT_STREAMS,
                )?,
            },
        };
        Ok(Scenario {
            settings: ScenarioSettings {
                name: self.name,
                description: self.description,
                kind,
                variants,
            },
            file: file.to_path_buf(),
        })
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
        for (i, entry) in suite.entries.iter().enumerate() {
            if suite.entries[..i].iter().any(|e| e.name == entry.name) {
                // The runner keys trials by scenario name: the second entry would never run.
                return Err(HarnessError::config(
                    path,
                    format!("scenario: '{}' is listed twice", entry.name),
                ));
            }
            let wanted = entry.variants.as_deref().unwrap_or_default();
            if let Some(twice) = wanted
                .iter()
                .enumerate()
                .find_map(|(j, v)| wanted[..j].contains(v).then_some(v))
            {
                return Err(HarnessError::config(
                    path,
                    format!(
                        "scenario '{}': variants: '{twice}' is listed twice",
                        entry.name
                    ),
                ));
            }
        }
        Ok(suite)
    }
}

impl Plan {
    /// Loads `scenarios/suites/<suite>.toml` (or a path to a suite file) and every scenario it names
    /// from `scenarios/<name>.toml`.
    pub fn load(scenarios_dir: &Path, suite: &str) -> Result<Plan, HarnessError> {
        let suite_name = suite;
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
            let mut scenario = ScenarioFile::read(&path)?;
            // The file alone first, so its own faults are blamed on it; what fails after the
            // suite's overrides are applied is the suite entry's fault.
            scenario.clone().resolve(&path)?;
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
            let scenario = scenario.resolve(&path).map_err(|err| match err {
                HarnessError::Config { message, .. } => HarnessError::config(
                    &suite.file,
                    format!("[[scenario]] '{}': {message}", entry.name),
                ),
                other => other,
            })?;
            scenarios.push(scenario);
        }
        Ok(Plan {
            suite,
            source: suite_name.to_string(),
            scenarios,
        })
    }

    /// Names of the scenarios in run order.
    pub fn scenario_names(&self) -> Vec<String> {
        self.scenarios
            .iter()
            .map(|s| s.name().to_string())
            .collect()
    }

    /// The suite as `run.json` records it: every scenario's resolved settings included.
    pub fn suite_info(&self) -> SuiteInfo {
        SuiteInfo {
            name: self.suite.name.clone(),
            source: self.source.clone(),
            trials: self.suite.trials,
            scenarios: self.scenario_names(),
            settings: self.scenarios.iter().map(|s| s.settings.clone()).collect(),
        }
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|e| HarnessError::io(path, e))?;
    toml::from_str(&text).map_err(|e| HarnessError::config(path, toml_message(&text, &e)))
}

/// A TOML error as an editor points at it: `line:column: message` (1-based), not a byte offset.
pub(crate) fn toml_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return message.to_string();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("{line}:{column}: {message}")
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
        assert_eq!(
            s.kind(),
            &KindSettings::Http {
                path: "/plaintext".into(),
                duration_ms: 2000,
                warmup_ms: 2000
            }
        );
        assert_eq!(s.variants().len(), 1);
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
    fn a_key_the_kind_does_not_use_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "s.toml",
            "name = \"s\"\nkind = \"sse\"\nduration = \"5s\"\n[[variants]]\nname = \"s1\"\nconnections = 1\n",
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(err.contains("duration: not used by this kind"), "{err}");
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
    fn a_variant_name_used_twice_is_refused_naming_file_and_name() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "p.toml",
            &PLAINTEXT.replace("name = \"c256\"", "name = \"c64\""),
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("p.toml") && err.contains("variants: the name 'c64' is used twice"),
            "{err}"
        );
    }

    #[test]
    fn a_suite_listing_a_scenario_or_variant_twice_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "plaintext.toml", PLAINTEXT);
        let entry = "[[scenario]]\nname = \"plaintext\"\n";
        write(
            tmp.path(),
            "suites/twice.toml",
            &format!("name = \"twice\"\ntrials = 1\n{entry}{entry}"),
        );
        let err = Plan::load(tmp.path(), "twice").unwrap_err().to_string();
        assert!(
            err.contains("suites/twice.toml") && err.contains("'plaintext' is listed twice"),
            "{err}"
        );
        write(
            tmp.path(),
            "suites/variant.toml",
            &format!("name = \"v\"\ntrials = 1\n{entry}variants = [\"c64\", \"c64\"]\n"),
        );
        let err = Plan::load(tmp.path(), "variant").unwrap_err().to_string();
        assert!(
            err.contains("suites/variant.toml") && err.contains("'c64' is listed twice"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_suite_override_is_blamed_on_the_suite_entry() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "plaintext.toml", PLAINTEXT);
        write(
            tmp.path(),
            "suites/zero.toml",
            "name = \"zero\"\ntrials = 1\n[[scenario]]\nname = \"plaintext\"\nduration = \"0s\"\n",
        );
        let err = Plan::load(tmp.path(), "zero").unwrap_err().to_string();
        assert!(
            err.contains("suites/zero.toml")
                && err.contains("[[scenario]] 'plaintext': duration: must be > 0"),
            "{err}"
        );
        assert!(!err.contains("plaintext.toml"), "{err}");
    }

    #[test]
    fn toml_errors_give_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write(
            tmp.path(),
            "s.toml",
            "name = \"s\"\nkind = \"http\"\nduration = 5\n",
        );
        let err = Scenario::load(&path).unwrap_err().to_string();
        assert!(err.contains("s.toml: 3:12: "), "{err}");
        assert!(!err.contains("byte"), "{err}");
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
