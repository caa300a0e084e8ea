//! Discrepancy detection over real nodes: validators that are also compute nodes, the
//! timestamping ParaTime as a child process of each, one node in a byzantine mode per
//! scenario, and the outcome the protocol promises for that fault.

mod net;

use std::time::Duration;

use atoll_consensus::roothash::pool::PoolCommittee;
use atoll_consensus::roothash::RoothashEvent;
use atoll_consensus::staking::SlashReason;
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

    // The same through the node API and the Rust client.
    let api_config = net.configs[0].api.clone();
    let (address, api) = atoll_node::api::serve(
        &api_config.listen,
        n0.node.view(),
        vec![handle.clone()],
        Vec::new(),
        &api_config,
    )
    .await
    .expect("api");
    let client = atoll_client::Client::new(&format!("http://{address}")).expect("client");
    let id = runtime_id();
    let document = Hash::digest(b"through the API");
    let raw = anchor_tx(&n0.node, 6, document);
    let hash = client.submit_runtime_tx(&id, &raw).await.expect("submitted");
    let done = client.wait_for_runtime_tx(&id, &hash, LIMIT).await.expect("finalized");
    let round = done.round.expect("round");
    assert!(done.outcome.expect("outcome").error.is_none());
    let listed = client.runtime_round(&id, round).await.expect("round");
    assert!(listed.outcomes.iter().any(|o| o.hash == hash));
    // A round not stored yet is a 404, never an empty list.
    assert!(matches!(
        client.runtime_round(&id, round + 1_000_000).await,
        Err(atoll_client::ClientError::Api { status: 404, .. })
    ));
    let answer = client
        .runtime_query(&id, GET, &atoll_types::encode(&Get { document }))
        .await
        .expect("query");
    let answer: GetResult =
        atoll_types::decode(&hex::decode(&answer.result).expect("hex"), 1 << 16).expect("decode");
    assert!(answer.record.is_some_and(|r| r.round.0 == round));
    let block = client
        .runtime_block(&id, round, atoll_client::model::StateQuery::default())
        .await
        .expect("block");
    assert_eq!(block.value.round.0, round);
    let summary =
        client.roothash(&id, atoll_client::model::StateQuery::default()).await.expect("summary");
    assert!(summary.value.round >= round && summary.value.workers.len() == 4);
    // A bad request and an unknown runtime get clear errors.
    let other = atoll_types::RuntimeId::from_bytes([1; 32]);
    assert!(matches!(
        client.submit_runtime_tx(&other, &raw).await,
        Err(atoll_client::ClientError::Api { status: 404, .. })
    ));
    assert!(matches!(
        client.submit_runtime_tx(&id, b"garbage").await,
        Err(atoll_client::ClientError::Api { status: 422, .. })
    ));
    api.abort();

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

/// With `empty_round_interval_ms` and `empty_round_limit = 2`, two empty rounds follow a
/// round with transactions (a client waiting for the next block sees them), then an idle
/// ParaTime makes no rounds at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_paratime_makes_only_its_empty_rounds_after_transactions() {
    let _serial = SERIAL.lock().await;
    logs();
    let mut net = network(4, shape(), None);
    for config in &mut net.configs {
        config.compute[0].empty_round_interval_ms = Some(300);
        config.compute[0].empty_round_limit = Some(2);
    }
    let nodes = net.start_all().await;
    fund_user(&nodes, LIMIT).await;
    let n0 = first(&nodes);
    let handle = n0.compute.handle();
    let hash = handle.submit(anchor_tx(&n0.node, 0, Hash::digest(b"idle"))).await.expect("anchor");
    eventually("the anchor finalized", LIMIT, || async {
        handle.result(&hash).ok().flatten().is_some()
    })
    .await;
    let anchored = handle.result(&hash).expect("lookup").expect("finalized").round.0;
    wait_for_normal_round(&nodes, anchored + 2, LIMIT).await;
    for round in [anchored + 1, anchored + 2] {
        let outcomes = handle.outcomes(atoll_types::Round(round)).expect("outcomes");
        assert!(outcomes.is_empty(), "round {round} is an empty round");
    }
    // Ten intervals later: no third empty round.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(last_normal_round(&nodes), anchored + 2, "an idle ParaTime makes no rounds");
    stop_all(nodes).await;
}

