//! The example ERC-20 (`contracts/Token.sol`, compiled by `contracts/build.sh` with npm
//! `solc`) and the ABI encoding to deploy and call it: what the tests, the client scripts
//! and `atoll bench evm` use.

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
    let mut code = alloy_primitives::hex::decode(include_str!("../contracts/Token.bin").trim())
        .expect("contracts/Token.bin is hex");
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
