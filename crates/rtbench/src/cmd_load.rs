//! `rtbench load URL`: wrk/oha-style flags → one engine run → a human summary or one JSON object.
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rtbench_load::{
    Ended, Hooks, IoBackend, LoadBuilder, LoadError, StopHandle, StreamOptions, Summary,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::common::parse_cpu_list;
use crate::load_print::{describe, print_human, print_json};

#[path = "cmd_load_agents.rs"]
mod swarm_agents;

/// Exit status of a run whose target failed (refused, nothing completed, ended early).
const EXIT_TARGET_FAILED: u8 = 1;
/// Exit status of bad input or a local failure (an output file that could not be written).
const EXIT_LOCAL: u8 = 2;

#[derive(clap::Args)]
#[command(
    after_help = "Durations: 10s, 500ms, 1m30s, 2h (humantime; a bare number is seconds).

Exit status:
  0    the run completed: every asked request answered (or at least one response or stream in a
       timed run)
  1    the target failed: connection refused or unreachable, nothing completed, or a counted run
       ended early (stalled) without its asked count
  2    bad input, or a local failure (e.g. an --hlog/--hgrm/--output file could not be written;
       the summary is printed first)
  129, 130, 143
       interrupted by SIGHUP, SIGINT or SIGTERM: the summary of what was measured is printed
       (marked interrupted) and the files are written"
)]
pub struct Args {
    /// The URL to load: http://host[:port][/path][?query] (plain HTTP/1.1; no TLS).
    #[arg(value_name = "URL", required_unless_present = "ceiling")]
    url: Option<String>,
    /// Measure the client's ceiling instead: load a built-in plaintext server on --server-cpus
    /// from --cpus (default: the first allowed CPU) and print the most req/s one client core
    /// completes (1 / client CPU per request). Takes -c, -d, --json.
    #[arg(long, conflicts_with_all = ["url", "rate", "sse", "requests", "pipeline"])]
    ceiling: bool,
    /// With --ceiling: the built-in server's CPUs (default: every allowed CPU the client does not
    /// use, else the client's).
    #[arg(long = "server-cpus", value_name = "LIST", requires = "ceiling")]
    server_cpus: Option<String>,
    /// The workers' socket I/O: epoll (edge-triggered) or uring (io_uring: a multishot receive
    /// per connection on a provided-buffer ring, a turn's sends in one submit; not with --sse).
    /// With --ceiling: the client's. Fails when io_uring is unavailable (never falls back).
    #[arg(long, value_enum, value_name = "BACKEND", default_value = "epoll")]
    io: IoArg,
    /// Concurrent connections.
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        default_value_t = 64,
        allow_negative_numbers = true
    )]
    connections: i64,
    /// Measure for this long (default 10s unless -n is given).
    #[arg(short = 'd', long, value_name = "DUR", allow_hyphen_values = true)]
    duration: Option<String>,
    /// Send exactly this many requests (after the warm-up), then stop.
    #[arg(short = 'n', long, value_name = "N", allow_negative_numbers = true)]
    requests: Option<i64>,
    /// Worker threads, pinned round-robin to --cpus (default: one per CPU, at most one per
    /// connection).
    #[arg(short = 't', long, value_name = "N", allow_negative_numbers = true)]
    threads: Option<i64>,
    /// CPUs for the workers: 0, 0,1 or 0-3 (default: every CPU this process may use).
    #[arg(long, value_name = "LIST")]
    cpus: Option<String>,
    /// Open model: this many requests per second over all connections, latency corrected for
    /// coordinated omission (-R as in wrk2).
    #[arg(short = 'R', long, value_name = "REQ/S", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Requests written back to back per connection (pipelining; results are labelled so).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pipeline: i64,
    /// Extra request header, repeatable: -H 'Name: value'.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Request method.
    #[arg(short = 'm', long, value_name = "METHOD", default_value = "GET")]
    method: String,
    /// Request body (a Content-Length header is added).
    #[arg(long, value_name = "TEXT")]
    body: Option<String>,
    /// Load this long before measuring, on the same connections; excluded from every figure.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    warmup: Option<String>,
    /// A request without its complete response after this long is a timeout error.
    #[arg(
        long,
        value_name = "DUR",
        default_value = "10s",
        allow_hyphen_values = true
    )]
    timeout: String,
    /// Print exactly one JSON object on stdout instead of the human summary: what was run (URL,
    /// method, connections, threads, CPUs, model, rate, duration, rtbench version, timestamp,
    /// schema_version) and the summary, with a status-code breakdown.
    #[arg(long)]
    json: bool,
    /// Write that JSON object to FILE (the human summary still goes to stdout unless --json).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the latency percentile distribution (HdrHistogram .hgrm text, ms) to FILE.
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
    /// Write the HdrHistogram interval log (one histogram per second, µs) to FILE.
    #[arg(long, value_name = "FILE")]
    hlog: Option<PathBuf>,
    /// Stream model: each connection reads one SSE stream from URL (e.g. /sse?events=100); the
    /// run ends when every stream ended, or with -d after that long, replacing streams that end.
    /// --timeout is then the longest wait for the next event.
    #[arg(long)]
    sse: bool,
    /// SSE: concurrent streams (overrides -c).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    streams: Option<i64>,
    /// SSE: events per stream, put in the query as events=N (default: the URL's own, else 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    events: Option<i64>,
    /// SSE: ms between events, put in the query as interval_ms=M (default: the URL's, else 10).
    #[arg(long = "interval-ms", value_name = "M", allow_negative_numbers = true)]
    interval_ms: Option<i64>,
    /// Scale-out: run agent J's share (0-based) of N agents splitting this run (connections, and
    /// a closed run's -n; an open run keeps the whole -R and its schedule). See `rtbench merge`.
    /// `swarm/N`: J from the swarm task slot (what --agents gives its agents).
    #[arg(long, value_name = "J/N")]
    agent: Option<String>,
    /// Start the clock at this wall-clock instant (ns since the Unix epoch), once connected: the
    /// agreed start of the agents of one run.
    #[arg(long = "start-at", value_name = "UNIX_NS")]
    start_at: Option<u64>,
    /// Scale-out: write this agent's output (its share, summary and interval log; HdrHistogram
    /// log format) to FILE, for `rtbench merge`; `-`: to stdout as base64 lines (for the logs of
    /// a swarm service, which --agents reads back).
    #[arg(long = "agent-output", value_name = "FILE", conflicts_with = "hlog")]
    agent_output: Option<PathBuf>,
    /// Scale-out on Docker Swarm: run this load as N agents, a replicated-job service on the
    /// swarm this daemon manages (on nodes labelled rtbench=client when there are any), started
    /// together, their outputs collected from the service logs and merged exactly (closed, open
    /// and --sse stream runs).
    #[arg(
        long,
        value_name = "N",
        conflicts_with_all = ["ceiling", "agent", "start_at", "agent_output", "hgrm"]
    )]
    agents: Option<u64>,
    /// With --agents: when this daemon is in no swarm, initialise a single-node swarm for the run
    /// and leave it afterwards.
    #[arg(long = "swarm-init", requires = "agents")]
    swarm_init: bool,
    /// With --agents: the agents' agreed start, this long after the service is created (they
    /// must be scheduled, started and connected by then).
    #[arg(long = "agents-start-in", value_name = "DUR", requires = "agents")]
    agents_start_in: Option<String>,
    /// With --agents: also keep each agent's output as DIR/agent-J.hlog (for `rtbench merge`).
    #[arg(long = "agents-output", value_name = "DIR", requires = "agents")]
    agents_output: Option<PathBuf>,
    /// With --agents: the Debian 13 base of the agent image (default: RTBENCH_BASE_IMAGE, else
    /// rtbench's own).
    #[arg(long = "base-image", value_name = "IMAGE", requires = "agents")]
    base_image: Option<String>,
    /// SSE: close each stream after K events (a client leaving early).
    #[arg(long = "abort-after", value_name = "K", allow_negative_numbers = true)]
    abort_after: Option<i64>,
}

