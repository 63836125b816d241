use std::path::PathBuf;

/// Everything the harness can fail at. Each message names the file, target or tool at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A manifest, scenario or suite file could not be read or has a bad key or value.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// No target, scenario or suite of that name.
    #[error("unknown {kind} '{name}' (known: {known})")]
    Unknown {
        kind: &'static str,
        name: String,
        known: String,
    },
    /// A tool a target needs is missing or too old.
    #[error("{target}: {message}")]
    Requirement { target: String, message: String },
    /// Provisioning a target failed.
    #[error("{target}: provisioning failed: {message}")]
    Provision { target: String, message: String },
    /// A target did not start, exited, or never answered /health.
    #[error("{target}: {message}")]
    Start { target: String, message: String },
    /// The run was interrupted (Ctrl-C or SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// A load run failed as a whole (the engine's message).
    #[error("{0}")]
    Load(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A probe of a running target (verification, the relay scenario) failed: refused, timed out,
    /// a bad status or a malformed stream.
    #[error("{url}: {message}")]
    Probe { url: String, message: String },
    /// Anything else the OS refused, with what was attempted.
    #[error("{context}: {source}")]
    Os {
        context: String,
        source: std::io::Error,
    },
}

impl HarnessError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HarnessError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        HarnessError::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}
