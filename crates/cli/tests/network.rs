//! Four `atoll node` processes on 127.0.0.1, set up with the CLI alone: they make blocks;
//! one is killed (SIGKILL) and the other three keep going; restarted from its data
//! directory it catches up; afterwards every node's block store holds the same chain.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{add_validator, atoll, free_port_triple, Node};

use atoll_engine::BlockStore;
use atoll_types::Height;

const LIMIT: Duration = Duration::from_secs(180);

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
        add_validator(&genesis, &home, "1000", "100");
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
