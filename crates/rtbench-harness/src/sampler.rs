//! Server resource sampling from /proc: the whole process tree (every descendant) or a container's
//! cgroup, every 100 ms. Accumulates sums and peaks only, so memory is constant in run length.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rtbench_results::ServerStats;

/// Whose resources to sample.
#[derive(Debug, Clone)]
pub enum ResourceSource {
    /// A process and all its descendants.
    ProcessTree { root: i32 },
    /// Every process of a cgroup (a container), plus the cgroup's own memory and CPU counters.
    /// On cgroup v2 the three folders are one; on v1 each counter has its own hierarchy.
    Cgroup {
        /// Holds `cgroup.procs`.
        procs: PathBuf,
        /// Holds `memory.current` (v2) or `memory.usage_in_bytes` (v1).
        memory: PathBuf,
        /// Holds `cpu.stat` (v2) or `cpuacct.usage` (v1).
        cpu: PathBuf,
    },
}

/// One reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    pub rss_kib: f64,
    pub pss_kib: Option<f64>,
    pub cgroup_memory_kib: Option<f64>,
    /// utime + stime of the tree (or the cgroup's usage), s.
    pub cpu_s: f64,
}

impl ResourceSource {
    /// The processes sampled now.
    pub fn pids(&self) -> Vec<i32> {
        match self {
            ResourceSource::ProcessTree { root } => tree_pids(*root),
            ResourceSource::Cgroup { procs, .. } => cgroup_pids(procs),
        }
    }

    /// Reads memory and CPU now.
    pub fn read(&self) -> Reading {
        self.read_pids(&self.pids())
    }

    fn read_pids(&self, pids: &[i32]) -> Reading {
        let mut reading = Reading::default();
        let mut pss_total = 0.0;
        let mut pss_seen = false;
        let ticks = procfs::ticks_per_second() as f64;
        for &pid in pids {
            let Ok(process) = procfs::process::Process::new(pid) else {
                continue;
            };
            if let Ok(status) = process.status() {
                reading.rss_kib += status.vmrss.unwrap_or(0) as f64;
            }
            if let Ok(stat) = process.stat() {
                reading.cpu_s += (stat.utime + stat.stime) as f64 / ticks;
            }
            if let Some(pss) = pss_kib(pid) {
                pss_total += pss;
                pss_seen = true;
            }
        }
        reading.pss_kib = pss_seen.then_some(pss_total);
        if let ResourceSource::Cgroup { memory, cpu, .. } = self {
            reading.cgroup_memory_kib = cgroup_memory_bytes(memory).map(|b| b as f64 / 1024.0);
            if let Some(cpu) = cgroup_cpu_s(cpu) {
                reading.cpu_s = cpu;
            }
        }
        reading
    }
}

/// A background sampler; `finish` returns the statistics of the window it ran.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Accumulated>>,
}

#[derive(Debug, Default)]
struct Accumulated {
    samples: u64,
    rss_sum: f64,
    rss_peak: f64,
    pss_sum: f64,
    pss_samples: u64,
    cgroup_sum: f64,
    cgroup_samples: u64,
    first: Reading,
    last: Reading,
    started: Option<Instant>,
    ended: Option<Instant>,
}

impl Sampler {
    /// Starts sampling `source` every `interval`, after `delay` (a warm-up the window excludes).
    pub fn start(source: ResourceSource, interval: Duration, delay: Duration) -> Sampler {
        Sampler::start_for(source, interval, delay, None)
    }

