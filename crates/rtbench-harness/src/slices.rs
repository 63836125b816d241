//! A request/response cell measured for several servers in one go, in alternating slices
//! (`rtbench run --slices N`): every server is up, one is loaded at a time, and each server's
//! trial is the exact sum of its N slices.
//!
//! Why: this machine's speed moves between levels that hold for seconds to minutes. Measured one
//! after another, two servers' trials of a round can straddle such a move (an A/A round read
//! +11.6% between identical builds: bench/gate-power.sh, 2026-11-30), and at 5 trials one such
//! round keeps a 10% drop undecided. Sliced, a level that holds for seconds lands on every server
//! alike. Turns go forward and back (A B | B A | A B …), so a steady drift within the cell favours
//! none of them.
use std::time::Duration;

use rtbench_load::AgentOutput;
use rtbench_results::{Outcome, ServerStats};

use crate::cell_load::{merge_slices, CellLoad};
use crate::launcher::Server;
use crate::load_result::with_ceiling;
use crate::sampler::{one_after_another, Sampler};
use crate::scenario::Variant;
use crate::trial::{http_outcome, idle_rss_kib, HttpShape, TrialContext, SAMPLE_EVERY};

/// Each slice after a server's first opens its connections again; this much of it is warm-up
/// (the server itself stays warm: it served the cell's full warm-up in its first slice).
pub(crate) const SLICE_WARMUP: Duration = Duration::from_millis(250);

/// One server of a sliced cell, with its trial's context (its interval log path among it).
pub(crate) struct Member<'a> {
    pub context: TrialContext<'a>,
    pub server: &'a Server,
}

/// The order of the servers in turn `pass`: forward on even turns, backward on odd ones.
fn turn_order(pass: u32, members: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..members).collect();
    if pass % 2 == 1 {
        order.reverse();
    }
    order
}

/// Measures one http cell for every member in `slices` alternating slices of the cell's measured
/// window; one outcome (or the reason it failed) per member, in their order. A member whose slice
/// fails takes no further turns.
pub(crate) fn measure_sliced(
    members: &[Member<'_>],
    shape: &HttpShape<'_>,
    variant: &Variant,
    slices: u32,
) -> Vec<Result<Outcome, String>> {
    let slice_length = shape.duration / slices.max(1);
    let idle: Vec<f64> = members.iter().map(|m| idle_rss_kib(m.server)).collect();
    let mut ran: Vec<Result<Vec<(AgentOutput, ServerStats)>, String>> =
        members.iter().map(|_| Ok(Vec::new())).collect();
    for pass in 0..slices {
        let warmup = if pass == 0 {
            shape.warmup
        } else {
            SLICE_WARMUP
        };
        for index in turn_order(pass, members.len()) {
            let Ok(done) = &mut ran[index] else {
                continue;
            };
            let member = &members[index];
            let cell = CellLoad::http(
                member.server.base_url(),
                shape.path,
                variant,
                (slice_length, warmup),
            );
            let sampler = Sampler::start(member.server.resources(), SAMPLE_EVERY, warmup);
            match cell.run_slice(
                member.context.client_cpus,
                u64::from(pass),
                u64::from(slices),
            ) {
                Ok(slice) => {
                    let stats = sampler.finish(idle[index], slice.summary.requests);
                    done.push((slice, stats));
                }
                Err(reason) => {
                    ran[index] = Err(format!("slice {} of {slices}: {reason}", pass + 1))
                }
            }
        }
    }
    members
        .iter()
        .zip(ran)
        .map(|(member, ran)| {
            let (parts, stats): (Vec<AgentOutput>, Vec<ServerStats>) = ran?.into_iter().unzip();
            let load = merge_slices(&parts, member.context.hdr_path)?;
            let load = with_ceiling(
                load,
                member.context.ceiling,
                member.context.client_cpus.len(),
            );
            let server = one_after_another(&stats, load.duration_s, load.requests);
            Ok(http_outcome(load, server, variant))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_go_forward_and_back() {
        let names = ["A", "B"];
        let turns: String = (0..4)
            .flat_map(|pass| turn_order(pass, 2))
            .map(|i| names[i])
            .collect();
        assert_eq!(turns, "ABBAABBA");
        assert_eq!(turn_order(1, 3), [2, 1, 0]);
    }
}
