//! Where a container's processes, memory and CPU are accounted: its cgroup, resolved through
//! this process's mount table (v1 controllers or the unified v2 hierarchy).
use std::path::PathBuf;

use crate::sampler::ResourceSource;

/// A container's cgroup directories. On cgroup v2 all three are the same directory; on v1 each
/// controller has its own hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroup {
    /// Holds `cgroup.procs` (every process of the container).
    pub procs: PathBuf,
    /// Holds `memory.current` (v2) or `memory.usage_in_bytes` (v1).
    pub memory: PathBuf,
    /// Holds `cpu.stat` (v2) or `cpuacct.usage` (v1).
    pub cpu: PathBuf,
}

impl ContainerCgroup {
    /// The cgroup of process `pid`, resolved through this process's mount table.
    pub fn of_pid(pid: i32) -> Option<ContainerCgroup> {
        let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        resolve_cgroup(&cgroups, &mountinfo)
    }

    /// Every pid in the container's cgroup (and any child cgroups).
    pub fn pids(&self) -> Vec<i32> {
        ResourceSource::Cgroup {
            procs: self.procs.clone(),
            memory: self.memory.clone(),
            cpu: self.cpu.clone(),
        }
        .pids()
    }
}

/// Maps `/proc/<pid>/cgroup` lines to directories through the mount table: v1 controllers where
/// mounted (`memory`, `cpuacct`), the unified (v2) hierarchy otherwise.
fn resolve_cgroup(cgroups: &str, mountinfo: &str) -> Option<ContainerCgroup> {
    // (controllers or "" for v2, mount root, mount point)
    let mut mounts: Vec<(Vec<String>, String, PathBuf)> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split_whitespace().collect();
        let right: Vec<&str> = right.split_whitespace().collect();
        if left.len() < 5 || right.is_empty() {
            continue;
        }
        let (root, point) = (left[3].to_string(), PathBuf::from(left[4]));
        match right[0] {
            "cgroup2" => mounts.push((Vec::new(), root, point)),
            "cgroup" => {
                let options = right.get(2).copied().unwrap_or("");
                let controllers = options.split(',').map(str::to_string).collect();
                mounts.push((controllers, root, point));
            }
            _ => {}
        }
    }
    let dir_in = |mount: &(Vec<String>, String, PathBuf), path: &str| -> PathBuf {
        let relative = path
            .strip_prefix(mount.1.as_str())
            .unwrap_or(path)
            .trim_start_matches('/');
        mount.2.join(relative)
    };
    let mut unified = None;
    let v1 = |controller: &str| -> Option<PathBuf> {
        cgroups.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
            if !names.split(',').any(|n| n == controller) {
                return None;
            }
            let mount = mounts
                .iter()
                .find(|m| m.0.iter().any(|c| c == controller))?;
            Some(dir_in(mount, path))
        })
    };
    let memory_v1 = v1("memory");
    let cpu_v1 = v1("cpuacct");
    for line in cgroups.lines() {
        if let Some(path) = line.strip_prefix("0::") {
            if let Some(mount) = mounts.iter().find(|m| m.0.is_empty()) {
                unified = Some(dir_in(mount, path));
            }
        }
    }
    let memory = memory_v1.or_else(|| unified.clone())?;
    let cpu = cpu_v1
        .or_else(|| unified.clone())
        .unwrap_or_else(|| memory.clone());
    // Every v1 hierarchy lists the same processes; the memory one is always there.
    Some(ContainerCgroup {
        procs: memory.clone(),
        memory,
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS_V1: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const MOUNTS_V2: &str = "\
30 23 0:27 /outer /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn cgroup_v1_uses_each_controllers_hierarchy() {
        let cgroups =
            "4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/docker/abc\n";
        let cg = resolve_cgroup(cgroups, MOUNTS_V1).unwrap();
        assert_eq!(cg.memory, PathBuf::from("/sys/fs/cgroup/memory/docker/abc"));
        assert_eq!(cg.cpu, PathBuf::from("/sys/fs/cgroup/cpuacct/docker/abc"));
        assert_eq!(cg.procs, cg.memory);
    }

    #[test]
    fn cgroup_v2_strips_the_mount_root() {
        let cg = resolve_cgroup("0::/outer/system.slice/docker-abc.scope\n", MOUNTS_V2).unwrap();
        let want = PathBuf::from("/sys/fs/cgroup/system.slice/docker-abc.scope");
        assert_eq!(
            (cg.procs, cg.memory, cg.cpu),
            (want.clone(), want.clone(), want)
        );
    }

    #[test]
    fn no_cgroup_mount_is_none() {
        assert_eq!(
            resolve_cgroup("0::/x\n", "1 0 0:1 / / rw - ext4 /dev/vda rw\n"),
            None
        );
    }
}
