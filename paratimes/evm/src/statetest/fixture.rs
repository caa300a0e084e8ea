//! The JSON of a filled `GeneralStateTests` fixture, and the signed transaction of one of
//! its variants.

use std::collections::BTreeMap;

use alloy_consensus::{TxEip1559, TxEip2930, TxEip4844, TxEip4844Variant, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};

use crate::transaction::sign;
use serde::Deserialize;

/// A fixture file: test name → test.
pub type Suite = BTreeMap<String, Unit>;

/// One test: a block environment, the accounts before, a transaction with variants, and
/// the expected results per fork.
#[derive(Debug, Deserialize)]
pub struct Unit {
    /// The block environment.
    pub env: Env,
    /// Accounts before the transaction.
    pub pre: BTreeMap<Address, PreAccount>,
    /// The transaction, with indexed data/gas/value variants.
    pub transaction: FixtureTx,
    /// Expected results per fork name.
    pub post: BTreeMap<String, Vec<PostState>>,
}

/// The block environment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Env {
    /// `COINBASE`.
    pub current_coinbase: Address,
    /// Block gas limit.
    pub current_gas_limit: U256,
    /// Block number.
    pub current_number: U256,
    /// Timestamp.
    pub current_timestamp: U256,
    /// Base fee.
    #[serde(default)]
    pub current_base_fee: Option<U256>,
    /// `PREVRANDAO` (post-merge).
    #[serde(default)]
    pub current_random: Option<B256>,
    /// Difficulty (pre-merge).
    #[serde(default)]
    pub current_difficulty: Option<U256>,
    /// Excess blob gas.
    #[serde(default)]
    pub current_excess_blob_gas: Option<U256>,
}

/// An account before the transaction.
#[derive(Debug, Deserialize)]
pub struct PreAccount {
    /// Balance.
    pub balance: U256,
    /// Code.
    pub code: Bytes,
    /// Nonce.
    pub nonce: U256,
    /// Storage.
    #[serde(default)]
    pub storage: BTreeMap<U256, U256>,
}

/// The transaction with its variants.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureTx {
    /// Call data variants.
    pub data: Vec<Bytes>,
    /// Gas limit variants.
    pub gas_limit: Vec<U256>,
    /// Value variants (as written: a few are deliberately larger than 256 bits).
    pub value: Vec<String>,
    /// Legacy/EIP-2930 gas price.
    #[serde(default)]
    pub gas_price: Option<U256>,
    /// EIP-1559 fee cap.
    #[serde(default)]
    pub max_fee_per_gas: Option<U256>,
    /// EIP-1559 tip cap.
    #[serde(default)]
    pub max_priority_fee_per_gas: Option<U256>,
    /// Nonce.
    pub nonce: U256,
    /// The sender's secret key.
    pub secret_key: B256,
    /// Recipient; empty for a contract creation.
    #[serde(default)]
    pub to: String,
    /// Access list variants (indexed like `data`).
    #[serde(default)]
    pub access_lists: Vec<Option<Vec<AccessEntry>>>,
    /// Blob hashes of a blob (type 3) transaction.
    #[serde(default)]
    pub blob_versioned_hashes: Option<Vec<B256>>,
    /// Blob fee cap of a blob transaction.
    #[serde(default)]
    pub max_fee_per_blob_gas: Option<U256>,
}

/// One access list entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry {
    /// The address.
    pub address: Address,
    /// Its slots.
    pub storage_keys: Vec<B256>,
}

/// The expected result of one variant.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostState {
    /// State root after the transaction.
    pub hash: B256,
    /// keccak256 of the RLP list of logs.
    pub logs: B256,
    /// Which variant.
    pub indexes: Indexes,
    /// Set when the transaction must be refused.
    #[serde(default)]
    pub expect_exception: Option<String>,
}

/// Indexes into the transaction's variant lists.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Indexes {
    /// Into `data` (and `accessLists`).
    pub data: usize,
    /// Into `gasLimit`.
    pub gas: usize,
    /// Into `value`.
    pub value: usize,
}

