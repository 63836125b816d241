//! The main job: rounds of trials over targets × scenarios, target order rotated each round.
//! Before any round: provisioning and the client ceiling. Each round's targets go one at a time
//! (with `--slices`, together) through [`Round`](crate::round::Round): launch → verify once per run
//! (a FAIL skips the target, recorded) → every pending scenario → stop.
//! Failures are data: they are recorded and the run goes on with the others.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use rtbench_results::{
    ClientCeiling, Environment, Placement, Run, TargetRecord, TargetStatus, Trial, TrialStatus,
    SCHEMA_VERSION,
};

use crate::docker::ImageOptions;
use crate::environment;
use crate::error::HarnessError;
use crate::launcher::{Launcher, Prepared, Readiness};
use crate::load_result::ceiling_record;
use crate::results::{read_run, RunWriter};
use crate::resume::{resume_settings, ResumeFlags};
use crate::round::Round;
use crate::scale_out::Agents;
use crate::scenario::{Plan, Scenario};
use crate::slices::SLICE_WARMUP;
use crate::target::Target;
use crate::trial::{self, HttpShape};
use crate::upstream::UpstreamServer;

/// Everything `rtbench run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Holds `targets/` and `scenarios/`.
    pub root: PathBuf,
    /// Target names; empty means every target.
    pub targets: Vec<String>,
    /// Suite name (`scenarios/suites/<name>.toml`) or a path to a suite file.
    pub suite: String,
    pub launcher: Launcher,
    /// How the docker launcher builds images (its base image); the image built is the one started.
    pub image_options: ImageOptions,
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    /// Why these CPUs (from [`choose_placement`](crate::choose_placement)); recorded with them.
    pub placement_reason: Option<String>,
    /// `WORKERS` for every target.
    pub workers: u32,
    /// The run folder; default `results/<UTC timestamp>-<host>`.
    pub out: Option<PathBuf>,
    /// Complete this earlier run folder instead of starting a new one: its recorded targets, suite,
    /// launcher and placement are kept (take them from [`resume_settings`]; others are refused).
    pub resume: Option<PathBuf>,
    /// Root of the provisioning cache.
    pub cache_root: PathBuf,
    pub rtbench_version: String,
    pub ready_timeout: Duration,
    /// `--agents`: swarm agents generate the closed, open and stream loads (the other scenarios
    /// run here, and the run says so once).
    pub agents: Option<Agents>,
    /// `--slices N`: above 1, every target of a round is up at once and each request/response
    /// cell is measured for all of them in N alternating slices ([`crate::slices`]).
    pub slices: u32,
}

/// What the runner tells its caller as it goes (the caller owns the terminal).
#[derive(Debug, Clone)]
pub enum Progress {
    /// The work ahead: steps (target × variant × trial) and an estimate of the wall time.
    Planned { steps: u64, estimate: Duration },
    /// The client's ceiling for the run: measured now, or (`recorded`) kept from the resumed
    /// run's record. `Err` says why it could not be measured: cells then get no headroom.
    Ceiling {
        ceiling: Result<ClientCeiling, String>,
        recorded: bool,
    },
    /// Something about a target (provisioning, launching, verifying).
    Target { target: String, message: String },
    /// Something about the whole run, said once.
    Note(String),
    /// A step begins.
    Step {
        target: String,
        cell: String,
        trial: u32,
        estimate: Duration,
    },
    /// A step ended; `headline` is its main figure or the failure.
    StepDone {
        target: String,
        cell: String,
        trial: u32,
        ok: bool,
        headline: String,
    },
}

/// How the run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dir: PathBuf,
    /// Every failure, one line each (target or trial, with the reason).
    pub failures: Vec<String>,
}

/// How long the client's ceiling is measured when a run starts: long enough for a steady CPU per
/// request, short beside any suite.
const CEILING_DURATION: Duration = Duration::from_secs(3);
/// The ceiling's connections: the suite's plaintext concurrency.
const CEILING_CONNECTIONS: u64 = 64;

