//! Containers by default (issue 12), the parts that need root and a real Docker daemon: a non-root
//! user in the socket's group gets the docker launcher without sudo, and rtbench's private daemon,
//! when rtbench started it, does not outlive rtbench on a signal. (Daemon answering → docker:
//! rtbench-harness's tests/docker.rs; none → native with the line: verify.rs.)
//!
//! They run as root with a daemon answering at `DOCKER_HOST` (default: rtbench's private socket),
//! as `./scripts/test` and `.ci/run` provide. Otherwise they fail and say why, unless
//! `RTBENCH_TEST_SKIP_ROOT_DOCKER=1` asks to skip them (a machine without root or Docker).
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use crate::util::{copy_folder, repo, rtbench, send_signal, serial};

/// The daemon these tests use (`DOCKER_HOST`, else rtbench's private socket), or `None` when asked
/// to skip. Panics, naming the cause, when not root or the daemon does not answer.
fn root_and_daemon() -> Option<String> {
    if std::env::var_os("RTBENCH_TEST_SKIP_ROOT_DOCKER").is_some_and(|v| v == "1") {
        eprintln!("skipped: RTBENCH_TEST_SKIP_ROOT_DOCKER=1");
        return None;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test creates a user and must run as root (RTBENCH_TEST_SKIP_ROOT_DOCKER=1 skips it)"
    );
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///run/rtbench-docker.sock".into());
    let answers = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .env("DOCKER_HOST", &host)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        answers,
        "no Docker daemon answers at {host} (start one: .ci/dockerd.sh start; \
         RTBENCH_TEST_SKIP_ROOT_DOCKER=1 skips this test)"
    );
    Some(host)
}

/// The go-nethttp image on the daemon at `host`, built by a root `verify --launcher docker` when
/// this machine has none yet: the tests below then wait for what they test, not for a build.
fn ensure_go_nethttp_image(host: &str) {
    let target = rtbench_harness::Target::load(&repo().join("targets/go-nethttp")).unwrap();
    let tag = rtbench_harness::image_tag(&target, rtbench_harness::DEFAULT_BASE_IMAGE).unwrap();
    let present = Command::new("docker")
        .args(["image", "inspect", &tag])
        .env("DOCKER_HOST", host)
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        let status = rtbench()
            .args(["verify", "go-nethttp", "--launcher", "docker", "--root"])
            .arg(repo())
            .env("DOCKER_HOST", host)
            .status()
            .unwrap();
        assert!(status.success(), "building go-nethttp's image {tag}");
    }
}

/// What each test here starts with: root, the daemon, the lock every server-launching test holds
/// and the go-nethttp image; `None` when asked to skip.
fn root_docker_test() -> Option<(String, MutexGuard<'static, ()>)> {
    let host = root_and_daemon()?;
    let serial = serial();
    ensure_go_nethttp_image(&host);
    Some((host, serial))
}

/// `sh -c script`, which must succeed.
fn sh(script: &str) {
    let status = Command::new("sh").args(["-c", script]).status().unwrap();
    assert!(status.success(), "{script}: {status}");
}

/// A root that holds a copy of the go-nethttp target (the same files, so the same image tag as the
/// repository's) and an empty scenarios folder, world-readable.
fn root_with_go_nethttp() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    copy_folder(
        &repo().join("targets/go-nethttp"),
        &root.path().join("targets/go-nethttp"),
    );
    std::fs::create_dir_all(root.path().join("scenarios")).unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

