//! Target manifests: `targets/<name>/target.toml`. Adding a target is adding a folder; nothing here
//! knows any target by name.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::HarnessError;
use crate::scenario::toml_message;

/// A reference server, as its manifest describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Folder name under `targets/`.
    pub name: String,
    pub display_name: String,
    pub runtime: String,
    /// The exact runtime version the manifest installs.
    pub runtime_version: String,
    pub language: String,
    pub framework: String,
    /// The survey row this target stands for.
    pub survey_row: String,
    /// Default port (docker compose); the harness picks a free one for each launch.
    pub port: u16,
    /// How many `WORKERS` it is launched with, when the target fixes that itself (a pool).
    #[serde(default)]
    pub workers: Option<WorkersSetting>,
    #[serde(default)]
    pub requirements: Requirements,
    pub native: NativeCommands,
    /// Further runtime versions the target can be run on, selected as `<name>@<key>` (e.g.
    /// `node-http@24`). Each names its own exact version and the folder (relative to the target's)
    /// holding its lockfile; the manifest's top-level `runtime_version` and files are the default.
    #[serde(default)]
    pub versions: BTreeMap<String, RuntimeVersion>,
    /// The folder the manifest was read from.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The selected version's lockfile folder relative to `dir` (`.` for the default), handed to
    /// provision/start/version commands as `$RTBENCH_VERSION_DIR` and to image builds as the
    /// `VERSION_DIR` build argument.
    #[serde(skip, default = "here")]
    pub version_dir: String,
}

fn here() -> String {
    ".".to_string()
}

/// One selectable runtime version of a target (`[versions.<key>]` in its manifest).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeVersion {
    /// The exact version its lockfile installs.
    pub runtime_version: String,
    /// The folder holding its lockfile, relative to the target's folder (`.` for the top level).
    pub dir: String,
}

/// A target whose identity is a pool of workers (`[workers]` in the manifest) overrides the run's
/// `--workers`: e.g. node-cluster is one worker per server CPU, at least 2.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersSetting {
    /// One worker per CPU the server is pinned to.
    #[serde(default)]
    pub per_server_cpu: bool,
    /// The fewest workers, whatever the CPUs or the run ask.
    #[serde(default = "one")]
    pub min: u32,
}

fn one() -> u32 {
    1
}

/// What the machine must offer before the target can be provisioned natively.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Minimum glibc version of the host (e.g. uWebSockets.js binaries need 2.38).
    #[serde(default)]
    pub min_glibc: Option<String>,
    #[serde(default)]
    pub tools: Vec<ToolRequirement>,
}

/// A tool that must be on PATH.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRequirement {
    pub name: String,
    /// Prints something containing the tool's version.
    pub version_command: String,
    pub min_version: String,
    /// How to get the tool, shown when it is missing.
    pub hint: String,
}

/// Shell commands for native provisioning and launch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeCommands {
    /// Idempotent commands installing the runtime into `$RTBENCH_CACHE`.
    #[serde(default)]
    pub provision: Vec<String>,
    /// Starts the server with `exec`, so the spawned process is the server.
    pub start: String,
    /// Prints the runtime's self-reported version.
    pub version: String,
}

