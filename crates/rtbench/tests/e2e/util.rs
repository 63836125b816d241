//! What every end-to-end test needs: the repository, the binary, the lock, and a process census.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

/// A scratch root holding `scenarios/` (the shipped ones plus `suites/test.toml`) and copies of
/// the named targets; `edit` may rewrite a copied manifest.
pub fn scratch_root(
    suite: &str,
    targets: &[(&str, &str)],
    edit: impl Fn(&str, String) -> String,
) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let scenarios = root.path().join("scenarios/suites");
    std::fs::create_dir_all(&scenarios).unwrap();
    for entry in std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(
                entry.path(),
                root.path().join("scenarios").join(entry.file_name()),
            )
            .unwrap();
        }
    }
    std::fs::write(scenarios.join("test.toml"), suite).unwrap();
    for (source, name) in targets {
        let to = root.path().join("targets").join(name);
        copy_folder(&repo().join("targets").join(source), &to);
        let manifest = std::fs::read_to_string(to.join("target.toml")).unwrap();
        let manifest = manifest.replace(
            &format!("name = \"{source}\""),
            &format!("name = \"{name}\""),
        );
        std::fs::write(to.join("target.toml"), edit(name, manifest)).unwrap();
    }
    root
}

/// `rtbench run` of the scratch root's `test` suite into `out`. No `--quiet`: stderr is no
/// terminal here, so the plain lines come by default.
pub fn test_suite(root: &Path, out: &Path) -> Command {
    let mut command = rtbench();
    command
        .args([
            "run",
            "--launcher",
            "native",
            "--suite",
            "test",
            "--no-report",
        ])
        .arg("--root")
        .arg(root)
        .arg("--out")
        .arg(out);
    command
}

/// Waits until `dir/run.json` holds at least `count` trials and returns it. Generous: on a cold
/// cache this includes provisioning the targets.
pub fn wait_for_trials(dir: &Path, count: usize) -> Run {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if dir.join("run.json").is_file() {
            let run = read_run(dir);
            if run.trials.len() >= count {
                return run;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {count} trial(s) in {} after 10 min",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to a process this test started.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signal) };
}

/// The running server processes of `target`: those whose program (first argument) lies in the
/// target's cache folder, where a native server's binary or runtime lives, and that were given a
/// `PORT` to listen on. Tools that only mention the folder (`go build -o …`, the `sh -c` of a
/// start command) or run its runtime for something else (`node --version`) are not servers.
pub fn server_pids(target: &str) -> Vec<u32> {
    let folder = repo().join(".cache/targets").join(target);
    let folder = folder.display().to_string() + "/";
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let given_a_port = || {
            std::fs::read(entry.path().join("environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v.starts_with(b"PORT=")))
        };
        if cmdline.starts_with(folder.as_bytes()) && given_a_port() {
            pids.push(pid);
        }
    }
    pids
}

/// Servers of these targets still running once killed ones had a moment to be reaped (a leaked
/// server stays, a killed one goes within milliseconds). The leaked ones are then killed, so one
/// failing test does not fail the next.
pub fn leaked_after_exit(targets: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let leaked = leaked_servers(targets);
        if leaked.is_empty() || Instant::now() > deadline {
            for process in &leaked {
                if let Some(pid) = process.split(':').next().and_then(|p| p.parse().ok()) {
                    send_signal(pid, libc::SIGKILL);
                }
            }
            return leaked;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies a folder with its subfolders (a target's `versions/` among them).
pub fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let (path, into) = (entry.path(), to.join(entry.file_name()));
        if path.is_dir() {
            copy_folder(&path, &into);
        } else {
            std::fs::copy(&path, &into).unwrap();
        }
    }
}
