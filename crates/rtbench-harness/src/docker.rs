//! The container launcher: each target's image (built from `targets/<name>/Dockerfile`, tagged by a
//! hash of the folder), the base image it builds on (pulled, or made with debootstrap when no
//! registry answers), and containers run on the host network pinned to the server CPUs.
//!
//! Everything goes through the `docker` CLI, so `DOCKER_HOST` and the CLI's contexts apply as they
//! would for a user. Every container carries the label `rtbench=1` and its owner (boot id, pid and
//! start time of the rtbench process), is registered with [`crate::cleanup`] while it runs, and is
//! removed on drop, on error, on Ctrl-C and on panic; [`remove_orphan_containers`] sweeps those
//! whose owner died without cleaning up (SIGKILL).
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cleanup;
use crate::error::HarnessError;
use crate::provision::{log_tail, open_log};
use crate::sampler::ResourceSource;
use crate::server::{free_port, wait_ready, LaunchOptions};
use crate::target::Target;

/// The base image tag every target Dockerfile builds `FROM` unless told otherwise.
pub const DEFAULT_BASE_IMAGE: &str = "debian:trixie-slim";

/// Build outputs and caches that are neither hashed into the image tag nor sent to the daemon
/// (each target's `.dockerignore` lists the same names).
const IGNORED_NAMES: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".cache",
];

/// The debootstrap recipe, shared with `.ci/base-image.sh` (one copy of the idea).
const BASE_IMAGE_SCRIPT: &str = include_str!("../../../.ci/base-image.sh");

/// How target images are built.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// `BASE_IMAGE` build argument (default [`DEFAULT_BASE_IMAGE`]).
    pub base_image: String,
    /// PEM text installed as an extra CA inside build stages (for TLS-intercepting proxies);
    /// empty for none. Default: [`host_extra_ca_certs`].
    pub extra_ca_certs: String,
    /// Rebuild even when an image with the folder's hash exists.
    pub rebuild: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            base_image: DEFAULT_BASE_IMAGE.to_string(),
            extra_ca_certs: host_extra_ca_certs(),
            rebuild: false,
        }
    }
}

/// What [`build_image`] did.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    /// `rtbench-<name>:<hash12>`.
    pub tag: String,
    /// The image existed and was reused.
    pub reused: bool,
    /// Wall time of the build (zero when reused).
    pub build_time: Duration,
    /// Uncompressed image size as the daemon reports it.
    pub size_bytes: u64,
    /// The runtime's own version, recorded in the image at build time by running it
    /// (`/etc/rtbench-runtime-version`).
    pub runtime_version: Option<String>,
}

/// Where the base image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseImageSource {
    /// Already in the daemon's image store.
    Present,
    /// Pulled from a registry.
    Pulled,
    /// Built locally with debootstrap and `docker import`.
    Built,
}

/// Checks that the `docker` CLI exists and its daemon answers; returns the daemon's version.
///
/// The error is one line: `docker: not found on PATH: …` or `docker: daemon not reachable at …`.
pub fn check_docker() -> Result<String, HarnessError> {
    let output = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output();
    let output =
        match output {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(docker_error(
                "not found on PATH: install docker.io (apt-get install docker.io) or Docker Engine",
            )),
            Err(e) => return Err(docker_error(format!("could not run docker: {e}"))),
        };
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() && !version.is_empty() {
        return Ok(version);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no answer");
    Err(docker_error(format!(
        "daemon not reachable at {}: {why} (start one with .ci/dockerd.sh start, or set DOCKER_HOST)",
        docker_host()
    )))
}

/// The image tag of a target: `rtbench-<name>:<hash12>`, from every file of its folder (paths,
/// contents, executable bits; build outputs skipped) and the base image name.
pub fn image_tag(target: &Target, base_image: &str) -> Result<String, HarnessError> {
    let mut files = Vec::new();
    collect_files(&target.dir, &target.dir, &mut files)?;
    files.sort();
    let mut hash = Fnv128::new();
    hash.write(base_image.as_bytes());
    for relative in &files {
        let path = target.dir.join(relative);
        let bytes = std::fs::read(&path).map_err(|e| HarnessError::io(&path, e))?;
        let executable = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false);
        hash.write(relative.to_string_lossy().as_bytes());
        hash.write(&[0, u8::from(executable)]);
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
    }
    Ok(format!(
        "rtbench-{}:{}",
        target.name,
        &format!("{:032x}", hash.finish())[..12]
    ))
}

