//! `rtbench compare BASE CURRENT` and `rtbench compare RUN --within A,B`: parses flags, loads the
//! runs, calls the report crate's `compare` (or `compare_within`) and renderers, and turns the
//! outcome into the exit code (0 clean, 1 regression, 2 error).
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rtbench_report::{
    compare, compare_within, read_run, render, CompareFormat, Metric, Thresholds,
};

#[derive(clap::Args)]
#[command(after_help = after_help())]
pub struct Args {
    /// Baseline run: a results folder (DIR/run.json) or a run.json file (with --within: the run).
    pub base: PathBuf,
    /// Run to judge against the baseline: a results folder or a run.json file (not with --within).
    #[arg(required_unless_present = "within", conflicts_with = "within")]
    pub current: Option<PathBuf>,
    /// Judge two targets of the one run BASE against each other, baseline first:
    /// `--within node-http@22,node-http@24` (versions interleaved in one run, so no machine-wide
    /// shift between them).
    #[arg(
        long,
        value_name = "BASE_TARGET,TARGET",
        value_delimiter = ',',
        num_args = 1
    )]
    pub within: Vec<String>,
    /// TOML file overriding the default gates (see scenarios/compare/thresholds.toml).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Gate a metric at a percentage, or ungate it: `p99=15%`, `rps=3`, `p50=off`. Repeatable;
    /// applied after --thresholds.
    #[arg(long = "gate", value_name = "METRIC=PCT")]
    pub gates: Vec<String>,
    /// Bootstrap resamples per metric (at least 10000).
    #[arg(long, value_name = "N")]
    pub resamples: Option<usize>,
    /// Bootstrap seed (the output is deterministic for a given seed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Count a cell measured in BASE but without an ok trial in CURRENT as a regression.
    #[arg(long)]
    pub fail_on_lost: bool,
    /// Also write the comparison as markdown to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Do not print the table on stdout (the files and exit code are unchanged).
    #[arg(long, short)]
    pub quiet: bool,
}

/// The flags' explanation, with the metric keys read from the catalogue.
fn after_help() -> String {
    let metrics: Vec<&str> = Metric::compared().map(Metric::key).collect();
    format!(
        "\
Per cell (target × scenario × variant) and metric: medians and spread of each side's ok trials, the
relative change of the medians with a bootstrap 95% interval over the trials, and a verdict. A
regression (improvement) needs the whole interval beyond the metric's gate in the bad (good)
direction (rps: lower is bad; latency, memory, CPU: higher); \"no change\" needs the whole interval
inside ±gate; anything else is \"inconclusive\", listed apart with the trials per side likely to
decide it (the interval's width shrinking with 1/sqrt(n)). Default gates: rps 5%, p50 10%, memory
10%; other metrics are shown, not gated. Fewer than 3 ok trials on a side: \"insufficient trials\",
not gated. Runs of schema 1 are read through the converter.

`rtbench compare RUN --within node-http@22,node-http@24` judges the second target of RUN against
the first with the same statistics (runtime versions interleaved trial by trial in one run).

Metrics: {}

Exit status: 0 no regression (inconclusive cells included), 1 regression (or a lost cell with
--fail-on-lost), 2 error (missing or unreadable file, schema mismatch).",
        metrics.join(" ")
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut thresholds = match &args.thresholds {
        Some(path) => Thresholds::from_toml_file(path)?,
        None => Thresholds::default(),
    };
    for spec in &args.gates {
        thresholds.apply_gate_spec(spec)?;
    }
    if let Some(n) = args.resamples {
        thresholds
            .set_resamples(n)
            .map_err(|e| anyhow::anyhow!("--resamples: {e}"))?;
    }
    if let Some(seed) = args.seed {
        thresholds.set_seed(seed);
    }
    if args.fail_on_lost {
        thresholds.set_fail_on_lost(true);
    }

    // `ReportError`'s message already ends with its cause; passed on as text, since the error
    // chain would print that cause a second time.
    let load = |path: &Path| read_run(path).map_err(|e| anyhow::anyhow!("{e}"));
    let base = load(&args.base)?;
    let cmp = match (&args.current, args.within.as_slice()) {
        (Some(current), []) => compare(&base, &load(current)?, &thresholds),
        (None, [a, b]) => compare_within(&base, a.trim(), b.trim(), &thresholds)?,
        (_, within) => anyhow::bail!(
            "--within {}: expected two targets of one run, baseline first (e.g. --within node-http@22,node-http@24)",
            within.join(",")
        ),
    };

    for (path, format) in [
        (&args.markdown, CompareFormat::Markdown),
        (&args.json, CompareFormat::Json),
    ] {
        if let Some(path) = path {
            write_file(path, |w| render(&cmp, format, w))?;
        }
    }
    if !args.quiet {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        render(&cmp, CompareFormat::Terminal, &mut out)?;
        out.flush()?;
    }
    Ok(if cmp.has_regression() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_file(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = BufWriter::new(file);
    body(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("{}: cannot write", path.display()))
}
