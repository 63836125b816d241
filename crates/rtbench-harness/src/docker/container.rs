//! A running container: `docker run` on the host network pinned to the server CPUs, ready on
//! `/health`, registered for cleanup, removed on drop.
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::cgroup::ContainerCgroup;
use super::cli::{check_docker, docker, image_exists, inspect};
use super::orphans::{owner_id, remove_orphan_containers};
use crate::cleanup;
use crate::error::HarnessError;
use crate::provision::{log_tail, open_log};
use crate::sampler::ResourceSource;
use crate::server::{free_port, wait_ready, LaunchOptions};
use crate::target::Target;

static NEXT_CONTAINER: AtomicU64 = AtomicU64::new(0);

/// A running container. Dropping it removes the container.
#[derive(Debug)]
pub struct DockerServer {
    target: String,
    name: String,
    image: String,
    base_url: String,
    cold_start: Duration,
    root_pid: i32,
    cgroup: Option<ContainerCgroup>,
    log: PathBuf,
    removed: bool,
}

impl DockerServer {
    /// Runs `image` (the tag [`super::build_image`] made for the target) on the host network,
    /// pinned to `options.server_cpus`, and waits until `/health` answers 200. Cold start runs from
    /// spawning `docker run` to that first 200.
    pub fn start(
        target: &Target,
        image: &str,
        options: &LaunchOptions,
    ) -> Result<DockerServer, HarnessError> {
        check_docker()?;
        // Containers of an rtbench that was killed outright (no handlers ran) go before the
        // first new one starts; once per process is enough.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            let _ = remove_orphan_containers();
        });
        let image = image.to_string();
        if !image_exists(&image) {
            return Err(HarnessError::Start {
                target: target.name.clone(),
                message: format!(
                    "image {image} is not built (run `rtbench images {}`)",
                    target.name
                ),
            });
        }
        let port = free_port()?;
        let name = format!(
            "rtbench-{}-{}-{}",
            target.docker_name(),
            std::process::id(),
            NEXT_CONTAINER.fetch_add(1, Ordering::Relaxed)
        );
        let cpus: Vec<String> = options.server_cpus.iter().map(|c| c.to_string()).collect();
        let mut command = docker();
        command
            .args(["run", "--detach", "--name", &name, "--network", "host"])
            .args(["--label", "rtbench=1"])
            .args(["--label", &format!("rtbench.owner={}", owner_id())])
            .args(["--label", &format!("rtbench.target={}", target.name)])
            // The same bind address as a native launch: the host network is the host's, and
            // nothing outside this machine needs to reach a server under test.
            .args(["--env", "HOST=127.0.0.1"])
            .args(["--env", &format!("PORT={port}")])
            .args(["--env", &format!("WORKERS={}", options.workers)]);
        if !cpus.is_empty() {
            command.args(["--cpuset-cpus", &cpus.join(",")]);
        }
        // The same descriptor limit as a native server (which inherits rtbench's raised one):
        // 10,000 held connections or streams need it, and the daemon's default may be 1024.
        if let Some(limit) = open_files_limit() {
            command.args(["--ulimit", &format!("nofile={limit}:{limit}")]);
        }
        if let Some(url) = &options.upstream_url {
            command.args(["--env", &format!("UPSTREAM_URL={url}")]);
        }
        command
            .arg(&image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Registered before the spawn: a Ctrl-C while `docker run` is in flight still removes it.
        cleanup::register_container(&name);
        let mut server = DockerServer {
            target: target.name.clone(),
            name,
            image,
            base_url: format!("http://127.0.0.1:{port}"),
            cold_start: Duration::ZERO,
            root_pid: 0,
            cgroup: None,
            log: options.log.clone(),
            removed: false,
        };
        let spawned = Instant::now();
        let mut run = match command.spawn() {
            Ok(child) => RunState::Spawned(child),
            Err(e) => {
                server.remove();
                return Err(HarnessError::Start {
                    target: target.name.clone(),
                    message: format!("could not run docker: {e}"),
                });
            }
        };
        let mut last_inspect = Instant::now();
        let base_url = server.base_url.clone();
        let ready = wait_ready(&base_url, spawned, options.ready_timeout, || {
            run.poll(&server.name, &mut last_inspect)
        });
        match ready {
            Ok(cold_start) => {
                server.cold_start = cold_start;
                // `docker run --detach` may still be returning; the container is up either way.
                if let RunState::Spawned(child) = &mut run {
                    let _ = child.wait();
                }
                server.root_pid = inspect(&server.name, "{{.State.Pid}}")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                server.cgroup = ContainerCgroup::of_pid(server.root_pid);
                Ok(server)
            }
            Err(reason) => {
                if let RunState::Spawned(mut child) = run {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                server.save_logs();
                server.remove();
                Err(HarnessError::Start {
                    target: target.name.clone(),
                    message: format!(
                        "{reason}; last lines of {}:\n{}",
                        server.log.display(),
                        log_tail(&server.log, 10)
                    ),
                })
            }
        }
    }

    /// `http://127.0.0.1:<port>` (the container shares the host network).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `docker run` spawn → first 200 on `/health`.
    pub fn cold_start(&self) -> Duration {
        self.cold_start
    }

    /// The container's first process, as a host pid.
    pub fn root_pid(&self) -> i32 {
        self.root_pid
    }

    /// The container's name (`rtbench-<target>-<pid>-<n>`).
    pub fn container(&self) -> &str {
        &self.name
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The container's cgroup directories, when they could be resolved.
    pub fn cgroup(&self) -> Option<&ContainerCgroup> {
        self.cgroup.as_ref()
    }

    /// What the sampler should read: the container's cgroup (its processes from `cgroup.procs`,
    /// summed from /proc like a native tree, plus the cgroup's memory and CPU), or the process
    /// tree of its first process when the cgroup could not be resolved.
    pub fn resource_source(&self) -> ResourceSource {
        match &self.cgroup {
            Some(cgroup) => ResourceSource::Cgroup {
                procs: cgroup.procs.clone(),
                memory: cgroup.memory.clone(),
                cpu: cgroup.cpu.clone(),
            },
            None => ResourceSource::ProcessTree {
                root: self.root_pid,
            },
        }
    }

    /// Why the container is no longer running, if it is not.
    pub fn exit_reason(&mut self) -> Option<String> {
        if self.removed {
            return Some("the container was removed".into());
        }
        container_gone(&self.name)
    }

    /// Copies the container's output into the log, then removes it (`docker rm -f`).
    pub fn stop(&mut self) {
        if self.removed {
            return;
        }
        self.save_logs();
        self.remove();
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    fn save_logs(&self) {
        let Ok(file) = open_log(&self.log) else {
            return;
        };
        let Ok(err) = file.try_clone() else {
            return;
        };
        let _ = docker()
            .args(["logs", &self.name])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .status();
    }

    fn remove(&mut self) {
        self.removed = true;
        let _ = docker()
            .args(["rm", "--force", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        cleanup::unregister_container(&self.name);
    }
}

impl Drop for DockerServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `docker run --detach` in flight, then the container it started.
enum RunState {
    Spawned(Child),
    Running,
}

impl RunState {
    /// `Err` with the reason once `docker run` failed or the container stopped.
    fn poll(&mut self, name: &str, last_inspect: &mut Instant) -> Result<(), String> {
        if let RunState::Spawned(child) = self {
            match child.try_wait() {
                Ok(None) => return Ok(()),
                Ok(Some(status)) if status.success() => *self = RunState::Running,
                Ok(Some(status)) => {
                    let mut stderr = String::new();
                    if let Some(pipe) = child.stderr.as_mut() {
                        let _ = std::io::Read::read_to_string(pipe, &mut stderr);
                    }
                    let why = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    return Err(format!("docker run exited with {status}: {why}"));
                }
                Err(e) => return Err(format!("docker run could not be waited for: {e}")),
            }
        }
        // Asking the daemon costs ~20 ms; twice a second is enough to fail fast on a crash.
        if last_inspect.elapsed() < Duration::from_millis(500) {
            return Ok(());
        }
        *last_inspect = Instant::now();
        match container_gone(name) {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }
}

fn container_gone(name: &str) -> Option<String> {
    match inspect(name, "{{.State.Status}} {{.State.ExitCode}}") {
        None => Some("the container is gone".into()),
        Some(state) => {
            let (status, code) = state.split_once(' ').unwrap_or((&state, "?"));
            match status {
                "running" | "created" | "restarting" => None,
                _ => Some(format!("the container exited (code {code})")),
            }
        }
    }
}

/// This process's open-files limit (the runner raised the soft limit to the hard one).
fn open_files_limit() -> Option<u64> {
    // SAFETY: getrlimit writes into a zeroed stack struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0).then_some(limit.rlim_cur)
    }
}
