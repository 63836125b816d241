//! Flag values shared by several subcommands: CPU lists, the launcher, where rtbench's files live.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rtbench_harness::Launcher;
use rtbench_results::Placement;

/// Parses `0`, `0,2` or `0-3` (and mixes) into CPU numbers.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim) {
        let bad = || format!("'{text}' is not a CPU list (e.g. 0, 0,1 or 0-3)");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    let online = rtbench_harness::online_cpus();
    if let Some(cpu) = cpus.iter().find(|&&c| c >= online) {
        return Err(format!(
            "CPU {cpu} does not exist here ({online} CPUs online)"
        ));
    }
    Ok(cpus)
}

/// Where server and client run: the CPU lists given, the rest by the default split for the CPUs
/// this process may use (the server keeps one core; the client gets ≥ 2× when there are CPUs
/// for it), with the reason.
pub fn placement(server: Option<&[usize]>, client: Option<&[usize]>) -> Placement {
    rtbench_harness::choose_placement(&rtbench_load::allowed_cpus(), server, client)
}

/// The server's CPUs of the default placement.
pub fn default_server_cpus() -> Vec<usize> {
    placement(None, None).server_cpus
}

/// `0,1,2` for a list of CPUs.
pub fn cpu_words(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `native` or `docker`.
pub fn parse_launcher(text: &str) -> Result<Launcher, String> {
    match text {
        "native" => Ok(Launcher::Native),
        "docker" => Ok(Launcher::Docker),
        other => Err(format!("unknown launcher '{other}' (native or docker)")),
    }
}

/// The launcher `--launcher` forces, else docker when a daemon answers and native otherwise (the
/// harness decides); says which and why on stderr. Keep the choice alive for the whole command:
/// a private daemon rtbench started stops when it is dropped.
pub fn choose_launcher(forced: Option<Launcher>, root: &Path) -> rtbench_harness::LauncherChoice {
    let choice = rtbench_harness::choose_launcher(
        forced,
        &rtbench_harness::DaemonCandidates::from_environment(root),
    );
    eprintln!("{}", choice.line);
    choice
}

/// The folder holding `targets/` and `scenarios/`: `--root`, else the current folder or one of
/// its parents, else the source tree rtbench was built from.
pub fn find_root(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let holds = |dir: &Path| dir.join("targets").is_dir() && dir.join("scenarios").is_dir();
    if let Some(dir) = given {
        if !holds(dir) {
            bail!(
                "--root {}: no targets/ and scenarios/ folders there",
                dir.display()
            );
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().context("reading the current folder")?;
    if let Some(dir) = cwd.ancestors().find(|d| holds(d)) {
        return Ok(dir.to_path_buf());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if holds(&built_from) {
        return Ok(built_from.canonicalize().unwrap_or(built_from));
    }
    bail!("no targets/ and scenarios/ folders here or above; run rtbench from its repository or pass --root")
}

/// `RTBENCH_CACHE`, else `<root>/.cache`.
pub fn cache_root(root: &Path) -> PathBuf {
    std::env::var_os("RTBENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache"))
}

/// Prints where finished trials are when a signal ends the run.
pub fn on_signal(signal: i32) {
    eprintln!(
        "rtbench: interrupted by signal {signal}: every server stopped; finished trials are saved (resume with rtbench run --resume DIR)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Ok(vec![0]));
        assert_eq!(parse_cpu_list("0-1"), Ok(vec![0, 1]));
        assert!(parse_cpu_list("1-0").is_err());
        assert!(parse_cpu_list("x").unwrap_err().contains("not a CPU list"));
        assert!(parse_cpu_list("4096")
            .unwrap_err()
            .contains("does not exist"));
    }
}
