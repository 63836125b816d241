//! Which launcher a run uses: containers by default. The user's own Docker daemon first (whatever
//! the `docker` CLI reaches: `DOCKER_HOST`, its context, or the default socket), rtbench's private
//! daemon (`.ci/dockerd.sh`, socket `/run/rtbench-docker.sock`) only when the user's does not answer
//! and the private one answers or can be started (root, `dockerd` installed), native otherwise.
//! The decision comes with one line saying which and why.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cleanup;
use crate::docker::{run_with_timeout, use_daemon};
use crate::launcher::Launcher;

/// rtbench's private daemon's socket, as `.ci/dockerd.sh` names it (`RTBENCH_DOCKER_SOCK` moves it).
pub const PRIVATE_DOCKER_SOCKET: &str = "/run/rtbench-docker.sock";

/// How long a daemon may take to answer `docker version` before it counts as not answering.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The daemons the decision may use.
#[derive(Debug, Clone)]
pub struct DaemonCandidates {
    /// The user's daemon as a `DOCKER_HOST` value; `None`: whatever the CLI reaches on its own.
    pub user: Option<String>,
    /// rtbench's private daemon (`unix://…`).
    pub private: String,
    /// `.ci/dockerd.sh`, when rtbench may start the private daemon (root, the script and `dockerd`
    /// present); `None` otherwise.
    pub start_script: Option<PathBuf>,
}

impl DaemonCandidates {
    /// The candidates of this process: `DOCKER_HOST` (or the CLI's default), the private socket,
    /// and `<root>/.ci/dockerd.sh` when this process runs as root and `dockerd` is installed.
    pub fn from_environment(root: &Path) -> DaemonCandidates {
        let socket = std::env::var("RTBENCH_DOCKER_SOCK")
            .unwrap_or_else(|_| PRIVATE_DOCKER_SOCKET.to_string());
        let script = root.join(".ci/dockerd.sh");
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        DaemonCandidates {
            user: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            private: format!("unix://{socket}"),
            start_script: (root_user && script.is_file() && on_path("dockerd")).then_some(script),
        }
    }
}

/// The launcher chosen and the one line saying why. When rtbench started its private daemon for
/// the choice, the daemon is stopped when this is dropped, and on a signal or panic before that
/// (it is registered with the cleanup).
#[derive(Debug)]
pub struct LauncherChoice {
    pub launcher: Launcher,
    /// e.g. `launcher: docker (the Docker daemon at unix:///var/run/docker.sock answers)`.
    pub line: String,
    started_daemon: bool,
}

impl Drop for LauncherChoice {
    fn drop(&mut self) {
        if self.started_daemon {
            cleanup::stop_started_daemon();
        }
    }
}

/// Decides the launcher: `forced` (`--launcher`) wins; otherwise docker when a daemon answers and
/// native when none does. Whenever docker is the answer, every later `docker` command of this
/// process goes to the daemon found.
pub fn choose_launcher(forced: Option<Launcher>, candidates: &DaemonCandidates) -> LauncherChoice {
    let choice = |launcher, line: String, started_daemon| LauncherChoice {
        launcher,
        line: format!("launcher: {} ({line})", Launcher::name(&launcher)),
        started_daemon,
    };
    if forced == Some(Launcher::Native) {
        return choice(Launcher::Native, "asked for native".into(), false);
    }
    let forced_note = if forced.is_some() {
        "asked for docker; "
    } else {
        ""
    };
    if !on_path("docker") {
        let why = "no docker CLI on PATH (apt-get install docker.io)";
        return match forced {
            Some(launcher) => choice(launcher, format!("{forced_note}{why}"), false),
            None => choice(Launcher::Native, why.into(), false),
        };
    }
    let user = candidates
        .user
        .clone()
        .unwrap_or_else(|| "the docker CLI's default".into());
    if answers(candidates.user.as_deref()) {
        if let Some(host) = &candidates.user {
            use_daemon(host);
        }
        return choice(
            Launcher::Docker,
            format!("{forced_note}the Docker daemon at {user} answers"),
            false,
        );
    }
    if answers(Some(&candidates.private)) {
        use_daemon(&candidates.private);
        return choice(
            Launcher::Docker,
            format!(
                "{forced_note}none answers at {user}; rtbench's private daemon at {} does",
                candidates.private
            ),
            false,
        );
    }
    if let Some(script) = &candidates.start_script {
        // Registered before the start: a signal while it starts stops it too.
        cleanup::register_started_daemon(script, socket_path(&candidates.private));
        let started = run_with_timeout(
            Command::new(script)
                .arg("start")
                .env("RTBENCH_DOCKER_SOCK", socket_path(&candidates.private)),
            Duration::from_secs(120),
        );
        if !started {
            // Nothing of ours runs: whatever the script found is not rtbench's to stop.
            cleanup::forget_started_daemon();
        } else if answers(Some(&candidates.private)) {
            use_daemon(&candidates.private);
            return choice(
                Launcher::Docker,
                format!(
                    "{forced_note}none answers at {user}; started rtbench's private daemon at {} for this run",
                    candidates.private
                ),
                true,
            );
        } else {
            // Started but not answering: of no use, and not left running.
            cleanup::stop_started_daemon();
        }
    }
    let why = format!(
        "no Docker daemon answers at {user} nor at {}, and {}",
        candidates.private,
        if candidates.start_script.is_some() {
            "starting rtbench's private daemon failed (see /tmp/rtbench-dockerd.log)"
        } else {
            "rtbench may not start its private daemon (needs root and dockerd)"
        }
    );
    match forced {
        Some(launcher) => choice(launcher, format!("{forced_note}{why}"), false),
        None => choice(Launcher::Native, why, false),
    }
}

/// `docker version` reaches a server at `host` (`None`: the CLI's own choice) within the timeout.
fn answers(host: Option<&str>) -> bool {
    let mut command = Command::new("docker");
    command.args(["version", "--format", "{{.Server.Version}}"]);
    if let Some(host) = host {
        command.env("DOCKER_HOST", host);
    }
    run_with_timeout(&mut command, PROBE_TIMEOUT)
}

fn socket_path(host: &str) -> &str {
    host.strip_prefix("unix://").unwrap_or(host)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let path = dir.join(program);
            path.is_file()
                && std::fs::metadata(&path).is_ok_and(|m| {
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> DaemonCandidates {
        let dir = std::env::temp_dir().join(format!("rtbench-no-daemon-{}", std::process::id()));
        DaemonCandidates {
            user: Some(format!("unix://{}/user.sock", dir.display())),
            private: format!("unix://{}/private.sock", dir.display()),
            start_script: None,
        }
    }

    #[test]
    fn no_daemon_answering_means_native_with_the_reason() {
        let choice = choose_launcher(None, &nowhere());
        assert_eq!(choice.launcher, Launcher::Native);
        assert!(
            choice.line.starts_with("launcher: native ("),
            "{}",
            choice.line
        );
        assert!(choice.line.contains("user.sock"), "{}", choice.line);
        assert!(!choice.line.contains('\n'));
    }

    #[test]
    fn a_forced_launcher_wins() {
        let native = choose_launcher(Some(Launcher::Native), &nowhere());
        assert_eq!(native.launcher, Launcher::Native);
        assert!(native.line.contains("asked for native"), "{}", native.line);
        let docker = choose_launcher(Some(Launcher::Docker), &nowhere());
        assert_eq!(docker.launcher, Launcher::Docker);
        assert!(docker.line.contains("asked for docker"), "{}", docker.line);
    }
}