/// Makes sure `base_image` is in the daemon's store: reuse it, else `docker pull` it, else build
/// it with debootstrap from this host's apt mirror and `docker import` it (needs root and
/// debootstrap; about 25 s). `progress` hears one line per step.
pub fn ensure_base_image(
    base_image: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<BaseImageSource, HarnessError> {
    check_docker()?;
    if image_exists(base_image) {
        return Ok(BaseImageSource::Present);
    }
    progress(&format!("pulling {base_image}"));
    let pulled = run_with_timeout(
        Command::new("docker").args(["pull", "-q", base_image]),
        Duration::from_secs(120),
    );
    if pulled && image_exists(base_image) {
        return Ok(BaseImageSource::Pulled);
    }
    progress(&format!(
        "no registry answered; building {base_image} with debootstrap"
    ));
    let mut child = Command::new("bash")
        .args(["-s", "--", base_image])
        .env("RTBENCH_BASE_SKIP_LOOKUP", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HarnessError::Os {
            context: "running bash for the base image script".into(),
            source: e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(BASE_IMAGE_SCRIPT.as_bytes());
    }
    let stderr = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(pipe), &mut text);
            text
        })
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            progress(line.trim_start_matches("base-image: "));
        }
    }
    let status = child.wait().map_err(|e| HarnessError::Os {
        context: "waiting for the base image script".into(),
        source: e,
    })?;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() || !image_exists(base_image) {
        let why = stderr
            .lines()
            .rev()
            .map(|l| l.trim_start_matches("base-image: "))
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(HarnessError::Provision {
            target: base_image.to_string(),
            message: format!("building the base image failed: {why}"),
        });
    }
    Ok(BaseImageSource::Built)
}

/// Builds the target's image unless one with the same tag exists (or `options.rebuild`). The
/// build output is appended to `log`; `progress` hears each build step. Older
/// `rtbench-<name>:*` images are removed after a successful build.
pub fn build_image(
    target: &Target,
    options: &ImageOptions,
    log: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<ImageBuild, HarnessError> {
    check_docker()?;
    let tag = image_tag(target, &options.base_image)?;
    if !options.rebuild && image_exists(&tag) {
        return Ok(ImageBuild {
            size_bytes: image_size(&tag),
            runtime_version: image_runtime_version(&tag),
            tag,
            reused: true,
            build_time: Duration::ZERO,
        });
    }
    let dockerfile = target.dir.join("Dockerfile");
    if !dockerfile.is_file() {
        return Err(HarnessError::config(
            &dockerfile,
            "missing (needed by --launcher docker)",
        ));
    }
    if !image_exists(&options.base_image) {
        return Err(HarnessError::Provision {
            target: target.name.clone(),
            message: format!(
                "base image {} is not in the daemon's store (run `rtbench images` or .ci/base-image.sh)",
                options.base_image
            ),
        });
    }
    let mut log_file = open_log(log)?;
    let mut command = Command::new("docker");
    command
        .arg("build")
        // The daemon may have no bridge network (rtbench's own dockerd runs with --bridge=none);
        // build steps reach the registries through the host's network.
        .args(["--network", "host", "--tag", &tag])
        // The classic builder keeps the container of a failed step unless told otherwise.
        .arg("--force-rm")
        .args(["--label", &format!("org.rtbench.target={}", target.name)])
        .args(["--build-arg", &format!("BASE_IMAGE={}", options.base_image)])
        .args([
            "--build-arg",
            &format!("EXTRA_CA_CERTS={}", options.extra_ca_certs),
        ]);
    // Docker's predefined proxy arguments: used by build steps, kept out of the image history.
    for name in [
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    ] {
        if let Ok(value) = std::env::var(name) {
            command.args(["--build-arg", &format!("{name}={value}")]);
        }
    }
    if !buildx_available() {
        // Without the buildx plugin a BuildKit request fails outright; the Dockerfiles need
        // nothing the classic builder lacks.
        command.env("DOCKER_BUILDKIT", "0");
    } else {
        command.args(["--progress", "plain"]);
    }
    command
        .arg(&target.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _ = writeln!(
        log_file,
        "$ docker build --tag {tag} {}",
        target.dir.display()
    );
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| HarnessError::Os {
        context: "running docker build".into(),
        source: e,
    })?;
    let stderr_pipe = child.stderr.take();
    let stderr_log = log_file.try_clone().map_err(|e| HarnessError::io(log, e))?;
    let stderr_thread = stderr_pipe.map(|pipe| {
        std::thread::spawn(move || {
            let mut stderr_log = stderr_log;
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = writeln!(stderr_log, "{line}");
            }
        })
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(log_file, "{line}");
            if let Some(step) = build_step(&line) {
                progress(&format!("{}: {step}", target.name));
            }
        }
    }
    let status = child.wait().map_err(|e| HarnessError::Os {
        context: "waiting for docker build".into(),
        source: e,
    })?;
    if let Some(thread) = stderr_thread {
        let _ = thread.join();
    }
    if !status.success() {
        return Err(HarnessError::Provision {
            target: target.name.clone(),
            message: format!(
                "docker build exited with {status}; last lines of {}:\n{}",
                log.display(),
                log_tail(log, 12)
            ),
        });
    }
    remove_older_images(&target.name, &tag);
    Ok(ImageBuild {
        size_bytes: image_size(&tag),
        runtime_version: image_runtime_version(&tag),
        tag,
        reused: false,
        build_time: started.elapsed(),
    })
}

