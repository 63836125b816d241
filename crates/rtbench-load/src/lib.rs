//! rtbench's load engine (work in progress: see summary types).
mod sse;
mod summary;

pub use sse::{parse_stamp, SseError, SseEvent, SseParser};
pub use summary::{ErrorCounts, Model, Percentiles, StreamSummary, Summary};
