//! What to load and how: a builder of raw values, validated once into an immutable [`LoadConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::LoadError;
use crate::request::{build_request, is_token, stream_path, stream_query, Url};
use crate::summary::{IoBackend, Model};
use crate::sys;

const DEFAULT_CONNECTIONS: u64 = 64;
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Histograms track up to 60 s; a longer timeout could not be recorded anyway.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest batch of (pipelined) requests written per connection.
const MAX_BATCH: u64 = 1 << 30;
/// sched_setaffinity's fixed cpu_set_t holds this many CPUs.
const MAX_CPU: usize = 1024;

/// Options of the stream (SSE) model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// Events per stream, sent as `events=N` in the query (default: the URL's own, else 10).
    pub events: Option<u64>,
    /// Milliseconds between events, sent as `interval_ms=M` (default: the URL's own, else 10).
    pub interval_ms: Option<u64>,
    /// Close each stream after this many events (the relay scenario's client leaving early).
    pub abort_after: Option<u64>,
}

/// Collects the settings of a load run; [`LoadBuilder::build`] checks them all at once.
///
/// Defaults: `GET`, 64 connections, one thread pinned to the first CPU this process may use,
/// pipeline depth 1, the closed model for 10 s, no warm-up, a 10 s timeout.
#[derive(Debug, Clone)]
pub struct LoadBuilder {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) connections: u64,
    pub(crate) threads: Option<u64>,
    pub(crate) cpus: Option<Vec<usize>>,
    pub(crate) pipeline: u64,
    pub(crate) duration: Option<Duration>,
    pub(crate) requests: Option<u64>,
    pub(crate) rate: Option<f64>,
    pub(crate) warmup: Duration,
    pub(crate) timeout: Duration,
    pub(crate) stream: Option<StreamOptions>,
    pub(crate) start_at: Option<u64>,
    pub(crate) slice: Option<(u64, u64)>,
    pub(crate) agent: Option<(u64, u64)>,
    pub(crate) io: IoBackend,
}

impl LoadBuilder {
    /// Starts a run against `url` (`http://host[:port][/path][?query]`).
    pub fn new(url: &str) -> Self {
        LoadBuilder {
            url: url.to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            connections: DEFAULT_CONNECTIONS,
            threads: None,
            cpus: None,
            pipeline: 1,
            duration: None,
            requests: None,
            rate: None,
            warmup: Duration::ZERO,
            timeout: DEFAULT_TIMEOUT,
            stream: None,
            start_at: None,
            slice: None,
            agent: None,
            io: IoBackend::Epoll,
        }
    }

    /// How the workers do their socket I/O (default epoll); io_uring serves the closed and open
    /// models, not SSE streams.
    pub fn io(mut self, io: IoBackend) -> Self {
        self.io = io;
        self
    }

    /// This process is agent `index` (0-based) of `agents`: it runs its [`crate::split`] share
    /// of the run the other settings describe (connections, and the count of a closed run), on
    /// its slice of the global schedule.
    pub fn agent(mut self, index: u64, agents: u64) -> Self {
        self.agent = Some((index, agents));
        self
    }

