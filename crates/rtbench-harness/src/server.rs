//! What every launcher shares: launch options, free ports, and readiness on `/health`.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::HarnessError;

/// How to launch a target, whatever the launcher.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// CPUs the server is pinned to.
    pub server_cpus: Vec<usize>,
    /// The `WORKERS` the server is asked to use.
    pub workers: u32,
    /// The upstream SSE URL the server relays from (`UPSTREAM_URL`).
    pub upstream_url: Option<String>,
    /// The server's output goes here.
    pub log: PathBuf,
    /// How long to wait for the first 200 on `/health`.
    pub ready_timeout: Duration,
    /// Root of the provisioning cache (`.cache` by default).
    pub cache_root: PathBuf,
}

/// A port nobody listens on right now (the kernel's pick for an ephemeral bind).
pub(crate) fn free_port() -> Result<u16, HarnessError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| HarnessError::Os {
        context: "finding a free port".into(),
        source: e,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| HarnessError::Os {
            context: "finding a free port".into(),
            source: e,
        })
}

/// The readiness poll's interval while a start is young: the resolution of a cold start figure.
const FINE_POLL: Duration = Duration::from_millis(1);
/// How long the fine poll lasts: longer than any cold start seen here (the slowest, a container
/// start, is well under a second).
const FINE_POLL_FOR: Duration = Duration::from_secs(5);

/// Polls `GET {base_url}/health` until it answers 200, measuring from `spawned`. `still_running`
/// says why the server is gone (exited, container died) so a crash fails fast instead of timing out.
pub(crate) fn wait_ready(
    base_url: &str,
    spawned: Instant,
    timeout: Duration,
    mut still_running: impl FnMut() -> Result<(), String>,
) -> Result<Duration, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| format!("building an HTTP client: {e}"))?;
    let url = format!("{base_url}/health");
    // Cold start is measured to the first 200, so the poll interval bounds its error: poll every
    // millisecond for the first seconds (a refused connect on loopback costs microseconds), then
    // back off so a slow starter is not flooded. (A doubling back-off from the start quantised
    // container starts to its 50 ms steps: three starts read 115, 115, 115 ms.)
    let mut interval = FINE_POLL;
    loop {
        let last_error = match client.get(&url).send() {
            Ok(response) if response.status().as_u16() == 200 => return Ok(spawned.elapsed()),
            Ok(response) => format!("/health answered {}", response.status()),
            Err(e) => error_chain(&e),
        };
        still_running()?;
        if spawned.elapsed() > timeout {
            return Err(format!(
                "not ready after {:.0} s ({last_error})",
                timeout.as_secs_f64()
            ));
        }
        std::thread::sleep(interval);
        if spawned.elapsed() > FINE_POLL_FOR {
            interval = (interval * 2).min(Duration::from_millis(50));
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// The readiness poll must resolve a start to a few milliseconds: a server that starts
    /// listening 137 ms after the spawn reads as 137–157 ms, not as the next step of a back-off.
    #[test]
    fn cold_start_is_resolved_to_milliseconds() {
        let port = free_port().unwrap();
        let delay = Duration::from_millis(137);
        let spawned = Instant::now();
        let server = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .unwrap();
        });
        let measured = wait_ready(
            &format!("http://127.0.0.1:{port}"),
            spawned,
            Duration::from_secs(10),
            || Ok(()),
        )
        .unwrap();
        server.join().unwrap();
        assert!(
            measured >= delay && measured < delay + Duration::from_millis(20),
            "cold start read {measured:?} for a server ready after {delay:?}"
        );
    }
}
