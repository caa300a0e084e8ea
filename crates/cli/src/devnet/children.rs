//! The devnet's node processes: `atoll node --home <home>` each, in its own process group
//! (so a terminal's Ctrl-C reaches only the devnet, which then stops them in order), with
//! stdout and stderr appended to `<home>/node.log`.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::layout::NodeSpec;

/// A running node.
pub(crate) struct Running {
    /// What it is.
    pub spec: NodeSpec,
    child: Child,
    /// Its exit status once it stopped.
    exited: Option<std::process::ExitStatus>,
}

impl Running {
    /// Whether it still runs (reaps it if it stopped).
    pub(crate) fn alive(&mut self) -> bool {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited.is_none()
    }

    /// How it ended, if it did.
    pub(crate) fn exit_status(&self) -> Option<std::process::ExitStatus> {
        self.exited
    }
}

/// Starts `atoll node` for `spec` with the binary `exe`.
pub(crate) fn spawn(exe: &Path, spec: &NodeSpec) -> Result<Running> {
    let log_path = spec.log();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let child = Command::new(exe)
        .arg("node")
        .arg("--home")
        .arg(&spec.home)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG")
                .unwrap_or_else(|_| "info,libp2p=warn,arc_malachitebft=warn".to_owned()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} ({})", spec.name, exe.display()))?;
    Ok(Running { spec: spec.clone(), child, exited: None })
}

/// Asks every node to stop (SIGTERM: each shuts down cleanly, its ParaTime with it), waits up
/// to `grace`, then kills what is left. Returns the names of the nodes that had to be killed.
pub(crate) fn stop_all(nodes: &mut [Running], grace: Duration) -> Vec<String> {
    for node in nodes.iter_mut() {
        if node.alive() {
            if let Ok(pid) = i32::try_from(node.child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && nodes.iter_mut().any(Running::alive) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut killed = Vec::new();
    for node in nodes.iter_mut() {
        if node.alive() {
            let _ = node.child.kill();
            let _ = node.child.wait();
            killed.push(node.spec.name.clone());
        }
    }
    killed
}

/// The last `lines` lines of a node's log, to explain why it stopped.
pub(crate) fn log_tail(spec: &NodeSpec, lines: usize) -> String {
    let text = std::fs::read_to_string(spec.log()).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
