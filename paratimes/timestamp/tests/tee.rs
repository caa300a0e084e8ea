//! The timestamping ParaTime as a simulated-TEE runtime on a real network (nodes on
//! 127.0.0.1, ParaTime processes playing enclaves): its committee forms only from compute
//! nodes whose runtime attested itself, and the ParaTime then works through it.

mod net;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atoll_consensus::registry::types::{TeeHardware, TeePolicy};
use atoll_consensus::{registry, scheduler};
use atoll_node::config::ComputeTee;
use atoll_node::genesis::RuntimeShape;
use atoll_node::keys::OperationalKeys;
use atoll_tee::simulated::{
    measure_file, simulated_identity, CollateralTerms, SimulatedTcb, SimulationPki,
};
use atoll_tee::{QuotePolicy, TrustRoots};
use atoll_types::{Height, PublicKey};
use net::*;

const LIMIT: Duration = Duration::from_secs(180);
const DAY: u64 = 86_400;
/// Nodes whose runtime runs in the simulated TEE (the last one's does not).
const ATTESTED: usize = 3;

fn committee(node: &atoll_engine::bft::NodeHandle) -> Option<Vec<PublicKey>> {
    let state = node.view().state().clone();
    let height = state.latest().ok()??.version;
    let tree = state.tree_at(Height(height)).ok()?;
    let committee = scheduler::committee(&tree, &atoll_timestamp::runtime_id()).ok()??;
    Some(committee.workers.iter().chain(&committee.backup_workers).copied().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tee_runtimes_committee_forms_only_from_attested_compute_nodes() {
    let _serial = SERIAL.lock().await;
    logs();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let pki = SimulationPki::from_seed(&[21; 32], now - 365 * DAY).expect("pki");
    let identity = simulated_identity(
        measure_file(std::path::Path::new(&paratime().binary)).expect("measured"),
    );
    let root = pki.root_der();
    let shape = RuntimeShape {
        group_size: 2,
        backup_size: 1,
        allowed_stragglers: 0,
        round_timeout: 6,
        propose_batch_timeout: 2,
    };
    let mut net = network_with(4, shape, None, |genesis| {
        // Epochs pass (committees are elected at their starts) about every 3 s.
        genesis.consensus.epoch_interval = 20;
        genesis.registry.parameters.tee = TrustRoots {
            simulation: Some(root),
            debug_allow_simulated_tee: true,
            ..TrustRoots::default()
        };
        let runtime = genesis.registry.runtimes.last_mut().expect("the runtime");
        runtime.tee_hardware = TeeHardware::Simulated;
        runtime.tee_policy =
            Some(TeePolicy { quote: QuotePolicy::up_to_date(), max_attestation_age: 1_000 });
        runtime.deployments[0].enclaves = vec![identity];
        // Nobody serves it at genesis: a node must attest first.
        for node in &mut genesis.registry.nodes {
            node.runtimes.clear();
        }
        for runtime in &mut genesis.registry.runtimes {
            for role in runtime.constraints.values_mut() {
                role.min_pool_size = 3;
            }
        }
    });
    let terms = CollateralTerms {
        issued_at: now - DAY,
        valid_for: 30 * DAY,
        tcb_evaluation: 1,
        revoked: vec![],
    };
    let collateral = pki.collateral(&terms).expect("collateral").encode();
    for i in 0..ATTESTED {
        let dir = net.homes[i].join("tee");
        std::fs::create_dir_all(&dir).expect("tee dir");
        let machine = pki.machine(&[30 + i as u8; 32], SimulatedTcb::UpToDate).expect("machine");
        std::fs::write(dir.join("machine.json"), machine.to_json()).expect("machine file");
        std::fs::write(dir.join("collateral.json"), &collateral).expect("collateral file");
        net.configs[i].compute[0].tee = Some(ComputeTee {
            simulated_machine: "tee/machine.json".into(),
            collateral: "tee/collateral.json".into(),
        });
    }
    let nodes = net.start_all().await;
    let mut registrations = Vec::new();
    for (i, running) in nodes.iter().flatten().enumerate() {
        let keys = OperationalKeys::load(&net.homes[i]).expect("keys");
        let handle = running.compute.handle();
        let tee = if handle.has_tee() { vec![handle] } else { Vec::new() };
        registrations.push(atoll_node::registration::spawn(keys, running.node.view(), 1, tee));
    }
    let n0 = first(&nodes);
    let attested: Vec<PublicKey> = (0..ATTESTED).map(|i| net.node_id(i)).collect();
    eventually("a committee of attested nodes", LIMIT, || async {
        committee(&n0.node).is_some_and(|members| members.len() == 3)
    })
    .await;
    let members = committee(&n0.node).expect("committee");
    assert!(members.iter().all(|m| attested.contains(m)), "{members:?} vs {attested:?}");
    // The registry holds their attestations; the node without a TEE never registered one.
    {
        let state = n0.node.view().state().clone();
        let height = state.latest().expect("state").expect("a root").version;
        let tree = state.tree_at(Height(height)).expect("tree");
        for (i, id) in (0..4).map(|i| (i, net.node_id(i))) {
            let node = registry::node(&tree, &id).expect("query").expect("registered");
            let serves = node.runtimes.iter().any(|r| r.tee.is_some());
            assert_eq!(serves, i < ATTESTED, "node {i}");
        }
    }
    // A restarted node registers a fresh attestation (its binary, hence its enclave, may
    // have changed) instead of renewing with the one registered by its previous run.
    let attested_at = |node: &atoll_engine::bft::NodeHandle, id: &PublicKey| {
        let state = node.view().state().clone();
        let height = state.latest().ok().flatten().map_or(0, |r| r.version);
        let tree = state.tree_at(Height(height)).expect("tree");
        registry::node(&tree, id)
            .expect("query")
            .and_then(|n| n.runtimes.into_iter().find_map(|r| r.tee))
            .map_or(0, |t| t.attestation.height)
    };
    let before = attested_at(&n0.node, &attested[0]);
    registrations.remove(0).abort();
    let keys = OperationalKeys::load(&net.homes[0]).expect("keys");
    let handle = nodes[0].as_ref().expect("node 0").compute.handle();
    registrations.push(atoll_node::registration::spawn(keys, n0.node.view(), 1, vec![handle]));
    eventually("node 0 re-attests after its restart", LIMIT, || async {
        attested_at(&n0.node, &attested[0]) > before
    })
    .await;
    // Node 0 restarts its ParaTime from a different binary (another measurement) the
    // runtime does not allow yet: its first attestation is refused. Then the owner (node
    // 0's entity) allows the new enclave beside the old. The node must register an
    // attestation of its new enclave rather than keep renewing with the one its previous
    // run registered (which would make a binary the node no longer runs count as its).
    let mut nodes = nodes;
    // Its registration loop holds the compute role: stop both (the runtime's storage closes
    // with the last handle).
    let loop0 = registrations.remove(registrations.len() - 1);
    loop0.abort();
    let _ = loop0.await;
    let running = nodes[0].take().expect("node 0");
    running.compute.shutdown().await;
    let changed = net.dir.path().join("atoll-timestamp-v2");
    let mut binary = std::fs::read(paratime().binary).expect("binary");
    binary.push(0);
    std::fs::write(&changed, &binary).expect("write");
    std::fs::set_permissions(&changed, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let mut section = net.configs[0].compute[0].clone();
    section.binary = changed.display().to_string();
    let compute = atoll_node::run::start_compute(&net.homes[0], &section, running.node.view())
        .expect("compute restarts");
    let new_identity = simulated_identity(measure_file(&changed).expect("measured"));
    let keys = OperationalKeys::load(&net.homes[0]).expect("keys");
    registrations.push(atoll_node::registration::spawn(
        keys,
        running.node.view(),
        1,
        vec![compute.handle()],
    ));
    nodes[0] = Some(Running { node: running.node, compute });
    let n0 = first(&nodes);
    let registered_identity = |node: &atoll_engine::bft::NodeHandle| {
        let state = node.view().state().clone();
        let height = state.latest().ok().flatten().map_or(0, |r| r.version);
        let tree = state.tree_at(Height(height)).expect("tree");
        registry::node(&tree, &attested[0]).expect("query").map(|n| n.runtimes)
    };
    // Let the refused attempt happen first, then allow the new enclave.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let owner = atoll_crypto::MemorySigner::from_seed(
        *atoll_node::NodeKeys::load(&net.homes[0]).expect("keys").entity.seed(),
    );
    let mut runtime = {
        let state = n0.node.view().state().clone();
        let height = state.latest().ok().flatten().map_or(0, |r| r.version);
        let tree = state.tree_at(Height(height)).expect("tree");
        registry::runtime(&tree, &atoll_timestamp::runtime_id()).expect("query").expect("runtime")
    };
    // Both binaries: the other nodes keep serving with theirs.
    runtime.deployments[0].enclaves = vec![identity, new_identity];
    consensus_tx(
        &n0.node,
        &owner,
        registry::REGISTER_RUNTIME,
        &registry::RegisterRuntime { runtime },
    );
    let latest = |node: &atoll_engine::bft::NodeHandle| {
        let state = node.view().state().clone();
        let height = state.latest().ok().flatten().map_or(0, |r| r.version);
        let runtime = state.tree_at(Height(height)).ok().and_then(|tree| {
            registry::runtime(&tree, &atoll_timestamp::runtime_id()).ok().flatten()
        });
        (height, runtime)
    };
    eventually("the owner allows the new enclave", LIMIT, || async {
        latest(&n0.node).1.is_some_and(|r| r.deployments[0].enclaves.contains(&new_identity))
    })
    .await;
    let allowed_at = latest(&n0.node).0;
    let attested_since = |node: &atoll_engine::bft::NodeHandle| {
        registered_identity(node).and_then(|runtimes| {
            runtimes.iter().find_map(|r| r.tee.as_ref().map(|t| t.attestation.height))
        })
    };
    eventually("node 0 registers an attestation of its new enclave", LIMIT, || async {
        attested_since(&n0.node).is_some_and(|height| height >= allowed_at)
    })
    .await;
    // At its next retry (20 blocks), not when the old one would have been refreshed anyway
    // (half of the 1,000-block maximum age).
    let registered = attested_since(&n0.node).unwrap_or_default();
    assert!(registered < allowed_at + 200, "re-attested at {registered}, allowed at {allowed_at}");
    // The ParaTime works through its attested committee: a deposit reaches it.
    fund_user(&nodes, LIMIT).await;
    for task in registrations {
        task.abort();
    }
    stop_all(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_to_start_a_simulated_tee_on_a_chain_that_does_not_trust_one() {
    let _serial = SERIAL.lock().await;
    let shape = RuntimeShape { group_size: 1, backup_size: 0, ..RuntimeShape::default() };
    let mut net = network(1, shape, None);
    net.configs[0].compute[0].tee = Some(ComputeTee {
        simulated_machine: "tee/machine.json".into(),
        collateral: "tee/collateral.json".into(),
    });
    let node = atoll_node::run::start(&net.homes[0], &net.configs[0]).await.expect("node starts");
    let section = &net.configs[0].compute[0];
    let refused = atoll_node::run::start_compute(&net.homes[0], section, node.view());
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("does not trust simulated TEEs"), "{message}");
    node.shutdown().await;
}
