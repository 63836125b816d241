//! Reading a run folder's `run.json` through the one schema definition (`rtbench-results`).

use std::path::Path;

use rtbench_results::{Run, SCHEMA_VERSION};

use crate::error::ReportError;

/// Reads `run_dir/run.json` (or `run_dir` itself when it is a file), refusing other schema
/// versions before looking at any other field, so an old or new file is reported as such.
pub fn read_run(run_dir: &Path) -> Result<Run, ReportError> {
    let file = if run_dir.is_file() {
        run_dir.to_path_buf()
    } else {
        run_dir.join("run.json")
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReportError::MissingRun { path: file })
        }
        Err(source) => return Err(ReportError::Read { path: file, source }),
    };
    let head: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| ReportError::Json {
            path: file.clone(),
            source,
        })?;
    let version = head.get("schema_version");
    if version.and_then(serde_json::Value::as_u64) != Some(u64::from(SCHEMA_VERSION)) {
        return Err(ReportError::SchemaVersion {
            path: file,
            found: version.map_or_else(|| "missing".to_string(), ToString::to_string),
            expected: SCHEMA_VERSION,
        });
    }
    // Parsed from the text again (not from `head`) so a schema error carries its line and column.
    serde_json::from_str(&text).map_err(|source| ReportError::Json { path: file, source })
}