/// `--io`'s values.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum IoArg {
    Epoll,
    Uring,
}

impl From<IoArg> for IoBackend {
    fn from(io: IoArg) -> IoBackend {
        match io {
            IoArg::Epoll => IoBackend::Epoll,
            IoArg::Uring => IoBackend::Uring,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.ceiling {
        return run_ceiling(&args);
    }
    let builder = builder(&args)?;
    let config = builder.clone().build()?;
    if let Some(agents) = args.agents {
        return swarm_agents::run(&args, &builder, &config, agents);
    }
    let mut hlog = args.hlog.as_deref().map(create).transpose()?;
    // `--agent-output -`: an agent of a swarm service writes its output into its logs.
    let to_logs = args.agent_output.as_deref() == Some(Path::new("-"));
    let mut agent_file = match &args.agent_output {
        Some(path) if !to_logs => Some(create(path)?),
        _ => None,
    };
    let mut agent_log: Option<Vec<u8>> = args.agent_output.as_ref().map(|_| Vec::new());
    let mut hgrm = args.hgrm.as_deref().map(create).transpose()?;
    let mut output = args.output.as_deref().map(create).transpose()?;
    // The human summary repeats the placement; this line is for the wait at a terminal.
    if std::io::stderr().is_terminal() {
        eprintln!("rtbench: loading {} ({})", config.url(), describe(&config));
    }
    let stop = StopHandle::new();
    let signals = Signals::watch(&stop)?;
    let hooks = Hooks {
        hlog: match (&mut hlog, &mut agent_log) {
            (Some(file), _) => Some(file as &mut (dyn Write + Send)),
            (None, Some(log)) => Some(log as &mut (dyn Write + Send)),
            (None, None) => None,
        },
        hgrm: hgrm.as_mut().map(|w| w as &mut dyn Write),
    };
    let result = rtbench_load::run_until(&config, hooks, &stop);
    let signal = signals.finish();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e @ (LoadError::ConnectionRefused { .. } | LoadError::Connect { .. })) => {
            eprintln!("rtbench: error: {e}");
            return Ok(ExitCode::from(EXIT_TARGET_FAILED));
        }
        Err(e) => return Err(e.into()),
    };
    let summary = &outcome.summary;
    // The summary first: a file that cannot be written must not cost the figures.
    let mut out = std::io::stdout().lock();
    if args.json {
        print_json(&mut out, &config, summary, &args.method)?;
    } else {
        print_human(&mut out, &config, summary, signal)?;
    }
    out.flush()?;
    let mut local_errors: Vec<String> = outcome
        .output_errors
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(log) = &agent_log {
        let share = config.share().unwrap_or(
            rtbench_load::split(config.connections(), config.requests(), config.model(), 1)?[0],
        );
        let stream = outcome.stream_histograms.as_ref();
        let written = match agent_file.as_mut() {
            Some(file) => rtbench_load::write_agent_output(file, &share, summary, stream, log),
            None => {
                let mut bytes = Vec::new();
                rtbench_load::write_agent_output(&mut bytes, &share, summary, stream, log).and_then(
                    |()| {
                        rtbench_harness::write_agent_chunks(
                            &mut std::io::stdout(),
                            share.index,
                            &bytes,
                        )
                    },
                )
            }
        };
        if let Err(e) = written {
            local_errors.push(format!("cannot write the --agent-output file: {e}"));
        }
    }
    if let Some(file) = output.as_mut() {
        if let Err(e) = print_json(file, &config, summary, &args.method) {
            local_errors.push(format!("cannot write the --output file: {e}"));
        }
    }
    let files = [
        (hlog, "--hlog"),
        (hgrm, "--hgrm"),
        (output, "--output"),
        (agent_file, "--agent-output"),
    ];
    for (file, flag) in files {
        if let Some(mut file) = file {
            if let Err(e) = file.flush() {
                local_errors.push(format!("cannot write the {flag} file: {e}"));
            }
        }
    }
    local_errors.dedup();
    for e in &local_errors {
        eprintln!("rtbench: error: {e}");
    }
    if let Some(signal) = signal {
        return Ok(ExitCode::from(128 + signal as u8));
    }
    if !local_errors.is_empty() {
        return Ok(ExitCode::from(EXIT_LOCAL));
    }
    Ok(exit_code(summary))
}

