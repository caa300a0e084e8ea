//! A disk the test can fill: a tmpfs of a chosen size mounted over a node's data directory,
//! resized while the node runs (never below what it holds) and unmounted when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A size-limited filesystem at one directory.
pub struct SmallDisk {
    path: PathBuf,
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl SmallDisk {
    /// Mounts a tmpfs of `kib` KiB at `path` (created if missing), or says why it cannot.
    pub fn mount(path: &Path, kib: u64) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let at = path.to_str().ok_or("a UTF-8 path")?;
        run("mount", &["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs", at])?;
        Ok(SmallDisk { path: path.to_owned() })
    }

    /// KiB in use.
    pub fn used_kib(&self) -> u64 {
        let at = self.path.to_str().expect("utf-8");
        let out = run("df", &["--output=used", "-k", at]).expect("df");
        out.lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("df prints the KiB used")
    }

    /// Makes the disk `kib` KiB large.
    pub fn resize(&self, kib: u64) {
        let at = self.path.to_str().expect("utf-8");
        run("mount", &["-o", &format!("remount,size={kib}k"), at]).expect("resize the disk");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if let Some(at) = self.path.to_str() {
            let _ = run("umount", &["-l", at]);
        }
    }
}
