//! rtbench's harness: reference-server manifests, native provisioning and launch, resource
//! sampling, scenarios, the runner and the results writer.
//!
//! ```
//! use std::path::Path;
//! use rtbench_harness::{unmet_requirement, Plan, Target};
//!
//! let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
//! let targets = Target::discover(&root.join("targets")).unwrap();
//! assert!(targets.iter().any(|t| t.name == "axum"));
//! for t in &targets {
//!     let here = unmet_requirement(t).unwrap_or_else(|| "available".into());
//!     println!("{} ({} {}): {here}", t.name, t.runtime, t.runtime_version);
//! }
//! let plan = Plan::load(&root.join("scenarios"), "quick").unwrap();
//! assert!(plan.scenario_names().contains(&"plaintext".to_string()));
//! ```
mod cell_load;
mod cleanup;
mod docker;
mod environment;
mod error;
mod launcher;
mod launcher_choice;
mod load_result;
mod native;
mod placement;
mod probe;
mod provision;
mod relay;
mod results;
mod resume;
mod round;
mod runner;
mod sampler;
mod scale_out;
mod scenario;
mod server;
mod slices;
mod target;
mod trial;
mod upstream;
mod verify;

pub use cleanup::{install_handlers, kill_everything, register_container, unregister_container};
pub use docker::{
    agent_index, build_agent_image, collect_agent_outputs, has_client_nodes, swarm_state,
    write_agent_chunks, AgentImage, AgentService, AgentsSpec, Collected, SingleNodeSwarm,
    SwarmState, TaskState, AGENT_IMAGE_REPOSITORY, SLOT_ENV,
};
pub use docker::{
    build_image, check_docker, ensure_base_image, host_extra_ca_certs, image_tag,
    remove_orphan_containers, use_daemon, BaseImageSource, ContainerCgroup, DockerServer,
    ImageBuild, ImageOptions, DEFAULT_BASE_IMAGE,
};
pub use environment::{describe as describe_environment, hostname, online_cpus, utc_now};
pub use error::HarnessError;
pub use launcher::{Launcher, Prepared, Readiness, Server};
pub use launcher_choice::{
    choose_launcher, DaemonCandidates, LauncherChoice, PRIVATE_DOCKER_SOCKET,
};
pub use load_result::load_result;
pub use native::NativeServer;
pub use placement::choose_placement;
pub use provision::{cache_dir, provision, runtime_version, unmet_requirement};
pub use relay::{
    added_latency, added_latency_from_load, detect_buffering, measure_abort, measure_relay,
    relayed_stream, AbortReport, RelayConfig, RelayedStream,
};
pub use results::{read_run, RunWriter};
pub use resume::{resume_settings, ResumeFlags, Resumed};
pub use runner::{run, Progress, RunOptions, RunOutcome};
pub use sampler::{Reading, ResourceSource, Sampler};
pub use scale_out::{use_swarm, Agents, AgentsRun, DEFAULT_AGENTS_START_IN};
pub use scenario::{defaults as scenario_defaults, Plan, Scenario, Suite, SuiteEntry, Variant};
pub use server::LaunchOptions;
pub use target::{NativeCommands, Requirements, Target, ToolRequirement, WorkersSetting};
pub use upstream::{UpstreamConnection, UpstreamServer};
pub use verify::verify;
