//! Schema 1, read once into the current types. Version 1 had one optional field per figure on
//! each trial (and embedded the engine's load summary, whose fields [`LoadResult`] keeps); here
//! each trial becomes the [`Outcome`] variant of the kind that produced those figures. This is the
//! only place that knows the old layout.
use serde::Deserialize;

use crate::load::{LoadResult, Model};
use crate::schema::{
    Environment, Outcome, RelayStats, Run, ServerStats, SuiteInfo, TargetRecord, Trial, TrialStatus,
};

/// A version-1 `run.json`: the current layout but for its trials.
#[derive(Debug, Deserialize)]
pub(crate) struct RunV1 {
    schema_version: u32,
    run_id: String,
    started_at: String,
    #[serde(default)]
    finished_at: Option<String>,
    environment: Environment,
    suite: SuiteInfo,
    targets: Vec<TargetRecord>,
    trials: Vec<TrialV1>,
}

impl From<RunV1> for Run {
    fn from(old: RunV1) -> Run {
        Run {
            schema_version: old.schema_version,
            run_id: old.run_id,
            started_at: old.started_at,
            finished_at: old.finished_at,
            environment: old.environment,
            suite: old.suite,
            chosen_targets: Vec::new(),
            targets: old.targets,
            trials: old.trials.into_iter().map(Trial::from).collect(),
        }
    }
}

/// A version-1 trial: the figures as separate optional fields.
#[derive(Debug, Deserialize)]
pub(crate) struct TrialV1 {
    target: String,
    scenario: String,
    #[serde(default)]
    variant: String,
    trial: u32,
    status: TrialStatus,
    #[serde(default)]
    reason: Option<String>,
    started_at: String,
    #[serde(default)]
    load: Option<LoadResult>,
    #[serde(default)]
    server: Option<ServerStats>,
    /// Mean RSS at the rate; named MB in version 1 but computed as KiB / 1024, i.e. MiB.
    #[serde(default)]
    memory_per_10k_mb: Option<f64>,
    #[serde(default)]
    sustained: Option<bool>,
    #[serde(default)]
    kib_per_connection: Option<f64>,
    #[serde(default)]
    kib_per_stream: Option<f64>,
    #[serde(default)]
    cold_start_ms: Vec<f64>,
    #[serde(default)]
    relay: Option<RelayStats>,
    #[serde(default)]
    hdr_log: Option<String>,
}

impl From<TrialV1> for Trial {
    fn from(old: TrialV1) -> Trial {
        let outcome = outcome(&old);
        Trial {
            target: old.target,
            scenario: old.scenario,
            variant: old.variant,
            trial: old.trial,
            status: old.status,
            reason: old.reason,
            started_at: old.started_at,
            outcome,
            hdr_log: old.hdr_log,
        }
    }
}

/// The kind is told by which figures the trial carries (version 1 wrote only its kind's fields).
fn outcome(old: &TrialV1) -> Option<Outcome> {
    let server = || old.server.clone().unwrap_or_default();
    if !old.cold_start_ms.is_empty() {
        return Some(Outcome::ColdStart {
            starts_ms: old.cold_start_ms.clone(),
        });
    }
    if let Some(kib_per_connection) = old.kib_per_connection {
        return Some(Outcome::IdleConnections {
            server: server(),
            kib_per_connection,
            resolution_kib: None,
        });
    }
    let load = old.load.clone()?;
    Some(if let Some(relay) = &old.relay {
        Outcome::SseRelay {
            load,
            server: server(),
            relay: relay.clone(),
        }
    } else if old.kib_per_stream.is_some() || load.model == Model::Stream {
        Outcome::Sse {
            load,
            server: server(),
            kib_per_stream: old.kib_per_stream,
        }
    } else if let Some(sustained) = old.sustained {
        Outcome::Rate {
            load,
            server: server(),
            sustained,
            memory_at_rate_mib: old.memory_per_10k_mb,
        }
    } else {
        Outcome::Http {
            load,
            server: server(),
        }
    })
}
