//! The FHE ParaTime in process through the SDK dispatcher, with a real key set, a real proof
//! setup and signed transactions: a private vote registered, deployed, cast with proven
//! encrypted ballots and closed, its tallies decrypted by the key holder alone; inputs
//! replayed by another sender, with another nonce or into another contract are refused with
//! gas charged; a sealed-bid auction and a token whose overdraft moves nothing, audited by
//! the key holder; a node without a key set's bytes stops the batch instead of diverging; bad
//! keys, programs and calls are refused and change nothing.

use std::path::PathBuf;
use std::sync::OnceLock;

use atoll_crypto::MemorySigner;
use atoll_fhe::cipher::{prove_inputs, Cipher};
use atoll_fhe::demos::vote;
use atoll_fhe::keys::{generate, key_set_id, Generated};
use atoll_fhe::module::calls::*;
use atoll_fhe::module::input_metadata;
use atoll_fhe::module::keysets::{Directory, KeySets, NoKeySets};
use atoll_fhe::module::state::account_tag;
use atoll_fhe::program::{Function, Instr, Program, Ty};
use atoll_fhe::setup::ProofSetup;
use atoll_fhe::{runtime, runtime_id, FheConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RootKind};
use atoll_runtime_host::{ExecuteBatch, ExecuteResult, ExecutionMode, StateRoot, TxOutcome};
use atoll_runtime_sdk::{Dispatcher, Fee, RuntimeError, SignerInfo, Transaction};
use atoll_types::{decode, Address, Amount, ChainContext, Hash, Round, Signer};
use borsh::{BorshDeserialize, BorshSerialize};

const SETUP_SEED: &[u8] = b"atoll fhe runtime test";

/// The key set, its file directory and the proof setup, made once for every test.
struct Shared {
    keys: Generated,
    id: Hash,
    dir: PathBuf,
    setup_bytes: Vec<u8>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let keys = generate([0x33; 32]).expect("key set");
        let id = key_set_id(&keys.key_set);
        let dir = std::env::temp_dir().join(format!("atoll-fhe-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(Directory::new(&dir).path(&id), &keys.key_set).expect("key set file");
        let setup = ProofSetup::insecure_from_seed(SETUP_SEED).expect("setup");
        Shared { keys, id, dir, setup_bytes: setup.to_bytes().expect("encodes") }
    })
}

