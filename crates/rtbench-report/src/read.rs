//! Reading a run folder's `run.json` through the one schema definition (`rtbench-results`).

use std::path::Path;

use rtbench_results::{parse_run, Run, SchemaError, SCHEMA_VERSION};

use crate::error::ReportError;

/// Reads `run_dir/run.json` (or `run_dir` itself when it is a file) of schema 1 or the current
/// version, through the results crate's one converter; `schema_version` of the result says which
/// the file had. Other versions are refused before any other field is looked at.
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
    parse_run(&text).map_err(|e| match e {
        SchemaError::Version { found } => ReportError::SchemaVersion {
            path: file,
            found,
            expected: SCHEMA_VERSION,
        },
        SchemaError::Json(source) => ReportError::Json { path: file, source },
        other => ReportError::Schema {
            path: file,
            message: other.to_string(),
        },
    })
}