/// The host's extra CA certificates (what `update-ca-certificates` adds from
/// `/usr/local/share/ca-certificates`, recursively), concatenated; empty when there are none.
pub fn host_extra_ca_certs() -> String {
    let mut files = Vec::new();
    let root = Path::new("/usr/local/share/ca-certificates");
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "crt") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut pem = String::new();
    for file in files {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if text.contains("-----BEGIN CERTIFICATE-----") {
                pem.push_str(text.trim_end());
                pem.push('\n');
            }
        }
    }
    pem
}

/// Removes containers labelled `rtbench=1` whose owning rtbench process is gone (killed without
/// running its handlers). Returns the names removed.
pub fn remove_orphan_containers() -> Result<Vec<String>, HarnessError> {
    check_docker()?;
    let output = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=rtbench=1",
            "--format",
            "{{.Names}}\t{{.Label \"rtbench.owner\"}}",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::Os {
            context: "running docker ps".into(),
            source: e,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let orphans: Vec<String> = text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, owner)| !owner_alive(owner))
        .map(|(name, _)| name.to_string())
        .collect();
    if !orphans.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&orphans)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    Ok(orphans)
}

/// A container's cgroup directories. On cgroup v2 all three are the same directory; on v1 each
/// controller has its own hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroup {
    /// Holds `cgroup.procs` (every process of the container).
    pub procs: PathBuf,
    /// Holds `memory.current` (v2) or `memory.usage_in_bytes` (v1).
    pub memory: PathBuf,
    /// Holds `cpu.stat` (v2) or `cpuacct.usage` (v1).
    pub cpu: PathBuf,
}

impl ContainerCgroup {
    /// The cgroup of process `pid`, resolved through this process's mount table.
    pub fn of_pid(pid: i32) -> Option<ContainerCgroup> {
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        resolve_cgroup(&cgroups, &mountinfo)
    }

