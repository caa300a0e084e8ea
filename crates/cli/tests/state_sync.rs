//! State sync end to end: a validator makes checkpoints; a new node told to trust one block
//! rebuilds the state from the validator's checkpoint over its API (it never holds the
//! blocks before the checkpoint), replays the trusted block and follows the chain with the
//! same blocks and app hashes. Told to trust a block that is not the chain's, it refuses,
//! says why, and leaves its data directory empty. Told nothing, it believes no single peer,
//! but two that agree on a checkpoint whose block the genesis validators signed.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{add_validator, atoll, atoll_output, free_port_triple, Node};
use serde_json::Value;

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn query(api: &str, args: &[&str]) -> Value {
    let out = atoll_output(&[&["--api", api, "--output", "json", "query"], args].concat());
    assert!(out.status.success(), "query {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A checkpoint every 10 heights, the latest 3 kept.
fn checkpoint_every_10(home: &Path) {
    let config = home.join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replace("interval = 1000\nkeep = 2", "interval = 10\nkeep = 3");
    std::fs::write(&config, text).expect("config");
}

/// How many checkpoints the node at `api` serves with their trusted block.
fn usable_checkpoints(api: &str) -> usize {
    let out = atoll_output(&["--api", api, "--output", "json", "query", "checkpoints"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    list.as_array().map_or(0, |l| l.iter().filter(|c| !c["trust_block_id"].is_null()).count())
}

/// A full node at `home` on p2p port `port`, peer of `peer`, with the chain's `genesis`.
fn init_full_node(home: &Path, port: u16, peer: &str, genesis: &Path) {
    let port = port.to_string();
    let listen = ["--p2p-port", &port, "--listen-host", "127.0.0.1"];
    atoll(
        &[&["init", "--home", p(home)][..], &listen, &["--role", "full", "--peer", peer]].concat(),
    );
    std::fs::copy(genesis, home.join("genesis.json")).expect("copy genesis");
}

/// Starts the node at `home` (p2p port `port`) with `args` after `atoll node --home …`.
fn spawn_node(home: &Path, port: u16, args: &[&str]) -> Node {
    let mut node = Node { home: home.to_owned(), metrics_port: port + 2, child: None };
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_atoll"));
    node.child = Some(common::spawn_node(&mut command, home, args));
    node
}

#[test]
fn a_new_node_state_syncs_from_a_checkpoint_and_follows_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis = dir.path().join("genesis.json");
    atoll(&["genesis", "new", "--out", p(&genesis), "--chain-id", "atoll-sync"]);
    let (port0, port1) = (free_port_triple(), free_port_triple());
    let home0 = dir.path().join("validator");
    let port = port0.to_string();
    atoll(&["init", "--home", p(&home0), "--p2p-port", &port, "--listen-host", "127.0.0.1"]);
    add_validator(&genesis, &home0, "1000", "100");
    std::fs::copy(&genesis, home0.join("genesis.json")).expect("copy genesis");
    checkpoint_every_10(&home0);
    let mut validator = Node { home: home0, metrics_port: port0 + 2, child: None };
    validator.spawn();
    let api0 = format!("http://127.0.0.1:{}", port0 + 1);

    wait("two usable checkpoints", || usable_checkpoints(&api0) >= 2);
    let list = query(&api0, &["checkpoints"]);
    let list = list.as_array().expect("list");
    assert!(list.len() <= 3, "older checkpoints are pruned: {list:?}");
    let usable: Vec<&Value> = list.iter().filter(|c| !c["trust_block_id"].is_null()).collect();
    let checkpoint = usable.last().expect("a usable checkpoint");
    let height = checkpoint["height"].as_u64().expect("height");
    assert_eq!(height % 10, 0);
    let trust_height = checkpoint["trust_height"].as_u64().expect("trust height");
    let trust_id = checkpoint["trust_block_id"].as_str().expect("id").to_owned();
    let trust = format!("{trust_height}:{trust_id}");
    // The human form names the command to run.
    let human = atoll_output(&["--api", &api0, "query", "checkpoints"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&format!("--trust {trust}")));

    // A new full node, told to trust a block that is not the chain's: refused, nothing kept.
    let home1 = dir.path().join("new");
    let peer = format!("127.0.0.1:{port0}");
    init_full_node(&home1, port1, &peer, &genesis);
    checkpoint_every_10(&home1);
    // Without --trust, one peer alone is not believed.
    let alone = atoll_output(&["node", "--home", p(&home1), "--state-sync", &api0]);
    assert_eq!(alone.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(stderr.contains("at least 2 peers"), "{stderr}");
    assert!(!home1.join("data/state.redb").exists());
    let forged = format!("{trust_height}:{}", "ab".repeat(32));
    let refused =
        atoll_output(&["node", "--home", p(&home1), "--state-sync", &api0, "--trust", &forged]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("state sync") && stderr.contains("not the trusted"), "{stderr}");
    assert!(!home1.join("data/state.redb").exists() && !home1.join("data/blocks.redb").exists());

    // Told to trust the right block, it syncs and follows.
    let new = spawn_node(&home1, port1, &["--state-sync", &api0, "--trust", &trust]);
    let target = validator.height().expect("validator height") + 5;
    wait("the new node to follow the chain", || new.height().is_some_and(|h| h >= target));
    let api1 = format!("http://127.0.0.1:{}", port1 + 1);
    // It never held the blocks before the checkpoint, and agrees on every block it holds.
    let before =
        atoll_output(&["--api", &api1, "--output", "json", "query", "block", &height.to_string()]);
    assert!(!before.status.success(), "the new node holds block {height}, from before its sync");
    for h in [height + 1, trust_height, trust_height + 1, target] {
        let mine = query(&api1, &["block", &h.to_string()]);
        let theirs = query(&api0, &["block", &h.to_string()]);
        assert_eq!(mine["id"], theirs["id"], "block {h}");
        assert_eq!(mine["header"]["app_hash"], theirs["header"]["app_hash"], "block {h}");
    }
    let log = std::fs::read_to_string(home1.join("node.log")).expect("log");
    assert!(log.contains("state synced from a checkpoint"), "{log}");

    // A third node names no block: the two nodes agree on their latest common checkpoint,
    // whose block the genesis validator signed; it syncs from it and follows.
    let port2 = free_port_triple();
    let home2 = dir.path().join("third");
    init_full_node(&home2, port2, &peer, &genesis);
    wait("a checkpoint made by the synced node", || usable_checkpoints(&api1) >= 1);
    let third = spawn_node(&home2, port2, &["--state-sync", &api0, "--state-sync", &api1]);
    let target = validator.height().expect("validator height") + 3;
    wait("the third node to follow the chain", || third.height().is_some_and(|h| h >= target));
    let log = std::fs::read_to_string(home2.join("node.log")).expect("log");
    assert!(log.contains("the peers agree on the block to trust"), "{log}");
    assert!(log.contains("state synced from a checkpoint"), "{log}");
    let api2 = format!("http://127.0.0.1:{}", port2 + 1);
    let mine = query(&api2, &["block", &target.to_string()]);
    assert_eq!(mine["id"], query(&api0, &["block", &target.to_string()])["id"]);
}
