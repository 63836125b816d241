//! One front for every way of launching a target: prepare it once (provision or build an image),
//! then start as many instances as the run needs.
use std::path::Path;
use std::time::Duration;

use crate::docker::{self, DockerServer, ImageOptions};
use crate::error::HarnessError;
use crate::native::NativeServer;
use crate::provision;
use crate::sampler::ResourceSource;
use crate::server::LaunchOptions;
use crate::target::Target;

/// How targets are launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Launcher {
    /// The manifest's native commands on this host.
    Native,
    /// The target's Dockerfile, run with `--network host` and a cpuset.
    Docker,
}

/// Whether a target can run, and its runtime's own version when it can.
#[derive(Debug, Clone)]
pub enum Readiness {
    /// Provisioned (or image built); the runtime's self-reported version.
    Ready { version: Option<String> },
    /// A requirement of this machine is not met; never measured.
    Unavailable { reason: String },
}

impl Launcher {
    /// The name recorded in results.
    pub fn name(&self) -> &'static str {
        match self {
            Launcher::Native => "native",
            Launcher::Docker => "docker",
        }
    }

    /// Checks requirements and provisions (idempotently). `progress` hears each step.
    pub fn prepare(
        &self,
        target: &Target,
        cache_root: &Path,
        log: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Readiness, HarnessError> {
        match self {
            Launcher::Native => {
                if let Some(reason) = provision::unmet_requirement(target) {
                    return Ok(Readiness::Unavailable { reason });
                }
                provision::provision(target, cache_root, log, progress)?;
                Ok(Readiness::Ready {
                    version: provision::runtime_version(target, cache_root),
                })
            }
            Launcher::Docker => {
                let options = ImageOptions::default();
                docker::ensure_base_image(&options.base_image, progress)?;
                let build = docker::build_image(target, &options, log, progress)?;
                Ok(Readiness::Ready {
                    version: build.runtime_version,
                })
            }
        }
    }

    /// Starts one instance and waits until it is ready.
    pub fn start(&self, target: &Target, options: &LaunchOptions) -> Result<Server, HarnessError> {
        match self {
            Launcher::Native => NativeServer::start(target, options).map(Server::Native),
            Launcher::Docker => {
                DockerServer::start(target, &ImageOptions::default(), options).map(Server::Docker)
            }
        }
    }
}

/// A running target, whatever launched it. Dropping it stops it.
#[derive(Debug)]
pub enum Server {
    Native(NativeServer),
    Docker(DockerServer),
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        match self {
            Server::Native(s) => s.base_url(),
            Server::Docker(s) => s.base_url(),
        }
    }

    /// Launch → first 200 on `/health`.
    pub fn cold_start(&self) -> Duration {
        match self {
            Server::Native(s) => s.cold_start(),
            Server::Docker(s) => s.cold_start(),
        }
    }

    /// What the sampler reads for this server.
    pub fn resources(&self) -> ResourceSource {
        match self {
            Server::Native(s) => ResourceSource::ProcessTree { root: s.root_pid() },
            Server::Docker(s) => s.resource_source(),
        }
    }

    /// Why the server is gone, if it is.
    pub fn exit_reason(&mut self) -> Option<String> {
        match self {
            Server::Native(s) => s.exit_reason(),
            Server::Docker(s) => s.exit_reason(),
        }
    }

    /// Stops the server and everything it started.
    pub fn stop(&mut self) {
        match self {
            Server::Native(s) => s.stop(),
            Server::Docker(s) => s.stop(),
        }
    }
}
