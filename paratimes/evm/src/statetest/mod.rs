//! The Ethereum state tests (`GeneralStateTests` fixtures) run through the EVM ParaTime's
//! own path: each variant's transaction is signed, encoded, decoded and checked by
//! [`crate::transaction`], executed by [`crate::execute`] over [`crate::state`] in a
//! ParaTime context, and the resulting state root (a Merkle-Patricia root computed from
//! our stored accounts and storage) and logs hash are compared with the fixture's.

pub mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_trie::TrieAccount;
use atoll_runtime_sdk::testing::MockState;
use atoll_runtime_sdk::{Context, RuntimeError};
use revm::context::BlockEnv;
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{keccak256, Address, Log, B256, U256};
use revm::state::AccountInfo;

use crate::execute;
use crate::state::{self, AccountRecord};
use fixture::{PostState, Suite, Unit};

/// The result of one fixture variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Matches the fixture.
    Pass,
    /// Differs from the fixture, with the reason.
    Fail(String),
    /// Not run (a fork this runner does not know), with the reason.
    Skip(String),
}

/// One variant's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The fixture file.
    pub file: PathBuf,
    /// The test's name in it.
    pub name: String,
    /// The fork.
    pub fork: String,
    /// The variant's position in the fork's list.
    pub index: usize,
    /// What happened.
    pub verdict: Verdict,
}

/// Counts per folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Variants that pass.
    pub passed: usize,
    /// Variants that fail.
    pub failed: usize,
    /// Variants not run.
    pub skipped: usize,
    /// Time spent on the folder.
    pub elapsed: std::time::Duration,
}

/// The results of a fixture directory.
#[derive(Debug, Default)]
pub struct Report {
    /// Counts per folder (relative to the directory run).
    pub folders: BTreeMap<String, Tally>,
    /// Every variant that failed.
    pub failures: Vec<CaseResult>,
}

impl Report {
    /// Counts over every folder.
    pub fn total(&self) -> Tally {
        self.folders.values().fold(Tally::default(), |mut t, f| {
            t.passed += f.passed;
            t.failed += f.failed;
            t.skipped += f.skipped;
            t.elapsed += f.elapsed;
            t
        })
    }
}

/// The hard fork a fixture's fork name stands for.
pub fn spec_of(fork: &str) -> Option<SpecId> {
    Some(match fork {
        "Berlin" => SpecId::BERLIN,
        "London" => SpecId::LONDON,
        "Merge" | "Paris" => SpecId::MERGE,
        "Shanghai" => SpecId::SHANGHAI,
        "Cancun" => SpecId::CANCUN,
        "Prague" => SpecId::PRAGUE,
        _ => return None,
    })
}

/// Runs every `.json` fixture under `dir` (recursively, in path order).
pub fn run_dir(dir: &Path) -> std::io::Result<Report> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut report = Report::default();
    for file in files {
        let folder = file
            .parent()
            .and_then(|p| p.strip_prefix(dir).ok())
            .map(|p| p.display().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".to_owned());
        let started = std::time::Instant::now();
        let cases = run_file(&file);
        let tally = report.folders.entry(folder).or_default();
        tally.elapsed += started.elapsed();
        for case in cases {
            match &case.verdict {
                Verdict::Pass => tally.passed += 1,
                Verdict::Skip(_) => tally.skipped += 1,
                Verdict::Fail(_) => {
                    tally.failed += 1;
                    report.failures.push(case);
                }
            }
        }
    }
    Ok(report)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs every variant of one fixture file (a file that does not parse is one failure).
pub fn run_file(file: &Path) -> Vec<CaseResult> {
    let case = |name: &str, fork: &str, index, verdict| CaseResult {
        file: file.to_owned(),
        name: name.to_owned(),
        fork: fork.to_owned(),
        index,
        verdict,
    };
    let suite: Suite = match std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(suite) => suite,
        Err(e) => return vec![case("", "", 0, Verdict::Fail(format!("unreadable: {e}")))],
    };
    let mut results = Vec::new();
    for (name, unit) in &suite {
        for (fork, posts) in &unit.post {
            for (index, post) in posts.iter().enumerate() {
                let verdict = match spec_of(fork) {
                    Some(spec) => run_case(unit, spec, post),
                    None => Verdict::Skip(format!("fork {fork} is not supported")),
                };
                results.push(case(name, fork, index, verdict));
            }
        }
    }
    results
}

/// Runs one variant.
pub fn run_case(unit: &Unit, spec: SpecId, post: &PostState) -> Verdict {
    match try_case(unit, spec, post) {
        Ok(verdict) => verdict,
        Err(e) => Verdict::Fail(format!("storage: {e}")),
    }
}

/// The chain id the state tests assume.
const CHAIN_ID: u64 = 1;

