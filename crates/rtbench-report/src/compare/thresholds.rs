//! The gates and bootstrap settings of a compare: defaults, a thresholds TOML file and `--gate`
//! flags, each bad value named with the file or flag it came from.
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use rtbench_results::Metric;

use crate::bootstrap::{DEFAULT_RESAMPLES, DEFAULT_SEED};

/// Everything that can go wrong in reading compare's inputs. Each message names the file, flag
/// or key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A thresholds file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    /// A thresholds file that is not TOML.
    #[error("{}: not valid TOML: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    /// A key a thresholds file may not have.
    #[error("{}: unknown key `{key}` (expected one of: {expected})", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        expected: String,
    },
    /// A known key with a value out of range or of the wrong type. `origin` is the file or flag.
    #[error("{origin}: bad value for `{key}`: {reason}")]
    BadValue {
        origin: String,
        key: String,
        reason: String,
    },
}

/// The noise thresholds and bootstrap settings of a compare.
///
/// Defaults: rps 5%, p50 10%, memory 10% gated; every other metric shown but not gated; 10,000
/// resamples; a fixed seed. Files and `--gate` flags override single keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    gates: BTreeMap<Metric, f64>,
    resamples: usize,
    seed: u64,
    fail_on_lost: bool,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            gates: BTreeMap::from([
                (Metric::named("rps"), 0.05),
                (Metric::named("p50"), 0.10),
                (Metric::named("memory"), 0.10),
            ]),
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            fail_on_lost: false,
        }
    }
}

const FILE_KEYS: &str = "resamples, seed, fail_on_lost, gates";

impl Thresholds {
    /// Every gated metric with its gate.
    pub(crate) fn gates(&self) -> &BTreeMap<Metric, f64> {
        &self.gates
    }

    /// The gate of `metric` as a fraction (0.05 = 5%), or `None` when it is not gated.
    pub fn gate(&self, metric: Metric) -> Option<f64> {
        self.gates.get(&metric).copied()
    }

    /// Gates `metric` at `threshold` (a fraction, 0.05 = 5%), or ungates it with `None`.
    pub fn set_gate(&mut self, metric: Metric, threshold: Option<f64>) -> &mut Thresholds {
        match threshold {
            Some(t) => self.gates.insert(metric, t),
            None => self.gates.remove(&metric),
        };
        self
    }

    /// Applies a `METRIC=PCT` flag (`p99=15%`, `rps=3`, `p50=off`).
    pub fn apply_gate_spec(&mut self, spec: &str) -> Result<&mut Thresholds, CompareError> {
        let origin = format!("--gate {spec}");
        let (key, value) = spec.split_once('=').ok_or_else(|| CompareError::BadValue {
            origin: origin.clone(),
            key: spec.to_string(),
            reason: "expected METRIC=PERCENT, e.g. p99=15%".to_string(),
        })?;
        let key = key.trim();
        let metric = gateable(key).ok_or_else(|| CompareError::BadValue {
            origin: origin.clone(),
            key: key.to_string(),
            reason: format!("unknown metric (known: {})", metric_keys()),
        })?;
        let threshold = parse_percent(value.trim()).map_err(|reason| CompareError::BadValue {
            origin,
            key: key.to_string(),
            reason,
        })?;
        Ok(self.set_gate(metric, threshold))
    }

