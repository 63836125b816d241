//! A compare within one run: two targets measured in the same rounds (e.g. `node-http@22` and
//! `node-http@24`, interleaved trial by trial), judged against each other round by round.
use std::collections::BTreeSet;

use rtbench_results::Run;
use serde::Serialize;

use super::comparison::{compare_runs, Comparison, Pairing};
use super::thresholds::{CompareError, Thresholds};

/// The two targets of a compare within one run (e.g. `node-http@22` against `node-http@24`),
/// their cells matched by scenario and variant.
#[derive(Debug, Clone, Serialize)]
pub struct Within {
    /// The baseline target.
    pub base_target: String,
    /// The target judged against it.
    pub current_target: String,
    /// The baseline's self-reported runtime version, when the run recorded it.
    pub base_version: Option<String>,
    /// The judged target's self-reported runtime version.
    pub current_version: Option<String>,
}

/// Compares two targets of one run against each other (`base_target` is the baseline), cell by
/// cell with the same gates and verdicts as [`compare`](super::compare): the interleaved way to
/// ask "did this runtime version regress?", free of the machine-wide shifts between two runs. The
/// runner runs every target once per round, so trial `i` of both targets ran side by side: each
/// metric's change is the median of the rounds' changes and its interval resamples rounds
/// (paired), which cancels what a round shared. A cell's target is shown as
/// `base_target → current_target`.
pub fn compare_within(
    run: &Run,
    base_target: &str,
    current_target: &str,
    thresholds: &Thresholds,
) -> Result<Comparison, CompareError> {
    if base_target == current_target {
        return Err(CompareError::BadValue {
            origin: "--within".to_string(),
            key: base_target.to_string(),
            reason: "the two targets are the same".to_string(),
        });
    }
    let label = format!("{base_target} → {current_target}");
    let side = |target: &str| -> Result<Run, CompareError> {
        let known: BTreeSet<&str> = run
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .chain(run.trials.iter().map(|t| t.target.as_str()))
            .collect();
        if !known.contains(target) {
            return Err(CompareError::BadValue {
                origin: "--within".to_string(),
                key: target.to_string(),
                reason: format!(
                    "no such target in run {} (targets: {})",
                    run.run_id,
                    known.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let mut one = run.clone();
        one.trials.retain(|t| t.target == target);
        one.targets.retain(|t| t.name == target);
        for t in &mut one.trials {
            t.target = label.clone();
        }
        for t in &mut one.targets {
            t.name = label.clone();
        }
        Ok(one)
    };
    let (base, current) = (side(base_target)?, side(current_target)?);
    let mut cmp = compare_runs(&base, &current, thresholds, Pairing::ByRound);
    let version = |t: &str| run.environment.runtime_versions.get(t).cloned();
    let within = Within {
        base_target: base_target.to_string(),
        current_target: current_target.to_string(),
        base_version: version(base_target),
        current_version: version(current_target),
    };
    if let (Some(b), Some(c)) = (&within.base_version, &within.current_version) {
        if b == c {
            cmp.warnings.push(format!(
                "{base_target} and {current_target} report the same runtime version ({b})"
            ));
        }
    }
    cmp.within = Some(within);
    Ok(cmp)
}
