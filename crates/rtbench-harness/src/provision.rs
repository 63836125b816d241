//! Native provisioning: requirement checks, the manifest's idempotent install commands, and the
//! runtime's self-reported version. Everything installs into a per-target cache folder.
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cleanup;
use crate::error::HarnessError;
use crate::target::Target;

/// Where a target's runtime is installed: `<cache root>/targets/<name>`.
pub fn cache_dir(cache_root: &Path, target: &Target) -> PathBuf {
    cache_root.join("targets").join(&target.name)
}

/// Why the target cannot run on this machine, or `None` when every requirement is met.
pub fn unmet_requirement(target: &Target) -> Option<String> {
    if let Some(min) = &target.requirements.min_glibc {
        let have = glibc_version();
        if version_less(&have, min) {
            return Some(format!(
                "needs glibc >= {min}, this host has {have} (run it with --launcher docker)"
            ));
        }
    }
    for tool in &target.requirements.tools {
        let output = Command::new("sh")
            .arg("-c")
            .arg(&tool.version_command)
            .stdin(Stdio::null())
            .output();
        let text = match output {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr)
            }
            _ => return Some(format!("{} not found: {}", tool.name, tool.hint)),
        };
        match first_version(&text) {
            Some(have) if !version_less(&have, &tool.min_version) => {}
            Some(have) => {
                return Some(format!(
                    "{} {have} is too old (needs >= {}): {}",
                    tool.name, tool.min_version, tool.hint
                ))
            }
            None => {
                return Some(format!(
                    "{}: no version in the output of '{}'",
                    tool.name, tool.version_command
                ))
            }
        }
    }
    None
}

/// Runs the manifest's provision commands in order, output appended to `log`. `progress` hears
/// each command before it runs.
pub fn provision(
    target: &Target,
    cache_root: &Path,
    log: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), HarnessError> {
    let cache = cache_dir(cache_root, target);
    std::fs::create_dir_all(&cache).map_err(|e| HarnessError::io(&cache, e))?;
    // npm refuses a `--prefix` reached through a symlink (it takes the folder for a link to a
    // package of the link's name), and `.cache` may be one.
    let cache = std::fs::canonicalize(&cache).map_err(|e| HarnessError::io(&cache, e))?;
    for (index, command) in target.native.provision.iter().enumerate() {
        progress(&format!(
            "provisioning {} ({}/{})",
            target.name,
            index + 1,
            target.native.provision.len()
        ));
        let mut log_file = open_log(log)?;
        let _ = writeln!(log_file, "$ {command}");
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .current_dir(&target.dir)
            .env("RTBENCH_VERSION_DIR", &target.version_dir)
            .env("RTBENCH_CACHE", &cache)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| HarnessError::io(log, e))?)
            .stderr(log_file);
        // Its own process group, registered for cleanup: a Ctrl-C, SIGTERM or panic in rtbench
        // kills the whole build (cargo, npm and their children), not just `sh`.
        // SAFETY: only async-signal-safe syscalls run between fork and exec.
        unsafe {
            sh.pre_exec(|| {
                if libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = sh.spawn().map_err(|e| HarnessError::Os {
            context: "running sh".into(),
            source: e,
        })?;
        let pgid = child.id() as i32;
        cleanup::register_group(pgid);
        let status = child.wait();
        cleanup::unregister_group(pgid);
        let status = status.map_err(|e| HarnessError::Os {
            context: "waiting for sh".into(),
            source: e,
        })?;
        if !status.success() {
            return Err(HarnessError::Provision {
                target: target.name.clone(),
                message: format!(
                    "'{command}' exited with {status}; last lines of {}:\n{}",
                    log.display(),
                    log_tail(log, 8)
                ),
            });
        }
    }
    Ok(())
}

/// The runtime's own answer to its version command, first line trimmed.
pub fn runtime_version(target: &Target, cache_root: &Path) -> Option<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(&target.native.version)
        .current_dir(&target.dir)
        .env("RTBENCH_VERSION_DIR", &target.version_dir)
        .env("RTBENCH_CACHE", cache_dir(cache_root, target))
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())?
        .trim()
        .to_string();
    output.status.success().then_some(line)
}

pub(crate) fn open_log(path: &Path) -> Result<std::fs::File, HarnessError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| HarnessError::io(parent, e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| HarnessError::io(path, e))
}

/// The last `lines` lines of a log, for error messages.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    if tail.is_empty() {
        "(log is empty)".to_string()
    } else {
        tail
    }
}

fn glibc_version() -> String {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned()
}

/// The first dotted number in `text` ("v22.12.0" → "22.12.0").
fn first_version(text: &str) -> Option<String> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let version: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    Some(version.trim_end_matches('.').to_string())
}

fn version_less(have: &str, min: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (have, min) = (parse(have), parse(min));
    for i in 0..have.len().max(min.len()) {
        let (h, m) = (
            have.get(i).copied().unwrap_or(0),
            min.get(i).copied().unwrap_or(0),
        );
        if h != m {
            return h < m;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_less("2.36", "2.38"));
        assert!(!version_less("2.41", "2.38"));
        assert!(!version_less("1.22.0", "1.22"));
        assert!(version_less("1.9", "1.22"));
    }

    #[test]
    fn finds_the_version_in_tool_output() {
        assert_eq!(
            first_version("go version go1.26.8 linux/amd64").as_deref(),
            Some("1.26.8")
        );
        assert_eq!(first_version("v22.12.0\n").as_deref(), Some("22.12.0"));
        assert_eq!(first_version("none"), None);
    }
}
