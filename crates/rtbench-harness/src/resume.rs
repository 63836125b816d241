//! Resuming a run: what the interrupted run recorded decides what the resumed one measures.
//! Flags that agree with the record are accepted, flags that disagree are refused with one line
//! (a resumed run must measure what it started measuring, where and how it started).
use std::path::Path;

use rtbench_results::Run;

use crate::error::HarnessError;
use crate::launcher::Launcher;

/// What the command line says about a resumed run; `None` (or no targets) is "not given".
#[derive(Debug, Clone, Default)]
pub struct ResumeFlags<'a> {
    pub targets: &'a [String],
    pub suite: Option<&'a str>,
    pub launcher: Option<Launcher>,
    pub server_cpus: Option<&'a [usize]>,
    pub client_cpus: Option<&'a [usize]>,
    pub workers: Option<u32>,
    /// `--agents N`; `Some(None)` says "no agents" (the local engine), as the runner passes it.
    pub agents: Option<Option<u64>>,
    /// `--slices N` (1: targets one at a time).
    pub slices: Option<u32>,
}

/// The settings a resumed run continues with, from its run.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    pub targets: Vec<String>,
    pub suite: String,
    pub launcher: Launcher,
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    /// Why the run chose those CPUs, as it recorded (absent in older runs).
    pub placement_reason: Option<String>,
    /// `WORKERS` for every target: the run's own, else (older runs) the flag's, else 1.
    pub workers: u32,
    /// The swarm agents that generate the loads: the run's own (`None`: the local engine).
    pub agents: Option<u64>,
    /// Alternating slices per request/response cell (1: targets one at a time).
    pub slices: u32,
}

