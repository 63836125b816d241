//! The native launcher: a target's start command in its own process group, pinned to the server
//! CPUs, output to a log file, ready when `/health` answers 200.
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cleanup;
use crate::error::HarnessError;
use crate::provision::{cache_dir, log_tail, open_log};
use crate::server::{free_port, wait_ready, LaunchOptions};
use crate::target::Target;

/// A running native server. Dropping it stops the whole process group.
#[derive(Debug)]
pub struct NativeServer {
    target: String,
    child: Child,
    pgid: i32,
    base_url: String,
    cold_start: Duration,
    stopped: bool,
}

impl NativeServer {
    /// Spawns the target and waits until `/health` answers 200.
    pub fn start(target: &Target, options: &LaunchOptions) -> Result<NativeServer, HarnessError> {
        let port = free_port()?;
        let log = open_log(&options.log)?;
        let log_err = log
            .try_clone()
            .map_err(|e| HarnessError::io(&options.log, e))?;
        let cpus = options.server_cpus.clone();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&target.native.start)
            .current_dir(&target.dir)
            .env("RTBENCH_VERSION_DIR", &target.version_dir)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("WORKERS", options.workers.to_string())
            .env("RTBENCH_CACHE", cache_dir(&options.cache_root, target))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        match &options.upstream_url {
            Some(url) => command.env("UPSTREAM_URL", url),
            None => command.env_remove("UPSTREAM_URL"),
        };
        // SAFETY: only async-signal-safe syscalls run between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // If rtbench dies without running its handlers (SIGKILL), the server dies too.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                pin_current_process(&cpus)
            });
        }
        let spawned = Instant::now();
        let child = command.spawn().map_err(|e| HarnessError::Start {
            target: target.name.clone(),
            message: format!("could not spawn its start command: {e}"),
        })?;
        let pgid = child.id() as i32;
        cleanup::register_group(pgid);
        let mut server = NativeServer {
            target: target.name.clone(),
            child,
            pgid,
            base_url: format!("http://127.0.0.1:{port}"),
            cold_start: Duration::ZERO,
            stopped: false,
        };
        let base_url = server.base_url.clone();
        let ready = wait_ready(&base_url, spawned, options.ready_timeout, || {
            match server.exit_reason() {
                Some(reason) => Err(reason),
                None => Ok(()),
            }
        });
        match ready {
            Ok(cold_start) => {
                server.cold_start = cold_start;
                Ok(server)
            }
            Err(reason) => {
                server.stop();
                Err(HarnessError::Start {
                    target: target.name.clone(),
                    message: format!(
                        "{reason}; last lines of {}:\n{}",
                        options.log.display(),
                        log_tail(&options.log, 10)
                    ),
                })
            }
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Spawn → first 200 on `/health`.
    pub fn cold_start(&self) -> Duration {
        self.cold_start
    }

    /// The server process (the root of its process tree).
    pub fn root_pid(&self) -> i32 {
        self.pgid
    }

    /// Why the server is no longer running, if it is not.
    pub fn exit_reason(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("the server exited ({status})")),
            Ok(None) => None,
            Err(e) => Some(format!("the server could not be waited for: {e}")),
        }
    }

    /// SIGTERM to the whole group, SIGKILL after 3 s; returns once the group is gone.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let _ = self.child.try_wait();
            if !group_alive(self.pgid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if group_alive(self.pgid) {
            signal_group(self.pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        // Members other than the leader may take a moment to be reaped by init after SIGKILL.
        let deadline = Instant::now() + Duration::from_secs(2);
        while group_alive(self.pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        cleanup::unregister_group(self.pgid);
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Pins the calling thread (and so every thread and process it later starts) to `cpus`: in a
/// freshly forked child, the whole process.
pub(crate) fn pin_current_process(cpus: &[usize]) -> std::io::Result<()> {
    pin_thread(0, cpus)
}

/// Pins every thread this process has now (e.g. the signal thread, started before the run) and,
/// through the calling thread, every thread started later to `cpus`.
pub(crate) fn pin_all_threads(cpus: &[usize]) -> std::io::Result<()> {
    for entry in std::fs::read_dir("/proc/self/task")? {
        let Ok(tid) = entry?.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        match pin_thread(tid, cpus) {
            // A thread that ended meanwhile needs no pinning.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            other => other?,
        }
    }
    Ok(())
}

/// sched_setaffinity of one thread (0: the calling one).
fn pin_thread(tid: libc::pid_t, cpus: &[usize]) -> std::io::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    // SAFETY: cpu_set_t is plain data; CPU_SET bounds-checks against its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
