//! The timestamping ParaTime in the lab: every validator also a compute node serving it
//! (the runtime bundled in `atoll`), its runtime p2p on the node's own address, empty rounds
//! while idle so rounds keep coming; and what a stopped node's runtime store holds.

use std::io::Write;
use std::path::Path;

use atoll_compute::RuntimeStorage;
use atoll_types::{Hash, RuntimeId};

use super::{Lab, LabNode, P2P_PORT};

/// The runtime p2p port on every node's address.
pub const RUNTIME_P2P_PORT: u16 = P2P_PORT + 10;

/// The timestamping ParaTime's id.
pub fn runtime() -> RuntimeId {
    atoll_timestamp::runtime_id()
}

/// Adds the timestamping ParaTime to `genesis` (owned by the first node's entity, every
/// node added with `--compute` a primary worker, `stragglers` of them allowed to miss a
/// round) and a `[[compute]]` section serving it to every node's configuration.
pub fn serve_timestamp(
    lab: &Lab,
    genesis: &Path,
    nodes: &[LabNode],
    atoll: &Path,
    stragglers: u16,
) {
    let workers = nodes.len().to_string();
    let stragglers = stragglers.to_string();
    let id = runtime().to_string();
    crate::common::atoll(&[
        "genesis",
        "add-runtime",
        "--genesis",
        utf8(genesis),
        "--id",
        &id,
        "--owner",
        utf8(&nodes[0].home),
        "--group",
        &workers,
        "--backups",
        "3",
        "--stragglers",
        &stragglers,
        "--round-timeout",
        "6",
    ]);
    let address = |j: usize| format!("{}:{RUNTIME_P2P_PORT}", lab.ip(j));
    for node in nodes {
        let peers: Vec<String> = (0..nodes.len())
            .filter(|j| *j != node.index)
            .map(|j| format!("{:?}", address(j)))
            .collect();
        let section = format!(
            "\n[[compute]]\nruntime = {id:?}\nbinary = {:?}\nbinary_args = [\"paratime\", \"serve\", \"timestamp\"]\n\
             p2p_listen = {:?}\np2p_peers = [{}]\nempty_round_interval_ms = 500\n",
            utf8(atoll),
            address(node.index),
            peers.join(", "),
        );
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(node.home.join("config.toml"))
            .expect("config");
        config.write_all(section.as_bytes()).expect("write config");
    }
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The ParaTime's last normal round, as `node`'s API says (`None` if it does not answer).
pub fn last_normal_round(lab: &Lab, node: &LabNode) -> Option<u64> {
    let state = node.api(lab, &format!("/v1/runtimes/{}/roothash", runtime()))?;
    state["value"]["last_normal_round"].as_u64()
}

/// A stopped node's runtime store.
fn store(home: &Path) -> RuntimeStorage {
    let path = home.join("data").join(format!("runtime-{}.redb", runtime()));
    RuntimeStorage::open(&path, runtime()).expect("open the runtime store")
}

/// The latest round a stopped node's runtime store holds.
pub fn stored_round(home: &Path) -> u64 {
    store(home).latest().expect("latest").version
}

/// The state root after round `round` in a stopped node's runtime store.
pub fn stored_state(home: &Path, round: u64) -> Hash {
    store(home).state_at(round).expect("the round's state").hash
}
