//! Machine-wide shifts between two runs: when more than half of the targets of a cell (and at
//! least two) move the same metric beyond its gate in the same direction (a regression or an
//! improvement by the interval rule), the machine moved, not each target. Their regressions (or improvements) are relabelled
//! [`Verdict::MachineShift`] and listed once, so a slow night cannot fail the gate as N per-target
//! regressions. The rule is the trend's ([`is_machine_wide`]), applied to one pair of runs.
use std::collections::BTreeMap;

use rtbench_results::Metric;
use serde::Serialize;

use super::comparison::CellComparison;
use super::judge::Verdict;
use crate::trend::is_machine_wide;

/// One metric of one scenario that most targets moved together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareShift {
    /// `scenario` or `scenario/variant`.
    pub scenario: String,
    /// Which figure.
    pub metric: Metric,
    /// True when the move is for the worse (what would have been regressions).
    pub worse: bool,
    /// The targets judged beyond the gate this way.
    pub targets: Vec<String>,
    /// The targets with the metric compared in both runs.
    pub measured: usize,
    /// The median of the moved targets' changes.
    pub median_change: f64,
}

/// Finds the shifts in `cells` and relabels the verdicts they explain.
pub(crate) fn mark_machine_shifts(cells: &mut [CellComparison]) -> Vec<CompareShift> {
    // (scenario label, metric) → (targets measured, per direction: (cell, metric) indices and changes)
    type Moves = Vec<(usize, usize, f64)>;
    let mut groups: BTreeMap<(String, Metric), (usize, Moves, Moves)> = BTreeMap::new();
    for (ci, cell) in cells.iter().enumerate() {
        for (mi, m) in cell.metrics.iter().enumerate() {
            let (Some(_), Some(change)) = (m.threshold, m.change) else {
                continue;
            };
            let group = groups.entry((cell.scenario_label(), m.metric)).or_default();
            group.0 += 1;
            // Moved = judged beyond the gate (the whole interval), not a point change past it:
            // trial noise alone takes some point changes past a 5% gate.
            match m.verdict {
                Verdict::Regression => group.1.push((ci, mi, change)),
                Verdict::Improvement => group.2.push((ci, mi, change)),
                _ => {}
            }
        }
    }
    let mut shifts = Vec::new();
    for ((scenario, metric), (measured, worse, better)) in groups {
        for (moved, is_worse) in [(worse, true), (better, false)] {
            if !is_machine_wide(moved.len(), measured) {
                continue;
            }
            let changes: Vec<f64> = moved.iter().map(|(_, _, c)| *c).collect();
            let mut targets = Vec::new();
            for &(ci, mi, _) in &moved {
                cells[ci].metrics[mi].verdict = Verdict::MachineShift;
                targets.push(cells[ci].target.clone());
            }
            shifts.push(CompareShift {
                scenario: scenario.clone(),
                metric,
                worse: is_worse,
                targets,
                measured,
                median_change: crate::stats::median(&changes).unwrap_or(f64::NAN),
            });
        }
    }
    shifts
}
