//! What a worker hands back when it ends (merged once by the engine), and the classes its
//! failed attempts are counted in while it runs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::error::Rejection;
use crate::stream_figures::StreamFigures;
use crate::summary::{Ended, ErrorCounts};

/// Failed attempts by class, while measuring.
#[derive(Clone, Copy)]
pub(crate) enum Class {
    Connect,
    Read,
    Write,
    Timeout,
    Parse,
    ContentType,
}

/// What a worker measured.
pub(crate) struct WorkerOut {
    pub latency: Histogram<u64>,
    pub uncorrected: Option<Histogram<u64>>,
    pub requests: u64,
    pub ok: u64,
    pub bytes: u64,
    pub errors: ErrorCounts,
    pub cpu_ns: u64,
    /// From the start of the measured window to the worker's end.
    pub measured_ns: u64,
    pub unsent: u64,
    pub stream: Option<StreamFigures>,
    /// Some connect failed with EMFILE/ENFILE.
    pub out_of_files: bool,
    pub ended: Ended,
    /// Wall-clock start of the measured window, ns since the Unix epoch.
    pub start_wall_ns: u64,
    /// Connections established before the clock started, and how long that took.
    pub established: u64,
    pub connect_ns: u64,
    /// Completed measured responses by status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// Rejected responses by reason.
    pub reasons: Vec<(Rejection, u64)>,
}