/// Node 3 runs `mode`; returns the events once `done` holds, and node 3's id.
async fn byzantine(
    mode: &str,
    shape: RuntimeShape,
    done: impl Fn(&[(u64, RoothashEvent)]) -> bool,
) -> (Vec<(u64, RoothashEvent)>, atoll_types::PublicKey) {
    let (events, byzantine, _) =
        byzantine_in(network(4, shape, Some((3, mode))), LIMIT, done).await;
    (events, byzantine)
}

/// Runs `net` (node 3 byzantine) until `done`; returns the events, node 3's id and the
/// committee in force at the end.
async fn byzantine_in(
    net: Net,
    limit: Duration,
    done: impl Fn(&[(u64, RoothashEvent)]) -> bool,
) -> (Vec<(u64, RoothashEvent)>, atoll_types::PublicKey, PoolCommittee) {
    logs();
    let byzantine = node_id(&net, 3);
    let (events, nodes) = run_until(&net, limit, done).await;
    let committee = pool_committee(&first(&nodes).node);
    stop_all(nodes).await;
    (events, byzantine, committee)
}

fn any(events: &[(u64, RoothashEvent)], f: impl Fn(&RoothashEvent) -> bool) -> bool {
    events.iter().any(|(_, e)| f(e))
}

fn failed(e: &RoothashEvent) -> bool {
    matches!(e, RoothashEvent::RoundFailed { .. })
}

