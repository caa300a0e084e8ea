//! The FHE ParaTime over real nodes with a dishonest worker: four validators that are
//! compute nodes (real sockets and disks, an `atoll-fhe` process each, every one passing
//! the known-answer test before it serves), one of them committing wrong results. A key
//! set is uploaded to one node and registered (the other nodes fetch it from their peers),
//! a private vote deployed, two encrypted ballots cast and the vote closed; every round is verified by discrepancy detection, the backups re-execute the
//! FHE batches and outvote the dishonest node, and the tallies decrypt right.

use std::path::Path;
use std::time::Duration;

use atoll_consensus::registry::types::Determinism;
use atoll_consensus::roothash::{SubmitMsg, SUBMIT_MSG};
use atoll_crypto::MemorySigner;
use atoll_fhe::cipher::{prove_inputs, Cipher};
use atoll_fhe::demos::vote;
use atoll_fhe::kat::{CPU_ARCH, CPU_FEATURES, KNOWN_ANSWER};
use atoll_fhe::keys::{decode_public_key, generate, key_set_id};
use atoll_fhe::module::calls::*;
use atoll_fhe::module::input_metadata;
use atoll_fhe::program::Ty;
use atoll_fhe::runtime_id;
use atoll_fhe::setup::ProofSetup;
use atoll_node::genesis::{require_determinism, RuntimeShape};
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::{Fee, SignerInfo, Transaction};
use atoll_testnet::*;
use atoll_types::{Address, Amount, Signer};
use borsh::BorshSerialize;

const LIMIT: Duration = Duration::from_secs(300);

fn depositor() -> MemorySigner {
    MemorySigner::from_seed([21; 32])
}

fn address(key: &MemorySigner) -> Address {
    Address::from_public_key(&key.public_key())
}

/// A signed FHE transaction of `key` with `nonce`; the fee pays one base unit per gas.
fn fhe_tx<B: BorshSerialize>(
    running: &Running,
    key: &MemorySigner,
    nonce: u64,
    gas: u64,
    (method, body): (&str, &B),
) -> Vec<u8> {
    let tx = Transaction::new(
        method,
        body,
        vec![SignerInfo { public_key: key.public_key(), nonce }],
        Fee { amount: Amount::new(u128::from(gas)), gas },
    );
    let chain = runtime_chain_context(&running.node.chain_context(), &runtime_id());
    atoll_types::encode(&tx.sign(&[key], &chain))
}

/// Submits `raw` and waits for its outcome in a finalized round; its output.
async fn finalized(running: &Running, raw: Vec<u8>) -> Vec<u8> {
    let outcome = submit_and_wait(running, raw, LIMIT).await.outcome;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    outcome.output
}

async fn query<A: BorshSerialize, R: borsh::BorshDeserialize>(
    running: &Running,
    method: &str,
    args: &A,
) -> R {
    let bytes = running
        .compute
        .handle()
        .query(method.to_owned(), atoll_types::encode(args))
        .await
        .expect("query");
    atoll_types::decode(&bytes, 4 << 20).expect("answer")
}