    /// [`start`](Self::start), the window ending after `length` when given (a load generated
    /// elsewhere, whose end this process hears of only later).
    pub(crate) fn start_for(
        source: ResourceSource,
        interval: Duration,
        delay: Duration,
        length: Option<Duration>,
    ) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rtbench-sampler".into())
            .spawn(move || {
                if !sleep_unless_stopped(delay, &thread_stop) {
                    return Accumulated::default();
                }
                sample_loop(&source, interval, &thread_stop, length)
            })
            .ok();
        Sampler { stop, thread }
    }

    /// Stops sampling. `idle_rss_kib` is the memory before load; `requests` the completed requests
    /// of the window, for CPU per request.
    pub fn finish(mut self, idle_rss_kib: f64, requests: u64) -> ServerStats {
        self.stop.store(true, Ordering::Relaxed);
        let acc = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let seconds = match (acc.started, acc.ended) {
            (Some(start), Some(end)) => (end - start).as_secs_f64().max(1e-9),
            _ => 1e-9,
        };
        let cpu_s = (acc.last.cpu_s - acc.first.cpu_s).max(0.0);
        let mean = |sum: f64, n: u64| (n > 0).then(|| sum / n as f64);
        ServerStats {
            samples: acc.samples,
            rss_idle_kib: idle_rss_kib,
            rss_mean_kib: mean(acc.rss_sum, acc.samples).unwrap_or(0.0),
            rss_peak_kib: acc.rss_peak,
            pss_mean_kib: mean(acc.pss_sum, acc.pss_samples),
            cgroup_memory_mean_kib: mean(acc.cgroup_sum, acc.cgroup_samples),
            cpu_s,
            cores_used: cpu_s / seconds,
            cpu_us_per_request: (requests > 0).then(|| cpu_s * 1e6 / requests as f64),
        }
    }
}

/// The statistics of windows sampled one after another against one server (a sliced trial's
/// slices): samples and CPU add, means are over every sample, the peak is the highest, the idle
/// figure is the first window's; `seconds` is the windows' measured sum, `requests` their
/// completed requests.
pub(crate) fn one_after_another(parts: &[ServerStats], seconds: f64, requests: u64) -> ServerStats {
    let samples: u64 = parts.iter().map(|p| p.samples).sum();
    let weighted = |f: fn(&ServerStats) -> Option<f64>| {
        let (sum, n) = parts
            .iter()
            .filter_map(|p| Some((f(p)? * p.samples as f64, p.samples)))
            .fold((0.0, 0), |(s, n), (x, k)| (s + x, n + k));
        (n > 0).then(|| sum / n as f64)
    };
    let cpu_s: f64 = parts.iter().map(|p| p.cpu_s).sum();
    ServerStats {
        samples,
        rss_idle_kib: parts.first().map_or(0.0, |p| p.rss_idle_kib),
        rss_mean_kib: weighted(|p| Some(p.rss_mean_kib)).unwrap_or(0.0),
        rss_peak_kib: parts.iter().map(|p| p.rss_peak_kib).fold(0.0, f64::max),
        pss_mean_kib: weighted(|p| p.pss_mean_kib),
        cgroup_memory_mean_kib: weighted(|p| p.cgroup_memory_mean_kib),
        cpu_s,
        cores_used: if seconds > 0.0 { cpu_s / seconds } else { 0.0 },
        cpu_us_per_request: (requests > 0).then(|| cpu_s * 1e6 / requests as f64),
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sleeps `delay` in short steps; false when asked to stop meanwhile.
fn sleep_unless_stopped(delay: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(10)));
    }
    true
}

fn sample_loop(
    source: &ResourceSource,
    interval: Duration,
    stop: &AtomicBool,
    length: Option<Duration>,
) -> Accumulated {
    let ends = length.map(|l| Instant::now() + l);
    let mut acc = Accumulated {
        started: Some(Instant::now()),
        first: source.read(),
        ..Accumulated::default()
    };
    // Walking every process to find descendants costs more than reading them; new children are
    // rare after start, so the tree is re-walked once a second.
    let mut pids = source.pids();
    let mut pids_at = Instant::now();
    let mut next = Instant::now();
    loop {
        if pids_at.elapsed() >= Duration::from_secs(1) {
            pids = source.pids();
            pids_at = Instant::now();
        }
        let reading = source.read_pids(&pids);
        acc.samples += 1;
        acc.rss_sum += reading.rss_kib;
        acc.rss_peak = acc.rss_peak.max(reading.rss_kib);
        if let Some(pss) = reading.pss_kib {
            acc.pss_sum += pss;
            acc.pss_samples += 1;
        }
        if let Some(cg) = reading.cgroup_memory_kib {
            acc.cgroup_sum += cg;
            acc.cgroup_samples += 1;
        }
        acc.last = reading;
        next += interval;
        while Instant::now() < next {
            if stop.load(Ordering::Relaxed) || ends.is_some_and(|e| Instant::now() >= e) {
                acc.last = source.read_pids(&source.pids());
                acc.ended = Some(Instant::now());
                return acc;
            }
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(10)));
        }
    }
}

