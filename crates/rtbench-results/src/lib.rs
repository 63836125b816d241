//! The results schema of rtbench: what `results/<run>/run.json` holds.
//!
//! The runner writes a [`Run`], the report and compare commands read it with [`parse_run`], which
//! also reads schema-1 files into the current types. Nothing else defines these fields, and the
//! load engine's in-memory types are converted into [`LoadResult`] before they reach a file. A
//! trial's figures are one [`Outcome`] variant per scenario kind; each scenario's resolved
//! settings are recorded as [`ScenarioSettings`]. Every figure is a [`Metric`] of one catalogue,
//! written by one formatter ([`Unit`]). A change that breaks readers bumps
//! [`SCHEMA_VERSION`].
//!
//! ```
//! use rtbench_results::{parse_run, SCHEMA_VERSION};
//! let json = format!(r#"{{"schema_version":{SCHEMA_VERSION},"run_id":"x","started_at":"2026-01-01T00:00:00Z",
//!   "environment":{{"hostname":"h","cpu_model":"c","cores":2,"kernel":"k","memory_bytes":1,
//!   "rtbench_version":"0.1.0","git_commit":"abc","launcher":"native",
//!   "placement":{{"server_cpus":[1],"client_cpus":[0]}}}},
//!   "suite":{{"name":"quick","trials":1,"scenarios":[]}},"targets":[],"trials":[]}}"#);
//! let run = parse_run(&json).unwrap();
//! assert_eq!((run.suite.name.as_str(), run.schema_version), ("quick", SCHEMA_VERSION));
//! ```
mod csv_row;
mod error;
mod format;
mod load;
mod metric;
mod read;
mod schema;
mod settings;
mod stats;
mod v1;

pub use csv_row::{summary_header, summary_record};
pub use error::SchemaError;
pub use format::{si, sig, Unit};
pub use load::{
    AgentRecord, AgentsRecord, ErrorCounts, LoadResult, Model, Percentiles, StreamResult,
};
pub use metric::{Better, Metric, MetricDef};
pub use read::parse_run;
pub use schema::{
    CheckResult, CheckStatus, ClientCeiling, Environment, Outcome, Placement, RelayStats, Run,
    ServerStats, SuiteInfo, TargetRecord, TargetStatus, Trial, TrialStatus, SCHEMA_VERSION,
};
pub use settings::{KindSettings, ScenarioSettings, VariantSettings};
pub use stats::{median, quantile, sorted};
