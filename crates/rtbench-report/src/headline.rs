//! The report's opening: what was measured, where, and the findings in sentences with their
//! numbers, generated from the run, with the caveats that apply to them.

use rtbench_results::{KindSettings, TargetStatus, Unit};

use crate::claim::{Verdict, NOT_IN_SURVEY};
use crate::model::{
    scenario, variant_label, Claim, ClaimRow, Figure, Measure, Missing, RunFigures,
};
use crate::stats;

/// One line: what ran (suite, scenarios, targets, trials, cell length, warm-up).
pub(crate) fn what(report: &RunFigures) -> String {
    let run = report.run();
    let measured = report
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Ok)
        .count();
    let durations: Vec<f64> = run
        .trials
        .iter()
        .filter_map(|t| t.load().map(|l| l.duration_s))
        .collect();
    let warmups: Vec<f64> = run
        .suite
        .settings
        .iter()
        .filter_map(|s| match s.kind {
            KindSettings::Http { warmup_ms, .. } => Some(warmup_ms as f64 / 1000.0),
            _ => None,
        })
        .collect();
    let length = match stats::median(&durations) {
        Some(d) => format!(", load cells of {d:.0} s"),
        None => String::new(),
    };
    let warmup = match stats::median(&warmups) {
        Some(w) => format!(" after {w:.0} s of warm-up"),
        None => " (warm-up not recorded in this run)".to_string(),
    };
    format!(
        "**What:** suite `{}` ({}) on {} target(s), {} measured; {} trial(s) per cell{length}{warmup}.",
        run.suite.name,
        report
            .scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        report.targets.len(),
        measured,
        run.suite.trials,
    )
}

/// One line: where and when (host, placement, launcher, kernel, date, version).
pub(crate) fn place(report: &RunFigures) -> String {
    let e = &report.run().environment;
    let cpus = |c: &[usize]| c.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let ceiling = e.client_ceiling.as_ref().map_or(String::new(), |c| {
        format!(
            " (client ceiling {} per core)",
            Unit::PerSecond.format(c.max_rps_per_core)
        )
    });
    format!(
        "**Where:** {}, {} cores; server pinned to CPU {}, load generator to CPU {}{ceiling}; \
         launcher `{}`; kernel {}; started {}; rtbench {} (commit `{}`).",
        e.cpu_model,
        e.cores,
        cpus(&e.placement.server_cpus),
        cpus(&e.placement.client_cpus),
        e.launcher,
        e.kernel,
        report.run().started_at,
        e.rtbench_version,
        e.git_commit
    )
}

fn claimed_ratio(row: &ClaimRow) -> String {
    match row.survey_ratio {
        Some((lo, Some(hi))) if (hi - lo).abs() < 1e-9 => format!("{lo:.2}×"),
        Some((lo, Some(hi))) => format!("{lo:.2}–{hi:.2}×"),
        Some((lo, None)) => format!("≥ {lo:.2}×"),
        None => "no ratio".into(),
    }
}

/// The findings, one sentence each, with the numbers they rest on.
pub(crate) fn findings(report: &RunFigures) -> Vec<String> {
    let mut out = Vec::new();
    for claim in [Claim::Hello, Claim::Memory] {
        let table = report.claim_table(claim);
        let measured: Vec<&ClaimRow> = table
            .rows
            .iter()
            .filter(|r| r.ratio.is_some() && r.target.is_some())
            .collect();
        let Some(best) = measured
            .iter()
            .find(|r| r.ratio.is_some_and(|x| (x - 1.0).abs() < 1e-12))
        else {
            continue;
        };
        let label = |r: &ClaimRow| {
            report.targets[r.target.expect("measured rows")]
                .label
                .clone()
        };
        let median = |r: &ClaimRow| {
            r.figure
                .as_ref()
                .and_then(Figure::median)
                .expect("measured rows have a median")
        };
        let (unit, what, verb) = match claim {
            Claim::Hello => (Unit::PerSecond, "req/s (§8)", "reaches"),
            Claim::Memory => (Unit::Mebibytes, "memory at 10k req/s (§11)", "uses"),
        };
        let mut others: Vec<String> = Vec::new();
        for r in measured.iter().filter(|r| !std::ptr::eq(**r, *best)) {
            let claimed = match r.verdict {
                Verdict::NotInSurvey => NOT_IN_SURVEY.to_string(),
                _ => format!("survey {}", claimed_ratio(r)),
            };
            let mut s = format!(
                "{} {verb} {:.2}× ({claimed})",
                label(r),
                r.ratio.expect("measured"),
            );
            if let Some(v) = r.verdict.words(claim).filter(|_| r.survey_ratio.is_some()) {
                s = format!("{s}, {v}");
            }
            others.push(s);
        }
        let best_word = match claim {
            Claim::Hello => "Fastest",
            Claim::Memory => "Leanest",
        };
        out.push(format!(
            "{best_word} in {what}: {} at {}{}. Relative to it: {}.",
            label(best),
            unit.format(median(best)),
            best.verdict
                .words(claim)
                .map_or(String::new(), |v| format!(" ({v})")),
            if others.is_empty() {
                "no other target measured".to_string()
            } else {
                others.join("; ")
            }
        ));
    }
    out.extend(idle_connections(report));
    out.extend(caveats(report));
    out
}

