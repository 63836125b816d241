//! Starts the workers, merges what they measured once at the end, and writes the optional
//! histogram outputs.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::book::Book;
use crate::config::{LoadConfig, Stop};
use crate::error::LoadError;
use crate::hist::{self, IntervalReport};
use crate::schedule::{Closed, Open, Schedule};
use crate::stream::Stream;
use crate::stream_figures::{StreamFigures, StreamHistograms};
use crate::summary::{Ended, ErrorCounts, IoBackend, Model, Summary};
use crate::sys;
use crate::worker::{Backend, Plan, Worker};
use crate::worker_epoll::Epoll;
use crate::worker_out::WorkerOut;
use crate::worker_uring::Uring;

/// At most this long for the first connection, which tells a dead target from a live one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Descriptors besides the connections: stdio, epoll and timer (or io_uring) per worker, log
/// files.
const SPARE_FDS: u64 = 64;

/// Optional outputs of a run, written while it goes (interval log) or at its end (distribution).
#[derive(Default)]
pub struct Hooks<'a> {
    /// Receives the HdrHistogram interval log (format 1.3): one merged histogram per second of the
    /// measured window, values in µs, untagged = latency (corrected in open runs), tag
    /// `uncorrected` = from the actual send (open runs).
    pub hlog: Option<&'a mut (dyn Write + Send)>,
    /// Receives the percentile distribution (`.hgrm`, values in ms) of the whole run's latency.
    pub hgrm: Option<&'a mut dyn Write>,
}

/// Ends a run early from another thread (a signal handler, a coordinator): the workers stop at
/// their next loop turn (within 10 ms) and the run returns what it measured until then, with
/// [`Summary::ended`] = [`crate::Ended::Interrupted`]. Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// A handle that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the run to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What [`run_until`] returns: the summary, and the outputs that could not be written (the run's
/// figures are never thrown away because a file could not take them).
#[derive(Debug)]
pub struct Outcome {
    /// What was measured.
    pub summary: Summary,
    /// Failures writing the interval log or the percentile distribution.
    pub output_errors: Vec<LoadError>,
    /// Stream model: the histograms behind the summary's stream section (an agent's output
    /// carries them, so agents merge exactly).
    pub stream_histograms: Option<StreamHistograms>,
}

/// Runs the load described by `config` and returns what it measured.
///
/// Fails before any load when the target refuses the first connection or the process cannot open
/// enough sockets; failures during the run are counted in [`Summary::errors`].
pub fn run(config: &LoadConfig) -> Result<Summary, LoadError> {
    run_with(config, Hooks::default())
}

/// [`run`], also writing the outputs asked for in `hooks`; a failed output fails the run.
pub fn run_with(config: &LoadConfig, hooks: Hooks<'_>) -> Result<Summary, LoadError> {
    let outcome = run_until(config, hooks, &StopHandle::new())?;
    match outcome.output_errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(outcome.summary),
    }
}

/// [`run_with`] that `stop` can end early, and that returns the summary even when an output
/// failed (the failures are in [`Outcome::output_errors`]).
pub fn run_until(
    config: &LoadConfig,
    hooks: Hooks<'_>,
    stop: &StopHandle,
) -> Result<Outcome, LoadError> {
    let connections = config.connections();
    let limit = sys::raise_nofile_limit();
    let needed = connections + SPARE_FDS;
    if needed > limit {
        return Err(LoadError::FileLimit {
            connections,
            needed,
            limit,
        });
    }
    probe(config)?;

    let pipeline = config.pipeline() as u32;
    let mut batch = Vec::with_capacity(config.request.len() * pipeline as usize);
    for _ in 0..pipeline {
        batch.extend_from_slice(&config.request);
    }
    let timeout_ns = config.timeout().as_nanos() as u64;
    let plan = Plan {
        addr: config.addr(),
        batch,
        request_len: config.request.len(),
        head: config.head,
        timeout_ns,
        warmup_ns: config.warmup().as_nanos() as u64,
        run_ns: config.duration().map(|d| d.as_nanos() as u64),
        stall_ns: matches!(config.stop, Stop::Requests(_)).then_some(2 * timeout_ns),
        start_at_wall_ns: config.start_at(),
    };

    let threads = config.threads() as usize;
    let cpus = config.cpus();
    let barriers = (Barrier::new(threads), Barrier::new(threads));
    let (tx, rx) = mpsc::channel::<IntervalReport>();
    let hlog = hooks.hlog;
    let stop_flag: &AtomicBool = &stop.0;
    let mut output_errors = Vec::new();
    let outs: Vec<Result<WorkerOut, LoadError>> = std::thread::scope(|scope| {
        let collector = hlog.map(|out| {
            scope.spawn(move || {
                hist::write_hlog(out, threads, rx).map_err(|source| LoadError::Output {
                    what: "interval log",
                    source,
                })
            })
        });
        let mut first = config.slice().0;
        let mut handles = Vec::with_capacity(threads);
        for w in 0..threads {
            let local = share(connections, threads as u64, w as u64);
            let spec = Spec {
                cpu: cpus[w % cpus.len()],
                first,
                local,
                budget: match config.stop {
                    Stop::Requests(n) => Some(share(n, threads as u64, w as u64)),
                    _ => None,
                },
            };
            first += local;
            let tx = collector.is_some().then(|| tx.clone());
            let (plan, barriers) = (&plan, &barriers);
            handles
                .push(scope.spawn(move || run_worker(config, plan, spec, barriers, stop_flag, tx)));
        }
        drop(tx);
        let outs: Vec<Result<WorkerOut, LoadError>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(panicked())))
            .collect();
        if let Some(collector) = collector {
            if let Err(e) = collector.join().unwrap_or_else(|_| Err(panicked())) {
                output_errors.push(e);
            }
        }
        outs
    });
    let outs = outs.into_iter().collect::<Result<Vec<_>, _>>()?;
    if outs.iter().any(|o| o.out_of_files) {
        // The process limit looked sufficient, but the system ran out: say so rather than
        // report a run that never held its connections.
        return Err(LoadError::FileLimit {
            connections,
            needed,
            limit,
        });
    }
    let (summary, latency, stream_histograms) = merge(config, outs);
    if let Some(out) = hooks.hgrm {
        if let Err(source) = hist::write_hgrm(&latency, out) {
            output_errors.push(LoadError::Output {
                what: "percentile distribution",
                source,
            });
        }
    }
    Ok(Outcome {
        summary,
        output_errors,
        stream_histograms,
    })
}