fn try_case(unit: &Unit, spec: SpecId, post: &PostState) -> Result<Verdict, RuntimeError> {
    let mut store = MockState::new();
    {
        let mut ctx = store.context();
        for (address, account) in &unit.pre {
            let info = AccountInfo {
                balance: account.balance,
                nonce: u64::try_from(account.nonce).unwrap_or(u64::MAX),
                code_hash: keccak256(&account.code),
                code: Some(revm::bytecode::Bytecode::new_raw(account.code.clone())),
                ..Default::default()
            };
            state::set_account(&mut ctx, address, &info)?;
            for (slot, value) in &account.storage {
                state::set_storage(&mut ctx, address, slot, value)?;
            }
        }
        let log = ctx.into_write_log();
        store.apply(log);
    }
    let mut ctx = store.context();
    let expected_exception = post.expect_exception.as_deref();
    let raw = match unit.transaction.raw(post.indexes, CHAIN_ID) {
        Ok(raw) => raw,
        Err(e) => return Ok(refused(expected_exception, &e.to_string())),
    };
    let tx = match crate::transaction::decode(&raw, CHAIN_ID) {
        Ok(tx) => tx,
        Err(e) => return Ok(refused(expected_exception, &e.to_string())),
    };
    let outcome = match execute::transact(
        &mut ctx,
        execute::cfg(CHAIN_ID, spec),
        block_env(unit, spec),
        tx.tx_env(),
        None,
    )? {
        Ok(outcome) => outcome,
        Err(invalid) => return Ok(refused(expected_exception, &invalid.0)),
    };
    if let Some(expected) = expected_exception {
        return Ok(Verdict::Fail(format!(
            "expected exception {expected}, but the transaction ran"
        )));
    }
    let logs = logs_hash(&outcome.logs);
    if logs != post.logs {
        return Ok(Verdict::Fail(format!("logs hash {logs}, expected {}", post.logs)));
    }
    let root = state_root(&ctx)?;
    if root != post.hash {
        return Ok(Verdict::Fail(format!("state root {root}, expected {}", post.hash)));
    }
    Ok(Verdict::Pass)
}

fn refused(expected: Option<&str>, why: &str) -> Verdict {
    match expected {
        Some(_) => Verdict::Pass,
        None => Verdict::Fail(format!("transaction refused: {why}")),
    }
}

fn block_env(unit: &Unit, spec: SpecId) -> BlockEnv {
    let env = &unit.env;
    let to_u64 = |v: U256| u64::try_from(v).unwrap_or(u64::MAX);
    BlockEnv {
        number: env.current_number,
        beneficiary: env.current_coinbase,
        timestamp: env.current_timestamp,
        gas_limit: to_u64(env.current_gas_limit),
        basefee: env.current_base_fee.map_or(0, to_u64),
        difficulty: env.current_difficulty.unwrap_or_default(),
        prevrandao: env.current_random,
        blob_excess_gas_and_price: env
            .current_excess_blob_gas
            .map(|excess| BlobExcessGasAndPrice::new_with_spec(to_u64(excess), spec)),
        ..Default::default()
    }
}

/// keccak256 of the RLP list of `logs`.
pub fn logs_hash(logs: &[Log]) -> B256 {
    let mut out = Vec::with_capacity(alloy_rlp::list_length(logs));
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(&out)
}

/// The Ethereum state root (Merkle-Patricia) of every account in the EVM state of `ctx`.
pub fn state_root(ctx: &Context<'_>) -> Result<B256, RuntimeError> {
    let prefix = state::accounts_prefix();
    let mut accounts = Vec::new();
    for entry in ctx.scan(&prefix) {
        let (key, value) = entry?;
        let address = Address::from_slice(&key[prefix.len()..]);
        let record: AccountRecord = atoll_types::decode(&value, 1024)
            .map_err(|e| RuntimeError::new("storage", 2, format!("corrupt account: {e}")))?;
        let storage_prefix = state::storage_prefix(&address);
        let mut slots = Vec::new();
        for entry in ctx.scan(&storage_prefix) {
            let (key, value) = entry?;
            let slot = B256::from_slice(&key[storage_prefix.len()..]);
            let value: [u8; 32] = atoll_types::decode(&value, 32)
                .map_err(|e| RuntimeError::new("storage", 2, format!("corrupt slot: {e}")))?;
            slots.push((slot, U256::from_be_bytes(value)));
        }
        accounts.push((
            address,
            TrieAccount {
                nonce: record.nonce,
                balance: record.balance(),
                storage_root: alloy_trie::root::storage_root_unhashed(slots),
                code_hash: B256::from(record.code_hash),
            },
        ));
    }
    Ok(alloy_trie::root::state_root_unhashed(accounts))
}
