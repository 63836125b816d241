//! Errors of the load engine. Each message names the input at fault, so the command line can print
//! it as one line.

use std::io;
use std::net::SocketAddr;

/// Why a load run could not be configured or started.
///
/// Failures *during* a run (a refused reconnect, a reset, a malformed response) are not errors of
/// this kind: they are counted by class in [`crate::ErrorCounts`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The URL could not be parsed.
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL asks for TLS, which the engine does not speak.
    #[error("https is not supported (rtbench load speaks plain HTTP/1.1): '{url}'")]
    HttpsUnsupported {
        /// The URL as given.
        url: String,
    },
    /// The URL's host name did not resolve.
    #[error("cannot resolve host '{host}': {reason}")]
    Resolve {
        /// The host as given in the URL.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// An option has a value outside its range, e.g. `--connections must be > 0`.
    #[error("{option} {reason}")]
    InvalidOption {
        /// The option, spelled as on the command line (`--connections`).
        option: &'static str,
        /// What is wrong, e.g. "must be > 0".
        reason: String,
    },
    /// A request header is not valid HTTP.
    #[error("invalid header '{header}': {reason}")]
    InvalidHeader {
        /// The header as given.
        header: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server refused the first connection: nothing listens there.
    #[error("connection refused by {addr}")]
    ConnectionRefused {
        /// The address connected to.
        addr: SocketAddr,
    },
    /// The first connection failed for another reason (unreachable, timed out).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address connected to.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The process may not open enough sockets for the asked connections.
    #[error(
        "{connections} connections need about {needed} file descriptors but the limit is {limit} \
         (raise it with `ulimit -n`)"
    )]
    FileLimit {
        /// Connections (or streams) asked for.
        connections: u64,
        /// Descriptors the run needs.
        needed: u64,
        /// The hard limit of this process.
        limit: u64,
    },
    /// A worker thread could not be set up (pinning, event loop, timer).
    #[error("cannot set up a worker thread ({what}): {source}")]
    Worker {
        /// The step that failed.
        what: &'static str,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// `--io uring` was asked for, and io_uring cannot be used here (no silent fallback to epoll).
    #[error("--io uring: {reason}")]
    IoUring {
        /// The step that failed, what the kernel said, and what it means.
        reason: String,
    },
    /// An agent output file could not be read.
    #[error("{file}: {reason}")]
    AgentOutput {
        /// The file as named.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing an output (interval log, percentile distribution) failed.
    #[error("cannot write the {what}: {source}")]
    Output {
        /// Which output.
        what: &'static str,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// Why [`crate::ResponseParser`] rejected a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The status line or a header is malformed.
    #[error("malformed response head: {0}")]
    Head(httparse::Error),
    /// The head did not end within the size limit.
    #[error("response head longer than {0} bytes")]
    HeadTooLong(usize),
    /// The head has more headers than the parser accepts.
    #[error("response head has more than {0} headers")]
    TooManyHeaders(usize),
    /// `Content-Length` is not a number, or two disagree.
    #[error("invalid Content-Length")]
    ContentLength,
    /// A chunk-size line or chunk terminator is malformed.
    #[error("malformed chunked body")]
    Chunk,
    /// A status the engine cannot continue after (101 Switching Protocols).
    #[error("unsupported status {0}")]
    Status(u16),
    /// The connection ended inside a response.
    #[error("connection closed in the middle of a response")]
    Truncated,
}

/// Why [`crate::SseParser`] rejected an event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line without its end grew beyond the limit.
    #[error("SSE stream: a line is longer than {limit} bytes")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The data lines of one event add up to more than the limit.
    #[error("SSE stream: an event's data is longer than {limit} bytes")]
    EventTooLong {
        /// The limit in bytes.
        limit: usize,
    },
}

/// Why the load loop rejected a response or a stream; counted per reason in
/// [`crate::Summary::error_reasons`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    Parse(ParseError),
    Sse(SseError),
    /// A 2xx answer to a stream request that is not `text/event-stream`.
    NotEventStream,
    /// Bytes of a response that no request asked for.
    Unsolicited,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Parse(e) => e.fmt(f),
            Rejection::Sse(e) => e.fmt(f),
            Rejection::NotEventStream => {
                f.write_str("a 2xx response to a stream request is not text/event-stream")
            }
            Rejection::Unsolicited => f.write_str("a response arrived that no request asked for"),
        }
    }
}
