//! The state backend against revm's own in-memory database: random sequences of value
//! transfers, contract creations, storage writes (including deletions) and ERC-20 calls
//! run through `execute::transact` over the ParaTime's state and through revm over
//! `InMemoryDB`; every outcome and every touched account (balance, nonce, code, storage)
//! must be the same.

use alloy_consensus::{TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use atoll_evm::execute::{self, SPEC};
use atoll_evm::state;
use atoll_evm::transaction::{address_of, decode, sign};
use atoll_runtime_sdk::testing::MockState;
use k256::ecdsa::SigningKey;
use proptest::prelude::*;
use revm::context::BlockEnv;
use revm::database::InMemoryDB;
use revm::state::AccountInfo;
use revm::{Database, ExecuteCommitEvm, MainBuilder, MainContext};

const CHAIN: u64 = 7;
const SENDERS: u8 = 3;

/// Runtime code: `sstore(calldataload(0), calldataload(32))`, or self-destruct to the
/// caller when the first word is all ones.
const STORE: [u8; 22] = [
    0x60, 0x00, 0x35, // calldataload(0)
    0x80, 0x19, 0x15, 0x60, 0x11, 0x57, // if not(word) == 0 (all ones) jump to 0x11
    0x60, 0x20, 0x35, 0x90, 0x55, 0x00, 0x00, 0x00, // sstore(word, calldataload(32)); stop
    0x5b, 0x33, 0xff, 0x00, 0x00, // jumpdest; selfdestruct(caller)
];

fn store_creation() -> Vec<u8> {
    // codecopy(0, 12, len); return(0, len)
    let len = STORE.len() as u8;
    let mut code = vec![0x60, len, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xf3];
    code.extend(STORE);
    code
}

#[derive(Clone, Debug)]
enum Op {
    Pay { from: u8, to: u8, value: u64 },
    Create { from: u8 },
    Store { from: u8, contract: u8, slot: u8, value: u8 },
    Destroy { from: u8, contract: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..SENDERS, 0u8..8, 0u64..1_000_000).prop_map(|(from, to, value)| Op::Pay {
            from,
            to,
            value
        }),
        (0..SENDERS).prop_map(|from| Op::Create { from }),
        (0..SENDERS, 0u8..4, 0u8..6, 0u8..3).prop_map(|(from, contract, slot, value)| Op::Store {
            from,
            contract,
            slot,
            value
        }),
        (0..SENDERS, 0u8..4).prop_map(|(from, contract)| Op::Destroy { from, contract }),
    ]
}

struct World {
    keys: Vec<SigningKey>,
    nonces: Vec<u64>,
    contracts: Vec<Address>,
    touched: Vec<Address>,
}

impl World {
    fn new() -> Self {
        let keys: Vec<SigningKey> =
            (1..=SENDERS).map(|i| SigningKey::from_slice(&[i; 32]).expect("key")).collect();
        let touched = keys.iter().map(address_of).collect();
        Self { keys, nonces: vec![0; SENDERS as usize], contracts: Vec::new(), touched }
    }

    fn tx(&mut self, op: &Op) -> Vec<u8> {
        let (from, to, value, input) = match *op {
            Op::Pay { from, to, value } => {
                let target = Address::repeat_byte(0x40 + to);
                self.touched.push(target);
                (from, TxKind::Call(target), value, Vec::new())
            }
            Op::Create { from } => {
                let sender = address_of(&self.keys[from as usize]);
                let created = sender.create(self.nonces[from as usize]);
                self.contracts.push(created);
                self.touched.push(created);
                (from, TxKind::Create, 0, store_creation())
            }
            Op::Store { from, contract, slot, value } => {
                let target = self.contract(contract);
                let mut data = U256::from(slot).to_be_bytes::<32>().to_vec();
                data.extend(U256::from(value).to_be_bytes::<32>());
                (from, TxKind::Call(target), 0, data)
            }
            Op::Destroy { from, contract } => {
                let target = self.contract(contract);
                (from, TxKind::Call(target), 0, vec![0xff; 32])
            }
        };
        let nonce = self.nonces[from as usize];
        self.nonces[from as usize] += 1;
        let tx = TxEip1559 {
            chain_id: CHAIN,
            nonce,
            gas_limit: 200_000,
            max_fee_per_gas: 20,
            max_priority_fee_per_gas: 2,
            to,
            value: U256::from(value),
            access_list: Default::default(),
            input: Bytes::from(input),
        };
        TxEnvelope::from(sign(tx, &self.keys[from as usize])).encoded_2718()
    }