    /// Every pid in the container's cgroup (and any child cgroups).
    pub fn pids(&self) -> Vec<i32> {
        ResourceSource::Cgroup {
            procs: self.procs.clone(),
            memory: self.memory.clone(),
            cpu: self.cpu.clone(),
        }
        .pids()
    }
}

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
    /// Runs the target's image (built by [`build_image`] with `image_options`) on the host
    /// network, pinned to `options.server_cpus`, and waits until `/health` answers 200. Cold start
    /// runs from spawning `docker run` to that first 200.
    pub fn start(
        target: &Target,
        image_options: &ImageOptions,
        options: &LaunchOptions,
    ) -> Result<DockerServer, HarnessError> {
        check_docker()?;
        // Containers of an rtbench that was killed outright (no handlers ran) go before the
        // first new one starts; once per process is enough.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            let _ = remove_orphan_containers();
        });
        let image = image_tag(target, &image_options.base_image)?;
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
            target.name,
            std::process::id(),
            NEXT_CONTAINER.fetch_add(1, Ordering::Relaxed)
        );
        let cpus: Vec<String> = options.server_cpus.iter().map(|c| c.to_string()).collect();
        let mut command = Command::new("docker");
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
        let _ = Command::new("docker")
            .args(["logs", &self.name])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .status();
    }

    fn remove(&mut self) {
        self.removed = true;
        let _ = Command::new("docker")
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

fn inspect(object: &str, format: &str) -> Option<String> {
    let output = Command::new("docker")
        .args(["inspect", "--format", format, object])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn image_exists(tag: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What the image's runtime said about its version when the image was built. Read from a
/// throwaway container without network (about 0.3 s).
fn image_runtime_version(tag: &str) -> Option<String> {
    let output = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            tag,
        ])
        .arg("/etc/rtbench-runtime-version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    output.status.success().then(|| line.to_string())
}

fn image_size(tag: &str) -> u64 {
    inspect(tag, "{{.Size}}")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn buildx_available() -> bool {
    Command::new("docker")
        .args(["buildx", "version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Other tags of `rtbench-<name>`: superseded builds. Images still used by a container stay.
fn remove_older_images(name: &str, keep: &str) {
    let repository = format!("rtbench-{name}");
    let Ok(output) = Command::new("docker")
        .args([
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &repository,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let old: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|t| *t != keep && t.starts_with(&format!("{repository}:")))
        .map(str::to_string)
        .collect();
    if !old.is_empty() {
        let _ = Command::new("docker")
            .args(["image", "rm"])
            .args(&old)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Classic builder `Step 3/9 : RUN …` and BuildKit `#7 [build 3/9] RUN …` lines, shortened.
fn build_step(line: &str) -> Option<String> {
    let step = if line.starts_with("Step ") {
        line
    } else if line.starts_with('#') && line.contains(" [") && !line.contains(" DONE ") {
        line.split_once(' ').map(|(_, rest)| rest)?
    } else {
        return None;
    };
    let mut short: String = step.chars().take(100).collect();
    if short.len() < step.len() {
        short.push('…');
    }
    Some(short)
}

fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

fn docker_error(message: impl Into<String>) -> HarnessError {
    HarnessError::Requirement {
        target: "docker".into(),
        message: message.into(),
    }
}

/// Runs a command, killing it after `timeout`; true when it exited 0 in time.
fn run_with_timeout(command: &mut Command, timeout: Duration) -> bool {
    let Ok(mut child) = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let entries = std::fs::read_dir(dir).map_err(|e| HarnessError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if IGNORED_NAMES.contains(&name.as_ref()) || name.ends_with(".pyc") {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| HarnessError::io(&path, e))?;
        if file_type.is_dir() {
            collect_files(root, &path, out)?;
        } else if file_type.is_file() {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// FNV-1a, 128 bits: stable across Rust releases (unlike `DefaultHasher`), enough to tell folder
/// contents apart.
struct Fnv128(u128);

impl Fnv128 {
    fn new() -> Self {
        Fnv128(0x6c62272e07bb014262b821756295c58d)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }

    fn finish(&self) -> u128 {
        self.0
    }
}

/// `<boot id>/<pid>/<start time>` of this process: a pid alone could be reused after a crash.
fn owner_id() -> String {
    let pid = std::process::id() as i32;
    format!(
        "{}/{pid}/{}",
        boot_id(),
        process_start_time(pid).unwrap_or_default()
    )
}

fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(boot), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        // Not written by this version of rtbench: leave it alone.
        return true;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return true;
    };
    boot == boot_id() && process_start_time(pid).is_some_and(|s| s.to_string() == start)
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Field 22 of /proc/<pid>/stat (clock ticks after boot).
fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Maps `/proc/<pid>/cgroup` lines to directories through the mount table: v1 controllers where
/// mounted (`memory`, `cpuacct`), the unified (v2) hierarchy otherwise.
fn resolve_cgroup(cgroups: &str, mountinfo: &str) -> Option<ContainerCgroup> {
    // (controllers or "" for v2, mount root, mount point)
    let mut mounts: Vec<(Vec<String>, String, PathBuf)> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        if left.len() < 5 || right.is_empty() {
            continue;
        }
        let (root, point) = (left[3].to_string(), PathBuf::from(left[4]));
        match right[0] {
            "cgroup2" => mounts.push((Vec::new(), root, point)),
            "cgroup" => {
                let options = right.get(2).copied().unwrap_or("");
                let controllers = options.split(',').map(str::to_string).collect();
                mounts.push((controllers, root, point));
            }
            _ => {}
        }
    }
    let dir_in = |mount: &(Vec<String>, String, PathBuf), path: &str| -> PathBuf {
        let relative = path
            .strip_prefix(mount.1.as_str())
            .unwrap_or(path)
            .trim_start_matches('/');
        mount.2.join(relative)
    };
    let mut unified = None;
    let v1 = |controller: &str| -> Option<PathBuf> {
        cgroups.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
            if !names.split(',').any(|n| n == controller) {
                return None;
            }
            let mount = mounts
                .iter()
                .find(|m| m.0.iter().any(|c| c == controller))?;
            Some(dir_in(mount, path))
        })
    };
    let memory_v1 = v1("memory");
    let cpu_v1 = v1("cpuacct");
    for line in cgroups.lines() {
        if let Some(path) = line.strip_prefix("0::") {
            if let Some(mount) = mounts.iter().find(|m| m.0.is_empty()) {
                unified = Some(dir_in(mount, path));
            }
        }
    }
    let memory = memory_v1.or_else(|| unified.clone())?;
    let cpu = cpu_v1
        .or_else(|| unified.clone())
        .unwrap_or_else(|| memory.clone());
    // Every v1 hierarchy lists the same processes; the memory one is always there.
    Some(ContainerCgroup {
        procs: memory.clone(),
        memory,
        cpu,
    })
}

/// This process's open-files limit (the runner raised the soft limit to the hard one).
fn open_files_limit() -> Option<u64> {
    // SAFETY: getrlimit writes into a zeroed stack struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0).then_some(limit.rlim_cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS_V1: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const MOUNTS_V2: &str = "\
30 23 0:27 /outer /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn cgroup_v1_uses_each_controllers_hierarchy() {
        let cgroups =
            "4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/docker/abc\n";
        let cg = resolve_cgroup(cgroups, MOUNTS_V1).unwrap();
        assert_eq!(cg.memory, PathBuf::from("/sys/fs/cgroup/memory/docker/abc"));
        assert_eq!(cg.cpu, PathBuf::from("/sys/fs/cgroup/cpuacct/docker/abc"));
        assert_eq!(cg.procs, cg.memory);
    }

    #[test]
    fn cgroup_v2_strips_the_mount_root() {
        let cg = resolve_cgroup("0::/outer/system.slice/docker-abc.scope\n", MOUNTS_V2).unwrap();
        let want = PathBuf::from("/sys/fs/cgroup/system.slice/docker-abc.scope");
        assert_eq!(
            (cg.procs, cg.memory, cg.cpu),
            (want.clone(), want.clone(), want)
        );
    }

    #[test]
    fn no_cgroup_mount_is_none() {
        assert_eq!(
            resolve_cgroup("0::/x\n", "1 0 0:1 / / rw - ext4 /dev/vda rw\n"),
            None
        );
    }

    #[test]
    fn build_steps_of_both_builders() {
        assert_eq!(
            build_step("Step 3/9 : RUN apt-get update").as_deref(),
            Some("Step 3/9 : RUN apt-get update")
        );
        assert_eq!(
            build_step("#7 [build 3/9] RUN npm ci").as_deref(),
            Some("[build 3/9] RUN npm ci")
        );
        assert_eq!(build_step(" ---> Running in 5d6db84"), None);
        assert_eq!(build_step("#7 DONE 0.3s"), None);
    }

    #[test]
    fn own_process_is_a_live_owner_and_a_dead_pid_is_not() {
        assert!(owner_alive(&owner_id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let start = process_start_time(pid).unwrap_or(0);
        child.wait().unwrap();
        assert!(!owner_alive(&format!("{}/{pid}/{start}", boot_id())));
        assert!(!owner_alive(&format!(
            "another-boot/{}/0",
            std::process::id()
        )));
        assert!(owner_alive("set-by-someone-else"));
    }

    #[test]
    fn tag_follows_contents_and_skips_build_outputs() {
        let dir = std::env::temp_dir().join(format!("rtbench-docker-tag-{}", std::process::id()));
        let target_dir = dir.join("demo");
        std::fs::create_dir_all(target_dir.join("node_modules")).unwrap();
        std::fs::write(
            target_dir.join("target.toml"),
            "name = \"demo\"\ndisplay_name = \"Demo\"\nruntime = \"sh\"\nruntime_version = \"1\"\n\
             language = \"sh\"\nframework = \"none\"\nsurvey_row = \"x\"\nport = 9000\n\
             [native]\nstart = \"exec true\"\nversion = \"echo 1\"\n",
        )
        .unwrap();
        std::fs::write(target_dir.join("server.js"), "a").unwrap();
        let target = Target::load(&target_dir).unwrap();
        let first = image_tag(&target, DEFAULT_BASE_IMAGE).unwrap();
        assert!(first.starts_with("rtbench-demo:"), "{first}");
        assert_eq!(first.len(), "rtbench-demo:".len() + 12);
        std::fs::write(target_dir.join("node_modules/x.js"), "ignored").unwrap();
        assert_eq!(image_tag(&target, DEFAULT_BASE_IMAGE).unwrap(), first);
        std::fs::write(target_dir.join("server.js"), "b").unwrap();
        let changed = image_tag(&target, DEFAULT_BASE_IMAGE).unwrap();
        assert_ne!(changed, first);
        assert_ne!(image_tag(&target, "debian:other").unwrap(), changed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
