//! Four `atoll node` processes on 127.0.0.1, set up with the CLI alone: they make blocks;
//! one is killed (SIGKILL) and the other three keep going; restarted from its data
//! directory it catches up; afterwards every node's block store holds the same chain.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atoll_engine::BlockStore;
use atoll_types::Height;

const LIMIT: Duration = Duration::from_secs(180);

fn atoll(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_atoll")).args(args).output().expect("run atoll");
    assert!(out.status.success(), "atoll {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A port whose next three ports (API, metrics, transaction gossip) are also free.
fn free_port_triple() -> u16 {
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

struct Node {
    home: PathBuf,
    metrics_port: u16,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.join("node.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_atoll"))
            .args(["node", "--home", self.home.to_str().expect("utf-8")])
            .env("RUST_LOG", "info,libp2p=warn,arc_malachitebft_network=warn")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn node");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The node's committed height, read from its metrics endpoint.
    fn height(&self) -> Option<u64> {
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

fn wait_until(nodes: &[&Node], height: u64) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let heights: Vec<Option<u64>> = nodes.iter().map(|n| n.height()).collect();
        if heights.iter().all(|h| h.is_some_and(|h| h >= height)) {
            return;
        }
        if Instant::now() > deadline {
            for n in nodes {
                let log = std::fs::read_to_string(n.home.join("node.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!("--- {} ---\n{}", n.home.display(), tail.join("\n"));
            }
            panic!("nodes did not reach height {height}: {heights:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn processes_survive_a_crash_and_the_restarted_node_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports: Vec<u16> = (0..4).map(|_| free_port_triple()).collect();
    let genesis = dir.path().join("genesis.json");
    atoll(&[
        "genesis",
        "new",
        "--out",
        p(&genesis),
        "--chain-id",
        "atoll-e2e",
        "--epoch-interval",
        "100",
    ]);
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let home = dir.path().join(format!("node{i}"));
        let mut args = vec![
            "init".to_owned(),
            "--home".to_owned(),
            p(&home).to_owned(),
            "--moniker".to_owned(),
            format!("node{i}"),
            "--p2p-port".to_owned(),
            port.to_string(),
            "--listen-host".to_owned(),
            "127.0.0.1".to_owned(),
        ];
        for (j, other) in ports.iter().enumerate() {
            if j != i {
                args.extend(["--peer".to_owned(), format!("127.0.0.1:{other}")]);
            }
        }
        atoll(&args.iter().map(String::as_str).collect::<Vec<_>>());
        atoll(&[
            "genesis",
            "add-validator",
            "--genesis",
            p(&genesis),
            "--node",
            p(&home),
            "--escrow",
            "1000",
            "--balance",
            "100",
        ]);
        nodes.push(Node { home, metrics_port: port + 2, child: None });
    }
    for node in &mut nodes {
        std::fs::copy(&genesis, node.home.join("genesis.json")).expect("copy genesis");
        node.spawn();
    }
    wait_until(&nodes.iter().collect::<Vec<_>>(), 3);

    // Kill one validator: the other three hold 3/4 of the power and keep committing.
    nodes[3].kill();
    let at_kill = nodes[..3].iter().filter_map(Node::height).max().unwrap_or(3);
    wait_until(&nodes[..3].iter().collect::<Vec<_>>(), at_kill + 3);

    // Restarted from its data directory, it catches up with the others.
    nodes[3].spawn();
    let tip = nodes[..3].iter().filter_map(Node::height).max().unwrap_or(at_kill);
    wait_until(&nodes.iter().collect::<Vec<_>>(), tip + 2);

    for node in &mut nodes {
        node.kill();
    }
    let stores: Vec<BlockStore> = nodes
        .iter()
        .map(|n| BlockStore::open(&n.home.join("data").join("blocks.redb")).expect("open store"))
        .collect();
    let common =
        stores.iter().map(|s| s.latest().expect("latest").map_or(0, |h| h.0)).min().unwrap_or(0);
    assert!(common >= tip + 2);
    for h in 1..=common {
        let ids: Vec<_> =
            stores.iter().map(|s| s.block(Height(h)).expect("read").expect("block").id()).collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "height {h}: {ids:?}");
    }
}