fn panicked() -> LoadError {
    LoadError::Worker {
        what: "worker thread",
        source: std::io::Error::other("the thread panicked"),
    }
}

/// Worker `w`'s share of `n` things split over `parts`.
fn share(n: u64, parts: u64, w: u64) -> u64 {
    n / parts + u64::from(w < n % parts)
}

/// One blocking connect before any load: a target that is not there fails the run with its reason
/// instead of a summary full of connect errors.
fn probe(config: &LoadConfig) -> Result<(), LoadError> {
    let addr = config.addr();
    match StdTcpStream::connect_timeout(&addr, config.timeout().min(PROBE_TIMEOUT)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(LoadError::ConnectionRefused { addr })
        }
        Err(source) => Err(LoadError::Connect { addr, source }),
    }
}

/// Where one worker runs and what it owns.
struct Spec {
    cpu: usize,
    /// Global index of its first connection, and how many it owns.
    first: u64,
    local: u64,
    /// Its share of a counted run's requests.
    budget: Option<u64>,
}

fn run_worker(
    config: &LoadConfig,
    plan: &Plan,
    spec: Spec,
    (ready, start): &(Barrier, Barrier),
    stop: &AtomicBool,
    hlog: Option<mpsc::Sender<IntervalReport>>,
) -> Result<WorkerOut, LoadError> {
    let local = spec.local as usize;
    let setup = || -> Result<Io<'_>, LoadError> {
        let err = |what| move |source| LoadError::Worker { what, source };
        sys::pin_to(spec.cpu).map_err(err("pinning to a CPU"))?;
        // Made on the worker's own thread: an io_uring ring belongs to the thread that made it.
        match config.io() {
            IoBackend::Epoll => Epoll::new(plan, local, config.model() == Model::Open)
                .map(Io::Epoll)
                .map_err(err("creating the event loop")),
            IoBackend::Uring => Uring::new(plan, local)
                .map(|io| Io::Uring(Box::new(io)))
                .map_err(|reason| LoadError::IoUring { reason }),
        }
    };
    let setup = setup();
    // Every worker passes both barriers, even one that failed, so none waits forever.
    ready.wait();
    let io = match setup {
        Ok(io) => io,
        Err(e) => {
            start.wait();
            return Err(e);
        }
    };
    let run = Run {
        config,
        plan,
        spec,
        hlog,
        start,
        stop,
    };
    match io {
        Io::Epoll(io) => run.drive(io),
        Io::Uring(io) => run.drive(*io),
    }
    .map_err(|source| LoadError::Worker {
        what: "waiting for events",
        source,
    })
}

/// A worker's I/O backend, made on its thread.
enum Io<'p> {
    Epoll(Epoll<'p>),
    Uring(Box<Uring<'p>>),
}

/// What a worker's load loop needs besides its backend.
struct Run<'a> {
    config: &'a LoadConfig,
    plan: &'a Plan,
    spec: Spec,
    hlog: Option<mpsc::Sender<IntervalReport>>,
    start: &'a Barrier,
    stop: &'a AtomicBool,
}

