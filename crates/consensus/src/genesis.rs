//! The genesis document: the chain's identity, parameters and initial state.
//!
//! Written as JSON by operators; its canonical form is its borsh encoding, whose SHA-256
//! is the chain context every signature covers.

use std::collections::BTreeMap;

use atoll_mkvs::{KeyValueRead, Overlay, WriteLog};
use atoll_types::{Address, Amount, ChainContext, Epoch, Height, MAX_DECIMAL_EXPONENT};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::chain::{self, ChainInfo, ConsensusParameters, TokenInfo};
use crate::staking::{self, Account, DebondingDelegation, Delegation, StakingParameters};
use crate::state;

/// The staking part of genesis.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct StakingGenesis {
    /// Parameters.
    pub parameters: StakingParameters,
    /// Every token in existence.
    pub total_supply: Amount,
    /// Tokens in the common pool.
    pub common_pool: Amount,
    /// Accounts.
    #[serde(default)]
    pub accounts: BTreeMap<Address, Account>,
    /// Delegations: escrow account → delegator → delegation.
    #[serde(default)]
    pub delegations: BTreeMap<Address, BTreeMap<Address, Delegation>>,
    /// Debonding delegations: escrow account → delegator → debonding delegations.
    #[serde(default)]
    pub debonding_delegations: BTreeMap<Address, BTreeMap<Address, Vec<DebondingDelegation>>>,
}

/// A genesis document.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Human-readable chain id.
    pub chain_id: String,
    /// Start time (unix seconds): the time of the genesis state (TEE collateral in it is
    /// judged at it).
    pub genesis_time: u64,
    /// Height of the first block.
    pub initial_height: u64,
    /// The native token.
    pub token: TokenInfo,
    /// Consensus parameters.
    pub consensus: ConsensusParameters,
    /// Staking state.
    pub staking: StakingGenesis,
    /// Beacon parameters.
    #[serde(default)]
    pub beacon: crate::beacon::BeaconParameters,
    /// Entities, nodes and runtimes.
    #[serde(default)]
    pub registry: crate::registry::RegistryGenesis,
    /// Scheduler parameters.
    #[serde(default)]
    pub scheduler: crate::scheduler::SchedulerParameters,
    /// Governance parameters.
    #[serde(default)]
    pub governance: crate::governance::GovernanceParameters,
    /// Roothash parameters.
    #[serde(default)]
    pub roothash: crate::roothash::RoothashParameters,
}

/// Why a genesis document is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenesisError {
    /// The JSON does not parse into a genesis document.
    #[error("genesis JSON: {0}")]
    Json(String),
    /// A check failed.
    #[error("invalid genesis: {0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> GenesisError {
    GenesisError::Invalid(msg.into())
}

impl Genesis {
    /// A genesis with default parameters, a 9-decimal `ATL` token and `balance` in each of
    /// `accounts` (the total supply counts them): what tests and benchmarks start from.
    pub fn funded(
        chain_id: &str,
        accounts: impl IntoIterator<Item = Address>,
        balance: Amount,
    ) -> Self {
        let mut staking = StakingGenesis::default();
        let mut total = 0u128;
        for address in accounts {
            let mut account = Account::default();
            account.general.balance = balance;
            staking.accounts.insert(address, account);
            total = total.saturating_add(balance.base_units());
        }
        staking.total_supply = Amount::new(total);
        Self {
            chain_id: chain_id.into(),
            genesis_time: 0,
            initial_height: 1,
            token: TokenInfo { symbol: "ATL".into(), exponent: 9 },
            consensus: ConsensusParameters::default(),
            staking,
            beacon: Default::default(),
            registry: Default::default(),
            scheduler: Default::default(),
            governance: Default::default(),
            roothash: Default::default(),
        }
    }

