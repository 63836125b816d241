//! History and trend: each run's cells appended to a JSON Lines history
//! ([`history`]), each metric's run medians over time with change points ([`changepoint`]:
//! E-Divisive means with a t-test, as Apache Otava), machine-wide shifts told apart from one
//! target's change ([`analysis`]), and the result as markdown, JSON ([`render`]) and SVG charts
//! ([`chart`]).

mod analysis;
mod changepoint;
mod chart;
mod history;
mod render;

use std::io;
use std::path::{Path, PathBuf};

pub(crate) use analysis::is_machine_wide;
pub use analysis::{
    analyse, Change, Direction, HistoryRun, MachineShift, Series, Trend, MACHINE_WIDE_FRACTION,
};
pub use changepoint::{ChangePoint, Detector};
pub use chart::{trend_charts, TrendChart};
pub use history::{
    append_history, history_records, read_history, run_history_records, Better, HistoryRecord,
    MetricPoint, RunStamp,
};
pub use render::{write_json, write_markdown};

/// What can go wrong reading or appending a history. Each message names the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrendError {
    /// The file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    /// A line that is not a history record.
    #[error("{}:{line}: not a history record: {message}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The run is in the history already.
    #[error("{}: run {run_id} is already in the history (it is append-only)", path.display())]
    DuplicateRun { path: PathBuf, run_id: String },
}

impl TrendError {
    fn io(path: &Path, error: io::Error) -> TrendError {
        TrendError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}
