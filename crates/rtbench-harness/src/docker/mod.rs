//! The container launcher: each target's image (built from `targets/<name>/Dockerfile`, tagged by a
//! hash of the folder), the base image it builds on (pulled, or made with debootstrap when no
//! registry answers), and containers run on the host network pinned to the server CPUs.
//!
//! One job per module: [`cli`] (the `docker` command and which daemon), [`image_tag`] (folder
//! hash), [`base_image`], [`build`] (images and what they say about themselves), [`container`]
//! (start, readiness, stop), [`swarm`] (the scale-out agents' image and service), [`cgroup`] (where a container is accounted) and [`orphans`] (the sweep
//! of containers whose rtbench died). Every container carries the label `rtbench=1` and its owner,
//! is registered with [`crate::cleanup`] while it runs, and is removed on drop, on error, on Ctrl-C
//! and on panic.
mod base_image;
mod build;
mod cgroup;
mod cli;
mod container;
mod image_tag;
mod orphans;
mod swarm;

pub use base_image::{ensure_base_image, BaseImageSource, DEFAULT_BASE_IMAGE};
pub use build::{build_image, host_extra_ca_certs, ImageBuild, ImageOptions};
pub use cgroup::ContainerCgroup;
pub use cli::{check_docker, use_daemon};
pub(crate) use cli::{docker, run_with_timeout};
pub use container::DockerServer;
pub use image_tag::image_tag;
pub use orphans::remove_orphan_containers;
pub(crate) use swarm::remove_task_containers;
pub use swarm::{
    agent_index, build_agent_image, collect_agent_outputs, has_client_nodes, swarm_state,
    write_agent_chunks, AgentImage, AgentService, AgentsSpec, Collected, SingleNodeSwarm,
    SwarmState, TaskState, AGENT_IMAGE_REPOSITORY, SLOT_ENV,
};
