//! Building a target's image from `targets/<name>/Dockerfile`, tagged by [`image_tag`], and what
//! the built image says about itself (size, the runtime's version).
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::base_image::DEFAULT_BASE_IMAGE;
use super::cli::{check_docker, docker, image_exists, inspect};
use super::image_tag::image_tag;
use crate::error::HarnessError;
use crate::provision::{log_tail, open_log};
use crate::target::Target;

/// How target images are built.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// `BASE_IMAGE` build argument (default [`DEFAULT_BASE_IMAGE`]).
    pub base_image: String,
    /// PEM text installed as an extra CA inside build stages (for TLS-intercepting proxies);
    /// empty for none. Default: [`host_extra_ca_certs`].
    pub extra_ca_certs: String,
    /// Rebuild even when an image with the folder's hash exists.
    pub rebuild: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            base_image: DEFAULT_BASE_IMAGE.to_string(),
            extra_ca_certs: host_extra_ca_certs(),
            rebuild: false,
        }
    }
}

/// What [`build_image`] did.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    /// `rtbench-<name>:<hash12>`.
    pub tag: String,
    /// The image existed and was reused.
    pub reused: bool,
    /// Wall time of the build (zero when reused).
    pub build_time: Duration,
    /// Uncompressed image size as the daemon reports it.
    pub size_bytes: u64,
    /// The runtime's own version, recorded in the image at build time by running it
    /// (`/etc/rtbench-runtime-version`).
    pub runtime_version: Option<String>,
}

/// Builds the target's image unless one with the same tag exists (or `options.rebuild`). The
/// build output is appended to `log`; `progress` hears each build step. Older
/// `rtbench-<name>:*` images are removed after a successful build.
pub fn build_image(
    target: &Target,
    options: &ImageOptions,
    log: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<ImageBuild, HarnessError> {
    check_docker()?;
    let tag = image_tag(target, &options.base_image)?;
    if !options.rebuild && image_exists(&tag) {
        return Ok(ImageBuild {
            size_bytes: image_size(&tag),
            runtime_version: image_runtime_version(&tag),
            tag,
            reused: true,
            build_time: Duration::ZERO,
        });
    }
    let dockerfile = target.dir.join("Dockerfile");
    if !dockerfile.is_file() {
        return Err(HarnessError::config(
            &dockerfile,
            "missing (needed by --launcher docker)",
        ));
    }
    if !image_exists(&options.base_image) {
        return Err(HarnessError::Provision {
            target: target.name.clone(),
            message: format!(
                "base image {} is not in the daemon's store (run `rtbench images` or .ci/base-image.sh)",
                options.base_image
            ),
        });
    }
    let mut log_file = open_log(log)?;
    let mut command = docker();
    command
        .arg("build")
        // The daemon may have no bridge network (rtbench's own dockerd runs with --bridge=none);
        // build steps reach the registries through the host's network.
        .args(["--network", "host", "--tag", &tag])
        // The classic builder keeps the container of a failed step unless told otherwise.
        .arg("--force-rm")
        .args(["--label", &format!("org.rtbench.target={}", target.name)])
        .args(["--build-arg", &format!("BASE_IMAGE={}", options.base_image)])
        // The selected runtime version's lockfile folder (`.` for the manifest's default).
        .args([
            "--build-arg",
            &format!("VERSION_DIR={}", target.version_dir),
        ])
        .args([
            "--build-arg",
            &format!("EXTRA_CA_CERTS={}", options.extra_ca_certs),
        ]);
    // Docker's predefined proxy arguments: used by build steps, kept out of the image history.
    for name in [
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    ] {
        if let Ok(value) = std::env::var(name) {
            command.args(["--build-arg", &format!("{name}={value}")]);
        }
    }
    if !buildx_available() {
        // Without the buildx plugin a BuildKit request fails outright; the Dockerfiles need
        // nothing the classic builder lacks.
        command.env("DOCKER_BUILDKIT", "0");
    } else {
        command.args(["--progress", "plain"]);
    }
    command
        .arg(&target.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _ = writeln!(
        log_file,
        "$ docker build --tag {tag} {}",
        target.dir.display()
    );
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| HarnessError::Os {
        context: "running docker build".into(),
        source: e,
    })?;
    let stderr_pipe = child.stderr.take();
    let stderr_log = log_file.try_clone().map_err(|e| HarnessError::io(log, e))?;
    let stderr_thread = stderr_pipe.map(|pipe| {
        std::thread::spawn(move || {
            let mut stderr_log = stderr_log;
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = writeln!(stderr_log, "{line}");
            }
        })
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(log_file, "{line}");
            if let Some(step) = build_step(&line) {
                progress(&format!("{}: {step}", target.name));
            }
        }
    }
    let status = child.wait().map_err(|e| HarnessError::Os {
        context: "waiting for docker build".into(),
        source: e,
    })?;
    if let Some(thread) = stderr_thread {
        let _ = thread.join();
    }
    if !status.success() {
        return Err(HarnessError::Provision {
            target: target.name.clone(),
            message: format!(
                "docker build exited with {status}; last lines of {}:\n{}",
                log.display(),
                log_tail(log, 12)
            ),
        });
    }
    remove_older_images(&target.docker_name(), &tag);
    Ok(ImageBuild {
        size_bytes: image_size(&tag),
        runtime_version: image_runtime_version(&tag),
        tag,
        reused: false,
        build_time: started.elapsed(),
    })
}