/// `--ceiling`: the client against the built-in server.
fn run_ceiling(args: &Args) -> anyhow::Result<ExitCode> {
    let mut options = rtbench_load::CeilingOptions::new();
    if let Some(cpus) = &args.cpus {
        options.client_cpus = parse_cpu_list(cpus).map_err(|e| anyhow::anyhow!("--cpus {e}"))?;
        let others: Vec<usize> = rtbench_load::allowed_cpus()
            .into_iter()
            .filter(|c| !options.client_cpus.contains(c))
            .collect();
        if !others.is_empty() {
            options.server_cpus = others;
        }
    }
    if let Some(cpus) = &args.server_cpus {
        options.server_cpus =
            parse_cpu_list(cpus).map_err(|e| anyhow::anyhow!("--server-cpus {e}"))?;
    }
    options.connections = positive(args.connections, "--connections")?;
    options.io = args.io.into();
    if let Some(d) = &args.duration {
        options.duration = parse_duration(d, "--duration")?;
    }
    let ceiling = rtbench_load::ceiling(&options)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &ceiling)?;
        writeln!(out)?;
    } else {
        crate::load_print::print_ceiling(&mut out, &ceiling, &options)?;
    }
    if ceiling.summary.requests == 0 {
        eprintln!("rtbench: error: no request completed against the built-in server");
        return Ok(ExitCode::from(EXIT_TARGET_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGINT, SIGTERM and SIGHUP stop the run (the summary of what was measured is still printed);
/// a second one ends the process at once.
struct Signals {
    handle: signal_hook::iterator::Handle,
    caught: Arc<AtomicI32>,
    thread: std::thread::JoinHandle<()>,
}

impl Signals {
    fn watch(stop: &StopHandle) -> anyhow::Result<Signals> {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot install signal handlers")?;
        let handle = signals.handle();
        let caught = Arc::new(AtomicI32::new(0));
        let (stop, seen) = (stop.clone(), caught.clone());
        let thread = std::thread::spawn(move || {
            for signal in &mut signals {
                if seen.swap(signal, Ordering::SeqCst) != 0 {
                    std::process::exit(128 + signal);
                }
                stop.stop();
            }
        });
        Ok(Signals {
            handle,
            caught,
            thread,
        })
    }

    /// Stops watching; the signal that stopped the run, if one did.
    fn finish(self) -> Option<i32> {
        self.handle.close();
        let _ = self.thread.join();
        match self.caught.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }
}

/// 1 when the target failed the run: nothing completed, or a counted run ended without its count
/// (it stalled); say why on stderr.
fn exit_code(summary: &Summary) -> ExitCode {
    if summary.ended == Ended::Stalled {
        let asked = summary.requests_asked.unwrap_or(0);
        eprintln!(
            "rtbench: error: the run ended early: {} of {asked} requests answered, then no \
             response for twice the timeout",
            summary.requests
        );
        return ExitCode::from(EXIT_TARGET_FAILED);
    }
    if let Some(asked) = summary.requests_asked {
        if summary.requests < asked {
            eprintln!(
                "rtbench: error: {} of {asked} requests answered ({} failed)",
                summary.requests,
                asked - summary.requests
            );
            return ExitCode::from(EXIT_TARGET_FAILED);
        }
    }
    if summary.completed() > 0 {
        return ExitCode::SUCCESS;
    }
    let e = &summary.errors;
    let classes = [
        ("connect", e.connect),
        ("read", e.read),
        ("write", e.write),
        ("timeout", e.timeout),
        ("status", e.status),
        ("parse", e.parse),
        ("content-type", e.content_type),
    ];
    let reasons: Vec<String> = classes
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(class, n)| format!("{n} {class}"))
        .collect();
    let what = if summary.stream.is_some() {
        "no stream"
    } else {
        "no response"
    };
    let established = format!(
        "{} of {} connections established",
        summary.connections_established, summary.connections
    );
    if reasons.is_empty() {
        eprintln!("rtbench: error: {what} completed; {established}");
    } else {
        eprintln!(
            "rtbench: error: {what} completed ({} errors); {established}",
            reasons.join(", ")
        );
    }
    ExitCode::from(EXIT_TARGET_FAILED)
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create '{}'", path.display()))?;
    Ok(BufWriter::new(file))
}

/// Turns the flags into the engine's settings, validated by `build`. Values the engine checks
/// itself (zero counts, URL, headers) are passed through so its message names them.
fn builder(args: &Args) -> anyhow::Result<LoadBuilder> {
    let mut b = LoadBuilder::new(args.url.as_deref().unwrap_or_default())
        .connections(positive(
            args.streams.unwrap_or(args.connections),
            flag_c(args),
        )?)
        .pipeline(positive(args.pipeline, "--pipeline")?)
        .method(&args.method)
        .io(args.io.into())
        .timeout(parse_duration(&args.timeout, "--timeout")?);
    if let Some(d) = &args.duration {
        b = b.duration(parse_duration(d, "--duration")?);
    }
    if let Some(n) = args.requests {
        b = b.requests(positive(n, "--requests")?);
    }
    if let Some(t) = args.threads {
        b = b.threads(positive(t, "--threads")?);
    }
    if let Some(cpus) = &args.cpus {
        b = b.cpus(parse_cpu_list(cpus).map_err(|e| anyhow::anyhow!("--cpus {e}"))?);
    }
    if let Some(rate) = args.rate {
        b = b.rate(rate);
    }
    if let Some(agent) = &args.agent {
        let bad = || anyhow::anyhow!("--agent '{agent}': expected J/N, e.g. 0/3 (0-based)");
        let (j, n) = agent.split_once('/').ok_or_else(bad)?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        // `swarm/N`: a swarm agent, numbered by its task slot.
        let j = match j.trim() {
            "swarm" => rtbench_harness::agent_index(
                &std::env::var(rtbench_harness::SLOT_ENV).unwrap_or_default(),
                n,
            ),
            j => j.parse().map_err(|_| bad())?,
        };
        b = b.agent(j, n);
    }
    if let Some(at) = args.start_at {
        b = b.start_at(at);
    }
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            bail!("invalid header '{header}': expected 'Name: value'");
        };
        b = b.header(name.trim(), value.trim());
    }
    if let Some(body) = &args.body {
        b = b.body(body.as_bytes());
    }
    if let Some(w) = &args.warmup {
        b = b.warmup(parse_duration(w, "--warmup")?);
    }
    let stream_flags = [
        ("--streams", args.streams),
        ("--events", args.events),
        ("--interval-ms", args.interval_ms),
        ("--abort-after", args.abort_after),
    ];
    if args.sse {
        let opt = |v: Option<i64>, flag| v.map(|v| positive(v, flag)).transpose();
        let interval_ms = match args.interval_ms {
            Some(m) if m < 0 => bail!("--interval-ms must be ≥ 0 (got {m})"),
            m => m.map(|m| m as u64),
        };
        b = b.stream(StreamOptions {
            events: opt(args.events, "--events")?,
            interval_ms,
            abort_after: opt(args.abort_after, "--abort-after")?,
        });
    } else if let Some((flag, _)) = stream_flags.iter().find(|(_, v)| v.is_some()) {
        bail!("{flag} applies to SSE streams only: add --sse");
    }
    Ok(b)
}

