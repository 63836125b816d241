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
    // Short polls at first: cold start is measured to the first 200, so the poll interval bounds
    // its error. Later polls back off so a slow starter is not flooded.
    let mut interval = Duration::from_millis(2);
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
        interval = (interval * 2).min(Duration::from_millis(50));
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
