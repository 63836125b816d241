//! What can go wrong while rendering a report.

use std::path::PathBuf;

/// A report could not be rendered. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The folder has no `run.json`: not a run folder.
    #[error("{}: no run.json here (expected a run folder written by `rtbench run`)", .path.display())]
    MissingRun { path: PathBuf },
    /// `run.json` exists but could not be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `run.json` is not JSON, or does not match the schema.
    #[error("{}: not a valid run.json: {source}", .path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// `run.json` was written with a different schema version.
    #[error("{}: schema_version {found}, this rtbench reads versions 1 to {expected}", .path.display())]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    /// `run.json` could not be read into the current schema for another reason.
    #[error("{}: {message}", .path.display())]
    Schema { path: PathBuf, message: String },
    /// An output file could not be created or written.
    #[error("{}: cannot write: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