impl Run<'_> {
    /// Runs the load loop of the run's model on `io`.
    fn drive<B: Backend>(self, io: B) -> std::io::Result<WorkerOut> {
        let (config, local) = (self.config, self.spec.local as usize);
        match config.model() {
            Model::Open => {
                let rate = config.rate().unwrap_or(1.0);
                let limit = config
                    .requests()
                    .map(|n| (n, config.warmup().as_nanos() as u64));
                let sched = Open::new(
                    rate,
                    config.slice().1,
                    self.spec.first,
                    local,
                    config.pipeline() as u32,
                    limit,
                );
                self.go(sched, io)
            }
            Model::Closed => {
                let sched = Closed::new(config.pipeline() as u32, self.spec.budget);
                self.go(sched, io)
            }
            Model::Stream => {
                let expect = config.stream.expect("the stream model has stream options");
                let repeat = config.duration().is_some();
                let sched = Stream::new(local, repeat, expect.events, expect.abort_after);
                self.go(sched, io)
            }
        }
    }

    fn go<S: Schedule, B: Backend>(self, sched: S, io: B) -> std::io::Result<WorkerOut> {
        let book = Book::new(self.plan, sched, self.spec.local as usize, self.hlog);
        Worker::new(book, io).run(self.start, self.stop)
    }
}

/// Adds the workers' figures up into one summary (and the merged latency histogram: response
/// latency, or event latency in the stream model, and the stream model's other histograms).
fn merge(
    config: &LoadConfig,
    outs: Vec<WorkerOut>,
) -> (
    Summary,
    hdrhistogram::Histogram<u64>,
    Option<StreamHistograms>,
) {
    let mut latency = hist::new_histogram();
    let mut uncorrected = hist::new_histogram();
    let mut errors = ErrorCounts::default();
    let mut streams = Vec::new();
    let (mut requests, mut ok, mut bytes, mut cpu_ns, mut measured_ns, mut unsent) =
        (0, 0, 0, 0, 0, 0);
    let (mut ended, mut established, mut connect_ns) = (Ended::Completed, 0, 0);
    let mut start_wall_ns = u64::MAX;
    let mut status_codes = BTreeMap::new();
    let mut error_reasons = BTreeMap::new();
    for out in outs {
        // An interruption outranks a stall: the user stopped it.
        ended = match (ended, out.ended) {
            (Ended::Interrupted, _) | (_, Ended::Interrupted) => Ended::Interrupted,
            (Ended::Stalled, _) | (_, Ended::Stalled) => Ended::Stalled,
            _ => Ended::Completed,
        };
        established += out.established;
        start_wall_ns = start_wall_ns.min(out.start_wall_ns);
        connect_ns = connect_ns.max(out.connect_ns);
        for (status, n) in &out.status_codes {
            *status_codes.entry(*status).or_insert(0) += n;
        }
        for (reason, n) in &out.reasons {
            *error_reasons.entry(reason.to_string()).or_insert(0) += n;
        }
        streams.extend(out.stream);
        let _ = latency.add(&out.latency);
        if let Some(u) = &out.uncorrected {
            let _ = uncorrected.add(u);
        }
        requests += out.requests;
        ok += out.ok;
        bytes += out.bytes;
        cpu_ns += out.cpu_ns;
        measured_ns = measured_ns.max(out.measured_ns);
        unsent += out.unsent;
        errors.add(&out.errors);
    }
    let duration_s = measured_ns as f64 / 1e9;
    let per_s = |n: u64| {
        if duration_s > 0.0 {
            n as f64 / duration_s
        } else {
            0.0
        }
    };
    let client_cpu_s = cpu_ns as f64 / 1e9;
    let capacity = (config.threads() as usize).min(config.cpus().len()) as f64;
    let client_cpu_fraction = if duration_s > 0.0 {
        client_cpu_s / (duration_s * capacity)
    } else {
        0.0
    };
    let open = config.model() == Model::Open;
    let (stream, stream_histograms) = match config.model() {
        Model::Stream => {
            let (s, h) = StreamFigures::merge(streams.into_iter(), &latency, duration_s);
            (Some(s), Some(h))
        }
        _ => (None, None),
    };
    let summary = Summary {
        model: config.model(),
        io: config.io(),
        connections: config.connections(),
        pipeline: config.pipeline(),
        threads: config.threads(),
        requests,
        duration_s,
        rps: per_s(ok),
        bytes_read: bytes,
        transfer_bytes_per_s: per_s(bytes),
        errors,
        latency_us: hist::percentiles(&latency),
        latency_uncorrected_us: open.then(|| hist::percentiles(&uncorrected)),
        target_rate: config.rate().map(|r| r * config.slice_fraction()),
        achieved_rate: open.then(|| per_s(requests)),
        unsent_due: open.then_some(unsent),
        client_cpu_s,
        client_cpu_fraction,
        // Without a ceiling here: the runner applies the same rule again with the run's.
        client_bound: crate::ceiling::client_bound(client_cpu_fraction, None),
        stream,
        ended,
        requests_asked: config.requests_asked(),
        start_wall_ns: if start_wall_ns == u64::MAX {
            0
        } else {
            start_wall_ns
        },
        cpus: config.cpus().to_vec(),
        connections_established: established,
        connect_s: connect_ns as f64 / 1e9,
        status_codes,
        error_reasons,
    };
    (summary, latency, stream_histograms)
}
