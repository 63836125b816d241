//! The container launcher against a real Docker daemon (`.ci/run` starts one; locally:
//! `.ci/dockerd.sh start && export DOCKER_HOST=unix:///run/rtbench-docker.sock`). Without a daemon
//! these tests fail and say so: a launcher test that passes without docker proves nothing.
//!
//! The images are tiny: the base image plus a Perl `/health` server (perl-base is in minbase), so
//! each builds in seconds and is reused by tag afterwards.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rtbench_harness::{
    build_image, check_docker, ensure_base_image, image_tag, remove_orphan_containers,
    DockerServer, ImageOptions, LaunchOptions, Target, DEFAULT_BASE_IMAGE,
};

const HEALTHY_SERVER: &str = r#"use IO::Socket::INET;
$| = 1;
my $s = IO::Socket::INET->new(LocalAddr => ($ENV{HOST} || '0.0.0.0'), LocalPort => $ENV{PORT},
    Listen => 64, ReuseAddr => 1) or die "listen on $ENV{PORT}: $!";
print "listening on $ENV{PORT} workers=$ENV{WORKERS}\n";
while (my $c = $s->accept) {
    while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
    print $c "HTTP/1.1 200 OK\r\nServer: perl\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    close $c;
}
"#;

/// Fails the test with the reason when no daemon answers; makes sure the base image exists.
fn docker() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        check_docker().map_err(|e| e.to_string())?;
        ensure_base_image(DEFAULT_BASE_IMAGE, &mut |line| eprintln!("{line}"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    if let Err(why) = ready {
        panic!("these tests need a Docker daemon and the base image: {why}");
    }
}

/// A temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn scratch(name: &str) -> Scratch {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "rtbench-docker-test-{}-{name}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// A target folder `name` whose image runs `cmd` (exec form) with `server.pl` beside it.
fn make_target(root: &Path, name: &str, cmd: &str) -> Target {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("target.toml"),
        format!(
            "name = \"{name}\"\ndisplay_name = \"{name}\"\nruntime = \"perl\"\nruntime_version = \"5\"\n\
             language = \"perl\"\nframework = \"none\"\nsurvey_row = \"test\"\nport = 9999\n\
             [native]\nstart = \"exec perl server.pl\"\nversion = \"perl -e 'print $]'\"\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("server.pl"), HEALTHY_SERVER).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "ARG BASE_IMAGE=debian:trixie-slim\nFROM ${{BASE_IMAGE}}\nENV HOST=0.0.0.0\n\
             COPY server.pl /srv/server.pl\nWORKDIR /srv\nCMD {cmd}\n"
        ),
    )
    .unwrap();
    Target::load(&dir).unwrap()
}

fn image_options() -> ImageOptions {
    ImageOptions {
        base_image: DEFAULT_BASE_IMAGE.into(),
        extra_ca_certs: String::new(),
        rebuild: false,
    }
}

fn launch_options(root: &Path, timeout: Duration) -> LaunchOptions {
    LaunchOptions {
        server_cpus: vec![0],
        workers: 1,
        upstream_url: None,
        log: root.join("server.log"),
        ready_timeout: timeout,
        cache_root: root.join("cache"),
    }
}

/// Builds the target's image and returns its tag: what `DockerServer::start` runs.
fn build(target: &Target, root: &Path) -> String {
    build_image(
        target,
        &image_options(),
        &root.join("build.log"),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("building {}: {e}", target.name))
    .tag
}

