//! Multi-validator networks on 127.0.0.1 with the real engine, sockets and disk.

mod common;

use std::time::Duration;

use common::{chain_of, logs, testnet, wait_for_height};

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree_on_every_block() {
    logs();
    let net = testnet(4, 0, &[], 100);
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 5, LIMIT).await;
    let reference = chain_of(&nodes[0], 5);
    for node in &nodes[1..] {
        assert_eq!(chain_of(node, 5), reference, "every node has the same blocks and app hashes");
    }
    // Every block after the first carries a certificate for its predecessor.
    for h in 2..=5u64 {
        let block = nodes[0].blocks().block(atoll_types::Height(h)).expect("store").expect("block");
        let commit = block.last_commit.expect("last commit");
        assert_eq!(commit.block_id, reference[h as usize - 2].0);
    }
    for node in nodes {
        node.shutdown().await;
    }
}
