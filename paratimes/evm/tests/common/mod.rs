//! The test ERC-20 (`contracts/Token.sol`, compiled by `contracts/build.sh`) and its ABI
//! encoding, shared by the EVM ParaTime's tests and benchmark.

#![allow(dead_code, unreachable_pub)]

use alloy_primitives::{keccak256, Address, U256};

/// The first four bytes of keccak256 of a function or error signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// A 32-byte ABI word holding an address.
pub fn address_word(address: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(address.as_slice());
    w
}

fn string_tail(s: &str) -> Vec<u8> {
    let mut out = U256::from(s.len()).to_be_bytes::<32>().to_vec();
    let mut bytes = s.as_bytes().to_vec();
    bytes.resize(s.len().div_ceil(32) * 32, 0);
    out.extend(bytes);
    out
}

/// Creation code of the token with constructor `(name, symbol, supply)`.
pub fn token_creation(name: &str, symbol: &str, supply: U256) -> Vec<u8> {
    let mut code = hex::decode(include_str!("../../contracts/Token.bin").trim()).expect("hex");
    let name = string_tail(name);
    code.extend(U256::from(0x60).to_be_bytes::<32>());
    code.extend(U256::from(0x60 + name.len()).to_be_bytes::<32>());
    code.extend(supply.to_be_bytes::<32>());
    code.extend(name);
    code.extend(string_tail(symbol));
    code
}

/// `transfer(to, amount)`.
pub fn transfer_data(to: Address, amount: U256) -> Vec<u8> {
    let mut data = selector("transfer(address,uint256)").to_vec();
    data.extend(address_word(to));
    data.extend(amount.to_be_bytes::<32>());
    data
}

/// `balanceOf(who)`.
pub fn balance_of_data(who: Address) -> Vec<u8> {
    let mut data = selector("balanceOf(address)").to_vec();
    data.extend(address_word(who));
    data
}

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