/// The setup file every node is given, and the key holder's key set (which only node 0
/// gets: the others fetch it from their peers).
fn files(dir: &Path) -> (ProofSetup, atoll_fhe::keys::Generated) {
    let setup = ProofSetup::insecure_from_seed(b"atoll fhe network test").expect("setup");
    std::fs::write(dir.join("setup.crs"), setup.to_bytes().expect("encodes")).expect("write");
    let keys = generate([0x5a; 32]).expect("key set");
    (setup, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vote_on_real_nodes_survives_a_dishonest_worker() {
    let _serial = SERIAL.lock().await;
    logs();
    let files_dir = tempfile::tempdir().expect("tempdir");
    let (setup, keys) = files(files_dir.path());
    let key_set = key_set_id(&keys.key_set);
    let paratime = ParaTime {
        id: runtime_id(),
        binary: env!("CARGO_BIN_EXE_atoll-fhe").to_owned(),
        args: vec![
            "--setup".into(),
            files_dir.path().join("setup.crs").display().to_string(),
            "--setup-insecure".into(),
        ],
    };
    // Every node is a primary worker, so the dishonest one is in every round; FHE rounds
    // take seconds of every worker's CPU, so the round timeout is long.
    let shape = RuntimeShape {
        group_size: 4,
        backup_size: 3,
        allowed_stragglers: 0,
        round_timeout: 80,
        propose_batch_timeout: 4,
    };
    let funded = [address(&depositor())];
    // The deployment requires the known answer and the CPU it is computed on; the genesis
    // nodes declare the answer (tests/committees.rs in atoll-consensus elects by it).
    let answer: atoll_types::Hash = KNOWN_ANSWER.parse().expect("hex");
    let determinism = Determinism {
        arch: CPU_ARCH.into(),
        cpu_features: CPU_FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        known_answer: answer,
    };
    let mut net = network(&paratime, 4, shape, Some((3, "dishonest")), &funded, |genesis| {
        require_determinism(genesis, runtime_id(), determinism).expect("runtime in genesis");
    });
    for config in &mut net.configs {
        config.compute[0].start_timeout_secs = Some(240);
        config.compute[0].call_timeout_secs = Some(300);
    }
    let cheat = net.node_id(3);
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;
    // Each node's ParaTime process ran the known-answer test and told its node the answer
    // (which the node keeps registered).
    for running in nodes.iter().flatten() {
        assert_eq!(running.compute.handle().known_answer(), Some(answer));
    }

    let (owner, alice, bob) = (
        MemorySigner::from_seed([1; 32]),
        MemorySigner::from_seed([2; 32]),
        MemorySigner::from_seed([3; 32]),
    );
    for who in [&owner, &alice, &bob] {
        let deposit = SubmitMsg {
            runtime: runtime_id(),
            amount: Amount::new(10 * TOKEN),
            to: Some(address(who)),
        };
        // One at a time: each takes the depositor's next nonce from the state.
        let before = consensus_balance(&n0.node, &address(&depositor()));
        consensus_tx(&n0.node, &depositor(), SUBMIT_MSG, &deposit);
        eventually("the deposit is in a block", LIMIT, || async {
            consensus_balance(&n0.node, &address(&depositor())) != before
        })
        .await;
    }
    eventually("the deposits reach the ParaTime", LIMIT, || async {
        let balance: Amount =
            query(n0, atoll_runtime_sdk::modules::accounts::BALANCE, &address(&bob)).await;
        !balance.is_zero()
    })
    .await;

    // The key holder uploads the key set to node 0 only; the other workers fetch it from
    // their peers (checked against its id) when their runtime first needs it.
    let stored = n0.compute.handle().put_blob(keys.key_set.clone()).await.expect("stored");
    assert_eq!(stored, key_set);
    assert!(nodes
        .iter()
        .flatten()
        .skip(1)
        .all(|running| !running.compute.handle().has_blob(&key_set)));
    let register = RegisterKeySet { id: key_set, public_key: keys.public_key.clone() };
    finalized(n0, fhe_tx(n0, &owner, 0, 3_000_000, (REGISTER_KEY_SET, &register))).await;
    let deploy = Deploy { key_set, program: vote(2) };
    let output = finalized(n0, fhe_tx(n0, &owner, 1, 200_000, (DEPLOY, &deploy))).await;
    let contract: u64 = atoll_types::decode(&output, 8).expect("contract id");

    let public = decode_public_key(&keys.public_key).expect("public key");
    let chain = runtime_chain_context(&n0.node.chain_context(), &runtime_id());
    for (voter, choice) in [(&alice, 1), (&bob, 1)] {
        let metadata = input_metadata(&chain, contract, &address(voter), 0);
        let inputs =
            prove_inputs(&public, &setup.crs, &metadata, &[(Ty::U8, choice)]).expect("proves");
        let call = Call { contract, function: "vote".into(), accounts: vec![], inputs };
        finalized(n0, fhe_tx(n0, voter, 0, 5_000_000, (CALL, &call))).await;
    }
    let close = Call { contract, function: "close".into(), accounts: vec![], inputs: vec![] };
    finalized(n0, fhe_tx(n0, &owner, 2, 200_000, (CALL, &close))).await;

    // Every node that stores the round holds the same ciphertexts, which only the key
    // holder decrypts: candidate 1 has both ballots.
    for running in nodes.iter().flatten() {
        eventually("every node stores the round", LIMIT, || async {
            let reveal: Option<RevealRecord> =
                query(running, QUERY_REVEALED, &RevealedQuery { contract, label: 1 }).await;
            reveal.is_some()
        })
        .await;
        let mut tallies = Vec::new();
        for label in 0..2 {
            let reveal: Option<RevealRecord> =
                query(running, QUERY_REVEALED, &RevealedQuery { contract, label }).await;
            let reveal = reveal.expect("revealed");
            tallies.push(
                Cipher::decode(&reveal.ciphertext).expect("ciphertext").decrypt(&keys.client),
            );
        }
        assert_eq!(tallies, vec![0, 2]);
    }

    // Every worker got the key set from a peer.
    for running in nodes.iter().flatten() {
        assert!(running.compute.handle().has_blob(&key_set));
    }

    // The dishonest node's wrong results were detected and outvoted by the backups, which
    // re-executed the FHE batches.
    assert_dishonest_caught(&n0.node, &runtime_id(), &cheat);
    stop_all(nodes).await;
}
