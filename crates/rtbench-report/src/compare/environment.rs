//! What differs between two runs' machines and settings: the lines a compare prints before its
//! verdicts, because each can explain a change that is not the targets'.
use rtbench_results::{ClientCeiling, Run};

/// A client ceiling that moved by more than this between two runs is worth a line.
const CEILING_SHIFT: f64 = 0.05;

/// Differences between the two runs' environments that may explain a change.
pub(crate) fn environment_warnings(base: &Run, current: &Run) -> Vec<String> {
    let (b, c) = (&base.environment, &current.environment);
    let mut out = Vec::new();
    let mut differs = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} differs: base {x}, current {y}"));
        }
    };
    differs("host", b.hostname.clone(), c.hostname.clone());
    differs("CPU model", b.cpu_model.clone(), c.cpu_model.clone());
    differs("cores", b.cores.to_string(), c.cores.to_string());
    differs("kernel", b.kernel.clone(), c.kernel.clone());
    differs(
        "memory",
        b.memory_bytes.to_string(),
        c.memory_bytes.to_string(),
    );
    differs("launcher", b.launcher.clone(), c.launcher.clone());
    differs(
        "server CPUs",
        format!("{:?}", b.placement.server_cpus),
        format!("{:?}", c.placement.server_cpus),
    );
    differs(
        "client CPUs",
        format!("{:?}", b.placement.client_cpus),
        format!("{:?}", c.placement.client_cpus),
    );
    differs("suite", base.suite.name.clone(), current.suite.name.clone());
    differs(
        "trials per cell",
        base.suite.trials.to_string(),
        current.suite.trials.to_string(),
    );
    for (target, bv) in &b.runtime_versions {
        if let Some(cv) = c.runtime_versions.get(target) {
            differs(&format!("{target} runtime version"), bv.clone(), cv.clone());
        }
    }
    out.extend(ceiling_shift(
        b.client_ceiling.as_ref(),
        c.client_ceiling.as_ref(),
    ));
    out
}

/// The client ceiling is the same built-in server and engine measured at the start of each run, so
/// a move in it is the machine's (or rtbench's), not a target's: a cue that a change every target
/// shares is machine-wide.
fn ceiling_shift(base: Option<&ClientCeiling>, current: Option<&ClientCeiling>) -> Option<String> {
    let (b, c) = (base?.max_rps_per_core, current?.max_rps_per_core);
    if !(b > 0.0 && c.is_finite()) {
        return None;
    }
    let change = c / b - 1.0;
    (change.abs() > CEILING_SHIFT).then(|| {
        format!(
            "client ceiling differs: base {:.0} req/s per client core, current {:.0} ({:+.1}%): \
             the machine or rtbench ran {} in the current run, and every cell's figures with it",
            b,
            c,
            change * 100.0,
            if change < 0.0 { "slower" } else { "faster" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceiling(max_rps_per_core: f64) -> ClientCeiling {
        ClientCeiling {
            client_cpus: vec![0],
            server_cpus: vec![1],
            connections: 64,
            duration_s: 3.0,
            rps: max_rps_per_core,
            client_cpu_fraction: 1.0,
            cpu_us_per_request: 1e6 / max_rps_per_core,
            max_rps_per_core,
            shared_cpu: false,
        }
    }

    #[test]
    fn a_ceiling_that_moved_beyond_five_percent_is_a_line() {
        let (b, c) = (ceiling(138_000.0), ceiling(120_000.0));
        assert_eq!(
            ceiling_shift(Some(&b), Some(&c)).unwrap(),
            "client ceiling differs: base 138000 req/s per client core, current 120000 (-13.0%): \
             the machine or rtbench ran slower in the current run, and every cell's figures with it"
        );
        assert_eq!(ceiling_shift(Some(&b), Some(&ceiling(142_000.0))), None);
        assert!(ceiling_shift(Some(&b), Some(&ceiling(146_000.0)))
            .unwrap()
            .contains("(+5.8%)"));
        assert_eq!(ceiling_shift(None, Some(&c)), None);
    }
}