fn flag_c(args: &Args) -> &'static str {
    if args.streams.is_some() {
        "--streams"
    } else {
        "--connections"
    }
}

/// Negative counts fail here; zero goes through to the engine, whose message names the option.
fn positive(value: i64, flag: &str) -> anyhow::Result<u64> {
    u64::try_from(value).map_err(|_| anyhow::anyhow!("{flag} must be > 0 (got {value})"))
}

/// humantime's durations (`10s`, `500ms`, `1m30s`, `2h`, `250us`); a bare number is seconds.
pub(crate) fn parse_duration(text: &str, flag: &str) -> anyhow::Result<Duration> {
    let bad =
        || anyhow::anyhow!("invalid duration '{text}' for {flag} (use e.g. 10s, 500ms, 1m30s)");
    let t = text.trim();
    if let Ok(seconds) = t.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| bad());
    }
    humantime::parse_duration(t).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        let d = |t| parse_duration(t, "--duration").unwrap();
        assert_eq!(d("10s"), Duration::from_secs(10));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("2m"), Duration::from_secs(120));
        assert_eq!(d("1.5"), Duration::from_millis(1500));
        assert_eq!(d("250us"), Duration::from_micros(250));
        let err = parse_duration("-5s", "--duration").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid duration '-5s' for --duration (use e.g. 10s, 500ms, 1m30s)"
        );
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert!(parse_duration("-5", "--duration").is_err());
        assert!(parse_duration("10 parsecs", "--warmup").is_err());
        assert!(parse_duration("", "--warmup").is_err());
    }
}
