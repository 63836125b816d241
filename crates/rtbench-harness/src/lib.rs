//! rtbench's harness: reference-server manifests, native provisioning and launch, resource
//! sampling, scenarios, the runner and the results writer.
//!
//! ```no_run
//! use rtbench_harness::Target;
//! let targets = Target::discover(std::path::Path::new("targets")).unwrap();
//! for t in &targets {
//!     println!("{} ({} {})", t.name, t.runtime, t.runtime_version);
//! }
//! ```
mod cleanup;
mod environment;
mod error;
mod native;
mod provision;
mod results;
mod sampler;
mod scenario;
mod server;
mod target;

pub use cleanup::{install_handlers, kill_everything, register_container, unregister_container};
pub use environment::{describe as describe_environment, hostname, utc_now};
pub use error::HarnessError;
pub use native::NativeServer;
pub use provision::{cache_dir, provision, runtime_version, unmet_requirement};
pub use results::{read_run, RunWriter};
pub use sampler::{Reading, ResourceSource, Sampler};
pub use scenario::{Plan, Scenario, ScenarioKind, Suite, SuiteEntry, Variant};
pub use server::LaunchOptions;
pub use target::{NativeCommands, Requirements, Target, ToolRequirement};
