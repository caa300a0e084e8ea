//! A laboratory network of Linux network namespaces for the fault suite: every node in a
//! namespace of its own, with one address on a private subnet, linked by a veth pair to a
//! bridge in a hub namespace. Nothing touches the host's own network: the namespaces, links
//! and addresses exist only while the lab does (dropping it removes them; a lab left behind
//! by a killed test run is removed by the next). Partitions are blackhole routes inside the
//! nodes' namespaces (packets silently lost, as on a cut link); the test reaches a node's
//! API and metrics from a thread that has entered its namespace.
//!
//! Where the kernel refuses (no root, no namespaces), [`Lab::new`] says so and returns
//! `None`: the scenario is skipped with that message.

#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atoll_consensus::staking::query;
use atoll_consensus::ConsensusState;
use atoll_engine::BlockStore;
use atoll_mkvs::{Mkvs, RedbNodeDb};
use atoll_types::Height;

pub mod disk;
pub mod paratime;
pub mod slow;

/// Every lab's namespaces start with this (and the test process's pid).
const PREFIX: &str = "atoll-lab-";
/// The lab's subnet: node `i` is `10.77.0.(i + 1)`.
const SUBNET: &str = "10.77.0";
/// Every node's p2p port (each node has its own address); API, metrics and transaction
/// gossip follow it.
pub const P2P_PORT: u16 = 26_656;

static LABS: AtomicUsize = AtomicUsize::new(0);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

#[track_caller]
fn must(args: &[&str]) {
    ip(args).unwrap_or_else(|e| panic!("{e}"));
}

/// Removes the namespaces of labs whose test process is gone.
fn remove_stale_labs() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let pid = rest.split('-').next().unwrap_or_default();
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

/// The namespaces and links of one scenario.
pub struct Lab {
    tag: String,
    nodes: usize,
}

impl Lab {
    /// A lab for `nodes` nodes, or `None` (with the reason printed) where this kernel or
    /// user cannot make network namespaces.
    pub fn new(nodes: usize) -> Option<Lab> {
        assert!(nodes < 250, "one /24 subnet");
        remove_stale_labs();
        let tag =
            format!("{PREFIX}{}-{}", std::process::id(), LABS.fetch_add(1, Ordering::Relaxed));
        let lab = Lab { tag, nodes: 0 };
        if let Err(e) = ip(&["netns", "add", &lab.hub()]) {
            eprintln!(
                "SKIPPED: this scenario needs Linux network namespaces (root, or CAP_NET_ADMIN \
                 and CAP_SYS_ADMIN): {e}"
            );
            return None;
        }
        let mut lab = lab;
        let hub = lab.hub();
        must(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        must(&["-n", &hub, "link", "set", "br0", "up"]);
        must(&["-n", &hub, "link", "set", "lo", "up"]);
        for i in 0..nodes {
            let ns = lab.ns(i);
            must(&["netns", "add", &ns]);
            lab.nodes = i + 1;
            let (inside, outside) = (format!("n{i}"), format!("h{i}"));
            must(&["-n", &hub, "link", "add", &outside, "type", "veth", "peer", &inside]);
            must(&["-n", &hub, "link", "set", &inside, "netns", &ns]);
            must(&["-n", &hub, "link", "set", &outside, "master", "br0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            must(&["-n", &ns, "link", "set", &inside, "name", "eth0"]);
            must(&["-n", &ns, "addr", "add", &format!("{}/24", lab.ip(i)), "dev", "eth0"]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
        }
        Some(lab)
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.tag)
    }

    /// Node `i`'s namespace.
    pub fn ns(&self, i: usize) -> String {
        format!("{}-n{i}", self.tag)
    }

    /// Node `i`'s address.
    pub fn ip(&self, i: usize) -> String {
        format!("{SUBNET}.{}", i + 1)
    }

    /// Node `i`'s p2p address.
    pub fn p2p(&self, i: usize) -> String {
        format!("{}:{P2P_PORT}", self.ip(i))
    }

    /// `program` to be run inside node `i`'s namespace.
    pub fn command(&self, i: usize, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns(i)]).arg(program);
        command
    }

    /// Cuts every link between a node of `a` and a node of `b` (both directions): their
    /// packets to each other are dropped from now on.
    pub fn cut(&self, a: &[usize], b: &[usize]) {
        for &i in a {
            for &j in b {
                must(&[
                    "-n",
                    &self.ns(i),
                    "route",
                    "add",
                    "blackhole",
                    &format!("{}/32", self.ip(j)),
                ]);
                must(&[
                    "-n",
                    &self.ns(j),
                    "route",
                    "add",
                    "blackhole",
                    &format!("{}/32", self.ip(i)),
                ]);
            }
        }
    }

    /// Isolates node `i` from every other node.
    pub fn isolate(&self, i: usize) {
        let others: Vec<usize> = (0..self.nodes).filter(|j| *j != i).collect();
        self.cut(&[i], &others);
    }

    /// Restores every cut link.
    pub fn heal(&self) {
        for i in 0..self.nodes {
            must(&["-n", &self.ns(i), "route", "flush", "type", "blackhole"]);
        }
    }

    /// Runs `f` on a thread inside node `i`'s namespace (sockets it opens stay there).
    pub fn inside<T: Send>(&self, i: usize, f: impl FnOnce() -> T + Send) -> T {
        in_namespace(&format!("/run/netns/{}", self.ns(i)), f)
    }

    /// Runs `f` on a thread inside the hub's namespace.
    fn in_hub<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_namespace(&self.hub_path(), f)
    }

    fn hub_path(&self) -> String {
        format!("/run/netns/{}", self.hub())
    }