/// `root` and every descendant, found through each process's parent.
pub(crate) fn tree_pids(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(all) = procfs::process::all_processes() {
        for process in all.flatten() {
            if let Ok(stat) = process.stat() {
                parents.push((stat.pid, stat.ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    if procfs::process::Process::new(root).is_err() {
        tree.retain(|&p| p != root);
    }
    tree
}

/// PSS from smaps_rollup, KiB (needs permission to read the process's maps).
fn pss_kib(pid: i32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

fn cgroup_pids(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        if let Ok(entries) = std::fs::read_dir(&d) {
            stack.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// cgroup v2 `memory.current`, else v1 `memory.usage_in_bytes`.
fn cgroup_memory_bytes(dir: &Path) -> Option<u64> {
    ["memory.current", "memory.usage_in_bytes"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .and_then(|t| t.trim().parse().ok())
}

/// cgroup v2 `cpu.stat` usage_usec, else v1 `cpuacct.usage` (ns), in seconds.
fn cgroup_cpu_s(dir: &Path) -> Option<f64> {
    if let Ok(text) = std::fs::read_to_string(dir.join("cpu.stat")) {
        if let Some(usec) = text
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            return Some(usec / 1e6);
        }
    }
    std::fs::read_to_string(dir.join("cpuacct.usage"))
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .map(|ns| ns / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_one_after_another_weigh_their_samples() {
        let window = |samples, rss: f64, cpu_s, pss| ServerStats {
            samples,
            rss_idle_kib: rss - 100.0,
            rss_mean_kib: rss,
            rss_peak_kib: rss + 50.0,
            pss_mean_kib: pss,
            cgroup_memory_mean_kib: None,
            cpu_s,
            cores_used: 0.0,
            cpu_us_per_request: None,
        };
        let parts = [
            window(10, 1_000.0, 0.5, Some(800.0)),
            window(30, 2_000.0, 1.5, Some(1_600.0)),
        ];
        let s = one_after_another(&parts, 4.0, 20_000);
        assert_eq!(s.samples, 40);
        assert_eq!(s.rss_idle_kib, 900.0, "before the first window");
        assert_eq!(s.rss_mean_kib, 1_750.0, "(10 × 1,000 + 30 × 2,000) / 40");
        assert_eq!(s.rss_peak_kib, 2_050.0);
        assert_eq!(s.pss_mean_kib, Some(1_400.0));
        assert_eq!(s.cgroup_memory_mean_kib, None);
        assert_eq!((s.cpu_s, s.cores_used), (2.0, 0.5));
        assert_eq!(s.cpu_us_per_request, Some(100.0));
    }

    #[test]
    fn tree_includes_grandchildren() {
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("sleep 30 & sleep 30 & wait")
            .spawn()
            .unwrap();
        let root = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pids = tree_pids(root);
        while pids.len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            pids = tree_pids(root);
        }
        let reading = ResourceSource::ProcessTree { root }.read();
        let _ = std::process::Command::new("pkill")
            .args(["-P", &root.to_string()])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(pids.len(), 3, "sh and two sleeps: {pids:?}");
        assert!(
            reading.rss_kib > 1000.0,
            "three processes hold > 1 MB: {reading:?}"
        );
    }

    #[test]
    fn sampler_sees_cpu_of_a_busy_process() {
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("while :; do :; done")
            .spawn()
            .unwrap();
        let sampler = Sampler::start(
            ResourceSource::ProcessTree {
                root: child.id() as i32,
            },
            Duration::from_millis(100),
            Duration::ZERO,
        );
        std::thread::sleep(Duration::from_millis(600));
        let stats = sampler.finish(0.0, 1000);
        let _ = child.kill();
        let _ = child.wait();
        assert!(stats.samples >= 4, "{stats:?}");
        assert!(stats.cores_used > 0.3, "a busy loop uses a core: {stats:?}");
        assert!(stats.cpu_us_per_request.unwrap() > 100.0, "{stats:?}");
        assert!(stats.rss_peak_kib >= stats.rss_mean_kib, "{stats:?}");
    }
}
