//! What every end-to-end test needs: the repository, the binary, the lock, and a process census.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use rtbench_results::Run;

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the whole test: servers under test run one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The built binary; every test shares the provisioning cache, so runtimes download once.
pub fn rtbench() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rtbench"));
    command.env("RTBENCH_CACHE", repo().join(".cache"));
    command
}

pub fn read_run(dir: &Path) -> Run {
    let text = std::fs::read_to_string(dir.join("run.json")).unwrap();
    rtbench_results::parse_run(&text).unwrap()
}

/// Processes whose command line mentions `needle`, as "pid: command line".
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && !cmdline.contains("cargo") {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

/// Servers of these targets still running: a native server's command is its runtime or binary
/// under the target's cache folder (`.cache/targets/<name>/`), so a leaked one shows it.
pub fn leaked_servers(targets: &[&str]) -> Vec<String> {
    targets
        .iter()
        .flat_map(|name| {
            processes_mentioning(
                &repo()
                    .join(".cache/targets")
                    .join(name)
                    .display()
                    .to_string(),
            )
        })
        .collect()
}
