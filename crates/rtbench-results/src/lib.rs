//! The results schema of rtbench: what `results/<run>/run.json` holds.
//!
//! The runner writes a [`Run`], the report and compare commands read it. Nothing else defines these
//! fields. A change that breaks readers bumps [`SCHEMA_VERSION`].
//!
//! ```
//! use rtbench_results::{Run, SCHEMA_VERSION};
//! let json = format!(r#"{{"schema_version":{SCHEMA_VERSION},"run_id":"x","started_at":"2026-01-01T00:00:00Z",
//!   "environment":{{"hostname":"h","cpu_model":"c","cores":2,"kernel":"k","memory_bytes":1,
//!   "rtbench_version":"0.1.0","git_commit":"abc","launcher":"native",
//!   "placement":{{"server_cpus":[1],"client_cpus":[0]}}}},
//!   "suite":{{"name":"quick","trials":1,"scenarios":[]}},"targets":[],"trials":[]}}"#);
//! let run: Run = serde_json::from_str(&json).unwrap();
//! assert_eq!(run.suite.name, "quick");
//! ```
mod csv_row;
mod schema;

pub use csv_row::SummaryRow;
pub use rtbench_load::{ErrorCounts, Model, Percentiles, StreamSummary, Summary};
pub use schema::{
    CheckResult, CheckStatus, Environment, Placement, RelayStats, Run, ServerStats, SuiteInfo,
    TargetRecord, TargetStatus, Trial, TrialStatus, SCHEMA_VERSION,
};