    /// The defaults overridden by the TOML file at `path`.
    pub fn from_toml_file(path: &Path) -> Result<Thresholds, CompareError> {
        let text = std::fs::read_to_string(path).map_err(|error| CompareError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let mut t = Thresholds::default();
        t.apply_toml(&text, path)?;
        Ok(t)
    }

    /// Overrides the keys that `text` (a thresholds file's content, read from `path`) sets:
    ///
    /// ```toml
    /// resamples = 10000        # ≥ 10,000
    /// seed = 42                # any non-negative integer
    /// fail_on_lost = true      # a cell measured in base but without an ok trial in current regresses
    /// [gates]                  # percent: "15%" or 15; "off" or false ungates
    /// p99 = "15%"
    /// ```
    pub fn apply_toml(&mut self, text: &str, path: &Path) -> Result<(), CompareError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| CompareError::Toml {
                path: path.to_path_buf(),
                message: e.message().to_string(),
            })?;
        let origin = path.display().to_string();
        let bad = |key: &str, reason: &str| CompareError::BadValue {
            origin: origin.clone(),
            key: key.to_string(),
            reason: reason.to_string(),
        };
        for (key, value) in &table {
            match key.as_str() {
                "resamples" => {
                    let n = value
                        .as_integer()
                        .ok_or_else(|| bad(key, "expected an integer"))?;
                    self.set_resamples(usize::try_from(n).unwrap_or(0))
                        .map_err(|e| bad(key, &e))?;
                }
                "seed" => {
                    let n = value
                        .as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| bad(key, "expected a non-negative integer"))?;
                    self.seed = n;
                }
                "fail_on_lost" => {
                    self.fail_on_lost = value
                        .as_bool()
                        .ok_or_else(|| bad(key, "expected true or false"))?;
                }
                "gates" => {
                    let gates = value
                        .as_table()
                        .ok_or_else(|| bad(key, "expected a table [gates]"))?;
                    for (name, v) in gates {
                        let metric = gateable(name).ok_or_else(|| CompareError::UnknownKey {
                            path: path.to_path_buf(),
                            key: format!("gates.{name}"),
                            expected: metric_keys(),
                        })?;
                        let threshold = match v {
                            toml::Value::String(s) => parse_percent(s),
                            toml::Value::Integer(i) => parse_percent(&i.to_string()),
                            toml::Value::Float(f) => parse_percent(&f.to_string()),
                            toml::Value::Boolean(false) => Ok(None),
                            _ => Err("expected a percentage (\"15%\" or 15) or \"off\"".into()),
                        }
                        .map_err(|reason| bad(&format!("gates.{name}"), &reason))?;
                        self.set_gate(metric, threshold);
                    }
                }
                _ => {
                    return Err(CompareError::UnknownKey {
                        path: path.to_path_buf(),
                        key: key.clone(),
                        expected: FILE_KEYS.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Sets the number of bootstrap resamples; fewer than 10,000 is refused (the interval's ends
    /// would move from seed to seed).
    pub fn set_resamples(&mut self, n: usize) -> Result<&mut Thresholds, String> {
        if n < DEFAULT_RESAMPLES {
            return Err(format!(
                "{n} resamples; at least {DEFAULT_RESAMPLES} needed"
            ));
        }
        self.resamples = n;
        Ok(self)
    }

    /// Sets the bootstrap seed.
    pub fn set_seed(&mut self, seed: u64) -> &mut Thresholds {
        self.seed = seed;
        self
    }

    /// When true, a cell with ok trials in base and none in current counts as a regression.
    pub fn set_fail_on_lost(&mut self, on: bool) -> &mut Thresholds {
        self.fail_on_lost = on;
        self
    }

    /// Bootstrap resamples per metric.
    pub fn resamples(&self) -> usize {
        self.resamples
    }

    /// Bootstrap seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether lost cells count as regressions.
    pub fn fail_on_lost(&self) -> bool {
        self.fail_on_lost
    }
}

/// A metric `compare` shows, by key (bookkeeping figures of the catalogue are not gated).
fn gateable(key: &str) -> Option<Metric> {
    Metric::compared().find(|m| m.key() == key)
}

fn metric_keys() -> String {
    Metric::compared()
        .map(Metric::key)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"15%"`, `"15"` → 0.15; `"off"` → none.
fn parse_percent(s: &str) -> Result<Option<f64>, String> {
    if matches!(s, "off" | "none" | "false") {
        return Ok(None);
    }
    let number = s.strip_suffix('%').unwrap_or(s).trim();
    let pct: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. \"15%\") or \"off\""))?;
    if !pct.is_finite() || pct < 0.0 {
        return Err(format!("`{s}`: a threshold is a percentage ≥ 0"));
    }
    Ok(Some(pct / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(key: &str) -> Metric {
        Metric::named(key)
    }

    #[test]
    fn percentages_parse() {
        assert_eq!(parse_percent("15%"), Ok(Some(0.15)));
        assert_eq!(parse_percent("2.5"), Ok(Some(0.025)));
        assert_eq!(parse_percent("off"), Ok(None));
        assert!(parse_percent("-3%").is_err());
        assert!(parse_percent("fast").is_err());
        assert!(parse_percent("NaN").is_err());
    }

    #[test]
    fn defaults_gate_rps_p50_memory_only() {
        let t = Thresholds::default();
        let gated: Vec<Metric> = Metric::all().filter(|m| t.gate(*m).is_some()).collect();
        assert_eq!(gated, [m("rps"), m("p50"), m("memory")]);
        assert_eq!(t.gate(m("rps")), Some(0.05));
        assert_eq!(t.gate(m("p50")), Some(0.10));
        assert_eq!(t.gate(m("memory")), Some(0.10));
        assert_eq!(t.resamples(), 10_000);
    }

    #[test]
    fn gate_flags_set_and_clear() {
        let mut t = Thresholds::default();
        t.apply_gate_spec("p99=15%").unwrap();
        t.apply_gate_spec("rps = 3").unwrap();
        t.apply_gate_spec("p50=off").unwrap();
        assert_eq!(t.gate(m("p99")), Some(0.15));
        assert_eq!(t.gate(m("rps")), Some(0.03));
        assert_eq!(t.gate(m("p50")), None);
        let err = t.apply_gate_spec("p95=10%").unwrap_err().to_string();
        assert!(
            err.contains("--gate p95=10%") && err.contains("unknown metric"),
            "{err}"
        );
        let err = t.apply_gate_spec("p99").unwrap_err().to_string();
        assert!(err.contains("METRIC=PERCENT"), "{err}");
    }

    #[test]
    fn thresholds_file_overrides_keys() {
        let mut t = Thresholds::default();
        let text = "resamples = 20000\nseed = 7\nfail_on_lost = true\n\
                    [gates]\np99 = \"15%\"\nmax = 50\nmemory = false\nrps = \"off\"\n";
        t.apply_toml(text, Path::new("t.toml")).unwrap();
        assert_eq!(t.resamples(), 20_000);
        assert_eq!(t.seed(), 7);
        assert!(t.fail_on_lost());
        assert_eq!(t.gate(m("p99")), Some(0.15));
        assert_eq!(t.gate(m("max")), Some(0.5));
        assert_eq!(t.gate(m("memory")), None);
        assert_eq!(t.gate(m("rps")), None);
        assert_eq!(t.gate(m("p50")), Some(0.10), "untouched keys keep defaults");
    }

    #[test]
    fn thresholds_file_errors_name_file_and_key() {
        let cases = [
            ("noise = 3\n", "t.toml: unknown key `noise`"),
            ("[gates]\np95 = \"5%\"\n", "t.toml: unknown key `gates.p95`"),
            (
                "[gates]\np99 = \"lots\"\n",
                "t.toml: bad value for `gates.p99`",
            ),
            ("[gates]\np99 = [1]\n", "t.toml: bad value for `gates.p99`"),
            ("resamples = 100\n", "t.toml: bad value for `resamples`"),
            ("seed = -1\n", "t.toml: bad value for `seed`"),
            ("gates = 5\n", "t.toml: bad value for `gates`"),
            ("[gates\n", "t.toml: not valid TOML"),
        ];
        for (text, want) in cases {
            let err = Thresholds::default()
                .apply_toml(text, Path::new("t.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(want), "{text:?} → {err}");
        }
    }

    #[test]
    fn example_thresholds_file_parses() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/compare/thresholds.toml");
        let t = Thresholds::from_toml_file(&path).unwrap();
        assert_eq!(t.gate(m("rps")), Some(0.05));
    }
}