    /// The request method (default `GET`).
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_owned();
        self
    }

    /// Adds a request header; a `Host` header replaces the one derived from the URL.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The request body; a `Content-Length` header is added for it.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Concurrent connections (in the stream model: concurrent streams).
    pub fn connections(mut self, connections: u64) -> Self {
        self.connections = connections;
        self
    }

    /// Worker threads (default: one per CPU in [`LoadBuilder::cpus`], at most one per connection).
    pub fn threads(mut self, threads: u64) -> Self {
        self.threads = Some(threads);
        self
    }

    /// CPUs the workers are pinned to, round-robin (default: every CPU this process may use, as
    /// `sched_getaffinity` says).
    pub fn cpus(mut self, cpus: Vec<usize>) -> Self {
        self.cpus = Some(cpus);
        self
    }

    /// Requests written back to back per connection before waiting for their responses.
    pub fn pipeline(mut self, depth: u64) -> Self {
        self.pipeline = depth;
        self
    }

    /// Run for this long after the warm-up (default 10 s unless a request count is given).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Send exactly this many requests after the warm-up, then stop.
    pub fn requests(mut self, requests: u64) -> Self {
        self.requests = Some(requests);
        self
    }

    /// Switches to the open model: this many requests per second over all connections.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// Load the server this long on the same connections before measuring.
    pub fn warmup(mut self, warmup: Duration) -> Self {
        self.warmup = warmup;
        self
    }

    /// A request without its complete response after this long counts as a timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the clock at this wall-clock instant (ns since the Unix epoch) once connected, so
    /// agents on several machines start together; an instant already past starts at once.
    pub fn start_at(mut self, unix_ns: u64) -> Self {
        self.start_at = Some(unix_ns);
        self
    }

    /// This run is one share of a larger one: its connections are the global connections
    /// `first..first + connections` of `total`. In the open model their requests fall due exactly
    /// when they would in the whole run at the whole rate ([`LoadBuilder::rate`] stays the whole
    /// run's rate), so the shares' schedules interleave into the asked one.
    pub fn slice(mut self, first: u64, total: u64) -> Self {
        self.slice = Some((first, total));
        self
    }

    /// Switches to the stream model: each connection reads one SSE stream.
    pub fn stream(mut self, options: StreamOptions) -> Self {
        self.stream = Some(options);
        self
    }

    /// Checks every setting and resolves the host.
    pub fn build(mut self) -> Result<LoadConfig, LoadError> {
        let url = Url::parse(&self.url)?;
        let invalid =
            |option: &'static str, reason: String| LoadError::InvalidOption { option, reason };
        let mut share = None;
        if let Some((index, agents)) = self.agent {
            if index >= agents {
                return Err(invalid(
                    "--agent",
                    format!("index {index} is not below the agent count {agents} (0-based)"),
                ));
            }
            let model = match (&self.stream, self.rate) {
                (Some(_), _) => Model::Stream,
                (None, Some(_)) => Model::Open,
                (None, None) => Model::Closed,
            };
            let mine = crate::agent::split(self.connections, self.requests, model, agents)?
                [index as usize];
            self.connections = mine.connections;
            self.requests = mine.requests;
            self.slice = Some((mine.first, mine.total));
            share = Some(mine);
        }
        if self.connections == 0 {
            return Err(invalid("--connections", "must be > 0".into()));
        }
        if self.pipeline == 0 {
            return Err(invalid("--pipeline", "must be > 0".into()));
        }
        if self.pipeline > 1024 {
            return Err(invalid(
                "--pipeline",
                format!("must be ≤ 1024 (got {})", self.pipeline),
            ));
        }
        if self.duration.is_some() && self.requests.is_some() {
            return Err(invalid(
                "--requests",
                "and --duration exclude each other: give one".into(),
            ));
        }
        if self.duration == Some(Duration::ZERO) {
            return Err(invalid("--duration", "must be > 0".into()));
        }
        if self.requests == Some(0) {
            return Err(invalid("--requests", "must be > 0".into()));
        }
        if self.timeout.is_zero() {
            return Err(invalid("--timeout", "must be > 0".into()));
        }
        if self.timeout > MAX_TIMEOUT {
            return Err(invalid(
                "--timeout",
                format!("must be ≤ 60s (got {:?})", self.timeout),
            ));
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid("--rate", format!("must be > 0 (got {rate})")));
            }
        }
        let cpus = match self.cpus {
            Some(cpus) => check_cpus(cpus)?,
            None => {
                let allowed = sys::allowed_cpus();
                if allowed.is_empty() {
                    vec![0]
                } else {
                    allowed
                }
            }
        };
        let threads = self
            .threads
            .unwrap_or((cpus.len() as u64).min(self.connections));
        let slice = self.slice.unwrap_or((0, self.connections));
        if slice
            .0
            .checked_add(self.connections)
            .map_or(true, |end| end > slice.1)
        {
            return Err(invalid(
                "--slice",
                format!(
                    "connections {}..{} do not fit in {} connections",
                    slice.0,
                    slice.0.saturating_add(self.connections),
                    slice.1
                ),
            ));
        }
        if threads == 0 {
            return Err(invalid("--threads", "must be > 0".into()));
        }
        if threads > self.connections {
            return Err(invalid(
                "--threads",
                format!("({threads}) must be ≤ --connections ({})", self.connections),
            ));
        }
        let method = self.method.trim().to_owned();
        if method.is_empty() || !method.bytes().all(is_token) {
            return Err(invalid(
                "--method",
                format!("'{}' is not an HTTP method", self.method),
            ));
        }
        let mut path = url.path.clone();
        let model = match (&self.stream, self.rate) {
            (Some(_), Some(_)) => {
                return Err(invalid("--rate", "does not apply to SSE streams".into()));
            }
            (Some(_), None) if self.io == IoBackend::Uring => {
                return Err(invalid(
                    "--io",
                    "uring does not apply to SSE streams (the stream model runs on epoll)".into(),
                ));
            }
            (Some(stream), None) => {
                if self.pipeline != 1 {
                    return Err(invalid(
                        "--pipeline",
                        "does not apply to SSE streams".into(),
                    ));
                }
                if self.requests.is_some() {
                    return Err(invalid(
                        "--requests",
                        "does not apply to SSE streams (use --streams)".into(),
                    ));
                }
                if !self.warmup.is_zero() {
                    return Err(invalid("--warmup", "does not apply to SSE streams".into()));
                }
                if stream.abort_after == Some(0) {
                    return Err(invalid("--abort-after", "must be > 0".into()));
                }
                path = stream_path(&path, stream);
                Model::Stream
            }
            (None, Some(_)) => Model::Open,
            (None, None) => Model::Closed,
        };
        let stream_expect = self.stream.as_ref().map(|s| {
            let (events, interval_ms) = stream_query(&path);
            StreamExpect {
                events: s.abort_after.map_or(events, |k| k.min(events)),
                interval_ms,
                abort_after: s.abort_after,
            }
        });
        let head = method.eq_ignore_ascii_case("HEAD");
        let request = build_request(&method, &path, &url.host_header, &self.headers, &self.body)?;
        // Workers keep a batch's offsets in u32; a gigabyte per batch is far beyond any benchmark.
        let batch = request.len() as u64 * self.pipeline;
        if batch > MAX_BATCH {
            return Err(invalid(
                "--body",
                format!("is too large: a batch of requests would be {batch} bytes (max 1 GiB)"),
            ));
        }
        let addr = url.resolve()?;
        let stop = match (self.requests, self.duration) {
            (Some(n), _) => Stop::Requests(n),
            (None, Some(d)) => Stop::Duration(d),
            (None, None) if model == Model::Stream => Stop::Streams,
            (None, None) => Stop::Duration(DEFAULT_DURATION),
        };
        Ok(LoadConfig {
            url: self.url,
            addr,
            model,
            request,
            head,
            connections: self.connections,
            threads,
            cpus,
            pipeline: self.pipeline,
            stop,
            stream_duration: if model == Model::Stream {
                self.duration
            } else {
                None
            },
            rate: self.rate,
            warmup: self.warmup,
            timeout: self.timeout,
            stream: stream_expect,
            start_at: self.start_at,
            slice,
            share,
            io: self.io,
        })
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stop {
    Duration(Duration),
    Requests(u64),
    /// The stream model without a duration: when every stream ended.
    Streams,
}