/// Every event (with its height) of the rounds in which `f` holds for some event: what a
/// failed scenario prints.
fn story(events: &[(u64, RoothashEvent)], f: impl Fn(&RoothashEvent) -> bool) -> String {
    let rounds: Vec<atoll_types::Round> =
        events.iter().filter(|(_, e)| f(e)).filter_map(|(_, e)| round_of(e)).collect();
    events
        .iter()
        .filter(|(_, e)| round_of(e).is_some_and(|r| rounds.contains(&r)))
        .map(|(height, e)| format!("{height}: {e:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The round an event is about, if it is about one.
fn round_of(e: &RoothashEvent) -> Option<atoll_types::Round> {
    match e {
        RoothashEvent::Block { header } => Some(header.round),
        RoothashEvent::ExecutorCommitted { round, .. }
        | RoothashEvent::ExecutionDiscrepancyDetected { round, .. }
        | RoothashEvent::Finalized { round, .. }
        | RoothashEvent::RoundFailed { round, .. } => Some(*round),
        _ => None,
    }
}

fn discrepancy(e: &RoothashEvent) -> bool {
    matches!(e, RoothashEvent::ExecutionDiscrepancyDetected { .. })
}

fn resolved(e: &RoothashEvent) -> bool {
    matches!(e, RoothashEvent::Finalized { discrepancy: true, .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dishonest_worker_is_outvoted_by_backups_and_slashed() {
    let _serial = SERIAL.lock().await;
    let slashed = |id: atoll_types::PublicKey| move |e: &RoothashEvent| matches!(e, RoothashEvent::NodeSlashed { node, reason: atoll_consensus::staking::SlashReason::RuntimeIncorrectResults, .. } if *node == id);
    let (events, cheat) = byzantine("dishonest", shape(), |events| decided(events) >= 8).await;
    assert!(any(&events, slashed(cheat)), "the dishonest node is slashed");
    assert!(any(
        &events,
        |e| matches!(e, RoothashEvent::Finalized { discrepancy: true, bad, .. } if bad.contains(&cheat))
    ));
    assert!(!any(&events, failed), "backups resolve every discrepancy: no round fails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn straggler_times_out_and_backups_resolve() {
    let _serial = SERIAL.lock().await;
    let (events, _) = byzantine("straggler", shape(), |events| decided(events) >= 8).await;
    assert!(any(&events, |e| matches!(
        e,
        RoothashEvent::ExecutionDiscrepancyDetected { timeout: true, .. }
    )));
    assert!(any(&events, resolved));
    assert!(!any(&events, failed));
    assert!(
        !any(&events, |e| matches!(e, RoothashEvent::NodeSlashed { .. })),
        "missing is not lying"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_allowed_straggler_needs_no_discrepancy() {
    let _serial = SERIAL.lock().await;
    let lenient = RuntimeShape { allowed_stragglers: 1, ..shape() };
    let (events, _) = byzantine("straggler", lenient, |events| decided(events) >= 8).await;
    assert!(
        !any(&events, discrepancy),
        "one straggler is allowed:\n{}",
        story(&events, discrepancy)
    );
    assert!(!any(&events, failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runaway_proposer_is_replaced_by_the_next_rank() {
    let _serial = SERIAL.lock().await;
    let net = network(4, shape(), Some((3, "runaway-proposer")));
    let (events, runaway, committee) =
        byzantine_in(net, LIMIT, |events| decided(events) >= 8).await;
    assert!(!any(&events, failed), "a backup proposer takes over: no round fails");
    assert!(any(
        &events,
        |e| matches!(e, RoothashEvent::Finalized { good, .. } if !good.contains(&runaway))
    ));
    // In a round where the runaway had rank 0, the worker of rank 1 committed its own
    // batch: it did take over.
    let took_over = any(&events, |e| {
        matches!(e, RoothashEvent::ExecutorCommitted { round, node, scheduler, failure: false, .. }
            if node == scheduler
                && committee.rank(&runaway, *round) == Some(0)
                && committee.rank(scheduler, *round) == Some(1))
    });
    assert!(took_over, "rank 1 proposed and committed in the runaway's rounds");
}

/// The reference's outcome for a dishonest worker, with amounts: every discrepancy it
/// causes is resolved by the backups and slashes it by the runtime's incorrect-results
/// amount (1 token, no freeze); at the end of an epoch in which it was a primary worker
/// its good rounds are 0, so it gets a liveness fault, which at `max_liveness_fails = 1`
/// also slashes it by the liveness amount (1 token) and freezes it: it leaves the next
/// committee, and no round fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dishonest_worker_is_slashed_for_results_and_for_liveness_with_exact_amounts() {
    let _serial = SERIAL.lock().await;
    let shape = RuntimeShape { group_size: 3, backup_size: 3, ..shape() };
    let net = network_with(4, shape, Some((3, "dishonest")), |genesis| {
        genesis.consensus.epoch_interval = 40;
        genesis.registry.runtimes[0].executor.max_liveness_fails = 1;
    });
    let liveness_slash = |id: atoll_types::PublicKey| move |e: &RoothashEvent| matches!(e, RoothashEvent::NodeSlashed { node, reason: SlashReason::RuntimeLiveness, .. } if *node == id);
    let cheat_id = node_id(&net, 3);
    let (events, cheat, _) = byzantine_in(net, Duration::from_secs(400), |events| {
        events.iter().any(|(_, e)| liveness_slash(cheat_id)(e))
    })
    .await;
    let slashes: Vec<(SlashReason, u128)> = events
        .iter()
        .filter_map(|(_, e)| match e {
            RoothashEvent::NodeSlashed { node, reason, amount, .. } if *node == cheat => {
                Some((*reason, amount.base_units()))
            }
            _ => None,
        })
        .collect();
    let results: Vec<u128> = slashes
        .iter()
        .filter(|(r, _)| *r == SlashReason::RuntimeIncorrectResults)
        .map(|(_, a)| *a)
        .collect();
    assert!(!results.is_empty(), "slashed for incorrect results: {slashes:?}");
    assert!(results.iter().all(|a| *a == TOKEN), "1 token each: {slashes:?}");
    let liveness: Vec<u128> = slashes
        .iter()
        .filter(|(r, _)| *r == SlashReason::RuntimeLiveness)
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(liveness, vec![TOKEN], "slashed once for liveness, 1 token");
    assert!(!any(&events, failed), "backups resolve every discrepancy: no round fails");
    // Judged before the election: from the liveness slash on, it commits nothing more.
    let at = events.iter().position(|(_, e)| liveness_slash(cheat)(e)).expect("slash");
    assert!(!events[at..].iter().any(
        |(_, e)| matches!(e, RoothashEvent::ExecutorCommitted { node, .. } if *node == cheat)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bogus_batch_fails_the_round_and_the_chain_goes_on() {
    let _serial = SERIAL.lock().await;
    let (events, _) = byzantine("bogus-batch", shape(), |events| {
        let first_failure = events.iter().position(|(_, e)| failed(e));
        first_failure.is_some_and(|i| {
            events[i..].iter().any(|(_, e)| matches!(e, RoothashEvent::Finalized { .. }))
        })
    })
    .await;
    assert!(any(&events, failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_batch_hash_is_rejected_and_resolved() {
    let _serial = SERIAL.lock().await;
    let (events, _) = byzantine("invalid-batch-hash", shape(), |events| {
        events.iter().any(|(_, e)| resolved(e)) && decided(events) >= 8
    })
    .await;
    assert!(any(&events, resolved), "backups resolve the rejected proposal's round");
    assert!(!any(&events, failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_indicating_worker_causes_discrepancy_not_failure() {
    let _serial = SERIAL.lock().await;
    let (events, _) = byzantine("failure-indicating", shape(), |events| decided(events) >= 8).await;
    assert!(any(&events, |e| matches!(
        e,
        RoothashEvent::ExecutionDiscrepancyDetected { timeout: false, .. }
    )));
    assert!(any(&events, resolved));
    assert!(!any(&events, failed));
}

/// A scheduler that keeps its workers' commitments to itself hides nothing: the workers see
/// its commitment on chain without theirs and submit them themselves, and its rounds are
/// decided with every vote, no discrepancy needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withholding_scheduler_cannot_keep_the_votes_off_chain() {
    let _serial = SERIAL.lock().await;
    let net = network(4, shape(), Some((3, "withholding-scheduler")));
    let withholder = node_id(&net, 3);
    // A round of the withholder's batch finalized without a discrepancy, with the three
    // other workers' votes on it in the pool (which the withholder never submits).
    let own_round_decided = move |events: &[(u64, RoothashEvent)]| {
        let votes_on_its_batch = |round: &atoll_types::Round| {
            events
                .iter()
                .filter(|(_, c)| {
                    matches!(c, RoothashEvent::ExecutorCommitted { round: r, node, scheduler, .. }
                        if r == round && *node != withholder && *scheduler == withholder)
                })
                .count()
        };
        events.iter().any(|(_, e)| {
            matches!(e, RoothashEvent::Finalized { round, discrepancy: false, good, .. }
                if good.len() == 4 && votes_on_its_batch(round) == 3)
        })
    };
    let (events, _, _) =
        byzantine_in(net, LIMIT, |events| decided(events) >= 8 && own_round_decided(events)).await;
    assert!(own_round_decided(&events));
    assert!(!any(&events, failed), "no round fails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn equivocating_worker_is_slashed() {
    let _serial = SERIAL.lock().await;
    let (events, cheat) = byzantine("equivocation", shape(), |events| {
        events.iter().any(|(_, e)| matches!(e, RoothashEvent::NodeSlashed { .. }))
            && decided(events) >= 2
    })
    .await;
    assert!(any(&events, |e| matches!(e,
        RoothashEvent::NodeSlashed { node, reason: atoll_consensus::staking::SlashReason::RuntimeEquivocation, .. } if *node == cheat)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_compute_node_restarts_and_catches_up() {
    let _serial = SERIAL.lock().await;
    logs();
    let net = network(4, shape(), None);
    let mut nodes = net.start_all().await;
    let restarted = 2;
    fund_user(&nodes, LIMIT).await;
    let load = {
        let n0 = first(&nodes);
        Load::start(&n0.node, n0.compute.handle(), 0)
    };
    let decided_by = |nodes: &[Option<Running>]| decided(&roothash_events(&first(nodes).node, 1));
    eventually("rounds before the crash", LIMIT, || async { decided_by(&nodes) >= 3 }).await;
    let crashed = nodes[restarted].take().expect("running");
    stop(crashed).await;
    let at_crash = decided_by(&nodes);
    let deadline = tokio::time::Instant::now() + LIMIT;
    while decided_by(&nodes) < at_crash + 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for: rounds while it is down\n{}",
            stall_report(&first(&nodes).node)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    nodes[restarted] = Some(net.start(restarted).await);
    let target = last_normal_round(&nodes);
    let back = nodes[restarted].as_ref().expect("restarted").compute.handle();
    eventually("the restarted node stores every finalized round", LIMIT, || async {
        back.latest_round().is_ok_and(|r| r.0 >= target)
    })
    .await;
    let id = node_id(&net, restarted);
    let restart_height = first(&nodes).node.status().height;
    eventually("the restarted node commits again", LIMIT, || async {
        roothash_events(&first(&nodes).node, restart_height)
            .iter()
            .any(|(_, e)| matches!(e, RoothashEvent::ExecutorCommitted { node, .. } if *node == id))
    })
    .await;
    // [T] finding 8: what it signed before the crash it re-sends; it never signs a second,
    // different commitment or proposal for a round (which would be slashed).
    let events = roothash_events(&first(&nodes).node, 1);
    assert!(!events.iter().any(|(_, e)| matches!(
        e,
        RoothashEvent::NodeSlashed { reason: SlashReason::RuntimeEquivocation, .. }
    )));
    drop(load);
    stop_all(nodes).await;
}

/// [R] runtime state sync: a compute node comes back with its runtime state gone (a new
/// disk) on a ParaTime whose other nodes keep only their last 16 rounds, so nobody can
/// serve the history it would replay. It restores the latest round's state from its peers'
/// checkpoints — every chunk verified against the state root of the runtime block the
/// consensus layer finalized — holds the same state as they do, and stores the rounds that
/// follow as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_compute_node_without_state_restores_it_from_its_peers_checkpoints() {
    let _serial = SERIAL.lock().await;
    logs();
    let mut net = network(4, shape(), None);
    for config in &mut net.configs {
        config.compute[0].retain_rounds = Some(16);
    }
    let mut nodes = net.start_all().await;
    let lost = 3;
    fund_user(&nodes, LIMIT).await;
    let load = {
        let n0 = first(&nodes);
        Load::start(&n0.node, n0.compute.handle(), 0)
    };
    wait_for_normal_round(&nodes, 20, LIMIT).await;
    stop(nodes[lost].take().expect("running")).await;
    let storage = net.homes[lost]
        .join(atoll_node::run::DATA_DIR)
        .join(format!("runtime-{}.redb", runtime_id()));
    std::fs::remove_file(&storage).expect("the runtime state is lost");
    nodes[lost] = Some(net.start(lost).await);
    let target = last_normal_round(&nodes);
    let back = nodes[lost].as_ref().expect("restarted").compute.handle();
    eventually("the node without state reaches the latest round", LIMIT, || async {
        back.latest_round().is_ok_and(|r| r.0 >= target)
    })
    .await;
    let earliest = back.earliest_round().expect("earliest");
    assert!(earliest > 2, "its history starts at the checkpoint (round {earliest}), not replayed");
    // The same state as its peers: once the load stops, the same latest round and nonce.
    drop(load);
    let n0 = nodes[0].as_ref().expect("node 0").compute.handle();
    eventually("the same state as node 0", LIMIT, || async {
        let (a, b) = (n0.latest_round().ok(), back.latest_round().ok());
        a.is_some() && a == b && runtime_nonce(&n0).await == runtime_nonce(&back).await
    })
    .await;
    // And it goes on storing rounds like any other node.
    let nonce = runtime_nonce(&n0).await;
    let load = Load::start(&first(&nodes).node, n0.clone(), nonce);
    let next = last_normal_round(&nodes) + 3;
    wait_for_normal_round(&nodes, next, LIMIT).await;
    eventually("later rounds stored by the restored node", LIMIT, || async {
        back.latest_round().is_ok_and(|r| r.0 >= next)
    })
    .await;
    drop(load);
    stop_all(nodes).await;
}

/// The whole network stops at once and starts again (as `atoll devnet` does on Ctrl-C),
/// three times, under load: normal rounds are finalized and stored by every node again each
/// time. A round finalized just before the stop, which no node had stored yet, is stored
/// from the result its workers wrote to disk before committing (nobody has it in memory
/// any more, and no peer stored it to serve).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_network_stops_at_once_and_the_paratime_resumes() {
    let _serial = SERIAL.lock().await;
    logs();
    let net = network(4, shape(), None);
    let mut nodes = net.start_all().await;
    fund_user(&nodes, LIMIT).await;
    // One load per start of the network (a new one would sign nonces the pool holds).
    let mut load = {
        let n0 = first(&nodes);
        Load::start(&n0.node, n0.compute.handle(), 0)
    };
    for _ in 0..3 {
        let before = last_normal_round(&nodes);
        wait_for_normal_round(&nodes, before + 3, LIMIT).await;
        drop(load);
        stop_all(nodes).await;
        nodes = net.start_all().await;
        let at_restart = last_normal_round(&nodes);
        load = {
            let n0 = first(&nodes);
            eventually("blocks after the restart", LIMIT, || async {
                n0.node.status().height >= 2
            })
            .await;
            Load::start(&n0.node, n0.compute.handle(), runtime_nonce(&n0.compute.handle()).await)
        };
        wait_for_normal_round(&nodes, at_restart + 2, LIMIT).await;
        let target = last_normal_round(&nodes);
        for running in nodes.iter().flatten() {
            let handle = running.compute.handle();
            eventually("every node stores the rounds since the restart", LIMIT, || async {
                handle.latest_round().is_ok_and(|r| r.0 >= target)
            })
            .await;
        }
    }
    drop(load);
    stop_all(nodes).await;
}

/// Blocks each decided round took (from the previous runtime block to its own), split by
/// whether backups resolved it: `(normal, resolved)`.
fn round_blocks(events: &[(u64, RoothashEvent)]) -> (Vec<u64>, Vec<u64>) {
    let mut previous: Option<u64> = None;
    let mut discrepancy_round = std::collections::BTreeSet::new();
    for (_, e) in events {
        if let RoothashEvent::Finalized { round, discrepancy: true, .. } = e {
            discrepancy_round.insert(round.0);
        }
    }
    let (mut normal, mut resolved) = (Vec::new(), Vec::new());
    for (height, e) in events {
        if let RoothashEvent::Block { header } = e {
            if let Some(p) = previous {
                if header.header_type == atoll_consensus::roothash::HeaderType::Normal {
                    if discrepancy_round.contains(&header.round.0) {
                        resolved.push(height - p);
                    } else {
                        normal.push(height - p);
                    }
                }
            }
            previous = Some(*height);
        }
    }
    (normal, resolved)
}

fn mean(values: &[u64]) -> f64 {
    values.iter().sum::<u64>() as f64 / values.len().max(1) as f64
}

/// The ParaTime benchmark (run by hand, release build; see docs/BENCHMARKS.md):
/// `cargo test --release -p atoll-timestamp --test scenarios -- --ignored --nocapture bench`.
/// Prints anchors per second, submit→finalized latency, rounds per consensus block, and how
/// many more consensus blocks a round resolved by backups takes than a normal one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by hand in release mode"]
async fn bench_paratime_throughput_latency_and_discrepancy_cost() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    let _serial = SERIAL.lock().await;
    logs();
    let total: u64 = std::env::var("BENCH_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000);

    // Honest network: throughput, latency, rounds per block.
    let net = network(4, shape(), None);
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;
    deposit(&n0.node, 100_000 * TOKEN);
    eventually("the deposit", LIMIT, || async { runtime_balance(n0).await > 0 }).await;
    let handle = n0.compute.handle();
    let txs: Vec<Vec<u8>> =
        (0..total).map(|i| anchor_tx(&n0.node, i, Hash::digest(&i.to_le_bytes()))).collect();
    let start_height = n0.node.status().height;
    // When each round was first seen stored on node 0 (polled every 5 ms).
    let seen: Arc<Mutex<BTreeMap<u64, Instant>>> = Arc::default();
    let watcher = {
        let (handle, seen) = (handle.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                if let (Ok(r), Ok(mut map)) = (handle.latest_round(), seen.lock()) {
                    map.entry(r.0).or_insert_with(Instant::now);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let mut submitted = Vec::with_capacity(txs.len());
    for raw in txs {
        let at = Instant::now();
        submitted.push((handle.submit(raw).await.expect("accepted"), at));
    }
    let submit_time = started.elapsed();
    let last = submitted.last().expect("some").0;
    eventually("every anchor finalized", Duration::from_secs(600), || {
        let h = handle.clone();
        async move { h.result(&last).ok().flatten().is_some() }
    })
    .await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(20)).await;
    watcher.abort();
    let seen = seen.lock().map(|m| m.clone()).unwrap_or_default();
    let mut latencies: Vec<f64> = submitted
        .iter()
        .filter_map(|(hash, at)| {
            let round = handle.result(hash).ok().flatten()?.round.0;
            let (_, when) = seen.range(round..).next()?;
            Some(when.saturating_duration_since(*at).as_secs_f64() * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let end_height = n0.node.status().height;
    let events = roothash_events(&n0.node, start_height);
    let (normal, _) = round_blocks(&events);
    let blocks = end_height - start_height;
    println!(
        "paratime throughput: {total} anchors finalized in {:.2} s = {:.0} tx/s (submitting alone took {:.2} s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        submit_time.as_secs_f64()
    );
    println!(
        "paratime latency submit→finalized (ms): p50 {:.0}, p90 {:.0}, p99 {:.0}, max {:.0} ({} samples)",
        pct(0.5), pct(0.9), pct(0.99), pct(1.0), latencies.len()
    );
    println!(
        "rounds: {} normal rounds in {blocks} consensus blocks = {:.2} rounds/block; a normal round took {:.2} blocks on average",
        normal.len(),
        normal.len() as f64 / blocks.max(1) as f64,
        mean(&normal)
    );
    stop_all(nodes).await;

    // A dishonest worker: rounds it takes part in need the backups.
    let net = network(4, shape(), Some((3, "dishonest")));
    let (events, nodes) = run_until(&net, LIMIT, |events| decided(events) >= 16).await;
    stop_all(nodes).await;
    let (normal, resolved) = round_blocks(&events);
    println!(
        "discrepancy cost: normal rounds {:.2} blocks (n = {}), rounds resolved by backups {:.2} blocks (n = {}): {:+.2} blocks",
        mean(&normal),
        normal.len(),
        mean(&resolved),
        resolved.len(),
        mean(&resolved) - mean(&normal)
    );
}