/// Names of containers (running or not) of `target` started by this test binary.
fn containers_of(target: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "-a", "--filter"])
        .arg(format!("label=rtbench.target={target}"))
        .args(["--format", "{{.Names}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn healthy_container_is_ready_measured_and_removed_on_drop() {
    docker();
    let root = scratch("healthy");
    let target = make_target(&root, "t-healthy", r#"["perl", "server.pl"]"#);
    let image = build(&target, &root);
    let options = launch_options(&root, Duration::from_secs(30));
    let server = DockerServer::start(&target, &image, &options).unwrap();
    assert!(server.cold_start() > Duration::ZERO);
    assert!(server.root_pid() > 0, "the container's first process");
    let cgroup = server.cgroup().expect("the container's cgroup resolves");
    let pids = cgroup.pids();
    assert!(
        pids.contains(&server.root_pid()),
        "{pids:?} holds {}",
        server.root_pid()
    );
    let reading = server.resource_source().read();
    assert!(reading.rss_kib > 1000.0, "perl holds > 1 MB: {reading:?}");
    assert!(
        reading.cgroup_memory_kib.is_some_and(|kib| kib > 0.0),
        "{reading:?}"
    );
    let name = server.container().to_string();
    assert_eq!(containers_of("t-healthy"), vec![name.clone()]);
    drop(server);
    assert!(containers_of("t-healthy").is_empty());
    let log = std::fs::read_to_string(root.join("server.log")).unwrap();
    assert!(
        log.contains("listening on") && log.contains("workers=1"),
        "{log}"
    );
}

#[test]
fn never_healthy_fails_with_the_log_tail_and_removes_the_container() {
    docker();
    let root = scratch("never");
    let target = make_target(
        &root,
        "t-never",
        r#"["sh", "-c", "echo booting; echo cannot bind: no such luck >&2; exec sleep 600"]"#,
    );
    let image = build(&target, &root);
    let options = launch_options(&root, Duration::from_secs(6));
    let started = Instant::now();
    let err = DockerServer::start(&target, &image, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not ready after 6 s"), "{err}");
    assert!(err.contains("cannot bind: no such luck"), "log tail: {err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(containers_of("t-never").is_empty());
}

#[test]
fn crash_at_start_fails_fast_with_the_exit_code() {
    docker();
    let root = scratch("crash");
    let target = make_target(
        &root,
        "t-crash",
        r#"["sh", "-c", "echo missing module xyz >&2; exit 3"]"#,
    );
    let image = build(&target, &root);
    let options = launch_options(&root, Duration::from_secs(30));
    let started = Instant::now();
    let err = DockerServer::start(&target, &image, &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exited (code 3)"), "{err}");
    assert!(err.contains("missing module xyz"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not the 30 s timeout"
    );
    assert!(containers_of("t-crash").is_empty());
}

/// The helper's stdout, kept open until the test has waited for it (a closed pipe would fail its
/// later output).
type HelperOutput = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Runs `helper_hold_a_container` for `target` in a child process (panicking once the container
/// runs when `panic`); returns the child, the container's name and the rest of its stdout.
fn hold_a_container(target: &Target, panic: bool) -> (std::process::Child, String, HelperOutput) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "helper_hold_a_container",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("RTBENCH_DOCKER_HELPER", target.dir.as_os_str())
        .env("RTBENCH_DOCKER_HELPER_PANIC", if panic { "1" } else { "" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let name = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("STARTED ").map(str::to_string))
        .expect("the helper reports its container");
    (child, name, lines)
}

#[test]
fn interrupted_run_leaves_no_container() {
    docker();
    let root = scratch("interrupt");
    let target = make_target(&root, "t-interrupt", r#"["perl", "server.pl"]"#);
    build(&target, &root);
    let (mut child, name, _rest) = hold_a_container(&target, false);
    assert_eq!(containers_of("t-interrupt"), vec![name]);
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::into_raw(status) >> 8,
        128 + libc::SIGINT
    );
    assert!(containers_of("t-interrupt").is_empty());
}

/// A panic removes every registered container: the helper forgets its server (no drop can remove
/// it), so only the panic hook's cleanup can.
#[test]
fn a_panic_leaves_no_container() {
    docker();
    let root = scratch("panic");
    let target = make_target(&root, "t-panic", r#"["perl", "server.pl"]"#);
    build(&target, &root);
    let (mut child, name, rest) = hold_a_container(&target, true);
    assert!(name.starts_with("rtbench-t-panic-"), "{name}");
    rest.for_each(drop);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(101), "the helper panicked");
    let left = containers_of("t-panic");
    if !left.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&left)
            .output();
    }
    assert!(left.is_empty(), "outlived the panic: {left:?}");
}

/// Run by `interrupted_run_leaves_no_container` and `a_panic_leaves_no_container` in a child
/// process.
#[test]
#[ignore = "helper: run by interrupted_run_leaves_no_container"]
fn helper_hold_a_container() {
    let Some(dir) = std::env::var_os("RTBENCH_DOCKER_HELPER") else {
        return;
    };
    rtbench_harness::install_handlers(|_| {}).unwrap();
    let target = Target::load(Path::new(&dir)).unwrap();
    // The parent's scratch folder: this process ends by exit() in the signal handler, no drops.
    let root = Path::new(&dir).parent().unwrap();
    let options = launch_options(root, Duration::from_secs(30));
    let image = image_tag(&target, DEFAULT_BASE_IMAGE).unwrap();
    let server = DockerServer::start(&target, &image, &options).unwrap();
    println!("STARTED {}", server.container());
    if std::env::var_os("RTBENCH_DOCKER_HELPER_PANIC").is_some_and(|v| v == "1") {
        std::mem::forget(server);
        panic!("on purpose: only the panic hook can remove the forgotten container");
    }
    std::thread::sleep(Duration::from_secs(60));
    panic!("the parent should have interrupted this helper");
}

/// `docker` missing from PATH, or a daemon that does not answer: one line saying which.
#[test]
fn missing_docker_is_one_clear_line() {
    let empty = scratch("nopath");
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["helper_check_docker", "--exact", "--ignored", "--nocapture"])
        .env("RTBENCH_DOCKER_CHECK", "1")
        .env("PATH", &*empty)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("CHECK ")).collect();
    assert_eq!(
        lines,
        vec![
            "CHECK docker: not found on PATH: install docker.io (apt-get install docker.io) or Docker Engine"
        ]
    );

    let output = Command::new(std::env::current_exe().unwrap())
        .args(["helper_check_docker", "--exact", "--ignored", "--nocapture"])
        .env("RTBENCH_DOCKER_CHECK", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/rtbench.sock")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CHECK "))
        .unwrap_or_default();
    assert!(
        line.starts_with(
            "CHECK docker: daemon not reachable at unix:///nonexistent/rtbench.sock: "
        ),
        "{stdout}"
    );
}

#[test]
#[ignore = "helper: run by missing_docker_is_one_clear_line"]
fn helper_check_docker() {
    if std::env::var_os("RTBENCH_DOCKER_CHECK").is_none() {
        return;
    }
    match check_docker() {
        Ok(version) => println!("CHECK ok {version}"),
        Err(e) => println!("CHECK {e}"),
    }
}

#[test]
fn orphans_of_dead_owners_are_swept_and_live_ones_kept() {
    docker();
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let create = |name: &str, owner: &str| {
        let status = Command::new("docker")
            .args(["create", "--name", name, "--network", "host"])
            .args(["--label", "rtbench=1", "--label"])
            .arg(format!("rtbench.owner={owner}"))
            .args(["--label", "rtbench.target=t-orphan"])
            .args([DEFAULT_BASE_IMAGE, "true"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let orphan = format!("rtbench-t-orphan-{}-dead", std::process::id());
    let foreign = format!("rtbench-t-orphan-{}-foreign", std::process::id());
    create(&orphan, &format!("{}/{dead_pid}/1", boot.trim()));
    create(&foreign, "not-an-rtbench-owner");
    let removed = remove_orphan_containers().unwrap();
    let left = containers_of("t-orphan");
    let _ = Command::new("docker")
        .args(["rm", "-f", &foreign])
        .stdout(Stdio::null())
        .status();
    // Another test's first start in this process may have swept the orphan already; either way
    // it is gone and the container rtbench does not own is not.
    assert!(!removed.contains(&foreign), "{removed:?}");
    assert_eq!(left, vec![foreign]);
}

#[test]
fn failed_build_names_the_step_and_leaves_no_container() {
    docker();
    let root = scratch("badbuild");
    let target = make_target(&root, "t-badbuild", r#"["true"]"#);
    let marker = format!("build-broke-{}", std::process::id());
    let dockerfile = target.dir.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(
        &dockerfile,
        text.replace(
            "WORKDIR /srv\n",
            &format!("WORKDIR /srv\nRUN echo {marker} >&2; exit 7\n"),
        ),
    )
    .unwrap();
    let err = build_image(
        &target,
        &image_options(),
        &root.join("build.log"),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("docker build exited"), "{err}");
    assert!(
        err.contains(&marker),
        "the log tail shows the step's output: {err}"
    );
    let output = Command::new("docker")
        .args(["ps", "-a", "--no-trunc", "--format", "{{.Command}}"])
        .output()
        .unwrap();
    let commands = String::from_utf8_lossy(&output.stdout);
    assert!(!commands.contains(&marker), "{commands}");
}

/// The daemon these tests use, as a `DOCKER_HOST` value.
fn test_daemon() -> String {
    std::env::var("DOCKER_HOST")
        .unwrap_or_else(|_| format!("unix://{}", rtbench_harness::PRIVATE_DOCKER_SOCKET))
}

/// The launcher chosen between the user's daemon and the private one, which must be docker; its line.
fn choose_docker(user: &str, private: &str) -> String {
    let candidates = rtbench_harness::DaemonCandidates {
        user: Some(user.to_string()),
        private: private.to_string(),
        start_script: None,
    };
    let choice = rtbench_harness::choose_launcher(None, &candidates);
    assert_eq!(
        choice.launcher,
        rtbench_harness::Launcher::Docker,
        "{}",
        choice.line
    );
    choice.line.clone()
}

/// Containers by default (issue 12.2): a daemon that answers is chosen, and every later `docker`
/// command goes to it.
#[test]
fn an_answering_daemon_means_docker() {
    docker();
    let host = test_daemon();
    let line = choose_docker(&host, "unix:///nonexistent/rtbench-test.sock");
    assert!(line.contains(&host), "{line}");
}

/// When the user's daemon does not answer, rtbench's private daemon is the next choice: docker,
/// with a line that names both.
#[test]
fn the_private_daemon_answering_means_docker() {
    docker();
    let host = test_daemon();
    let dead = scratch("dead-user-daemon");
    let user = format!("unix://{}/docker.sock", dead.display());
    let line = choose_docker(&user, &host);
    assert!(
        line.contains(&format!(
            "none answers at {user}; rtbench's private daemon at {host} does"
        )),
        "{line}"
    );
}