/// Runs (or resumes) a suite and writes the run folder as it goes.
pub fn run(
    options: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutcome, HarnessError> {
    // Everything rtbench itself does (sampler, checks, held connections, the signal thread's
    // cleanup) stays on the client CPUs; servers are pinned to theirs when spawned.
    crate::native::pin_all_threads(&options.client_cpus).map_err(|e| HarnessError::Os {
        context: format!("pinning rtbench to CPUs {:?}", options.client_cpus),
        source: e,
    })?;
    raise_open_files_limit();
    let all_targets = Target::discover(&options.root.join("targets"))?;
    let (mut writer, plan, targets) = match &options.resume {
        Some(dir) => {
            let run = read_run(dir)?;
            // The run's own record decides; options that disagree with it are refused.
            let flags = ResumeFlags {
                targets: &options.targets,
                suite: Some(&options.suite),
                launcher: Some(options.launcher),
                server_cpus: Some(&options.server_cpus),
                client_cpus: Some(&options.client_cpus),
                workers: Some(options.workers),
                agents: Some(options.agents.as_ref().map(|a| a.count)),
                slices: Some(options.slices),
            };
            let recorded = resume_settings(dir, &run, &flags)?;
            let plan = Plan::load(&options.root.join("scenarios"), &recorded.suite)?;
            let targets = Target::select(&all_targets, &recorded.targets)?;
            (RunWriter::resume(dir)?, plan, targets)
        }
        None => {
            let plan = Plan::load(&options.root.join("scenarios"), &options.suite)?;
            let targets = Target::select(&all_targets, &options.targets)?;
            let (stamp, started_at) = environment::utc_now();
            let run_id = format!("{stamp}-{}", environment::hostname());
            let dir = options
                .out
                .clone()
                .unwrap_or_else(|| options.root.join("results").join(&run_id));
            let run = Run {
                schema_version: SCHEMA_VERSION,
                run_id,
                started_at,
                finished_at: None,
                environment: Environment {
                    workers: Some(options.workers),
                    agents: options.agents.as_ref().map(|a| a.count),
                    slices: (options.slices > 1).then_some(options.slices),
                    ..environment::describe(
                        &options.rtbench_version,
                        &options.root,
                        options.launcher.name(),
                        Placement {
                            server_cpus: options.server_cpus.clone(),
                            client_cpus: options.client_cpus.clone(),
                            reason: options.placement_reason.clone(),
                        },
                    )
                },
                suite: plan.suite_info(),
                chosen_targets: targets.iter().map(|t| t.name.clone()).collect(),
                targets: Vec::new(),
                trials: Vec::new(),
            };
            (RunWriter::create(&dir, run)?, plan, targets)
        }
    };

    let mut ledger = Ledger::of(writer.run());
    let steps_per_round: u64 = plan
        .scenarios
        .iter()
        .map(|s| s.variants().len() as u64)
        .sum();
    let round_estimate: Duration = plan
        .scenarios
        .iter()
        .map(|s| {
            // A sliced cell's later slices each add their own short warm-up.
            let slicing = match HttpShape::of(s.kind()) {
                Some(_) => SLICE_WARMUP * options.slices.saturating_sub(1),
                None => Duration::ZERO,
            };
            (s.estimate() + slicing) * s.variants().len() as u32
        })
        .sum();
    progress(Progress::Planned {
        steps: steps_per_round * targets.len() as u64 * u64::from(plan.suite.trials),
        estimate: (round_estimate + Duration::from_secs(5))
            * (targets.len() as u32 * plan.suite.trials),
    });

    if let Some(agents) = &options.agents {
        progress(Progress::Note(agents_note(agents, &plan)));
    }
    if options.slices > 1 {
        progress(Progress::Note(format!(
            "slices: every target of a round is up at once; each request/response cell is \
             measured for all of them in {} alternating slices",
            options.slices
        )));
    }
    let ceiling = client_ceiling(options, &mut writer, progress)?;
    let upstream = UpstreamServer::start()?;
    let mut measurable = Vec::new();
    for target in &targets {
        let (record, prepared) = prepare(options, &mut writer, &ledger, target, progress)?;
        if let Some(record) = record {
            ledger.record(&mut writer, record)?;
        }
        if let (Some(TargetStatus::Ok), Some(prepared)) = (ledger.status(&target.name), prepared) {
            measurable.push((target.clone(), prepared));
        }
    }

    for round in 0..plan.suite.trials {
        let trial_number = round + 1;
        let mut order: Vec<&(Target, Prepared)> = measurable
            .iter()
            .filter(|(target, _)| {
                ledger.status(&target.name) != Some(TargetStatus::Failed)
                    && plan.scenarios.iter().any(|s| {
                        s.variants().iter().any(|v| {
                            !ledger.has_trial(&target.name, s.name(), &v.name, trial_number)
                        })
                    })
            })
            .collect();
        if !order.is_empty() {
            let len = order.len();
            order.rotate_left(round as usize % len);
        }
        // One target at a time; with --slices, every target of the round together.
        let groups: Vec<&[&(Target, Prepared)]> = if options.slices > 1 {
            vec![&order[..]]
        } else {
            order.chunks(1).collect()
        };
        for group in groups {
            let mut round = Round {
                options,
                writer: &mut writer,
                ledger: &mut ledger,
                upstream: &upstream,
                ceiling: ceiling.as_ref(),
            };
            round.run_group(&plan, group, trial_number, progress)?;
        }
    }

    let (_, finished_at) = environment::utc_now();
    writer.update(|run| run.finished_at = Some(finished_at))?;
    Ok(RunOutcome {
        dir: writer.dir().to_path_buf(),
        failures: failures(writer.run()),
    })
}

/// What `--agents` generates and what stays here, in one line.
fn agents_note(agents: &Agents, plan: &Plan) -> String {
    let (remote, here): (Vec<&Scenario>, Vec<&Scenario>) = plan
        .scenarios
        .iter()
        .partition(|s| trial::agents_generate(s.kind()));
    let names = |list: &[&Scenario]| {
        list.iter()
            .map(|s| s.name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!(
        "agents: {} swarm agents ({}) generate the loads of {}",
        agents.count,
        agents.image,
        if remote.is_empty() {
            "no scenario of this suite".to_string()
        } else {
            names(&remote)
        }
    );
    if !here.is_empty() {
        line += &format!("; {} run here (the agents cannot run them)", names(&here));
    }
    line
}

/// The run's client ceiling: the one its run.json records (a resumed run keeps it), else measured
/// now, before any target runs, and recorded. A ceiling that cannot be measured is said and the
/// run goes on without headroom figures.
fn client_ceiling(
    options: &RunOptions,
    writer: &mut RunWriter,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<ClientCeiling>, HarnessError> {
    if let Some(recorded) = writer.run().environment.client_ceiling.clone() {
        progress(Progress::Ceiling {
            ceiling: Ok(recorded.clone()),
            recorded: true,
        });
        return Ok(Some(recorded));
    }
    let ceiling_options = rtbench_load::CeilingOptions {
        client_cpus: options.client_cpus.clone(),
        server_cpus: options.server_cpus.clone(),
        connections: CEILING_CONNECTIONS,
        duration: CEILING_DURATION,
        io: rtbench_load::IoBackend::default(),
    };
    let measured = match rtbench_load::ceiling(&ceiling_options) {
        Ok(c) if c.summary.requests > 0 => Ok(ceiling_record(&c)),
        Ok(_) => Err("no request completed against the built-in server".to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Ok(c) = &measured {
        let c = c.clone();
        writer.update(|run| run.environment.client_ceiling = Some(c))?;
    }
    progress(Progress::Ceiling {
        ceiling: measured.clone(),
        recorded: false,
    });
    Ok(measured.ok())
}

/// Provisioning and requirement checks, once per target per run (again on resume: the handle is
/// what starts it). A `None` record keeps an earlier one.
fn prepare(
    options: &RunOptions,
    writer: &mut RunWriter,
    ledger: &Ledger,
    target: &Target,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Option<TargetRecord>, Option<Prepared>), HarnessError> {
    let existing = ledger.targets.get(&target.name);
    let keep_existing = existing.is_some_and(|t| t.version.is_some());
    if existing.is_some_and(|t| t.status != TargetStatus::Ok) {
        return Ok((None, None));
    }
    let mut handle = None;
    let mut record = TargetRecord {
        name: target.name.clone(),
        display_name: target.display_name.clone(),
        runtime: target.runtime.clone(),
        version: None,
        survey_row: Some(target.survey_row.clone()),
        workers: Some(target.workers(options.workers, options.server_cpus.len())),
        status: TargetStatus::Ok,
        reason: None,
        checks: Vec::new(),
    };
    let log = writer
        .dir()
        .join("logs")
        .join(format!("{}-provision.log", target.name));
    let mut say = |message: &str| {
        progress(Progress::Target {
            target: target.name.clone(),
            message: message.to_string(),
        })
    };
    match options.launcher.prepare_with(
        target,
        &options.cache_root,
        &options.image_options,
        &log,
        &mut say,
    ) {
        Ok(Readiness::Ready { version, prepared }) => {
            handle = Some(prepared);
            if let Some(v) = &version {
                let (name, v) = (target.name.clone(), v.clone());
                writer.update(|run| {
                    run.environment.runtime_versions.insert(name, v);
                })?;
            }
            record.version = version;
        }
        Ok(Readiness::Unavailable { reason }) => {
            say(&format!("unavailable: {reason}"));
            record.status = TargetStatus::Unavailable;
            record.reason = Some(reason);
        }
        Err(err) => {
            say(&format!("failed: {err}"));
            record.status = TargetStatus::Failed;
            record.reason = Some(err.to_string());
        }
    }
    Ok(((!keep_existing).then_some(record), handle))
}

/// The runner's own record of what is done and which targets can be measured: it decides what
/// runs next from this, and tells the writer what to record.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) targets: BTreeMap<String, TargetRecord>,
    /// (target, scenario, variant, trial) of every finished trial.
    done: BTreeSet<(String, String, String, u32)>,
}

impl Ledger {
    /// What an existing (resumed) run has already done; empty for a new run.
    fn of(run: &Run) -> Ledger {
        Ledger {
            targets: run
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
            done: run
                .trials
                .iter()
                .map(|t| {
                    (
                        t.target.clone(),
                        t.scenario.clone(),
                        t.variant.clone(),
                        t.trial,
                    )
                })
                .collect(),
        }
    }

    pub(crate) fn status(&self, target: &str) -> Option<TargetStatus> {
        self.targets.get(target).map(|t| t.status)
    }

    pub(crate) fn has_trial(
        &self,
        target: &str,
        scenario: &str,
        variant: &str,
        trial: u32,
    ) -> bool {
        let key = (target.into(), scenario.into(), variant.into(), trial);
        self.done.contains(&key)
    }

    pub(crate) fn trial_done(&mut self, trial: &Trial) {
        let key = (
            trial.target.clone(),
            trial.scenario.clone(),
            trial.variant.clone(),
            trial.trial,
        );
        self.done.insert(key);
    }

    /// Records (or replaces) a target's record, here and in the run folder.
    pub(crate) fn record(
        &mut self,
        writer: &mut RunWriter,
        record: TargetRecord,
    ) -> Result<(), HarnessError> {
        self.targets.insert(record.name.clone(), record.clone());
        writer.set_target(record)
    }

    pub(crate) fn mark_failed(
        &mut self,
        writer: &mut RunWriter,
        target: &str,
        reason: String,
    ) -> Result<(), HarnessError> {
        let Some(mut record) = self.targets.get(target).cloned() else {
            return Ok(());
        };
        record.status = TargetStatus::Failed;
        record.reason = Some(reason);
        self.record(writer, record)
    }
}

/// One line per failed target or trial. Unavailable targets are not failures: they are reported.
fn failures(run: &Run) -> Vec<String> {
    let targets = run
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Failed)
        .map(|t| format!("{}: {}", t.name, t.reason.clone().unwrap_or_default()));
    let trials = run
        .trials
        .iter()
        .filter(|t| t.status == TrialStatus::Failed)
        .map(|t| {
            format!(
                "{} {}/{} trial {}: {}",
                t.target,
                t.scenario,
                t.variant,
                t.trial,
                t.reason.clone().unwrap_or_default()
            )
        });
    targets.chain(trials).collect()
}

/// Held connections and open streams need thousands of descriptors, for rtbench and (inherited)
/// for the servers it starts.
pub(crate) fn raise_open_files_limit() {
    // SAFETY: plain getrlimit/setrlimit on a stack struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
