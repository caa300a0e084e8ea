//! Ethereum transactions as the EVM ParaTime accepts them: raw EIP-2718 bytes (legacy with
//! EIP-155, EIP-2930, EIP-1559, EIP-7702), decoded with alloy, the sender recovered from
//! the secp256k1 signature, the chain id checked. Blob (type 3) transactions and legacy ones
//! without a chain id (replayable on any chain) are refused. The transaction hash is the
//! Ethereum one: keccak256 of the raw bytes.

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{SignableTransaction, Signed, Transaction as _, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::Signature;
use revm::context::TxEnv;
use revm::context_interface::either::Either;
use revm::primitives::{keccak256, Address, B256};

/// Largest raw transaction accepted, in bytes (a full-size init code plus headroom).
pub const MAX_TX_SIZE: usize = 128 * 1024;
/// Largest init code of a contract creation (EIP-3860: twice the 24,576-byte code limit).
pub const MAX_INITCODE_SIZE: usize = 2 * 24_576;

/// Why a raw Ethereum transaction is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a transaction (bad RLP, unknown type, trailing bytes).
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Larger than [`MAX_TX_SIZE`].
    #[error("transaction of {0} bytes exceeds the limit of {MAX_TX_SIZE}")]
    TooLarge(usize),
    /// A type this ParaTime does not run.
    #[error("transaction type {0} is not supported (blob transactions have no blobs here)")]
    UnsupportedType(u8),
    /// A legacy transaction without EIP-155 replay protection.
    #[error("transaction has no chain id (pre-EIP-155): it could be replayed on any chain")]
    NoChainId,
    /// Signed for another chain.
    #[error("transaction is for chain id {got}, this ParaTime is chain id {expected}")]
    WrongChainId {
        /// This ParaTime's chain id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The signature does not recover a sender (or has a high `s`).
    #[error("invalid signature")]
    InvalidSignature,
    /// A contract creation with more init code than EIP-3860 allows.
    #[error("init code of {0} bytes exceeds the limit of {MAX_INITCODE_SIZE}")]
    InitCodeTooLarge(usize),
}

/// A decoded, signature-checked Ethereum transaction.
#[derive(Clone, Debug)]
pub struct EthTransaction {
    /// keccak256 of the raw bytes.
    pub hash: B256,
    /// The recovered sender.
    pub sender: Address,
    /// The transaction.
    pub envelope: TxEnvelope,
}

/// Decodes `raw`, recovers its sender and checks it is one this ParaTime runs on `chain_id`.
pub fn decode(raw: &[u8], chain_id: u64) -> Result<EthTransaction, TxError> {
    let envelope = envelope(raw, chain_id)?;
    let sender = envelope.recover_signer().map_err(|_| TxError::InvalidSignature)?;
    Ok(EthTransaction { hash: keccak256(raw), sender, envelope })
}

/// Decodes `raw` and checks everything but the signature (for a transaction whose sender was
/// recovered before, when it was authenticated).
pub fn envelope(raw: &[u8], chain_id: u64) -> Result<TxEnvelope, TxError> {
    if raw.len() > MAX_TX_SIZE {
        return Err(TxError::TooLarge(raw.len()));
    }
    let mut buf = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut buf).map_err(|e| TxError::Malformed(e.to_string()))?;
    if !buf.is_empty() {
        return Err(TxError::Malformed(format!("{} trailing bytes", buf.len())));
    }
    if let TxEnvelope::Eip4844(_) = envelope {
        return Err(TxError::UnsupportedType(3));
    }
    match envelope.chain_id() {
        None => return Err(TxError::NoChainId),
        Some(got) if got != chain_id => {
            return Err(TxError::WrongChainId { expected: chain_id, got });
        }
        Some(_) => {}
    }
    if envelope.is_create() && envelope.input().len() > MAX_INITCODE_SIZE {
        return Err(TxError::InitCodeTooLarge(envelope.input().len()));
    }
    Ok(envelope)
}

impl EthTransaction {
    /// The nonce.
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }

    /// The most the sender pays per gas (the gas price, or the EIP-1559 fee cap).
    pub fn max_fee_per_gas(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }

    /// The EIP-2718 type byte.
    pub fn tx_type(&self) -> u8 {
        self.envelope.tx_type() as u8
    }

    /// revm's view of the transaction.
    pub fn tx_env(&self) -> TxEnv {
        tx_env(&self.envelope, self.sender)
    }
}

/// revm's view of `tx` sent by `sender`.
pub fn tx_env(tx: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: tx.tx_type() as u8,
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price: tx.max_fee_per_gas(),
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: tx.max_priority_fee_per_gas(),
        blob_hashes: Vec::new(),
        max_fee_per_blob_gas: 0,
        authorization_list: tx
            .authorization_list()
            .map(|list| list.iter().cloned().map(Either::Left).collect())
            .unwrap_or_default(),
    }
}

/// Signs `tx` with a secp256k1 key (for tests, tools and load generators: nodes never hold
/// users' keys).
pub fn sign<T: SignableTransaction<Signature>>(tx: T, key: &k256::ecdsa::SigningKey) -> Signed<T> {
    let hash = tx.signature_hash();
    let (signature, recovery) =
        key.sign_prehash_recoverable(hash.as_slice()).expect("a 32-byte prehash always signs");
    tx.into_signed(Signature::from_signature_and_parity(signature, recovery.is_y_odd()))
}

/// The Ethereum address of a secp256k1 key.
pub fn address_of(key: &k256::ecdsa::SigningKey) -> Address {
    Address::from_private_key(key)
}
