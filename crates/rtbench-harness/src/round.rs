//! One round's work for a group of targets: launch each (verified once per run, on a launch of
//! its own), measure every pending cell, stop them. A group is one target, or with `--slices`
//! every target of the round, whose request/response cells are then taken in alternating slices.
use std::path::Path;

use rtbench_results::{CheckStatus, ClientCeiling, Outcome, TargetStatus, Trial, TrialStatus};

use crate::environment;
use crate::error::HarnessError;
use crate::launcher::{Prepared, Server};
use crate::results::RunWriter;
use crate::runner::{Ledger, Progress, RunOptions};
use crate::scenario::{Plan, Scenario, Variant};
use crate::server::LaunchOptions;
use crate::slices::{measure_sliced, Member};
use crate::target::Target;
use crate::trial::{self, HttpShape, TrialContext};
use crate::upstream::UpstreamServer;
use crate::verify::verify;

/// One round's work for a group of targets (one target, or every target with `--slices`), with
/// what it needs from the run.
pub(crate) struct Round<'a> {
    pub options: &'a RunOptions,
    pub writer: &'a mut RunWriter,
    pub ledger: &'a mut Ledger,
    pub upstream: &'a UpstreamServer,
    pub ceiling: Option<&'a ClientCeiling>,
}

/// A target up for the round: its launch settings and its running server.
struct Live<'t> {
    target: &'t Target,
    prepared: &'t Prepared,
    launch: LaunchOptions,
    server: Server,
}

