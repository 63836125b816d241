//! The `docker` CLI, the one way rtbench talks to a daemon (so `DOCKER_HOST` and the CLI's contexts
//! apply as they would for a user), and which daemon that is.
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::HarnessError;

/// The daemon chosen for this process (see [`crate::choose_launcher`]); unset: the CLI's own.
static DAEMON: OnceLock<String> = OnceLock::new();

/// Points every later `docker` command of this process at `host` (a `DOCKER_HOST` value). The
/// first call wins.
pub fn use_daemon(host: &str) {
    let _ = DAEMON.set(host.to_string());
}

/// A `docker` command aimed at the chosen daemon.
pub(crate) fn docker() -> Command {
    let mut command = Command::new("docker");
    if let Some(host) = DAEMON.get() {
        command.env("DOCKER_HOST", host);
    }
    command
}

/// Checks that the `docker` CLI exists and its daemon answers; returns the daemon's version.
///
/// The error is one line: `docker: not found on PATH: …` or `docker: daemon not reachable at …`.
pub fn check_docker() -> Result<String, HarnessError> {
    let output = docker()
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

pub(crate) fn inspect(object: &str, format: &str) -> Option<String> {
    let output = docker()
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

pub(crate) fn image_exists(tag: &str) -> bool {
    docker()
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn docker_host() -> String {
    if let Some(host) = DAEMON.get() {
        return host.clone();
    }
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

fn docker_error(message: impl Into<String>) -> HarnessError {
    HarnessError::Requirement {
        target: "docker".into(),
        message: message.into(),
    }
}

/// Runs a command, killing it after `timeout`; true when it exited 0 in time.
pub(crate) fn run_with_timeout(command: &mut Command, timeout: Duration) -> bool {
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
