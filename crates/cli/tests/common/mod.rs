//! Helpers for tests that drive the `atoll` binary: running commands, free ports, node
//! processes.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn atoll(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_atoll")).args(args).output().expect("run atoll");
    assert!(out.status.success(), "atoll {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `atoll node --home <home> <extra…>` through `command` (the binary, or a wrapper
/// that runs it), its output appended to `node.log` in its home.
pub fn spawn_node(command: &mut Command, home: &Path, extra: &[&str]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("node.log"))
        .expect("log file");
    command
        .args(["node", "--home", home.to_str().expect("utf-8")])
        .args(extra)
        .env("RUST_LOG", "info,libp2p=warn,arc_malachitebft_network=warn")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn node")
}

/// Adds the node at `home` to the genesis at `genesis` as a validator with `escrow` tokens
/// staked and `balance` tokens to spend.
pub fn add_validator(genesis: &Path, home: &Path, escrow: &str, balance: &str) {
    let (genesis, home) = (genesis.to_str().expect("utf-8"), home.to_str().expect("utf-8"));
    let args = ["genesis", "add-validator", "--genesis", genesis, "--node", home];
    atoll(&[&args[..], &["--escrow", escrow, "--balance", balance]].concat());
}

/// A port whose next three ports (API, metrics, transaction gossip) are also free.
pub fn free_port_triple() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if port < 65_000
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 2)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 3)).is_ok()
        {
            return port;
        }
    }
}

pub struct Node {
    pub home: PathBuf,
    pub metrics_port: u16,
    pub child: Option<Child>,
}

impl Node {
    pub fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atoll"));
        self.child = Some(spawn_node(&mut command, &self.home, &[]));
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The node's committed height, read from its metrics endpoint.
    pub fn height(&self) -> Option<u64> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n").ok()?;
        let mut body = String::new();
        stream.read_to_string(&mut body).ok()?;
        body.lines()
            .find(|l| l.starts_with("atoll_height{"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `atoll` and returns its output, success or not.
pub fn atoll_output(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_atoll")).args(args).output().expect("run atoll")
}

/// A base port below 60,000 with it and the next `ports - 1` ports free (a devnet's block).
pub fn free_base(ports: u16) -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = listener.local_addr().expect("addr").port();
        drop(listener);
        if base < 60_000
            && (base..base + ports).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        {
            return base;
        }
    }
}
