//! What the EVM ParaTime's tests share: the test ERC-20 and its ABI encoding (from
//! `atoll_evm::erc20`), the ParaTime binary, signed transactions.

#![allow(dead_code, unreachable_pub)]

use alloy_primitives::U256;

pub use atoll_evm::erc20::*;

/// The EVM ParaTime as the test networks run it (the binary cargo built for these tests).
pub fn paratime() -> atoll_testnet::ParaTime {
    atoll_testnet::ParaTime {
        id: atoll_evm::runtime_id(),
        binary: env!("CARGO_BIN_EXE_atoll-evm").to_owned(),
        args: Vec::new(),
    }
}

/// A signed EIP-1559 transaction on the default chain (fee cap 2 gwei, tip 1 gwei), as
/// EIP-2718 bytes.
pub fn eip1559(
    key: &k256::ecdsa::SigningKey,
    nonce: u64,
    to: alloy_primitives::TxKind,
    input: Vec<u8>,
    gas: u64,
    value: U256,
) -> Vec<u8> {
    use alloy_eips::eip2718::Encodable2718;
    const GWEI: u128 = 1_000_000_000;
    let tx = alloy_consensus::TxEip1559 {
        chain_id: atoll_evm::DEFAULT_CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to,
        value,
        access_list: Default::default(),
        input: alloy_primitives::Bytes::from(input),
    };
    alloy_consensus::TxEnvelope::from(atoll_evm::transaction::sign(tx, key)).encoded_2718()
}