/// What each SSE stream is expected to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamExpect {
    /// Events each stream should deliver (capped by `abort_after`).
    pub events: u64,
    pub interval_ms: u64,
    pub abort_after: Option<u64>,
}

/// A validated, immutable load run description; pass it to [`crate::run`].
#[derive(Debug, Clone)]
pub struct LoadConfig {
    url: String,
    addr: SocketAddr,
    model: Model,
    pub(crate) request: Vec<u8>,
    pub(crate) head: bool,
    connections: u64,
    threads: u64,
    cpus: Vec<usize>,
    pipeline: u64,
    pub(crate) stop: Stop,
    pub(crate) stream_duration: Option<Duration>,
    rate: Option<f64>,
    warmup: Duration,
    timeout: Duration,
    pub(crate) stream: Option<StreamExpect>,
    start_at: Option<u64>,
    slice: (u64, u64),
    share: Option<crate::agent::Share>,
    io: IoBackend,
}

impl LoadConfig {
    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The resolved address connections go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Closed, open or stream.
    pub fn model(&self) -> Model {
        self.model
    }
    /// How the workers do their socket I/O.
    pub fn io(&self) -> IoBackend {
        self.io
    }
    /// Connections (streams in the stream model).
    pub fn connections(&self) -> u64 {
        self.connections
    }
    /// Worker threads.
    pub fn threads(&self) -> u64 {
        self.threads
    }
    /// CPUs the workers are pinned to.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }
    /// Pipeline depth.
    pub fn pipeline(&self) -> u64 {
        self.pipeline
    }
    /// The measured duration, when the run is timed (`None` for a request count or streams).
    pub fn duration(&self) -> Option<Duration> {
        match self.stop {
            Stop::Duration(d) => Some(d),
            _ => self.stream_duration,
        }
    }
    /// The request count, when the run is counted.
    pub fn requests(&self) -> Option<u64> {
        match self.stop {
            Stop::Requests(n) => Some(n),
            _ => None,
        }
    }
    /// Requests per second of the open model.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }
    /// Warm-up, excluded from every figure.
    pub fn warmup(&self) -> Duration {
        self.warmup
    }
    /// Request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// The serialized request, exactly as written on the wire.
    pub fn request_bytes(&self) -> &[u8] {
        &self.request
    }
    /// Requests this run must complete: the count, or in an open run that is a slice of a larger
    /// one, the requests of the counted schedule that fall on its connections.
    pub fn requests_asked(&self) -> Option<u64> {
        let n = self.requests()?;
        let (first, total) = self.slice;
        if self.model != Model::Open || self.connections == total {
            return Some(n);
        }
        // Global request g goes to connection g mod total: connection c gets ceil((n − c)/total).
        Some(
            (first..first + self.connections)
                .map(|c| n.saturating_sub(c).div_ceil(total))
                .sum(),
        )
    }
    /// The agent share this run carries, when it is one agent of several.
    pub fn share(&self) -> Option<crate::agent::Share> {
        self.share
    }
    /// The agreed wall-clock start, ns since the Unix epoch.
    pub fn start_at(&self) -> Option<u64> {
        self.start_at
    }
    /// This run's share of a larger run: (first global connection, total connections).
    pub fn slice(&self) -> (u64, u64) {
        self.slice
    }
    /// The fraction of the whole run's connections (and open-model rate) this run carries.
    pub fn slice_fraction(&self) -> f64 {
        self.connections as f64 / self.slice.1 as f64
    }
    /// Events each stream is expected to deliver (stream model only).
    pub fn stream_events(&self) -> Option<u64> {
        self.stream.map(|s| s.events)
    }
}