/// The host's extra CA certificates (what `update-ca-certificates` adds from
/// `/usr/local/share/ca-certificates`, recursively), concatenated; empty when there are none.
pub fn host_extra_ca_certs() -> String {
    let mut files = Vec::new();
    let root = Path::new("/usr/local/share/ca-certificates");
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "crt") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut pem = String::new();
    for file in files {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if text.contains("-----BEGIN CERTIFICATE-----") {
                pem.push_str(text.trim_end());
                pem.push('\n');
            }
        }
    }
    pem
}

/// What the image's runtime said about its version when the image was built. Read from a
/// throwaway container without network (about 0.3 s).
fn image_runtime_version(tag: &str) -> Option<String> {
    let output = docker()
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            tag,
        ])
        .arg("/etc/rtbench-runtime-version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    output.status.success().then(|| line.to_string())
}

fn image_size(tag: &str) -> u64 {
    inspect(tag, "{{.Size}}")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn buildx_available() -> bool {
    docker()
        .args(["buildx", "version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Other tags of `rtbench-<name>`: superseded builds. Images still used by a container stay.
fn remove_older_images(name: &str, keep: &str) {
    let repository = format!("rtbench-{name}");
    let Ok(output) = docker()
        .args([
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &repository,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let old: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|t| *t != keep && t.starts_with(&format!("{repository}:")))
        .map(str::to_string)
        .collect();
    if !old.is_empty() {
        let _ = docker()
            .args(["image", "rm"])
            .args(&old)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Classic builder `Step 3/9 : RUN …` and BuildKit `#7 [build 3/9] RUN …` lines, shortened.
fn build_step(line: &str) -> Option<String> {
    let step = if line.starts_with("Step ") {
        line
    } else if line.starts_with('#') && line.contains(" [") && !line.contains(" DONE ") {
        line.split_once(' ').map(|(_, rest)| rest)?
    } else {
        return None;
    };
    let mut short: String = step.chars().take(100).collect();
    if short.len() < step.len() {
        short.push('…');
    }
    Some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_steps_of_both_builders() {
        assert_eq!(
            build_step("Step 3/9 : RUN apt-get update").as_deref(),
            Some("Step 3/9 : RUN apt-get update")
        );
        assert_eq!(
            build_step("#7 [build 3/9] RUN npm ci").as_deref(),
            Some("[build 3/9] RUN npm ci")
        );
        assert_eq!(build_step(" ---> Running in 5d6db84"), None);
        assert_eq!(build_step("#7 DONE 0.3s"), None);
    }
}
