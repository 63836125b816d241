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
    /// Provisioned (or image built); the runtime's self-reported version, and what
    /// [`Launcher::start`] launches.
    Ready {
        version: Option<String>,
        prepared: Prepared,
    },
    /// A requirement of this machine is not met; never measured.
    Unavailable { reason: String },
}

/// What a launcher's prepare step made ready: the handle [`Launcher::start`] launches, so the image
/// started is the one built (with whatever options it was built with), never recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    what: PreparedKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PreparedKind {
    /// The manifest's commands, provisioned into the cache.
    Native,
    /// This image tag.
    Image(String),
}

impl Prepared {
    /// The image a container launch runs, `None` for a native launch.
    pub fn image(&self) -> Option<&str> {
        match &self.what {
            PreparedKind::Native => None,
            PreparedKind::Image(tag) => Some(tag),
        }
    }

    /// A handle for an image built elsewhere (e.g. by `rtbench images`).
    pub fn from_image(tag: impl Into<String>) -> Prepared {
        Prepared {
            what: PreparedKind::Image(tag.into()),
        }
    }
}

impl Launcher {
    /// The name recorded in results.
    pub fn name(&self) -> &'static str {
        match self {
            Launcher::Native => "native",
            Launcher::Docker => "docker",
        }
    }

    /// Checks requirements and provisions (idempotently), or builds (or reuses) the image with the
    /// default [`ImageOptions`]. `progress` hears each step.
    pub fn prepare(
        &self,
        target: &Target,
        cache_root: &Path,
        log: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Readiness, HarnessError> {
        self.prepare_with(target, cache_root, &ImageOptions::default(), log, progress)
    }

    /// [`Launcher::prepare`] with the image options given (ignored by the native launcher).
    pub fn prepare_with(
        &self,
        target: &Target,
        cache_root: &Path,
        image_options: &ImageOptions,
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
                    prepared: Prepared {
                        what: PreparedKind::Native,
                    },
                })
            }
            Launcher::Docker => {
                docker::ensure_base_image(&image_options.base_image, progress)?;
                let build = docker::build_image(target, image_options, log, progress)?;
                Ok(Readiness::Ready {
                    version: build.runtime_version,
                    prepared: Prepared::from_image(build.tag),
                })
            }
        }
    }

    /// Starts one instance of what [`Launcher::prepare`] made ready and waits until it is ready.
    pub fn start(
        &self,
        target: &Target,
        prepared: &Prepared,
        options: &LaunchOptions,
    ) -> Result<Server, HarnessError> {
        match (self, prepared.image()) {
            (Launcher::Native, _) => NativeServer::start(target, options).map(Server::Native),
            (Launcher::Docker, Some(image)) => {
                DockerServer::start(target, image, options).map(Server::Docker)
            }
            (Launcher::Docker, None) => Err(HarnessError::Start {
                target: target.name.clone(),
                message: "prepared for a native launch, started with docker".into(),
            }),
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
