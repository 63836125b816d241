//! The §9 relay findings of one cell over its ok trials: buffering with its evidence, leaked
//! upstream requests, upstream connections left open.

use rtbench_results::TrialStatus;

use crate::model::RunFigures;

/// The relay's yes/no findings over a cell's ok trials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RelayFindings {
    pub trials: usize,
    /// Trials in which tokens arrived in bursts.
    pub buffering: usize,
    /// The first buffering trial's evidence, else the first trial's.
    pub evidence: String,
    /// Upstream requests never closed, summed over the trials.
    pub leaked: u64,
    /// Upstream connections still open after every client left, worst trial.
    pub upstream_open_after: u64,
}

impl RunFigures {
    /// The relay findings of one cell; `None` when no ok trial carries relay figures.
    pub(crate) fn relay_findings(
        &self,
        scenario: &str,
        variant: &str,
        target: &str,
    ) -> Option<RelayFindings> {
        let relays: Vec<&rtbench_results::RelayStats> = self
            .run
            .trials
            .iter()
            .filter(|t| {
                t.target == target
                    && t.scenario == scenario
                    && t.variant == variant
                    && t.status == TrialStatus::Ok
            })
            .filter_map(|t| t.relay())
            .collect();
        let first = relays.first()?;
        let buffering = relays.iter().filter(|r| r.buffering).count();
        Some(RelayFindings {
            trials: relays.len(),
            buffering,
            evidence: relays
                .iter()
                .find(|r| r.buffering)
                .unwrap_or(first)
                .buffering_evidence
                .clone(),
            leaked: relays.iter().map(|r| r.leaked).sum(),
            upstream_open_after: relays
                .iter()
                .map(|r| r.upstream_open_after)
                .max()
                .unwrap_or(0),
        })
    }
}