    /// Gives the hub's bridge the address `cidr` (the hub answers for it on the subnet).
    fn hub_ip(&self, cidr: &str) {
        must(&["-n", &self.hub(), "addr", "add", cidr, "dev", "br0"]);
    }
}

/// Runs `f` on a thread inside the network namespace whose file is `path`.
fn in_namespace<T: Send>(path: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(path).expect("namespace file");
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .expect("enter the namespace");
                f()
            })
            .join()
            .expect("namespace thread")
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        for i in 0..self.nodes {
            let _ = ip(&["netns", "del", &self.ns(i)]);
        }
        let _ = ip(&["netns", "del", &self.hub()]);
    }
}

/// An `atoll node` process in a lab namespace.
pub struct LabNode {
    /// Its index in the lab.
    pub index: usize,
    /// Its home.
    pub home: PathBuf,
    child: Option<Child>,
}

impl LabNode {
    /// A node (not yet running) whose home is `home`.
    pub fn new(index: usize, home: PathBuf) -> Self {
        Self { index, home, child: None }
    }

    /// Starts it in its namespace, its output appended to `node.log` in its home.
    pub fn spawn(&mut self, lab: &Lab, atoll: &Path) {
        assert!(self.child.is_none(), "node {} already runs", self.index);
        let child = crate::common::spawn_node(&mut lab.command(self.index, atoll), &self.home, &[]);
        self.child = Some(child);
    }

    /// Whether its process runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Waits up to `limit` for its process to end on its own; its exit status, or `None` if
    /// it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 20 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The response to `GET path` on its port `port`, from inside its namespace.
    fn get(&self, lab: &Lab, port: u16, path: &str) -> Option<String> {
        lab.inside(self.index, || {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let request =
                format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).ok()?;
            Some(response)
        })
    }

    /// The JSON its API answers to `GET path` with status 200 (`None` otherwise).
    pub fn api(&self, lab: &Lab, path: &str) -> Option<serde_json::Value> {
        let response = self.get(lab, P2P_PORT + 1, path)?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| serde_json::from_str(body).ok())?
    }

    /// Its committed height, read from its metrics endpoint inside its namespace.
    pub fn height(&self, lab: &Lab) -> Option<u64> {
        let body = self.get(lab, P2P_PORT + 2, "/metrics")?;
        body.lines()
            .find(|l| l.starts_with("atoll_height{"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// The last lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.home.join("node.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for LabNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Heights of `nodes` (`None` where a node does not answer).
pub fn heights(lab: &Lab, nodes: &[&LabNode]) -> Vec<Option<u64>> {
    nodes.iter().map(|n| n.height(lab)).collect()
}

/// Waits until every one of `nodes` has committed `height`, or panics after `limit` with
/// the end of their logs.
pub fn wait_for_height(lab: &Lab, nodes: &[&LabNode], height: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let now = heights(lab, nodes);
        if now.iter().all(|h| h.is_some_and(|h| h >= height)) {
            return;
        }
        if Instant::now() > deadline {
            for n in nodes {
                eprintln!("--- node {} ---\n{}", n.index, n.log_tail(30));
            }
            panic!("nodes did not reach height {height} in {limit:?}: {now:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The highest height any of `nodes` reports.
pub fn tip(lab: &Lab, nodes: &[&LabNode]) -> u64 {
    heights(lab, nodes).into_iter().flatten().max().unwrap_or(0)
}

/// What a stopped node's data directory holds: its latest height, and every block id and
/// app hash up to it.
pub struct Stored {
    /// (block id, app hash in its header) by height, from height 1.
    pub blocks: Vec<(atoll_types::Hash, atoll_types::Hash)>,
    /// Σ balances, escrows, common pool and fee accumulator in its latest state, and the
    /// total supply the state records.
    pub supply: (u128, u128),
}

/// Reads a stopped node's stores.
pub fn stored(home: &Path) -> Stored {
    let data = home.join("data");
    let store = BlockStore::open(&data.join("blocks.redb")).expect("open the block store");
    let latest = store.latest().expect("latest").map_or(0, |h| h.0);
    let blocks = (1..=latest)
        .map(|h| {
            let block = store.block(Height(h)).expect("read").expect("every height stored");
            (block.id(), block.header.app_hash)
        })
        .collect();
    drop(store);
    let db = RedbNodeDb::open(&data.join("state.redb")).expect("open the state");
    let state = ConsensusState::new(Mkvs::new(db));
    let root = state.latest().expect("latest root").expect("a state");
    let tree = state.store().tree(&root).expect("tree");
    let sum = query::accounted_supply(&tree).expect("accounted supply");
    Stored { blocks, supply: (sum, query::total_supply(&tree).expect("supply").base_units()) }
}

/// Stops every node and checks what a fault must never break: on every node the supply
/// adds up, and every node holds the same block id and app hash at every height (no
/// conflicting blocks, ever). Returns the height every node has.
pub fn check_stores(nodes: &mut [LabNode]) -> u64 {
    for node in nodes.iter_mut() {
        node.stop();
    }
    let all: Vec<Stored> = nodes.iter().map(|n| stored(&n.home)).collect();
    for (node, s) in nodes.iter().zip(&all) {
        assert_eq!(s.supply.0, s.supply.1, "node {}: the supply does not add up", node.index);
    }
    let common = all.iter().map(|s| s.blocks.len()).min().unwrap_or(0);
    for h in 0..common {
        let first = all[0].blocks[h];
        for (node, s) in nodes.iter().zip(&all) {
            assert_eq!(
                s.blocks[h],
                first,
                "height {}: node {} differs from node 0",
                h + 1,
                node.index
            );
        }
    }
    common as u64
}
