//! Discrepancy detection over real nodes: validators that are also compute nodes, the
//! timestamping ParaTime as a child process of each, one node in a byzantine mode per
//! scenario, and the outcome the protocol promises for that fault.

mod net;

use std::time::Duration;

use atoll_consensus::roothash::RoothashEvent;
use atoll_node::genesis::RuntimeShape;
use atoll_timestamp::{runtime_id, Get, GetResult, GET};
use atoll_types::{Address, Hash, Signer};
use net::*;

const LIMIT: Duration = Duration::from_secs(120);

fn shape() -> RuntimeShape {
    RuntimeShape {
        group_size: 4,
        backup_size: 3,
        allowed_stragglers: 0,
        round_timeout: 6,
        propose_batch_timeout: 2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn honest_network_deposits_anchors_and_withdraws() {
    let _serial = SERIAL.lock().await;
    logs();
    let net = network(4, shape(), None);
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;

    // Deposit 1,000 tokens: a round takes the queued message and credits the user.
    let runtime_account = Address::from_runtime_id(&runtime_id());
    let before = consensus_balance(&n0.node, &Address::from_public_key(&user().public_key()));
    deposit(&n0.node, 1_000 * TOKEN);
    eventually("the deposit reaches the ParaTime", LIMIT, || async {
        runtime_balance(n0).await == 1_000 * TOKEN
    })
    .await;
    assert_eq!(consensus_balance(&n0.node, &runtime_account), 1_000 * TOKEN);

    // Anchor five documents through node 0; every node stores the rounds.
    let handle = n0.compute.handle();
    let mut hashes = Vec::new();
    for i in 0..5u64 {
        let raw = anchor_tx(&n0.node, i, Hash::digest(&i.to_le_bytes()));
        hashes.push(handle.submit(raw).await.expect("anchor accepted"));
    }
    for running in nodes.iter().flatten() {
        let h = running.compute.handle();
        eventually("every anchor finalized on every node", LIMIT, || {
            let h = h.clone();
            let hashes = hashes.clone();
            async move { hashes.iter().all(|x| h.result(x).ok().flatten().is_some()) }
        })
        .await;
    }
    let result = handle.result(&hashes[0]).expect("lookup").expect("finalized");
    assert!(result.outcome.error.is_none(), "{:?}", result.outcome.error);
    let answer = handle
        .query(
            GET.to_owned(),
            atoll_types::encode(&Get { document: Hash::digest(&0u64.to_le_bytes()) }),
        )
        .await
        .expect("query");
    let answer: GetResult = atoll_types::decode(&answer, 1 << 16).expect("decode");
    assert!(answer.record.is_some(), "the document is anchored");

    // Withdraw 400 tokens back to the consensus layer.
    let user_address = Address::from_public_key(&user().public_key());
    let consensus_before = consensus_balance(&n0.node, &user_address);
    handle.submit(withdraw_tx(&n0.node, 5, 400 * TOKEN)).await.expect("withdraw accepted");
    eventually("the withdrawal reaches the consensus layer", LIMIT, || async {
        consensus_balance(&n0.node, &user_address) == consensus_before + 400 * TOKEN
    })
    .await;
    // Both sides add up: what the runtime's account holds on the consensus layer is what
    // was deposited minus what was withdrawn; the user's runtime balance is that minus fees.
    assert_eq!(consensus_balance(&n0.node, &runtime_account), 600 * TOKEN);
    // (Six transactions paid at most their fee each; unused gas is refunded.)
    let max_fees = 6 * RUNTIME_FEE.amount.base_units();
    eventually("the runtime balance settles", LIMIT, || async {
        let balance = runtime_balance(n0).await;
        balance < 600 * TOKEN && balance >= 600 * TOKEN - max_fees
    })
    .await;
    assert!(before > consensus_balance(&n0.node, &user_address) - 400 * TOKEN);

    let events = roothash_events(&n0.node, 1);
    assert!(events.iter().any(|(_, e)| matches!(e, RoothashEvent::Finalized { .. })));
    assert!(
        !events.iter().any(|(_, e)| matches!(
            e,
            RoothashEvent::ExecutionDiscrepancyDetected { .. } | RoothashEvent::RoundFailed { .. }
        )),
        "an honest network needs no discrepancy resolution: {:#?}",
        events
            .iter()
            .filter(|(_, e)| !matches!(e, RoothashEvent::ExecutorCommitted { .. }))
            .collect::<Vec<_>>()
    );
    stop_all(nodes).await;
}
