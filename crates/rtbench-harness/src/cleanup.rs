//! Nothing rtbench starts may outlive it. Every server process group and container is registered
//! here while it runs; Ctrl-C, SIGTERM, SIGHUP and panics kill whatever is still registered.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static CONTAINERS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SERVICES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// This process initialised a single-node swarm that it must leave.
static LEAVE_SWARM: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);

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

/// Kills every registered process group and removes every registered container.
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
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f"])
            .args(&containers)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let services = std::mem::take(&mut *SERVICES.lock().unwrap_or_else(|e| e.into_inner()));
    if !services.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["service", "rm"])
            .args(&services)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    if LEAVE_SWARM.swap(false, Ordering::SeqCst) {
        let _ = std::process::Command::new("docker")
            .args(["swarm", "leave", "--force"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
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
