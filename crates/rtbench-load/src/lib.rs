//! rtbench's load engine: a wrk-class HTTP/1.1 load generator with honest latency.
//!
//! Describe a run with [`LoadBuilder`], which checks every setting once and yields an immutable
//! [`LoadConfig`]; [`run`] (or [`run_with`], which also writes an HdrHistogram interval log and a
//! percentile distribution through [`Hooks`]) performs it and returns a [`Summary`].
//!
//! Three models share one load loop:
//! - closed ([`Model::Closed`]): each connection sends its next request (or pipelined batch) when
//!   the previous responses are complete; for a duration or an exact request count;
//! - open ([`LoadBuilder::rate`]): request k of connection i is due at t0 + (i + k·C)/R; latency is
//!   measured from the due time (corrected for coordinated omission) and from the send;
//! - stream ([`LoadBuilder::stream`]): concurrent SSE streams with per-event figures in
//!   [`StreamSummary`].
//!
//! Workers are share-nothing threads, one per client CPU and pinned to it, each with its own
//! connections, event loop, HdrHistograms (1 µs to 60 s, 3 significant digits) and counters,
//! merged once at the end. Failures are counted by class in [`ErrorCounts`]. The loop does its
//! socket I/O with edge-triggered epoll, or with io_uring ([`LoadBuilder::io`], [`IoBackend`]).
//! [`ResponseParser`], the incremental HTTP/1.1 response parser, is public so it can be fuzzed.
//!
//! Connections are established before the clock starts. [`run_until`] takes a [`StopHandle`] (a
//! signal handler stops the run and still gets its [`Summary`], marked [`Ended::Interrupted`])
//! and returns output failures beside the summary instead of in place of it.
//!
//! [`ceiling`] measures the client itself against a built-in server on other CPUs. For scale-out,
//! [`split`] gives each agent its share ([`LoadBuilder::agent`], [`LoadBuilder::start_at`]),
//! [`write_agent_output`] records what an agent measured, and [`merge_agents`] adds agents up
//! exactly.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//!
//! // A tiny keep-alive server on an ephemeral port.
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let url = format!("http://{}/plaintext", listener.local_addr().unwrap());
//! std::thread::spawn(move || {
//!     for stream in listener.incoming() {
//!         let Ok(mut stream) = stream else { return };
//!         std::thread::spawn(move || {
//!             let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
//!             while let Ok(n @ 1..) = stream.read(&mut buf) {
//!                 pending.extend_from_slice(&buf[..n]);
//!                 while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
//!                     pending.drain(..end + 4);
//!                     let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
//!                 }
//!             }
//!         });
//!     }
//! });
//!
//! let config = rtbench_load::LoadBuilder::new(&url)
//!     .connections(2)
//!     .requests(100)
//!     .build()
//!     .unwrap();
//! let summary = rtbench_load::run(&config).unwrap();
//! assert_eq!(summary.requests, 100);
//! assert_eq!(summary.errors.total, 0);
//! assert!(summary.latency_us.p50 > 0.0);
//! ```
#![warn(missing_docs)]

mod agent;
mod book;
mod ceiling;
mod config;
mod engine;
mod error;
mod hist;
mod load_flags;
mod merge;
mod request;
mod response;
mod schedule;
mod sse;
mod stream;
mod stream_figures;
mod summary;
mod sys;
mod worker;
mod worker_epoll;
mod worker_out;
mod worker_uring;

pub use agent::{read_agent_output, split, write_agent_output, AgentInterval, AgentOutput, Share};
pub use ceiling::{ceiling, client_bound, headroom, Ceiling, CeilingOptions, CLIENT_BOUND_SHARE};
pub use config::{LoadBuilder, LoadConfig, StreamOptions};
pub use engine::{run, run_until, run_with, Hooks, Outcome, StopHandle};
pub use error::{LoadError, ParseError, SseError};
pub use merge::{merge_agents, merge_slices, AgentReport, Merged};
pub use response::{is_event_stream, Response, ResponseEvent, ResponseParser};
pub use sse::{parse_stamp, SseEvent, SseParser};
pub use stream_figures::StreamHistograms;
pub use summary::{Ended, ErrorCounts, IoBackend, Model, Percentiles, StreamSummary, Summary};
pub use sys::allowed_cpus;
