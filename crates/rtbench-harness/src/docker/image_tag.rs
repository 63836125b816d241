//! An image's tag names its contents: a SHA-256 of the target folder (paths, contents,
//! executable bits; build outputs skipped) and the base image, so an edited folder is rebuilt and
//! an unchanged one reused.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::HarnessError;
use crate::target::Target;

/// Build outputs and caches that are neither hashed into the image tag nor sent to the daemon
/// (each target's `.dockerignore` lists the same names).
pub(crate) const IGNORED_NAMES: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".cache",
];

/// The image tag of a target: `rtbench-<name>:<hash12>` (`node-http@24` → `rtbench-node-http-v24`), from every file of its folder (paths,
/// contents, executable bits; build outputs skipped) and the base image name.
pub fn image_tag(target: &Target, base_image: &str) -> Result<String, HarnessError> {
    let mut files = Vec::new();
    collect_files(&target.dir, &target.dir, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    hash.update(base_image.as_bytes());
    for relative in &files {
        let path = target.dir.join(relative);
        let bytes = std::fs::read(&path).map_err(|e| HarnessError::io(&path, e))?;
        let executable = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false);
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update([0, u8::from(executable)]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let digest: String = hash
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(format!(
        "rtbench-{}:{}",
        target.docker_name(),
        &digest[..12]
    ))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), HarnessError> {
    let entries = std::fs::read_dir(dir).map_err(|e| HarnessError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| HarnessError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if IGNORED_NAMES.contains(&name.as_ref()) || name.ends_with(".pyc") {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| HarnessError::io(&path, e))?;
        if file_type.is_dir() {
            collect_files(root, &path, out)?;
        } else if file_type.is_file() {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::DEFAULT_BASE_IMAGE;

    #[test]
    fn tag_follows_contents_and_skips_build_outputs() {
        let dir = std::env::temp_dir().join(format!("rtbench-docker-tag-{}", std::process::id()));
        let target_dir = dir.join("demo");
        std::fs::create_dir_all(target_dir.join("node_modules")).unwrap();
        std::fs::write(
            target_dir.join("target.toml"),
            "name = \"demo\"\ndisplay_name = \"Demo\"\nruntime = \"sh\"\nruntime_version = \"1\"\n\
             language = \"sh\"\nframework = \"none\"\nsurvey_row = \"x\"\nport = 9000\n\
             [native]\nstart = \"exec true\"\nversion = \"echo 1\"\n",
        )
        .unwrap();
        std::fs::write(target_dir.join("server.js"), "a").unwrap();
        let target = Target::load(&target_dir).unwrap();
        let first = image_tag(&target, DEFAULT_BASE_IMAGE).unwrap();
        assert!(first.starts_with("rtbench-demo:"), "{first}");
        assert_eq!(first.len(), "rtbench-demo:".len() + 12);
        std::fs::write(target_dir.join("node_modules/x.js"), "ignored").unwrap();
        assert_eq!(image_tag(&target, DEFAULT_BASE_IMAGE).unwrap(), first);
        std::fs::write(target_dir.join("server.js"), "b").unwrap();
        let changed = image_tag(&target, DEFAULT_BASE_IMAGE).unwrap();
        assert_ne!(changed, first);
        assert_ne!(image_tag(&target, "debian:other").unwrap(), changed);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