impl Target {
    /// Reads one manifest; the folder name must match `name`.
    pub fn load(dir: &Path) -> Result<Target, HarnessError> {
        let path = dir.join("target.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| HarnessError::io(&path, e))?;
        let mut target: Target = toml::from_str(&text)
            .map_err(|e| HarnessError::config(&path, toml_message(&text, &e)))?;
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if target.name != folder {
            return Err(HarnessError::config(
                &path,
                format!("name '{}' must match its folder '{folder}'", target.name),
            ));
        }
        if target.native.start.trim().is_empty() {
            return Err(HarnessError::config(&path, "[native] start is empty"));
        }
        target.dir = std::fs::canonicalize(dir).map_err(|e| HarnessError::io(dir, e))?;
        for (key, version) in &target.versions {
            let bad = key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
            if bad {
                return Err(HarnessError::config(
                    &path,
                    format!("[versions.{key}]: a version key is letters, digits and dots"),
                ));
            }
            if !target.dir.join(&version.dir).is_dir() || version.dir.contains("..") {
                return Err(HarnessError::config(
                    &path,
                    format!(
                        "[versions.{key}] dir '{}' is not a folder inside the target",
                        version.dir
                    ),
                ));
            }
        }
        Ok(target)
    }

    /// This target on runtime version `key` (a `[versions]` entry): its own name (`name@key`, so
    /// its own record, cache folder and image), exact version and lockfile folder.
    pub fn with_version(&self, key: &str) -> Result<Target, HarnessError> {
        let version = self
            .versions
            .get(key)
            .ok_or_else(|| HarnessError::Unknown {
                kind: "version of target",
                name: format!("{}@{key}", self.name),
                known: if self.versions.is_empty() {
                    format!("none: {} names no [versions]", self.name)
                } else {
                    self.versions
                        .keys()
                        .map(|k| format!("{}@{k}", self.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })?;
        let mut target = self.clone();
        target.name = format!("{}@{key}", self.name);
        target.runtime_version = version.runtime_version.clone();
        target.version_dir = version.dir.clone();
        target.display_name = format!("{} [{}]", self.display_name, version.runtime_version);
        target.versions.clear();
        Ok(target)
    }

    /// The name with `@` spelled `-v`, for what Docker names (images, containers) allow.
    pub fn docker_name(&self) -> String {
        self.name.replace('@', "-v")
    }

    /// The `WORKERS` this target is launched with: the run's `requested` value, unless the manifest
    /// fixes its own (`[workers]`).
    pub fn workers(&self, requested: u32, server_cpus: usize) -> u32 {
        match &self.workers {
            None => requested,
            Some(setting) => {
                let wanted = if setting.per_server_cpu {
                    u32::try_from(server_cpus).unwrap_or(u32::MAX)
                } else {
                    requested
                };
                wanted.max(setting.min)
            }
        }
    }

    /// Every `targets/*/target.toml`, sorted by name.
    pub fn discover(targets_dir: &Path) -> Result<Vec<Target>, HarnessError> {
        let entries =
            std::fs::read_dir(targets_dir).map_err(|e| HarnessError::io(targets_dir, e))?;
        let mut targets = Vec::new();
        for entry in entries {
            let dir = entry.map_err(|e| HarnessError::io(targets_dir, e))?.path();
            if dir.join("target.toml").is_file() {
                targets.push(Target::load(&dir)?);
            }
        }
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(targets)
    }

    /// Picks `names` (all when empty) from `all`, in the order given.
    pub fn select(all: &[Target], names: &[String]) -> Result<Vec<Target>, HarnessError> {
        if names.is_empty() {
            return Ok(all.to_vec());
        }
        names
            .iter()
            .map(|name| {
                let (base, version) = match name.split_once('@') {
                    Some((base, version)) => (base, Some(version)),
                    None => (name.as_str(), None),
                };
                all.iter()
                    .find(|t| t.name == base)
                    .ok_or_else(|| HarnessError::Unknown {
                        kind: "target",
                        name: name.clone(),
                        known: all
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                    .and_then(|t| match version {
                        Some(v) => t.with_version(v),
                        None => Ok(t.clone()),
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_manifest(root: &Path, name: &str, body: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("target.toml"), body).unwrap();
        dir
    }

    const GOOD: &str = r#"
name = "demo"
display_name = "Demo"
runtime = "sh"
runtime_version = "1"
language = "sh"
framework = "none"
survey_row = "Go net/http"
port = 9000
[native]
start = "exec true"
version = "echo 1"
"#;

    #[test]
    fn reads_a_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_manifest(tmp.path(), "demo", GOOD);
        let target = Target::load(&dir).unwrap();
        assert_eq!(target.display_name, "Demo");
        assert!(target.requirements.tools.is_empty());
    }

    #[test]
    fn a_pool_manifest_fixes_its_workers() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = Target::load(&write_manifest(tmp.path(), "demo", GOOD)).unwrap();
        assert_eq!(plain.workers(3, 1), 3, "no [workers]: the run decides");
        let pool = GOOD.replace(
            "[native]",
            "[workers]\nper_server_cpu = true\nmin = 2\n[native]",
        );
        let pool = Target::load(&write_manifest(
            tmp.path(),
            "demo2",
            &pool.replace("\"demo\"", "\"demo2\""),
        ))
        .unwrap();
        assert_eq!(pool.workers(1, 1), 2, "at least min");
        assert_eq!(pool.workers(1, 4), 4, "one per server CPU");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_manifest(tmp.path(), "demo", &format!("{GOOD}\nbogus = 1\n"));
        let err = Target::load(&dir).unwrap_err().to_string();
        assert!(err.contains("target.toml"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    /// Regression (issue 14.11): manifest errors gave a byte offset; they give line:column.
    #[test]
    fn a_toml_error_names_its_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let lines = GOOD.lines().count();
        let dir = write_manifest(tmp.path(), "demo", &format!("{GOOD}\nport = = 1\n"));
        let err = Target::load(&dir).unwrap_err().to_string();
        assert!(err.contains(&format!("{}:", lines + 2)), "{err}");
        assert!(!err.contains("byte"), "{err}");
    }

    #[test]
    fn folder_must_match_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_manifest(tmp.path(), "other", GOOD);
        let err = Target::load(&dir).unwrap_err().to_string();
        assert!(err.contains("must match its folder 'other'"), "{err}");
    }
}

#[cfg(test)]
mod version_tests {
    use super::*;

    fn repo_targets() -> Vec<Target> {
        Target::discover(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../targets")).unwrap()
    }

    #[test]
    fn name_at_version_selects_its_own_record_and_lockfile() {
        let all = repo_targets();
        let picked = Target::select(
            &all,
            &[
                "node-http@22".into(),
                "node-http@24".into(),
                "node-http".into(),
            ],
        )
        .unwrap();
        let summary: Vec<(&str, &str, &str)> = picked
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.runtime_version.as_str(),
                    t.version_dir.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("node-http@22", "22.23.3", "."),
                ("node-http@24", "24.21.0", "versions/24"),
                ("node-http", "22.23.3", "."),
            ]
        );
        assert_eq!(picked[1].docker_name(), "node-http-v24");
        for t in &all {
            for (key, v) in &t.versions {
                let lock = t.dir.join(&v.dir).join("package-lock.json");
                let text = std::fs::read_to_string(&lock).unwrap_or_default();
                assert!(
                    text.contains(&format!("\"version\": \"{}\"", v.runtime_version)),
                    "{}@{key}: {} does not pin {}",
                    t.name,
                    lock.display(),
                    v.runtime_version
                );
            }
        }
    }

    #[test]
    fn an_unknown_version_is_one_line_listing_the_known_ones() {
        let all = repo_targets();
        let err = Target::select(&all, &["node-http@99".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown version of target 'node-http@99' (known: node-http@20, node-http@22, node-http@24)"
        );
        let err = Target::select(&all, &["axum@1".into()])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown version of target 'axum@1' (known: none: axum names no [versions])"
        );
    }
}