#[test]
fn a_non_root_user_in_the_sockets_group_gets_containers() {
    let Some((host, _serial)) = root_docker_test() else {
        return;
    };
    let socket = host.strip_prefix("unix://").expect("a unix socket");
    let user = "rtbench-nonroot";
    // The socket's group, as a runner's docker group; a socket left to root gets a group of its
    // own, as .ci/workflow-steps.sh gives it.
    sh(&format!(
        "set -e; sock='{socket}'
         if [ \"$(stat -c %G \"$sock\")\" = root ]; then
             getent group rtbench-docker >/dev/null || groupadd rtbench-docker
             chgrp rtbench-docker \"$sock\" && chmod 660 \"$sock\"
         fi
         id -u {user} >/dev/null 2>&1 || useradd --system --no-create-home {user}
         usermod -aG \"$(stat -c %G \"$sock\")\" {user}"
    ));
    // What the user may read: a copy of the binary and of the target; a home and a cache it owns.
    let root = root_with_go_nethttp();
    let binary = root.path().join("rtbench");
    std::fs::copy(env!("CARGO_BIN_EXE_rtbench"), &binary).unwrap();
    for folder in ["home", "cache"] {
        std::fs::create_dir(root.path().join(folder)).unwrap();
    }
    sh(&format!(
        "chown {user} '{0}/home' '{0}/cache'",
        root.path().display()
    ));
    let as_user = |program: &Path, args: &[&str]| {
        Command::new("runuser")
            .args(["-u", user, "--", "env"])
            .arg(format!("HOME={}", root.path().join("home").display()))
            .arg(format!(
                "RTBENCH_CACHE={}",
                root.path().join("cache").display()
            ))
            .arg(format!("DOCKER_HOST={host}"))
            .arg(program)
            .args(args)
            .output()
            .unwrap()
    };
    let uid = as_user(Path::new("id"), &["-u"]);
    let uid: Option<u32> = String::from_utf8_lossy(&uid.stdout).trim().parse().ok();
    assert!(
        uid.is_some_and(|u| u != 0),
        "runs as a non-root user: {uid:?}"
    );

    let root_arg = root.path().display().to_string();
    let output = as_user(&binary, &["verify", "go-nethttp", "--root", &root_arg]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        stderr.contains(&format!(
            "launcher: docker (the Docker daemon at {host} answers)"
        )),
        "{stderr}"
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let passed = stdout
        .lines()
        .filter(|l| l.starts_with("go-nethttp") && l.contains(" PASS "))
        .count();
    assert!(
        passed >= 5 && !stdout.contains(" FAIL "),
        "verified in its container: {stdout}"
    );
}

/// The stand-in for `.ci/dockerd.sh` that rtbench finds in its root: `start` serves the real
/// daemon's API on `$RTBENCH_DOCKER_SOCK` through a forwarder in a session of its own (as the real
/// script starts dockerd), `stop` ends it. Every call is logged beside it.
const FAKE_DOCKERD_SH: &str = r#"#!/bin/sh
here=$(dirname "$0")
echo "$1" >> "$here/calls.log"
case "$1" in
start)
    setsid python3 "$here/forward.py" "$RTBENCH_DOCKER_SOCK" "$RTBENCH_TEST_REAL_DOCKER_SOCK" \
        </dev/null >/dev/null 2>&1 &
    echo $! > "$here/daemon.pid"
    for _ in $(seq 1 100); do [ -S "$RTBENCH_DOCKER_SOCK" ] && exit 0; sleep 0.1; done
    exit 1 ;;
stop) kill "$(cat "$here/daemon.pid")" ;;
esac
"#;

/// Forwards every connection on a unix socket to another (the real daemon's).
const FORWARD_PY: &str = r#"import socket, sys, threading
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(64)

def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

while True:
    client, _ = server.accept()
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upstream.connect(sys.argv[2])
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
"#;

/// Whether `pid` is still running 2 s from now (a killed process is reaped within moments; a
/// zombie counts as ended).
fn outlives(pid: i32) -> bool {
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|s| !s.starts_with(" Z"))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    running()
}

