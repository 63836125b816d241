//! Containers outlive nothing: each carries its owner (boot id, pid and start time of the rtbench
//! that started it), and those whose owner died without cleaning up (SIGKILL) are swept.
use std::process::Stdio;

use super::cli::{check_docker, docker};
use crate::error::HarnessError;

/// Removes containers labelled `rtbench=1` whose owning rtbench process is gone (killed without
/// running its handlers). Returns the names removed.
pub fn remove_orphan_containers() -> Result<Vec<String>, HarnessError> {
    check_docker()?;
    let output = docker()
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
        let _ = docker()
            .args(["rm", "-f"])
            .args(&orphans)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    Ok(orphans)
}

/// `<boot id>/<pid>/<start time>` of this process: a pid alone could be reused after a crash.
pub(crate) fn owner_id() -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

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
}
