//! A host-side harness: a store, a supervised timestamp runtime, batches.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::Duration;

use atoll_crypto::MemorySigner;
use atoll_mkvs::db::{History, NodeDb};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RootKind};
use atoll_runtime_host::host::{HostConfig, NodeSource, RuntimeHost};
use atoll_runtime_host::{
    ExecuteBatch, ExecuteResult, ExecutionMode, HostRequest, HostResponse, IncomingMessage,
    StateRoot,
};
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::{Fee, SignerInfo, Transaction};
use atoll_timestamp::runtime_id;
use atoll_types::{Address, Amount, ChainContext, Round, Signer};
use borsh::BorshSerialize;

pub const FEE: Fee = Fee { amount: Amount::new(20_000), gas: 20_000 };

pub fn chain() -> ChainContext {
    ChainContext::from_genesis_document(b"timestamp host tests")
}

pub fn config() -> HostConfig {
    HostConfig {
        args: Vec::new(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_atoll-timestamp")),
        runtime_id: runtime_id(),
        chain_context: chain(),
        call_timeout: Duration::from_secs(20),
        start_timeout: Duration::from_secs(10),
        max_restarts: 3,
        restart_window: Duration::from_secs(600),
        env: Vec::new(),
        socket_dir: None,
    }
}

pub fn user(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

pub fn deposit(to: &MemorySigner, amount: u128) -> IncomingMessage {
    let address = Address::from_public_key(&to.public_key());
    IncomingMessage { id: 0, from: address, to: address, amount: Amount::new(amount) }
}

pub fn tx<B: BorshSerialize>(signer: &MemorySigner, nonce: u64, method: &str, body: &B) -> Vec<u8> {
    let tx = Transaction::new(
        method,
        body,
        vec![SignerInfo { public_key: signer.public_key(), nonce }],
        FEE,
    );
    atoll_types::encode(&tx.sign(&[signer], &runtime_chain_context(&chain(), &runtime_id())))
}

/// The node side: its own copy of the runtime's state.
pub struct HostSide {
    pub store: Mkvs<MemoryNodeDb>,
    pub state: StateRoot,
    pub round: u64,
}

impl HostSide {
    pub fn new() -> Self {
        let store = Mkvs::new(MemoryNodeDb::new());
        store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("empty state");
        let mut side = Self { store, state: StateRoot::default(), round: 0 };
        side.state = side.state_root(0);
        side
    }

    pub fn state_root(&self, version: u64) -> StateRoot {
        let history = History { namespace: runtime_id().into_bytes(), kind: RootKind::State };
        let record = self.store.db().root(&history, version).expect("db").expect("root");
        StateRoot { version, hash: record.hash, node: record.node }
    }

    pub fn batch_request(
        &mut self,
        txs: Vec<Vec<u8>>,
        incoming: Vec<IncomingMessage>,
    ) -> HostRequest {
        self.round += 1;
        HostRequest::ExecuteBatch(ExecuteBatch {
            mode: ExecutionMode::Execute,
            round: Round(self.round),
            time: 7_000 + self.round,
            randomness: atoll_types::Hash::ZERO,
            state: self.state,
            txs,
            incoming,
            message_results: Vec::new(),
            pending: None,
        })
    }

    /// Applies a runtime's result to the node's store, checking it reproduces the roots.
    pub fn apply(&mut self, result: &ExecuteResult) {
        let root = self
            .store
            .commit(
                runtime_id(),
                RootKind::State,
                Some(self.state.version),
                self.round,
                &result.state_write_log,
            )
            .expect("apply write log");
        assert_eq!(
            root.hash, result.state_root,
            "the write log reproduces the runtime's state root"
        );
        let io = self
            .store
            .commit(runtime_id(), RootKind::Io, None, self.round, &result.io_write_log)
            .expect("io");
        assert_eq!(io.hash, result.io_root);
        self.state = self.state_root(self.round);
    }

    /// Executes a batch on `host` and applies it.
    pub fn execute(
        &mut self,
        host: &mut RuntimeHost,
        txs: Vec<Vec<u8>>,
        incoming: Vec<IncomingMessage>,
    ) -> ExecuteResult {
        let request = self.batch_request(txs, incoming);
        let result = match host.call(request, self.store.db() as &dyn NodeSource).expect("execute")
        {
            HostResponse::ExecuteBatch(result) => result,
            other => panic!("unexpected {other:?}"),
        };
        self.apply(&result);
        result
    }
}
