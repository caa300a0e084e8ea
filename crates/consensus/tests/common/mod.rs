//! A test chain: genesis with funded accounts, signed transactions, blocks.

#![allow(dead_code, unreachable_pub)]

use atoll_consensus::staking::{self, query, Account};
use atoll_consensus::{
    BlockContext, BlockOutcome, ConsensusParameters, ConsensusState, Fee, Genesis, StakingGenesis,
    TokenInfo, Transaction, TxError,
};
use atoll_crypto::MemorySigner;
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{encode, Address, Amount, ChainContext, Height, Signed, Signer};
use borsh::BorshSerialize;

/// The fee most tests pay: generous gas, 10 base units.
pub const FEE: Fee = Fee { amount: Amount::new(10), gas: 100_000 };

pub struct TestChain {
    pub state: ConsensusState<MemoryNodeDb>,
    pub genesis: Genesis,
    pub keys: Vec<MemorySigner>,
    pub height: u64,
    pub ctx: BlockContext,
}

pub fn signer(i: usize) -> MemorySigner {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    MemorySigner::from_seed(seed)
}

pub fn base_genesis(accounts: usize, balance: u128) -> Genesis {
    let mut staking = StakingGenesis::default();
    for i in 0..accounts {
        let mut account = Account::default();
        account.general.balance = Amount::new(balance);
        staking.accounts.insert(Address::from_public_key(&signer(i).public_key()), account);
    }
    staking.common_pool = Amount::new(1_000_000_000);
    staking.total_supply = Amount::new(balance * accounts as u128 + 1_000_000_000);
    Genesis {
        chain_id: "atoll-test".into(),
        genesis_time: 0,
        initial_height: 1,
        token: TokenInfo { symbol: "ATL".into(), exponent: 9 },
        consensus: ConsensusParameters { epoch_interval: 10, ..ConsensusParameters::default() },
        staking,
        beacon: Default::default(),
        registry: Default::default(),
        scheduler: Default::default(),
        governance: Default::default(),
    }
}

impl TestChain {
    pub fn new(accounts: usize, balance: u128) -> Self {
        Self::with_genesis(base_genesis(accounts, balance), accounts)
    }

    pub fn with_genesis(genesis: Genesis, accounts: usize) -> Self {
        genesis.validate().expect("valid genesis");
        let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
        state.init_genesis(&genesis).expect("genesis");
        let keys = (0..accounts).map(signer).collect();
        let height = genesis.initial_height - 1;
        Self { state, genesis, keys, height, ctx: BlockContext::default() }
    }

    pub fn chain_context(&self) -> ChainContext {
        self.genesis.chain_context()
    }

    pub fn addr(&self, i: usize) -> Address {
        Address::from_public_key(&self.keys[i].public_key())
    }

    pub fn account(&self, address: &Address) -> Account {
        let tree = self.state.tree_at(Height(self.height)).expect("tree");
        staking::account(&tree, address).expect("account")
    }

    pub fn balance(&self, i: usize) -> u128 {
        self.account(&self.addr(i)).general.balance.base_units()
    }

    pub fn nonce(&self, i: usize) -> u64 {
        self.account(&self.addr(i)).general.nonce
    }

    /// A signed transaction from account `i` with the right nonce.
    pub fn tx<B: BorshSerialize>(&self, i: usize, method: &str, body: &B) -> Vec<u8> {
        self.tx_with(i, self.nonce(i), FEE, method, body)
    }

    pub fn tx_with<B: BorshSerialize>(
        &self,
        i: usize,
        nonce: u64,
        fee: Fee,
        method: &str,
        body: &B,
    ) -> Vec<u8> {
        let tx = Transaction::new(nonce, fee, method, body);
        encode(&Signed::sign(&self.keys[i], &self.chain_context(), &tx))
    }

    /// Applies a block of transactions with the chain's current context.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.height += 1;
        self.ctx.height = Height(self.height);
        let (_, outcome) = self.state.apply(&self.ctx, &txs).expect("apply block");
        outcome
    }

    /// Applies one transaction alone in a block and returns its error, if any.
    pub fn run(&mut self, tx: Vec<u8>) -> Option<TxError> {
        self.block(vec![tx]).results.remove(0).error
    }

    /// Applies empty blocks until the chain is in `epoch`'s first block.
    pub fn advance_to_epoch(&mut self, epoch: u64) {
        while self.genesis.consensus.epoch_of(Height(self.height)).0 < epoch || self.height == 0 {
            self.block(vec![]);
        }
    }

    /// Σ general + Σ escrow (active + debonding) + common pool + fee accumulator.
    pub fn accounted_supply(&self) -> (u128, u128) {
        let tree = self.state.tree_at(Height(self.height)).expect("tree");
        let mut sum = query::common_pool(&tree).expect("pool").base_units();
        sum += query::fee_accumulator(&tree).expect("fees").base_units();
        for (_, a) in query::all_accounts(&tree).expect("accounts") {
            sum += a.general.balance.base_units()
                + a.escrow.active.balance.base_units()
                + a.escrow.debonding.balance.base_units();
        }
        (sum, query::total_supply(&tree).expect("supply").base_units())
    }
}

/// Asserts that `error` is module `module`'s code `code`.
#[track_caller]
pub fn assert_code(error: Option<TxError>, module: &str, code: u32) {
    let e = error.expect("expected an error");
    assert_eq!((e.module.as_str(), e.code), (module, code), "{e}");
}
