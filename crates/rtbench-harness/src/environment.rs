//! What a result depends on besides the code under test: the machine, the kernel, rtbench itself.
use std::path::Path;
use std::process::Command;

use rtbench_results::{Environment, Placement};

/// Describes this machine. `repo` is where `git` is asked for the commit.
pub fn describe(
    rtbench_version: &str,
    repo: &Path,
    launcher: &str,
    placement: Placement,
) -> Environment {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Environment {
        hostname: hostname(),
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into()),
        cores: online_cpus() as u32,
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        memory_bytes: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024),
        rtbench_version: rtbench_version.to_string(),
        git_commit: git_commit(repo),
        launcher: launcher.to_string(),
        placement,
        workers: None,
        agents: None,
        slices: None,
        runtime_versions: Default::default(),
        client_ceiling: None,
    }
}

/// The host name, as results folders are named after it.
pub fn hostname() -> String {
    let name = read_trimmed("/proc/sys/kernel/hostname");
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn git_commit(repo: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        None => "unknown".into(),
    }
}

/// `yyyymmddThhmmssZ` in UTC, for run folder names; and the RFC 3339 form for timestamps.
pub fn utc_now() -> (String, String) {
    let rfc = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = rfc.chars().filter(|c| *c != '-' && *c != ':').collect();
    (compact, rfc)
}

/// CPUs online on the machine (not the ones this process is pinned to).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}