fn check_cpus(mut cpus: Vec<usize>) -> Result<Vec<usize>, LoadError> {
    let invalid = |reason: String| LoadError::InvalidOption {
        option: "--cpus",
        reason,
    };
    if cpus.is_empty() {
        return Err(invalid("must name at least one CPU".into()));
    }
    let allowed = sys::allowed_cpus();
    for &cpu in &cpus {
        if cpu >= MAX_CPU || (!allowed.is_empty() && !allowed.contains(&cpu)) {
            return Err(invalid(format!(
                "names CPU {cpu}, which this process may not use (allowed: {})",
                sys::format_cpus(&allowed)
            )));
        }
    }
    let mut seen = Vec::new();
    cpus.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(builder: LoadBuilder) -> String {
        builder.build().unwrap_err().to_string()
    }

    #[test]
    fn urls_parse_into_host_port_path() {
        let u = Url::parse("http://127.0.0.1:8080/plaintext?x=1#frag").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 8080));
        assert_eq!(u.path, "/plaintext?x=1");
        assert_eq!(u.host_header, "127.0.0.1:8080");
        let u = Url::parse("HTTP://localhost").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), u.host_header.as_str()),
            (80, "/", "localhost")
        );
        let u = Url::parse("http://[::1]:9000?q").unwrap();
        assert_eq!((u.host.as_str(), u.path.as_str()), ("::1", "/?q"));
        assert_eq!(u.host_header, "[::1]:9000");
    }

    #[test]
    fn bad_urls_name_the_url() {
        assert_eq!(
            err(LoadBuilder::new("127.0.0.1:80")),
            "invalid URL '127.0.0.1:80': expected http://host[:port][/path]"
        );
        assert_eq!(
            err(LoadBuilder::new("https://127.0.0.1/")),
            "https is not supported (rtbench load speaks plain HTTP/1.1): 'https://127.0.0.1/'"
        );
        assert_eq!(
            err(LoadBuilder::new("http://127.0.0.1:99999/")),
            "invalid URL 'http://127.0.0.1:99999/': invalid port '99999'"
        );
        assert!(err(LoadBuilder::new("ftp://x/")).contains("unsupported scheme 'ftp'"));
        assert!(err(LoadBuilder::new("http:///x")).contains("missing host"));
        assert!(err(LoadBuilder::new("http://u@h/")).contains("user info"));
        assert!(err(LoadBuilder::new("http://h/a b")).contains("space"));
    }

    #[test]
    fn bad_options_name_the_option() {
        let b = || LoadBuilder::new("http://127.0.0.1:1/");
        assert_eq!(err(b().connections(0)), "--connections must be > 0");
        assert_eq!(err(b().pipeline(0)), "--pipeline must be > 0");
        assert_eq!(err(b().threads(0)), "--threads must be > 0");
        assert_eq!(err(b().requests(0)), "--requests must be > 0");
        assert_eq!(err(b().duration(Duration::ZERO)), "--duration must be > 0");
        assert_eq!(err(b().timeout(Duration::ZERO)), "--timeout must be > 0");
        assert_eq!(err(b().rate(0.0)), "--rate must be > 0 (got 0)");
        assert_eq!(err(b().rate(f64::NAN)), "--rate must be > 0 (got NaN)");
        assert_eq!(
            err(b().connections(2).threads(3)),
            "--threads (3) must be ≤ --connections (2)"
        );
        assert!(err(b().cpus(vec![4096])).starts_with("--cpus names CPU 4096"));
        assert!(err(b().method("GE T")).contains("not an HTTP method"));
        assert!(err(b().header("X-A", "1\r\nEvil: 2")).starts_with("invalid header 'X-A: 1"));
        assert!(err(b().header("Bad Name", "1")).contains("token"));
        assert!(err(b().requests(5).duration(Duration::from_secs(1))).contains("exclude"));
        assert!(
            err(b().body(vec![b'x'; 2 << 20]).pipeline(1024)).starts_with("--body is too large")
        );
        assert_eq!(
            err(b().io(IoBackend::Uring).stream(StreamOptions::default())),
            "--io uring does not apply to SSE streams (the stream model runs on epoll)"
        );
    }

    #[test]
    fn request_is_serialized_once_with_host_and_body() {
        let config = LoadBuilder::new("http://127.0.0.1:8080/echo?x=1")
            .method("POST")
            .header("X-Token", " abc ")
            .body("hello")
            .build()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(config.request_bytes()),
            "POST /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Token: abc\r\n\
Content-Length: 5\r\n\r\nhello"
        );
        let config = LoadBuilder::new("http://127.0.0.1/")
            .header("host", "example.test")
            .build()
            .unwrap();
        assert_eq!(
            config.request_bytes(),
            b"GET / HTTP/1.1\r\nhost: example.test\r\n\r\n"
        );
        assert_eq!(config.model(), Model::Closed);
        assert_eq!(config.duration(), Some(DEFAULT_DURATION));
    }

    #[test]
    fn stream_options_go_into_the_query() {
        let options = StreamOptions {
            events: Some(5),
            interval_ms: None,
            abort_after: Some(3),
        };
        let config = LoadBuilder::new("http://127.0.0.1:1/sse?events=99&interval_ms=7&x=y")
            .stream(options)
            .build()
            .unwrap();
        assert!(config
            .request_bytes()
            .starts_with(b"GET /sse?interval_ms=7&x=y&events=5 HTTP/1.1\r\n"));
        assert_eq!(config.model(), Model::Stream);
        assert_eq!(config.stream_events(), Some(3));
        let config = LoadBuilder::new("http://127.0.0.1:1/sse")
            .stream(StreamOptions::default())
            .build()
            .unwrap();
        assert_eq!(config.stream_events(), Some(10));
        assert_eq!(config.duration(), None);
    }
}