/// The recorded settings of the run in `dir`, checked against the flags given with `--resume`.
pub fn resume_settings(
    dir: &Path,
    run: &Run,
    flags: &ResumeFlags,
) -> Result<Resumed, HarnessError> {
    let refuse = |message: String| Err(HarnessError::config(dir.join("run.json"), message));
    let recorded_targets = if run.chosen_targets.is_empty() {
        // Written before the choice was recorded: only the targets it got to are known.
        if flags.targets.is_empty() {
            return refuse(
                "the run does not record which targets were chosen (an older rtbench wrote it): \
                 pass --targets"
                    .into(),
            );
        }
        flags.targets.to_vec()
    } else {
        run.chosen_targets.clone()
    };
    if !flags.targets.is_empty() && !same_set(flags.targets, &recorded_targets) {
        return refuse(format!(
            "--targets {} differs from the run's targets {}; a resumed run measures its own",
            flags.targets.join(","),
            recorded_targets.join(",")
        ));
    }
    let recorded_suite = if run.suite.source.is_empty() {
        run.suite.name.clone()
    } else {
        run.suite.source.clone()
    };
    if let Some(suite) = flags.suite {
        if suite != recorded_suite && suite != run.suite.name {
            return refuse(format!(
                "--suite {suite} differs from the run's suite {recorded_suite}; a resumed run \
                 keeps its suite"
            ));
        }
    }
    let launcher = match run.environment.launcher.as_str() {
        "native" => Launcher::Native,
        "docker" => Launcher::Docker,
        other => return refuse(format!("environment.launcher: unknown launcher '{other}'")),
    };
    if let Some(given) = flags.launcher {
        if given != launcher {
            return refuse(format!(
                "--launcher {} differs from the run's launcher {}; a resumed run keeps its launcher",
                given.name(),
                launcher.name()
            ));
        }
    }
    let placement = &run.environment.placement;
    for (flag, given, recorded) in [
        ("--server-cpus", flags.server_cpus, &placement.server_cpus),
        ("--client-cpus", flags.client_cpus, &placement.client_cpus),
    ] {
        if let Some(given) = given {
            if given != recorded.as_slice() {
                return refuse(format!(
                    "{flag} {} differs from the run's {}; a resumed run keeps its CPU placement",
                    cpu_list(given),
                    cpu_list(recorded)
                ));
            }
        }
    }
    let environment = &run.environment;
    if let (Some(given), Some(recorded)) = (flags.workers, environment.workers) {
        if given != recorded {
            return refuse(format!(
                "--workers {given} differs from the run's {recorded}; a resumed run keeps its workers"
            ));
        }
    }
    if let Some(given) = flags.agents {
        if given != environment.agents {
            let given = given.map_or("no --agents".into(), |n| format!("--agents {n}"));
            let recorded = environment
                .agents
                .map_or("local load generator".into(), |n| {
                    format!("{n} swarm agents")
                });
            return refuse(format!(
                "{given} differs from the run's {recorded}; a resumed run keeps its load generator"
            ));
        }
    }
    let recorded_slices = environment.slices.unwrap_or(1);
    if let Some(given) = flags.slices {
        if given != recorded_slices {
            return refuse(format!(
                "--slices {given} differs from the run's {recorded_slices}; a resumed run keeps \
                 how it measures"
            ));
        }
    }
    Ok(Resumed {
        targets: recorded_targets,
        suite: recorded_suite,
        launcher,
        server_cpus: placement.server_cpus.clone(),
        client_cpus: placement.client_cpus.clone(),
        placement_reason: placement.reason.clone(),
        workers: environment.workers.or(flags.workers).unwrap_or(1),
        agents: environment.agents,
        slices: recorded_slices,
    })
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn cpu_list(cpus: &[usize]) -> String {
    let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
    format!("CPUs {}", list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run interrupted while provisioning: nothing but the start was written.
    fn interrupted() -> Run {
        rtbench_results::parse_run(
            r#"{"schema_version":2,"run_id":"r","started_at":"2026-01-01T00:00:00Z",
            "environment":{"hostname":"h","cpu_model":"c","cores":2,"kernel":"k","memory_bytes":1,
            "rtbench_version":"0","git_commit":"g","launcher":"native",
            "placement":{"server_cpus":[1],"client_cpus":[0]}},
            "suite":{"name":"quick","source":"quick","trials":1,"scenarios":[]},
            "chosen_targets":["axum","go-nethttp"],"targets":[],"trials":[]}"#,
        )
        .unwrap()
    }

    fn settle(flags: ResumeFlags) -> Result<Resumed, String> {
        resume_settings(Path::new("/r"), &interrupted(), &flags).map_err(|e| e.to_string())
    }

    #[test]
    fn a_run_interrupted_while_provisioning_resumes_its_chosen_targets() {
        let resumed = settle(ResumeFlags::default()).unwrap();
        assert_eq!(resumed.targets, ["axum", "go-nethttp"]);
        assert_eq!(resumed.suite, "quick");
        assert_eq!(resumed.launcher, Launcher::Native);
        assert_eq!(
            (resumed.server_cpus, resumed.client_cpus),
            (vec![1], vec![0])
        );
    }

    #[test]
    fn flags_that_agree_are_accepted() {
        let targets = ["go-nethttp".to_string(), "axum".to_string()];
        let flags = ResumeFlags {
            targets: &targets,
            suite: Some("quick"),
            launcher: Some(Launcher::Native),
            server_cpus: Some(&[1]),
            client_cpus: Some(&[0]),
            workers: Some(1),
            agents: Some(None),
            slices: Some(1),
        };
        assert!(settle(flags).is_ok());
    }

    #[test]
    fn flags_that_disagree_are_refused_in_one_line() {
        let axum = ["axum".to_string()];
        let cases = [
            (
                ResumeFlags {
                    targets: &axum,
                    ..ResumeFlags::default()
                },
                "--targets axum differs from the run's targets axum,go-nethttp",
            ),
            (
                ResumeFlags {
                    suite: Some("article"),
                    ..ResumeFlags::default()
                },
                "--suite article differs from the run's suite quick",
            ),
            (
                ResumeFlags {
                    launcher: Some(Launcher::Docker),
                    ..ResumeFlags::default()
                },
                "--launcher docker differs from the run's launcher native",
            ),
            (
                ResumeFlags {
                    server_cpus: Some(&[0]),
                    ..ResumeFlags::default()
                },
                "--server-cpus CPUs 0 differs from the run's CPUs 1",
            ),
            (
                ResumeFlags {
                    client_cpus: Some(&[0, 1]),
                    ..ResumeFlags::default()
                },
                "--client-cpus CPUs 0,1 differs from the run's CPUs 0",
            ),
        ];
        for (flags, expected) in cases {
            let err = settle(flags).unwrap_err();
            assert!(
                err.starts_with("/r/run.json: ") && err.contains(expected),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_resumed_run_keeps_its_workers_and_its_load_generator() {
        let mut run = interrupted();
        run.environment.workers = Some(2);
        run.environment.agents = Some(3);
        let settle = |flags: ResumeFlags| {
            resume_settings(Path::new("/r"), &run, &flags).map_err(|e| e.to_string())
        };
        // Not given: the run's own.
        let resumed = settle(ResumeFlags::default()).unwrap();
        assert_eq!((resumed.workers, resumed.agents), (2, Some(3)));
        let agreeing = ResumeFlags {
            workers: Some(2),
            agents: Some(Some(3)),
            ..ResumeFlags::default()
        };
        assert!(settle(agreeing).is_ok());
        for (flags, expected) in [
            (
                ResumeFlags {
                    workers: Some(1),
                    ..ResumeFlags::default()
                },
                "--workers 1 differs from the run's 2",
            ),
            (
                ResumeFlags {
                    agents: Some(None),
                    ..ResumeFlags::default()
                },
                "no --agents differs from the run's 3 swarm agents",
            ),
            (
                ResumeFlags {
                    agents: Some(Some(2)),
                    ..ResumeFlags::default()
                },
                "--agents 2 differs from the run's 3 swarm agents",
            ),
        ] {
            let err = settle(flags).unwrap_err();
            assert!(err.contains(expected) && !err.contains('\n'), "{err}");
        }
        // A run of the local engine refuses agents; an older run without the record takes the
        // flag's workers.
        let local = interrupted();
        let flags = ResumeFlags {
            agents: Some(Some(2)),
            ..ResumeFlags::default()
        };
        let err = resume_settings(Path::new("/r"), &local, &flags)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--agents 2 differs from the run's local load generator"),
            "{err}"
        );
        let flags = ResumeFlags {
            workers: Some(4),
            ..ResumeFlags::default()
        };
        let resumed = resume_settings(Path::new("/r"), &local, &flags).unwrap();
        assert_eq!((resumed.workers, resumed.agents), (4, None));
    }

    #[test]
    fn a_run_without_its_chosen_targets_needs_them_named() {
        let mut run = interrupted();
        run.chosen_targets.clear();
        let err = resume_settings(Path::new("/r"), &run, &ResumeFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("pass --targets"), "{err}");
        let axum = ["axum".to_string()];
        let flags = ResumeFlags {
            targets: &axum,
            ..ResumeFlags::default()
        };
        let resumed = resume_settings(Path::new("/r"), &run, &flags).unwrap();
        assert_eq!(resumed.targets, ["axum"]);
    }

    #[test]
    fn a_resumed_run_keeps_how_it_measures_its_targets() {
        let mut sliced = interrupted();
        sliced.environment.slices = Some(10);
        let settle = |run: &Run, slices: Option<u32>| {
            let flags = ResumeFlags {
                slices,
                ..ResumeFlags::default()
            };
            resume_settings(Path::new("/r"), run, &flags).map_err(|e| e.to_string())
        };
        assert_eq!(settle(&sliced, None).unwrap().slices, 10);
        assert_eq!(settle(&sliced, Some(10)).unwrap().slices, 10);
        let err = settle(&sliced, Some(4)).unwrap_err();
        assert!(
            err.contains("--slices 4 differs from the run's 10"),
            "{err}"
        );
        // Targets one at a time (no record): --slices is refused, its absence keeps 1.
        let one_at_a_time = interrupted();
        assert_eq!(settle(&one_at_a_time, None).unwrap().slices, 1);
        let err = settle(&one_at_a_time, Some(10)).unwrap_err();
        assert!(
            err.contains("--slices 10 differs from the run's 1"),
            "{err}"
        );
    }
}