/// Why a variant's transaction cannot be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// An index past its list.
    #[error("variant index out of range")]
    Index,
    /// A field outside the transaction type's range (e.g. a gas limit above 2^64).
    #[error("{0} out of range")]
    Range(&'static str),
    /// The secret key is not a valid secp256k1 key.
    #[error("invalid secret key")]
    Key,
    /// Malformed recipient.
    #[error("malformed recipient {0:?}")]
    To(String),
}

fn small<T: TryFrom<U256>>(value: U256, field: &'static str) -> Result<T, BuildError> {
    T::try_from(value).map_err(|_| BuildError::Range(field))
}

impl FixtureTx {
    /// The raw signed transaction of variant `indexes` for `chain_id` (legacy ones get
    /// EIP-155 replay protection: the sender, not the signature, decides the state).
    pub fn raw(&self, indexes: Indexes, chain_id: u64) -> Result<Vec<u8>, BuildError> {
        let input = self.data.get(indexes.data).ok_or(BuildError::Index)?.clone();
        let gas_limit = small(*self.gas_limit.get(indexes.gas).ok_or(BuildError::Index)?, "gas")?;
        let value = parse_value(self.value.get(indexes.value).ok_or(BuildError::Index)?)?;
        let nonce = small(self.nonce, "nonce")?;
        let to = match self.to.trim() {
            "" => TxKind::Create,
            s => TxKind::Call(s.parse::<Address>().map_err(|_| BuildError::To(s.to_owned()))?),
        };
        let access_list = self.access_lists.get(indexes.data).cloned().flatten().map(|list| {
            AccessList(
                list.into_iter()
                    .map(|e| AccessListItem { address: e.address, storage_keys: e.storage_keys })
                    .collect(),
            )
        });
        let key = k256::ecdsa::SigningKey::from_slice(self.secret_key.as_slice())
            .map_err(|_| BuildError::Key)?;
        let envelope: TxEnvelope = if let Some(blob_versioned_hashes) = &self.blob_versioned_hashes
        {
            let to = match to {
                TxKind::Call(to) => to,
                // Not encodable: a blob transaction always has a recipient.
                TxKind::Create => return Err(BuildError::To(String::new())),
            };
            let tx = TxEip4844 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: small(self.max_fee_per_gas.unwrap_or_default(), "maxFeePerGas")?,
                max_priority_fee_per_gas: small(
                    self.max_priority_fee_per_gas.unwrap_or_default(),
                    "maxPriorityFeePerGas",
                )?,
                to,
                value,
                access_list: access_list.unwrap_or_default(),
                blob_versioned_hashes: blob_versioned_hashes.clone(),
                max_fee_per_blob_gas: small(
                    self.max_fee_per_blob_gas.unwrap_or_default(),
                    "maxFeePerBlobGas",
                )?,
                input,
            };
            TxEnvelope::from(alloy_consensus::Signed::<TxEip4844Variant>::from(sign(tx, &key)))
        } else if let Some(max_fee) = self.max_fee_per_gas {
            let tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: small(max_fee, "maxFeePerGas")?,
                max_priority_fee_per_gas: small(
                    self.max_priority_fee_per_gas.unwrap_or_default(),
                    "maxPriorityFeePerGas",
                )?,
                to,
                value,
                access_list: access_list.unwrap_or_default(),
                input,
            };
            sign(tx, &key).into()
        } else {
            let gas_price = small(self.gas_price.unwrap_or_default(), "gasPrice")?;
            match access_list {
                Some(access_list) => sign(
                    TxEip2930 {
                        chain_id,
                        nonce,
                        gas_price,
                        gas_limit,
                        to,
                        value,
                        access_list,
                        input,
                    },
                    &key,
                )
                .into(),
                None => sign(
                    TxLegacy {
                        chain_id: Some(chain_id),
                        nonce,
                        gas_price,
                        gas_limit,
                        to,
                        value,
                        input,
                    },
                    &key,
                )
                .into(),
            }
        };
        Ok(envelope.encoded_2718())
    }
}

/// A value as fixtures write it: hex, or `0x:bigint 0x…` for one that may not fit 256 bits.
fn parse_value(text: &str) -> Result<U256, BuildError> {
    let hex = text.trim_start_matches("0x:bigint ").trim_start_matches("0x");
    U256::from_str_radix(if hex.is_empty() { "0" } else { hex }, 16)
        .map_err(|_| BuildError::Range("value"))
}