    fn contract(&self, i: u8) -> Address {
        self.contracts
            .get(i as usize % self.contracts.len().max(1))
            .copied()
            .unwrap_or(Address::repeat_byte(0x99))
    }
}

fn block() -> BlockEnv {
    BlockEnv {
        number: U256::from(5),
        beneficiary: Address::repeat_byte(0xcb),
        timestamp: U256::from(1_000),
        gas_limit: 30_000_000,
        basefee: 10,
        prevrandao: Some(B256::repeat_byte(3)),
        blob_excess_gas_and_price: Some(
            revm::context_interface::block::BlobExcessGasAndPrice::new_with_spec(0, SPEC),
        ),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_state_backend_agrees_with_revms_in_memory_database(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new();
        let funded = U256::from(10u64).pow(U256::from(18));
        // Ours.
        let mut ours = MockState::new();
        {
            let mut ctx = ours.context();
            for key in &world.keys {
                state::set_account(&mut ctx, &address_of(key), &AccountInfo::from_balance(funded)).expect("fund");
            }
            // Empty accounts that exist (as a state test's pre-state may have them): a
            // transaction that touches one removes it (EIP-161).
            for i in 0..4 {
                state::set_account(&mut ctx, &Address::repeat_byte(0x40 + i), &AccountInfo::default()).expect("empty");
            }
            let log = ctx.into_write_log();
            ours.apply(log);
        }
        // revm's.
        let mut db = InMemoryDB::default();
        for key in &world.keys {
            db.insert_account_info(address_of(key), AccountInfo::from_balance(funded));
        }
        for i in 0..4 {
            db.insert_account_info(Address::repeat_byte(0x40 + i), AccountInfo::default());
        }
        let mut evm = revm::Context::mainnet()
            .with_db(db)
            .with_cfg(execute::cfg(CHAIN, SPEC))
            .with_block(block())
            .build_mainnet();
        for op in &ops {
            let raw = world.tx(op);
            let env = decode(&raw, CHAIN).expect("valid").tx_env();
            let mut ctx = ours.context();
            let mine = execute::transact(&mut ctx, execute::cfg(CHAIN, SPEC), block(), env.clone(), None).expect("storage");
            let log = ctx.into_write_log();
            ours.apply(log);
            let theirs = evm.transact_commit(env);
            match (&mine, &theirs) {
                (Ok(outcome), Ok(result)) => {
                    prop_assert_eq!(outcome.success, result.is_success(), "{:?}", op);
                    prop_assert_eq!(outcome.gas_used, result.tx_gas_used());
                    prop_assert_eq!(&outcome.logs[..], result.logs());
                }
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{op:?}: ours {mine:?}, revm's {theirs:?}"),
            }
        }
        let ctx = ours.context();
        let mut everyone = world.touched.clone();
        everyone.push(Address::repeat_byte(0xcb));
        everyone.push(Address::repeat_byte(0x99));
        everyone.extend((0..8).map(|i| Address::repeat_byte(0x40 + i)));
        for address in everyone {
            // revm's in-memory database keeps touched empty accounts (EIP-161 removal is
            // the state tests' business, which compare roots): empty counts as absent here.
            let mine = state::account(&ctx, &address)
                .expect("read")
                .filter(|a| a.nonce != 0 || a.balance() != U256::ZERO || B256::from(a.code_hash) != revm::primitives::KECCAK_EMPTY);
            let theirs = evm.ctx.journaled_state.database.basic(address).expect("read");
            let theirs = theirs.filter(|info| !info.is_empty());
            match (&mine, &theirs) {
                (None, None) => {}
                (Some(m), Some(t)) => {
                    prop_assert_eq!(m.balance(), t.balance, "balance of {}", address);
                    prop_assert_eq!(m.nonce, t.nonce, "nonce of {}", address);
                    prop_assert_eq!(B256::from(m.code_hash), t.code_hash, "code of {}", address);
                }
                _ => prop_assert!(false, "{address}: ours {mine:?}, revm's {theirs:?}"),
            }
            for slot in 0u8..6 {
                let slot = U256::from(slot);
                let m = state::storage(&ctx, &address, &slot).expect("read");
                let t = evm.ctx.journaled_state.database.storage(address, slot).expect("read");
                prop_assert_eq!(m, t, "slot {} of {}", slot, address);
            }
        }
        // The code hash is keccak256 of what is stored.
        for contract in &world.contracts {
            if let Some(record) = state::account(&ctx, contract).expect("read") {
                let code = state::code(&ctx, contract).expect("read");
                prop_assert_eq!(B256::from(record.code_hash), keccak256(&code));
            }
        }
    }
}