fn user(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

fn address(signer: &MemorySigner) -> Address {
    Address::from_public_key(&signer.public_key())
}

fn setup() -> ProofSetup {
    let mut setup = ProofSetup::from_bytes(&shared().setup_bytes).expect("setup decodes");
    setup.insecure = true;
    setup
}

struct Node {
    dispatcher: Dispatcher,
    store: Mkvs<MemoryNodeDb>,
    state: StateRoot,
    round: u64,
    nonces: std::collections::HashMap<Address, u64>,
}

impl Node {
    /// A worker with the shared key set directory (`with_key_sets`) or none.
    fn new(with_key_sets: bool) -> Self {
        let key_sets = if with_key_sets {
            KeySets::new(Box::new(Directory::new(&shared().dir)))
        } else {
            KeySets::new(Box::new(NoKeySets))
        };
        let funded = (1..=9).map(|i| (address(&user(i)), Amount::new(1 << 60))).collect();
        let config =
            FheConfig { setup: setup(), key_sets, genesis_balances: funded, known_answer: None };
        let mut dispatcher = Dispatcher::new(runtime(config));
        dispatcher.set_consensus_chain(&ChainContext::from_genesis_document(b"fhe test chain"));
        let store = Mkvs::new(MemoryNodeDb::new());
        let root = store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("root");
        let mut node = Self {
            dispatcher,
            store,
            state: StateRoot { version: 0, hash: root.hash, node: None },
            round: 0,
            nonces: Default::default(),
        };
        // Genesis (balances, the setup's id), so the pool's checks see it.
        node.batch(Vec::new());
        node
    }

    /// Signs a call of `signer` with its next nonce and `gas`.
    fn tx<B: BorshSerialize>(
        &mut self,
        signer: &MemorySigner,
        gas: u64,
        method: &str,
        body: &B,
    ) -> Vec<u8> {
        let nonce = self.nonces.entry(address(signer)).or_default();
        let tx = Transaction::new(
            method,
            body,
            vec![SignerInfo { public_key: signer.public_key(), nonce: *nonce }],
            Fee { amount: Amount::new(u128::from(gas)), gas },
        );
        *nonce += 1;
        atoll_types::encode(&tx.sign(&[signer], &self.dispatcher.chain_context()))
    }

    fn next_nonce(&self, signer: &MemorySigner) -> u64 {
        self.nonces.get(&address(signer)).copied().unwrap_or(0)
    }

    fn try_batch(&mut self, txs: Vec<Vec<u8>>) -> Result<ExecuteResult, RuntimeError> {
        let batch = ExecuteBatch {
            mode: ExecutionMode::Execute,
            round: Round(self.round + 1),
            time: 1_000 + self.round,
            randomness: Hash::digest(&self.round.to_be_bytes()),
            state: self.state,
            txs,
            incoming: Vec::new(),
            message_results: Vec::new(),
            pending: None,
        };
        let result = self.dispatcher.execute(&self.store, &batch)?;
        self.round += 1;
        self.state = StateRoot { version: self.round, hash: result.state_root, node: None };
        Ok(result)
    }

    fn batch(&mut self, txs: Vec<Vec<u8>>) -> Vec<TxOutcome> {
        self.try_batch(txs).expect("batch executes").outcomes
    }

    fn query<A: BorshSerialize, R: BorshDeserialize>(&self, method: &str, args: &A) -> R {
        let bytes = self
            .dispatcher
            .query(
                &self.store,
                self.state.version,
                self.state.hash,
                method,
                &atoll_types::encode(args),
            )
            .expect("query");
        decode(&bytes, 4 << 20).expect("answer decodes")
    }

    fn check(&self, tx: &[u8]) -> Option<(String, u32)> {
        let outcomes = self
            .dispatcher
            .check(&self.store, self.state.version, self.state.hash, &[tx.to_vec()])
            .expect("check");
        outcomes[0].error.as_ref().map(|e| (e.module.clone(), e.code))
    }

    /// Registers the shared key set as `owner`.
    fn register(&mut self, owner: &MemorySigner) {
        let body = RegisterKeySet { id: shared().id, public_key: shared().keys.public_key.clone() };
        let tx = self.tx(owner, 3_000_000, REGISTER_KEY_SET, &body);
        ok(&self.batch(vec![tx])[0]);
    }

    /// Deploys `program` over the shared key set; its contract id.
    fn deploy(&mut self, owner: &MemorySigner, program: Program) -> u64 {
        let body = Deploy { key_set: shared().id, program };
        let tx = self.tx(owner, 100_000, DEPLOY, &body);
        let outcome = &self.batch(vec![tx])[0];
        ok(outcome);
        decode(&outcome.output, 8).expect("contract id")
    }

    fn gas_of(&self, contract: u64, function: usize) -> u64 {
        let record: Option<ContractRecord> =
            self.query(QUERY_CONTRACT, &ContractQuery { contract });
        record.expect("contract").gas[function]
    }

    /// Encrypts `values` for a call of `sender`'s next transaction to `contract`.
    fn inputs(&self, contract: u64, sender: &MemorySigner, values: &[(Ty, u64)]) -> Vec<u8> {
        let metadata = input_metadata(
            &self.dispatcher.chain_context(),
            contract,
            &address(sender),
            self.next_nonce(sender),
        );
        let public = atoll_fhe::keys::decode_public_key(&shared().keys.public_key).expect("pk");
        prove_inputs(&public, &setup().crs, &metadata, values).expect("proves")
    }

    fn call_tx(
        &mut self,
        sender: &MemorySigner,
        contract: u64,
        function: &str,
        inputs: Vec<u8>,
    ) -> Vec<u8> {
        self.call_with(sender, contract, function, vec![], inputs)
    }

    /// A call of `function` with account arguments; the gas limit is its price plus room
    /// for the transaction's size.
    fn call_with(
        &mut self,
        sender: &MemorySigner,
        contract: u64,
        function: &str,
        accounts: Vec<Address>,
        inputs: Vec<u8>,
    ) -> Vec<u8> {
        let record: Option<ContractRecord> =
            self.query(QUERY_CONTRACT, &ContractQuery { contract });
        let price = record
            .and_then(|r| r.program.function(function).map(|(i, _)| r.gas[i]))
            .unwrap_or(1_000_000);
        let gas = price + 200_000;
        let body = Call { contract, function: function.into(), accounts, inputs };
        self.tx(sender, gas, CALL, &body)
    }

    fn revealed(&self, contract: u64, label: u16) -> Option<RevealRecord> {
        self.query(QUERY_REVEALED, &RevealedQuery { contract, label })
    }
}

fn ok(outcome: &TxOutcome) {
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
}

fn failed(outcome: &TxOutcome, code: u32) {
    let error = outcome.error.as_ref().expect("the transaction fails");
    assert_eq!((error.module.as_str(), error.code), (NAME, code), "{}", error.message);
}

fn decrypt(ciphertext: &[u8]) -> u64 {
    Cipher::decode(ciphertext).expect("a ciphertext").decrypt(&shared().keys.client)
}

#[test]
fn a_private_vote_is_tallied_on_ciphertext_and_read_by_the_key_holder_only() {
    let mut node = Node::new(true);
    let owner = user(1);
    node.register(&owner);
    let election = node.deploy(&owner, vote(3));

    let ballots = [(user(2), 2), (user(3), 0), (user(4), 2)];
    let mut txs = Vec::new();
    for (voter, choice) in &ballots {
        let inputs = node.inputs(election, voter, &[(Ty::U8, *choice)]);
        txs.push(node.call_tx(voter, election, "vote", inputs));
    }
    let outcomes = node.batch(txs);
    outcomes.iter().for_each(ok);
    let cost = node.gas_of(election, 0);
    assert!(outcomes.iter().all(|o| o.gas_used >= cost), "a ballot costs its function's gas");

    // What the chain holds is ciphertext: a tally decodes as a ciphertext, and its bytes do
    // not change the way a counter would (the owner alone can read it).
    let tally: ValueResult =
        node.query(QUERY_VALUE, &ValueQuery { contract: election, slot: 2, account: None });
    let stored = tally.ciphertext.expect("tally stored");
    assert!(stored.len() > 10_000, "a ciphertext, not a counter: {} bytes", stored.len());
    assert_eq!(decrypt(&stored), 2);

    // A second ballot by the same voter is refused on a public record.
    let again = node.inputs(election, &ballots[0].0, &[(Ty::U8, 1)]);
    let tx = node.call_tx(&ballots[0].0, election, "vote", again);
    failed(&node.batch(vec![tx])[0], codes::REFUSED);
    // Only the owner closes.
    let tx = node.call_tx(&user(2), election, "close", Vec::new());
    failed(&node.batch(vec![tx])[0], codes::REFUSED);

    let tx = node.call_tx(&owner, election, "close", Vec::new());
    let outcome = &node.batch(vec![tx])[0];
    ok(outcome);
    assert_eq!(
        outcome.events.iter().filter(|e| e.module == NAME && e.code == events::REVEALED).count(),
        3
    );
    let tallies: Vec<u64> = (0..3)
        .map(|c| decrypt(&node.revealed(election, c).expect("revealed").ciphertext))
        .collect();
    assert_eq!(tallies, vec![1, 0, 2]);

    // The owner publishes the result; anyone reads it (and, once the key is published, can
    // check it).
    let tx =
        node.tx(&user(5), 10_000, PUBLISH, &Publish { contract: election, label: 2, value: 2 });
    failed(&node.batch(vec![tx])[0], codes::NOT_OWNER);
    let tx = node.tx(&owner, 10_000, PUBLISH, &Publish { contract: election, label: 2, value: 2 });
    ok(&node.batch(vec![tx])[0]);
    assert_eq!(node.revealed(election, 2).expect("revealed").published, Some(2));

    let client_key = atoll_fhe::keys::encode_client_key(&shared().keys.client).expect("encodes");
    let publish = PublishKey { key_set: shared().id, client_key };
    let tx = node.tx(&user(5), 100_000, PUBLISH_KEY, &publish);
    failed(&node.batch(vec![tx])[0], codes::NOT_OWNER);
    let tx = node.tx(&owner, 100_000, PUBLISH_KEY, &publish);
    ok(&node.batch(vec![tx])[0]);
    let record: Option<KeySetRecord> = node.query(QUERY_KEY_SET, &KeySetQuery { id: shared().id });
    let published = record.expect("key set").published_client_key.expect("published");
    let anyone = atoll_fhe::keys::decode_client_key(&published).expect("client key");
    let check =
        Cipher::decode(&node.revealed(election, 2).expect("revealed").ciphertext).expect("ct");
    assert_eq!(check.decrypt(&anyone), 2);
}

#[test]
fn inputs_bound_to_another_sender_nonce_or_contract_are_refused_with_gas_charged() {
    let mut node = Node::new(true);
    let owner = user(1);
    node.register(&owner);
    let first = node.deploy(&owner, vote(2));
    let second = node.deploy(&owner, vote(2));
    let (alice, mallory) = (user(6), user(7));
    let cost = node.gas_of(first, 0);

    // Alice's ballot, made for her next transaction to the first election.
    let ballot = node.inputs(first, &alice, &[(Ty::U8, 1)]);
    // Mallory copies it into her own transaction.
    let stolen = node.call_tx(&mallory, first, "vote", ballot.clone());
    // Alice's ballot sent to the second election.
    let retargeted = node.call_tx(&alice, second, "vote", ballot.clone());
    let outcomes = node.batch(vec![stolen, retargeted]);
    for outcome in &outcomes {
        failed(outcome, codes::INVALID_PROOF);
        assert!(outcome.gas_used >= cost, "a refused proof costs the call: {}", outcome.gas_used);
    }
    // Replayed by Alice herself with a later nonce (the one it was made for is used).
    let replayed = node.call_tx(&alice, first, "vote", ballot);
    failed(&node.batch(vec![replayed])[0], codes::INVALID_PROOF);

    // Nothing was counted, and Mallory may still vote for herself.
    let empty: ValueResult =
        node.query(QUERY_VALUE, &ValueQuery { contract: first, slot: 1, account: None });
    assert!(empty.ciphertext.is_none());
    let own = node.inputs(first, &mallory, &[(Ty::U8, 1)]);
    let tx = node.call_tx(&mallory, first, "vote", own);
    ok(&node.batch(vec![tx])[0]);
}

#[test]
fn a_node_without_the_key_set_stops_the_batch_instead_of_diverging() {
    let mut node = Node::new(false);
    let owner = user(1);
    let body = RegisterKeySet { id: shared().id, public_key: shared().keys.public_key.clone() };
    let tx = node.tx(&owner, 3_000_000, REGISTER_KEY_SET, &body);
    // The pool refuses what this node cannot check...
    assert_eq!(node.check(&tx), Some((NAME.to_owned(), codes::UNKNOWN_KEY_SET)));
    // ...and a batch holding it fails as a whole here (a straggler), not with a different
    // state root.
    let root = node.state.hash;
    let error = node.try_batch(vec![tx]).expect_err("the batch cannot run here");
    assert_eq!(error.module, "storage", "{error}");
    assert_eq!(node.state.hash, root);
}

#[test]
fn bad_keys_programs_and_calls_are_refused_and_change_nothing() {
    let mut node = Node::new(true);
    let owner = user(1);

    // A public key that is not one.
    let body = RegisterKeySet { id: shared().id, public_key: vec![7; 100] };
    let tx = node.tx(&owner, 3_000_000, REGISTER_KEY_SET, &body);
    failed(&node.batch(vec![tx])[0], codes::MALFORMED);
    // A valid public key of another key set.
    let other = generate([0x44; 32]).expect("another key set");
    let body = RegisterKeySet { id: shared().id, public_key: other.public_key };
    let tx = node.tx(&owner, 3_000_000, REGISTER_KEY_SET, &body);
    failed(&node.batch(vec![tx])[0], codes::MALFORMED);
    // Deploying over a key set nobody registered.
    let tx = node.tx(&owner, 100_000, DEPLOY, &Deploy { key_set: shared().id, program: vote(2) });
    failed(&node.batch(vec![tx])[0], codes::UNKNOWN_KEY_SET);

    node.register(&owner);
    let body = RegisterKeySet { id: shared().id, public_key: shared().keys.public_key.clone() };
    let tx = node.tx(&owner, 3_000_000, REGISTER_KEY_SET, &body);
    failed(&node.batch(vec![tx])[0], codes::KEY_SET_EXISTS);

    // A program reading a register it never wrote.
    let broken = Program {
        slots: vec![Ty::U8],
        functions: vec![Function {
            name: "f".into(),
            inputs: vec![],
            accounts: 0,
            body: vec![Instr::Store { slot: atoll_fhe::program::Slot::Global(0), src: 3 }],
        }],
    };
    let tx = node.tx(&owner, 100_000, DEPLOY, &Deploy { key_set: shared().id, program: broken });
    failed(&node.batch(vec![tx])[0], codes::INVALID_PROGRAM);

    let election = node.deploy(&owner, vote(2));
    let before = node.state.hash;
    let voter = user(8);
    let gas = node.gas_of(election, 0) + 100_000;
    let calls = [
        (
            Call { contract: 99, function: "vote".into(), accounts: vec![], inputs: vec![1] },
            codes::UNKNOWN_CONTRACT,
        ),
        (
            Call { contract: election, function: "nope".into(), accounts: vec![], inputs: vec![1] },
            codes::UNKNOWN_FUNCTION,
        ),
        (
            Call {
                contract: election,
                function: "vote".into(),
                accounts: vec![address(&owner)],
                inputs: vec![1],
            },
            codes::BAD_ARGUMENTS,
        ),
        (
            Call { contract: election, function: "vote".into(), accounts: vec![], inputs: vec![] },
            codes::BAD_ARGUMENTS,
        ),
        (
            Call {
                contract: election,
                function: "vote".into(),
                accounts: vec![],
                inputs: vec![0xff; 5_000],
            },
            codes::MALFORMED,
        ),
    ];
    for (call, code) in calls {
        let tx = node.tx(&voter, gas, CALL, &call);
        failed(&node.batch(vec![tx])[0], code);
    }
    // Two values where the function takes one (a valid proof, the wrong shape).
    let two = node.inputs(election, &voter, &[(Ty::U8, 1), (Ty::U8, 1)]);
    let tx = node.call_tx(&voter, election, "vote", two);
    failed(&node.batch(vec![tx])[0], codes::BAD_ARGUMENTS);
    // A gas limit below the call's price is refused by the pool.
    let inputs = node.inputs(election, &voter, &[(Ty::U8, 1)]);
    let body = Call { contract: election, function: "vote".into(), accounts: vec![], inputs };
    let tx = node.tx(&voter, 10_000, CALL, &body);
    assert_eq!(node.check(&tx), Some((NAME.to_owned(), codes::GAS_LIMIT_TOO_LOW)));

    // None of it touched the election's state (only fees and nonces moved).
    for slot in 0..2 {
        let value: ValueResult =
            node.query(QUERY_VALUE, &ValueQuery { contract: election, slot, account: None });
        assert!(value.ciphertext.is_none());
    }
    assert_ne!(node.state.hash, before, "fees were charged");
}

#[test]
fn the_devnet_proof_setup_depends_on_its_seed_only() {
    let again = ProofSetup::insecure_from_seed(SETUP_SEED).expect("setup");
    assert_eq!(again.id, setup().id);
    assert!(again.insecure);
    let other = ProofSetup::insecure_from_seed(b"another seed").expect("setup");
    assert_ne!(other.id, again.id);
    // Every node reports the setup it verifies against.
    let node = Node::new(false);
    let info: SetupInfo = node.query(QUERY_SETUP, &());
    assert_eq!(info.setup, again.id);
    assert_eq!(info.known_answer, atoll_fhe::kat::KNOWN_ANSWER);
}

#[test]
fn a_sealed_bid_auction_and_an_audited_token_run_through_the_runtime() {
    let mut node = Node::new(true);
    let owner = user(1);
    node.register(&owner);
    let auction = node.deploy(&owner, atoll_fhe::demos::auction());
    let token = node.deploy(&owner, atoll_fhe::demos::token());
    let (alice, bob) = (user(2), user(3));

    // Two sealed bids: the higher one leads, computed on ciphertext.
    let mut txs = Vec::new();
    for (bidder, bid) in [(&alice, 500), (&bob, 900)] {
        let inputs = node.inputs(auction, bidder, &[(Ty::U32, bid)]);
        txs.push(node.call_tx(bidder, auction, "bid", inputs));
    }
    node.batch(txs).iter().for_each(ok);
    let tx = node.call_tx(&owner, auction, "close", Vec::new());
    ok(&node.batch(vec![tx])[0]);
    let highest = node.revealed(auction, 0).expect("highest bid revealed");
    let winner = node.revealed(auction, 1).expect("winner revealed");
    assert_eq!(decrypt(&highest.ciphertext), 900);
    assert_eq!(decrypt(&winner.ciphertext), account_tag(&address(&bob)));

    // The token: the owner mints to Alice; only the owner may.
    let mint = node.inputs(token, &alice, &[(Ty::U32, 5)]);
    let tx = node.call_with(&alice, token, "mint", vec![address(&alice)], mint);
    failed(&node.batch(vec![tx])[0], codes::REFUSED);
    let mint = node.inputs(token, &owner, &[(Ty::U32, 100)]);
    let tx = node.call_with(&owner, token, "mint", vec![address(&alice)], mint);
    ok(&node.batch(vec![tx])[0]);
    // Alice sends 30 to Bob, then tries 500: the overdraft moves nothing, and the call
    // succeeds like any other (nobody but the auditor learns it was tried).
    let sent = node.inputs(token, &alice, &[(Ty::U32, 30)]);
    let first = node.call_with(&alice, token, "transfer", vec![address(&bob)], sent);
    let over = node.inputs(token, &alice, &[(Ty::U32, 500)]);
    let second = node.call_with(&alice, token, "transfer", vec![address(&bob)], over);
    node.batch(vec![first, second]).iter().for_each(ok);
    let balance = |node: &Node, who: &MemorySigner| {
        let args = ValueQuery {
            contract: token,
            slot: atoll_fhe::demos::BALANCE,
            account: Some(address(who)),
        };
        let value: ValueResult = node.query(QUERY_VALUE, &args);
        decrypt(&value.ciphertext.expect("a balance"))
    };
    assert_eq!((balance(&node, &alice), balance(&node, &bob)), (70, 30));
    // The auditor (the key holder) reveals Bob's balance on chain.
    let tx = node.call_with(&owner, token, "audit", vec![address(&bob)], Vec::new());
    ok(&node.batch(vec![tx])[0]);
    assert_eq!(decrypt(&node.revealed(token, 0).expect("audit").ciphertext), 30);
}
