//! The Debian base every target Dockerfile builds on: reused, else pulled, else built with
//! debootstrap (the recipe is `.ci/base-image.sh`, one copy of the idea).
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::cli::{check_docker, docker, image_exists, run_with_timeout};
use crate::error::HarnessError;

/// The base image tag every target Dockerfile builds `FROM` unless told otherwise.
pub const DEFAULT_BASE_IMAGE: &str = "debian:trixie-slim";

/// The debootstrap recipe, shared with `.ci/base-image.sh` (one copy of the idea).
const BASE_IMAGE_SCRIPT: &str = include_str!("../../../../.ci/base-image.sh");

/// Where the base image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseImageSource {
    /// Already in the daemon's store.
    Present,
    /// Pulled from a registry.
    Pulled,
    /// Built locally with debootstrap and `docker import`.
    Built,
}

/// Makes sure `base_image` is in the daemon's store: reuse it, else `docker pull` it, else build
/// it with debootstrap from this host's apt mirror and `docker import` it (needs root and
/// debootstrap; about 25 s). `progress` hears one line per step.
pub fn ensure_base_image(
    base_image: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<BaseImageSource, HarnessError> {
    check_docker()?;
    if image_exists(base_image) {
        return Ok(BaseImageSource::Present);
    }
    progress(&format!("pulling {base_image}"));
    let pulled = run_with_timeout(
        docker().args(["pull", "-q", base_image]),
        Duration::from_secs(120),
    );
    if pulled && image_exists(base_image) {
        return Ok(BaseImageSource::Pulled);
    }
    progress(&format!(
        "no registry answered; building {base_image} with debootstrap"
    ));
    let mut child = Command::new("bash")
        .args(["-s", "--", base_image])
        .env("RTBENCH_BASE_SKIP_LOOKUP", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HarnessError::Os {
            context: "running bash for the base image script".into(),
            source: e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(BASE_IMAGE_SCRIPT.as_bytes());
    }
    let stderr = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(pipe), &mut text);
            text
        })
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            progress(line.trim_start_matches("base-image: "));
        }
    }
    let status = child.wait().map_err(|e| HarnessError::Os {
        context: "waiting for the base image script".into(),
        source: e,
    })?;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() || !image_exists(base_image) {
        let why = stderr
            .lines()
            .rev()
            .map(|l| l.trim_start_matches("base-image: "))
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(HarnessError::Provision {
            target: base_image.to_string(),
            message: format!("building the base image failed: {why}"),
        });
    }
    Ok(BaseImageSource::Built)
}
