//! rtbench's load engine (work in progress: see summary types).
mod summary;

pub use summary::{ErrorCounts, Model, Percentiles, StreamSummary, Summary};
