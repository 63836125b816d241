//! Nothing rtbench starts may outlive it. Every server process group and container is registered
//! here while it runs, and so is rtbench's private Docker daemon when rtbench started it; Ctrl-C,
//! SIGTERM, SIGHUP and panics kill whatever is still registered.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::docker::docker;

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static CONTAINERS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SERVICES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// This process initialised a single-node swarm that it must leave.
static LEAVE_SWARM: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// rtbench's private Docker daemon when this process started it: its start/stop script and socket.
static STARTED_DAEMON: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);
/// Held while run.json is written; the signal handler takes it for good before it kills anything,
/// so a trial that ends while its server is being killed is not recorded as a failure of the
/// server, and a write in flight completes.
static RECORDING: Mutex<()> = Mutex::new(());

/// Registers a server's process group for cleanup.
pub(crate) fn register_group(pgid: i32) {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
}

pub(crate) fn unregister_group(pgid: i32) {
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&g| g != pgid);
}

/// Registers a container (by name) for `docker rm -f` on exit.
pub fn register_container(name: &str) {
    CONTAINERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(name.to_string());
}

pub fn unregister_container(name: &str) {
    CONTAINERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|c| c != name);
}

/// Registers a swarm service (the scale-out agents) for `docker service rm` on exit.
pub(crate) fn register_service(name: &str) {
    SERVICES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(name.to_string());
}

pub(crate) fn unregister_service(name: &str) {
    SERVICES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|s| s != name);
}

/// Marks a single-node swarm this process initialised, to leave on exit.
pub(crate) fn register_swarm_leave() {
    LEAVE_SWARM.store(true, Ordering::SeqCst);
}

pub(crate) fn unregister_swarm_leave() {
    LEAVE_SWARM.store(false, Ordering::SeqCst);
}

/// Marks rtbench's private daemon (started by `script start` on `socket`) to be stopped on exit.
pub(crate) fn register_started_daemon(script: &Path, socket: &str) {
    *STARTED_DAEMON.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((script.to_path_buf(), socket.to_string()));
}

/// Unmarks it: the start failed, so there is nothing of rtbench's to stop.
pub(crate) fn forget_started_daemon() {
    STARTED_DAEMON
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
}

/// Stops rtbench's private daemon if this process started it (`script stop`, which stops only the
/// daemon that script started); a second call does nothing.
pub(crate) fn stop_started_daemon() {
    let started = STARTED_DAEMON
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some((script, socket)) = started {
        let _ = Command::new(&script)
            .arg("stop")
            .env("RTBENCH_DOCKER_SOCK", socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `write` (a write of the run's record) unless a signal is ending the process, in which case
/// this waits for the exit: nothing is recorded after the servers began to be killed.
pub(crate) fn recording<T>(write: impl FnOnce() -> T) -> T {
    let _gate = RECORDING.lock().unwrap_or_else(|e| e.into_inner());
    write()
}

/// Kills every registered process group, removes every registered container (on the daemon this
/// process chose), service and swarm, and then stops the private daemon if rtbench started it.
pub fn kill_everything() {
    let groups = std::mem::take(&mut *GROUPS.lock().unwrap_or_else(|e| e.into_inner()));
    for pgid in groups {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let containers = std::mem::take(&mut *CONTAINERS.lock().unwrap_or_else(|e| e.into_inner()));
    if !containers.is_empty() {
        let _ = docker()
            .args(["rm", "-f"])
            .args(&containers)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let services = std::mem::take(&mut *SERVICES.lock().unwrap_or_else(|e| e.into_inner()));
    if !services.is_empty() {
        let _ = docker()
            .args(["service", "rm"])
            .args(&services)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for service in &services {
            crate::docker::remove_task_containers(service);
        }
    }
    if LEAVE_SWARM.swap(false, Ordering::SeqCst) {
        let _ = docker()
            .args(["swarm", "leave", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    stop_started_daemon();
}

/// Installs the signal and panic handlers once. On SIGINT, SIGTERM or SIGHUP everything registered
/// is killed, `on_signal` runs (e.g. to print where the finished trials are), and the process
/// exits with 128 + the signal number. Finished trials are already on disk: they are written as
/// each ends.
pub fn install_handlers(on_signal: fn(i32)) -> Result<(), crate::HarnessError> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(|e| crate::HarnessError::Os {
        context: "installing signal handlers".into(),
        source: e,
    })?;
    std::thread::Builder::new()
        .name("rtbench-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Never released: the process exits below.
                std::mem::forget(RECORDING.lock().unwrap_or_else(|e| e.into_inner()));
                kill_everything();
                on_signal(signal);
                std::process::exit(128 + signal);
            }
        })
        .map_err(|e| crate::HarnessError::Os {
            context: "spawning the signal thread".into(),
            source: e,
        })?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_everything();
        default_hook(info);
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    use super::*;

    /// Whether `pid` is a live process (a zombie is dead: it only waits to be reaped).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|s| !s.starts_with(" Z"))
        })
    }

    /// A panic kills every registered process group: the registry is the only thing that can, as
    /// the group's leader is not a child with a parent-death signal and its child is not even
    /// rtbench's child. Run in a helper process, since the panic hook is process-wide.
    #[test]
    fn a_panic_kills_every_registered_process_group() {
        let mut helper = Command::new(std::env::current_exe().unwrap())
            .args([
                "cleanup::tests::helper_panic_holding_a_group",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("RTBENCH_PANIC_HELPER", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(helper.stdout.take().unwrap()).lines();
        let pids: Vec<i32> = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.strip_prefix("GROUP ")
                    .map(|p| p.split(' ').map(|n| n.parse().unwrap()).collect())
            })
            .expect("the helper names its group");
        // Read to the end: a closed pipe would fail the helper's later output.
        lines.for_each(drop);
        let status = helper.wait().unwrap();
        assert_eq!(status.code(), Some(101), "the helper panicked");
        // Killed processes are reparented and reaped within moments; a survivor stays.
        let deadline = Instant::now() + Duration::from_secs(3);
        while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let survivors: Vec<i32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        for &pid in &survivors {
            // SAFETY: kill has no memory-safety preconditions; these are this test's processes.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        assert!(survivors.is_empty(), "outlived the panic: {survivors:?}");
    }

    /// Run by `a_panic_kills_every_registered_process_group` in a child process.
    #[test]
    #[ignore = "helper: run by a_panic_kills_every_registered_process_group"]
    fn helper_panic_holding_a_group() {
        if std::env::var_os("RTBENCH_PANIC_HELPER").is_none() {
            return;
        }
        install_handlers(|_| {}).unwrap();
        // A group of its own: a shell that waits for its own child, as a server's start script
        // that does not `exec` does.
        // Never waited for: the panic hook, not this helper, must end it.
        #[allow(clippy::zombie_processes)]
        let mut leader = Command::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(leader.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        register_group(leader.id() as i32);
        println!("GROUP {} {}", leader.id(), line.trim());
        panic!("on purpose: the hook must kill the group");
    }
}