impl Round<'_> {
    /// A group's share of one round: launch (and verify once per run) each target, every pending
    /// cell, stop them all. A group of several (`--slices`) has all its targets up at once and
    /// measures each request/response cell for them together, in alternating slices.
    pub(crate) fn run_group<'t>(
        &mut self,
        plan: &Plan,
        group: &[&'t (Target, Prepared)],
        trial_number: u32,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), HarnessError> {
        let mut live: Vec<Live<'t>> = Vec::new();
        for (target, prepared) in group.iter().map(|m| (&m.0, &m.1)) {
            if let Some(up) = self.launch_verified(target, prepared, progress)? {
                live.push(up);
            }
        }
        for scenario in &plan.scenarios {
            for variant in scenario.variants() {
                let pending: Vec<usize> = (0..live.len())
                    .filter(|&i| {
                        let name = &live[i].target.name;
                        self.ledger.status(name) != Some(TargetStatus::Failed)
                            && !self.ledger.has_trial(
                                name,
                                scenario.name(),
                                &variant.name,
                                trial_number,
                            )
                    })
                    .collect();
                let shape = HttpShape::of(scenario.kind());
                match shape {
                    Some(shape) if pending.len() > 1 => self.measure_sliced(
                        &mut live,
                        &pending,
                        (scenario, variant, &shape),
                        trial_number,
                        progress,
                    )?,
                    _ => {
                        for &i in &pending {
                            self.measure_one(
                                &mut live[i],
                                scenario,
                                variant,
                                trial_number,
                                progress,
                            )?;
                        }
                    }
                }
                for &i in &pending {
                    self.relaunch_after_crash(&mut live[i], progress)?;
                }
            }
        }
        for up in &mut live {
            up.server.stop();
        }
        Ok(())
    }

    /// Launches a target for the round; the first time in a run its contract is verified on that
    /// launch and the trials get a fresh one. `None` when it failed (recorded).
    fn launch_verified<'t>(
        &mut self,
        target: &'t Target,
        prepared: &'t Prepared,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Option<Live<'t>>, HarnessError> {
        let (options, upstream) = (self.options, self.upstream);
        let launch = LaunchOptions {
            server_cpus: options.server_cpus.clone(),
            workers: target.workers(options.workers, options.server_cpus.len()),
            upstream_url: Some(upstream.url()),
            log: self.writer.log_path(&target.name),
            ready_timeout: options.ready_timeout,
            cache_root: options.cache_root.clone(),
        };
        let say = |progress: &mut dyn FnMut(Progress), message: String| {
            progress(Progress::Target {
                target: target.name.clone(),
                message,
            })
        };
        say(progress, format!("launching ({})", options.launcher.name()));
        let mut server = match options.launcher.start(target, prepared, &launch) {
            Ok(server) => server,
            Err(err) => {
                let reason = format!("did not start: {err}");
                self.ledger.mark_failed(self.writer, &target.name, reason)?;
                return Ok(None);
            }
        };
        let verified = self
            .ledger
            .targets
            .get(&target.name)
            .is_some_and(|t| !t.checks.is_empty());
        if !verified {
            say(progress, "verifying the contract".into());
            let checks = verify(server.base_url(), Some(upstream));
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| c.status == CheckStatus::Fail)
                .map(|c| format!("{}: {}", c.check, c.reason.clone().unwrap_or_default()))
                .collect();
            if let Some(mut record) = self.ledger.targets.get(&target.name).cloned() {
                record.checks = checks;
                if !failed.is_empty() {
                    record.status = TargetStatus::Failed;
                    record.reason = Some(format!("verification failed: {}", failed.join("; ")));
                }
                self.ledger.record(self.writer, record)?;
            }
            if self.ledger.status(&target.name) == Some(TargetStatus::Failed) {
                server.stop();
                return Ok(None);
            }
            // The trials get a process the checks never touched: their SSE streams, relay,
            // slow and malformed requests leave a runtime in another state than a fresh one
            // (JIT, heap, timers). Measured: round 1 of node-http, verified in the same
            // process, ran 51–60k req/s against 57–65k in rounds 2–5, and its round-1 pairs
            // were the outliers that kept a paired −10% from being decided
            // (bench/gate-power.sh, 2026-11-30).
            say(progress, "relaunching for the trials".into());
            if let Err(err) = relaunch(options, target, prepared, &launch, &mut server) {
                let reason = format!("did not start again after verification: {err}");
                self.ledger.mark_failed(self.writer, &target.name, reason)?;
                return Ok(None);
            }
        }
        Ok(Some(Live {
            target,
            prepared,
            launch,
            server,
        }))
    }

    /// One trial of one cell against one server.
    fn measure_one(
        &mut self,
        up: &mut Live<'_>,
        scenario: &Scenario,
        variant: &Variant,
        trial_number: u32,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), HarnessError> {
        let (hdr_path, hdr_name) = self.writer.hdr_path(
            &up.target.name,
            scenario.name(),
            &variant.name,
            trial_number,
        );
        step(progress, up.target, scenario, variant, trial_number);
        let mut trial = new_trial(up.target, scenario, variant, trial_number);
        let context = self.context((up.target, up.prepared, &up.launch), &hdr_path);
        let outcome = trial::measure(&context, &mut up.server, scenario, variant);
        self.finish_trial(up, &mut trial, outcome, (&hdr_path, hdr_name), progress)
    }

    /// One trial of one request/response cell for each of `pending`, in alternating slices.
    fn measure_sliced(
        &mut self,
        live: &mut [Live<'_>],
        pending: &[usize],
        (scenario, variant, shape): (&Scenario, &Variant, &HttpShape<'_>),
        trial_number: u32,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), HarnessError> {
        let mut trials = Vec::new();
        let mut hdr = Vec::new();
        for &i in pending {
            let up = &live[i];
            step(progress, up.target, scenario, variant, trial_number);
            trials.push(new_trial(up.target, scenario, variant, trial_number));
            hdr.push(self.writer.hdr_path(
                &up.target.name,
                scenario.name(),
                &variant.name,
                trial_number,
            ));
        }
        let members: Vec<Member<'_>> = pending
            .iter()
            .zip(&hdr)
            .map(|(&i, (path, _))| Member {
                context: self.context((live[i].target, live[i].prepared, &live[i].launch), path),
                server: &live[i].server,
            })
            .collect();
        let outcomes = measure_sliced(&members, shape, variant, self.options.slices);
        drop(members);
        for (((&i, mut trial), outcome), (path, name)) in
            pending.iter().zip(trials).zip(outcomes).zip(hdr)
        {
            self.finish_trial(&mut live[i], &mut trial, outcome, (&path, name), progress)?;
        }
        Ok(())
    }

    /// A trial's context: the run's, and the target's `(target, prepared, launch)`.
    fn context<'c>(
        &'c self,
        (target, prepared, launch): (&'c Target, &'c Prepared, &'c LaunchOptions),
        hdr_path: &'c Path,
    ) -> TrialContext<'c> {
        TrialContext {
            launcher: self.options.launcher,
            target,
            prepared,
            launch,
            client_cpus: &self.options.client_cpus,
            ceiling: self.ceiling,
            upstream: self.upstream,
            hdr_path,
            agents: self.options.agents.as_ref(),
        }
    }

    /// Records a measured trial (failed when the server exited meanwhile) and says so.
    fn finish_trial(
        &mut self,
        up: &mut Live<'_>,
        trial: &mut Trial,
        outcome: Result<Outcome, String>,
        (hdr_path, hdr_name): (&Path, String),
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), HarnessError> {
        let cell = format!("{}/{}", trial.scenario, trial.variant);
        if let Some(reason) = up.server.exit_reason() {
            trial.status = TrialStatus::Failed;
            trial.reason = Some(format!(
                "{reason} during {cell}; see {}",
                up.launch.log.display()
            ));
        } else {
            match outcome {
                Ok(outcome) => trial.outcome = Some(outcome),
                Err(reason) => {
                    trial.status = TrialStatus::Failed;
                    trial.reason = Some(reason);
                }
            }
        }
        if hdr_path.is_file() {
            trial.hdr_log = Some(hdr_name);
        }
        let ok = trial.status == TrialStatus::Ok;
        let headline = if ok {
            trial::headline(trial)
        } else {
            trial.reason.clone().unwrap_or_default()
        };
        self.ledger.trial_done(trial);
        self.writer.add_trial(trial.clone())?;
        progress(Progress::StepDone {
            target: up.target.name.clone(),
            cell,
            trial: trial.trial,
            ok,
            headline,
        });
        Ok(())
    }

    /// A server that exited during a cell (its trial recorded failed) is replaced by a fresh
    /// instance for the remaining cells; one that cannot start again fails its target.
    fn relaunch_after_crash(
        &mut self,
        up: &mut Live<'_>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), HarnessError> {
        if up.server.exit_reason().is_none() {
            return Ok(());
        }
        progress(Progress::Target {
            target: up.target.name.clone(),
            message: "relaunching after a crash".into(),
        });
        if let Err(err) = relaunch(
            self.options,
            up.target,
            up.prepared,
            &up.launch,
            &mut up.server,
        ) {
            let reason = format!("did not restart: {err}");
            self.ledger
                .mark_failed(self.writer, &up.target.name, reason)?;
        }
        Ok(())
    }
}

/// Says a step begins.
fn step(
    progress: &mut dyn FnMut(Progress),
    target: &Target,
    scenario: &Scenario,
    variant: &Variant,
    trial: u32,
) {
    progress(Progress::Step {
        target: target.name.clone(),
        cell: format!("{}/{}", scenario.name(), variant.name),
        trial,
        estimate: scenario.estimate(),
    });
}

/// Stops `server` and starts a fresh instance of the target in its place.
fn relaunch(
    options: &RunOptions,
    target: &Target,
    prepared: &Prepared,
    launch: &LaunchOptions,
    server: &mut Server,
) -> Result<(), HarnessError> {
    server.stop();
    *server = options.launcher.start(target, prepared, launch)?;
    Ok(())
}

fn new_trial(target: &Target, scenario: &Scenario, variant: &Variant, trial: u32) -> Trial {
    Trial {
        target: target.name.clone(),
        scenario: scenario.name().to_string(),
        variant: variant.name.clone(),
        trial,
        status: TrialStatus::Ok,
        reason: None,
        started_at: environment::utc_now().1,
        outcome: None,
        hdr_log: None,
    }
}