/// Names of the containers (running or not) on the real daemon whose name starts with `prefix`.
fn containers_named(host: &str, prefix: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .env("DOCKER_HOST", host)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_private_daemon_rtbench_started_stops_on_a_signal() {
    let Some((host, _serial)) = root_docker_test() else {
        return;
    };
    let root = root_with_go_nethttp();
    let ci = root.path().join(".ci");
    std::fs::create_dir(&ci).unwrap();
    std::fs::write(ci.join("dockerd.sh"), FAKE_DOCKERD_SH).unwrap();
    std::fs::set_permissions(
        ci.join("dockerd.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(ci.join("forward.py"), FORWARD_PY).unwrap();
    // The user's daemon does not answer and the private one is not running: rtbench starts it.
    let private = root.path().join("private.sock");
    let mut child = rtbench()
        .args(["verify", "go-nethttp", "--root"])
        .arg(root.path())
        .env(
            "DOCKER_HOST",
            format!("unix://{}", root.path().join("dead.sock").display()),
        )
        .env("RTBENCH_DOCKER_SOCK", &private)
        .env(
            "RTBENCH_TEST_REAL_DOCKER_SOCK",
            host.strip_prefix("unix://").expect("a unix socket"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signalled once its container is up: a container and the daemon to clean up. Its stdout is
    // read to the end (a closed pipe would make its next line a panic, another path).
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let ready = lines
        .by_ref()
        .any(|line| line.starts_with("go-nethttp") && line.contains("ready in"));
    send_signal(pid, libc::SIGTERM);
    lines.for_each(drop);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let daemon: i32 = std::fs::read_to_string(ci.join("daemon.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let daemon_alive = daemon > 0 && outlives(daemon);
    if daemon_alive {
        // SAFETY: the forwarder this test's script started.
        unsafe { libc::kill(daemon, libc::SIGKILL) };
    }
    let prefix = format!("rtbench-go-nethttp-{pid}-");
    let left = containers_named(&host, &prefix);
    if !left.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&left)
            .env("DOCKER_HOST", &host)
            .output();
    }
    assert!(
        stderr.contains("started rtbench's private daemon"),
        "{stderr}"
    );
    assert!(ready, "the container came up: {stderr}");
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(left.is_empty(), "containers left: {left:?}");
    let calls = std::fs::read_to_string(ci.join("calls.log")).unwrap();
    assert_eq!(calls.lines().collect::<Vec<_>>(), ["start", "stop"]);
    assert!(!daemon_alive, "the private daemon outlived rtbench");
}

/// `RTBENCH_BASE_IMAGE` is the base of `images` (and `run`, `targets`) when no `--base-image` is
/// given: building once from another base and then running without the flag uses the same images.
#[test]
fn the_base_image_comes_from_the_environment_unless_the_flag_names_one() {
    let Some((host, _serial)) = root_docker_test() else {
        return;
    };
    let other = "rtbench-test-base:from-env";
    sh(&format!(
        "DOCKER_HOST='{host}' docker tag {} {other}",
        rtbench_harness::DEFAULT_BASE_IMAGE
    ));
    let base_line = |env: Option<&str>, flag: Option<&str>| {
        let mut command = rtbench();
        command
            .args(["images", "--base-only", "--root"])
            .arg(repo())
            .env("DOCKER_HOST", &host)
            .env_remove("RTBENCH_BASE_IMAGE");
        if let Some(env) = env {
            command.env("RTBENCH_BASE_IMAGE", env);
        }
        if let Some(flag) = flag {
            command.args(["--base-image", flag]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let default = format!(
        "base image {} (present)",
        rtbench_harness::DEFAULT_BASE_IMAGE
    );
    assert_eq!(base_line(None, None), default);
    assert_eq!(
        base_line(Some(other), None),
        format!("base image {other} (present)")
    );
    let flag_wins = base_line(Some(other), Some(rtbench_harness::DEFAULT_BASE_IMAGE));
    assert_eq!(flag_wins, default);
    sh(&format!(
        "DOCKER_HOST='{host}' docker rmi {other} >/dev/null"
    ));
}