    /// Parses and validates a JSON genesis document.
    pub fn from_json(json: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis =
            serde_json::from_str(json).map_err(|e| GenesisError::Json(e.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string map keys cannot fail.
        serde_json::to_string_pretty(self).expect("genesis serialises to JSON")
    }

    /// The chain context: SHA-256 of the canonical (borsh) encoding.
    pub fn chain_context(&self) -> ChainContext {
        ChainContext::from_genesis_document(&atoll_types::encode(self))
    }

    /// Checks every rule a genesis document must satisfy.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.is_empty()
            || self.chain_id.len() > 64
            || !self.chain_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid("chain_id must be 1-64 printable ASCII characters"));
        }
        if self.initial_height == 0 {
            return Err(invalid("initial_height must be at least 1"));
        }
        let symbol = &self.token.symbol;
        if symbol.is_empty()
            || symbol.len() > 12
            || !symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(invalid("token symbol must be 1-12 characters A-Z or 0-9"));
        }
        if self.token.exponent > MAX_DECIMAL_EXPONENT {
            return Err(invalid(format!("token exponent is above {MAX_DECIMAL_EXPONENT}")));
        }
        self.consensus.validate().map_err(|e| invalid(format!("consensus.{e}")))?;
        self.registry.parameters.validate().map_err(|e| invalid(format!("registry: {e}")))?;
        self.roothash.validate().map_err(|e| invalid(format!("roothash: {e}")))?;
        self.scheduler.validate().map_err(|e| invalid(format!("scheduler: {e}")))?;
        self.governance.validate().map_err(|e| invalid(format!("governance: {e}")))?;
        self.validate_staking()
    }

    fn validate_staking(&self) -> Result<(), GenesisError> {
        let s = &self.staking;
        s.parameters.validate().map_err(|e| invalid(format!("staking.parameters: {e}")))?;
        let overflow = || invalid("staking amounts overflow");
        let mut sum = s.common_pool;
        for (address, account) in &s.accounts {
            if account.general.allowances.len() > s.parameters.max_allowances as usize {
                return Err(invalid(format!(
                    "account {address} has more than max_allowances allowances"
                )));
            }
            if account.general.allowances.contains_key(address) {
                return Err(invalid(format!("account {address} allows itself")));
            }
            for (name, pool) in
                [("active", &account.escrow.active), ("debonding", &account.escrow.debonding)]
            {
                if pool.total_shares.0 == 0 && !pool.balance.is_zero() {
                    return Err(invalid(format!(
                        "account {address}: {name} pool has a balance but no shares"
                    )));
                }
                sum = sum.checked_add(pool.balance).map_err(|_| overflow())?;
            }
            sum = sum.checked_add(account.general.balance).map_err(|_| overflow())?;
            account
                .escrow
                .commission_schedule
                .validate(&s.parameters.commission_schedule_rules)
                .map_err(|e| invalid(format!("account {address}: {e}")))?;
            if !account.escrow.stake_accumulator.is_empty() {
                return Err(invalid(format!(
                    "account {address}: stake claims are made by registrations, not genesis"
                )));
            }
        }
        if sum != s.total_supply {
            return Err(invalid(format!(
                "balances, escrow and common pool sum to {sum}, but total_supply is {}",
                s.total_supply
            )));
        }
        for (escrow, delegators) in &s.delegations {
            let account = s
                .accounts
                .get(escrow)
                .ok_or_else(|| invalid(format!("delegations to unknown account {escrow}")))?;
            let mut shares = 0u128;
            for (delegator, delegation) in delegators {
                if delegation.shares.0 == 0 {
                    return Err(invalid(format!(
                        "zero-share delegation from {delegator} to {escrow}"
                    )));
                }
                shares = shares.checked_add(delegation.shares.0).ok_or_else(overflow)?;
            }
            if shares != account.escrow.active.total_shares.0 {
                return Err(invalid(format!(
                    "delegations to {escrow} hold {shares} shares, the pool has {}",
                    account.escrow.active.total_shares.0
                )));
            }
        }
        for (escrow, delegators) in &s.debonding_delegations {
            let account = s.accounts.get(escrow).ok_or_else(|| {
                invalid(format!("debonding delegations to unknown account {escrow}"))
            })?;
            let mut shares = 0u128;
            for (delegator, list) in delegators {
                for d in list {
                    if d.shares.0 == 0 {
                        return Err(invalid(format!(
                            "zero-share debonding delegation from {delegator} to {escrow}"
                        )));
                    }
                    shares = shares.checked_add(d.shares.0).ok_or_else(overflow)?;
                }
            }
            if shares != account.escrow.debonding.total_shares.0 {
                return Err(invalid(format!(
                    "debonding delegations to {escrow} do not match its debonding pool"
                )));
            }
        }
        for (address, account) in &s.accounts {
            let delegated = s.delegations.get(address).is_some_and(|d| !d.is_empty());
            if account.escrow.active.total_shares.0 > 0 && !delegated {
                return Err(invalid(format!(
                    "account {address} has active shares but no delegations"
                )));
            }
            let debonding = s.debonding_delegations.get(address).is_some_and(|d| !d.is_empty());
            if account.escrow.debonding.total_shares.0 > 0 && !debonding {
                return Err(invalid(format!(
                    "account {address} has debonding shares but no debonding delegations"
                )));
            }
        }
        Ok(())
    }

    /// The initial state, as a write log to commit as version `initial_height - 1`. The
    /// registry's contents are checked as transactions would be, and the first validator
    /// set and committees are elected.
    pub fn initial_state(&self, base: &dyn KeyValueRead) -> Result<WriteLog, GenesisError> {
        self.build_state(base).map_err(|e| match e {
            crate::error::CallError::Tx(t) => invalid(format!("registry: {t}")),
            crate::error::CallError::Fatal(f) => invalid(f.to_string()),
        })
    }

    fn build_state(&self, base: &dyn KeyValueRead) -> Result<WriteLog, crate::error::CallError> {
        let mut state = Overlay::new(base);
        let info = ChainInfo {
            chain_id: self.chain_id.clone(),
            chain_context: self.chain_context(),
            token: self.token.clone(),
            initial_height: Height(self.initial_height),
        };
        state::put(&mut state, &chain::CHAIN_INFO, &info)?;
        state::put(&mut state, &chain::PARAMETERS, &self.consensus)?;
        state::put(&mut state, &chain::LAST_HEIGHT, &Height(self.initial_height - 1))?;
        staking::init_genesis(&mut state, &self.staking)?;
        let epoch = initial_epoch(self);
        let height = Height(self.initial_height);
        crate::beacon::init_genesis(&mut state, &self.beacon, &info.chain_context, epoch, height)?;
        let env = crate::context::Env { height, epoch, time: self.genesis_time };
        crate::registry::init_genesis(&mut state, &env, &self.registry)?;
        if matches!(self.beacon.backend, crate::beacon::BeaconBackend::Vrf { .. }) {
            crate::beacon::snapshot_vrf_keys(&mut state)?;
        }
        crate::scheduler::init_genesis(&mut state, &self.scheduler, &env)?;
        crate::governance::init_genesis(&mut state, &self.governance)?;
        crate::roothash::init_genesis(&mut state, &env, &self.roothash)?;
        Ok(state.into_write_log())
    }
}

/// The epoch the chain starts in.
pub fn initial_epoch(genesis: &Genesis) -> Epoch {
    genesis.consensus.epoch_of(Height(genesis.initial_height))
}