/// Memory per idle connection per target, at the most connections the run held (the
/// 10,000-connection variant where it ran: the larger the rise, the less the sampler's noise
/// weighs), a figure below its resolution said so.
fn idle_connections(report: &RunFigures) -> Option<String> {
    let sc = report.scenario(scenario::IDLE)?;
    let settings = report
        .run()
        .suite
        .settings
        .iter()
        .find(|s| s.name == sc.name);
    let held = |v: &str| {
        settings
            .and_then(|s| s.variants.iter().find(|x| x.name == v))
            .map(|x| x.connections)
    };
    // Variants are in natural order, so without settings the last holds the most.
    let variant = sc.variants.iter().max_by_key(|v| held(v.as_str()))?;
    let figures: Vec<String> = report
        .targets
        .iter()
        .filter_map(
            |t| match report.figure(&sc.name, variant, t, Measure::KibPerConnection) {
                Figure::Measured(m) => Some(format!(
                    "{} {}",
                    t.label,
                    Unit::Kibibytes.format(m.spread.median)
                )),
                Figure::Missing(why @ Missing::BelowResolution(_)) => {
                    Some(format!("{} {}", t.label, why.describe()))
                }
                Figure::Missing(_) => None,
            },
        )
        .collect();
    if figures.is_empty() {
        return None;
    }
    let with = variant_label(variant);
    let with = if with.is_empty() {
        String::new()
    } else {
        format!(" with {with} held")
    };
    Some(format!(
        "Memory per idle keep-alive connection{with}: {}.",
        figures.join("; ")
    ))
}

/// The caveats a reader must weigh: client-bound and not-sustained cells, missing targets,
/// refused values.
fn caveats(report: &RunFigures) -> Vec<String> {
    let mut out = Vec::new();
    let mut client_bound = 0;
    let mut not_sustained = 0;
    let mut cells = 0;
    for s in &report.scenarios {
        for v in &s.variants {
            for t in &report.targets {
                if let Figure::Measured(m) = report.figure(&s.name, v, t, Measure::Rps) {
                    cells += 1;
                    client_bound += usize::from(m.client_bound > 0);
                    not_sustained += usize::from(m.not_sustained > 0);
                } else if let Figure::Missing(Missing::NotSustained(_)) =
                    report.figure(&s.name, v, t, Measure::Memory10k)
                {
                    not_sustained += 1;
                }
            }
        }
    }
    if client_bound > 0 {
        out.push(format!(
            "Caveat: {client_bound} of {cells} load cells were client-bound (the load generator \
             used ≥ 90% of its CPUs or drove ≥ 90% of its measured ceiling, so the server may be \
             faster than measured); they are hatched in charts and flagged in tables."
        ));
    }
    if not_sustained > 0 {
        out.push(format!(
            "Caveat: {not_sustained} open-model cell(s) did not sustain the asked rate (below \
             98%); their memory figure is withheld."
        ));
    }
    let missing: Vec<String> = report
        .targets
        .iter()
        .filter(|t| t.status != TargetStatus::Ok)
        .map(|t| {
            let word = match t.status {
                TargetStatus::Unavailable => "unavailable",
                _ => "failed",
            };
            match &t.reason {
                Some(r) => format!("{} ({word}: {r})", t.label),
                None => format!("{} ({word})", t.label),
            }
        })
        .collect();
    if !missing.is_empty() {
        out.push(format!("Not measured: {}.", missing.join("; ")));
    }
    let refused = report.refused();
    if !refused.is_empty() {
        out.push(format!(
            "Refused: {} trial value(s) in run.json are no measurement (not finite, negative or \
             beyond 10^12) and are shown as refused; see the end of this report.",
            refused.len()
        ));
    }
    out
}
