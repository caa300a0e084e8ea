//! The development accounts every Ethereum tool knows: the keys BIP-39/BIP-32 derive from
//! the mnemonic `test test test test test test test test test test test junk` at
//! `m/44'/60'/0'/0/i`, as Hardhat and anvil print them. Derived here, not copied, so the
//! test below checks the derivation against the first account everyone knows.

use hmac::{Hmac, Mac};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{NonZeroScalar, Scalar, SecretKey};
use sha2::Sha512;

/// The development mnemonic.
pub(crate) const MNEMONIC: &str = "test test test test test test test test test test test junk";
/// BIP-32's hardened offset.
const HARDENED: u32 = 1 << 31;

type HmacSha512 = Hmac<Sha512>;

fn hmac(key: &[u8], data: &[&[u8]]) -> [u8; 64] {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha512::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in data {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// BIP-39: the 64-byte seed of an (ASCII, so already NFKD) mnemonic with no passphrase:
/// PBKDF2-HMAC-SHA512, 2,048 iterations, one output block.
fn seed(mnemonic: &str) -> [u8; 64] {
    let mut u = hmac(mnemonic.as_bytes(), &[b"mnemonic", &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..2048 {
        u = hmac(mnemonic.as_bytes(), &[&u]);
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// One BIP-32 private derivation step.
fn child(key: &SecretKey, chain: &[u8; 32], index: u32) -> Option<(SecretKey, [u8; 32])> {
    let i = if index >= HARDENED {
        hmac(chain, &[&[0], key.to_bytes().as_slice(), &index.to_be_bytes()])
    } else {
        let public = key.public_key().to_encoded_point(true);
        hmac(chain, &[public.as_bytes(), &index.to_be_bytes()])
    };
    let (left, right) = i.split_at(32);
    let tweak = Option::<NonZeroScalar>::from(NonZeroScalar::try_from(left).ok()?)?;
    let sum: Scalar = *tweak.as_ref() + key.to_nonzero_scalar().as_ref();
    let key = Option::<NonZeroScalar>::from(NonZeroScalar::new(sum))?;
    Some((SecretKey::from(key), right.try_into().ok()?))
}

/// A development account.
pub(crate) struct DevAccount {
    /// Its Ethereum address.
    pub address: alloy_primitives::Address,
    /// Its private key.
    pub key: [u8; 32],
}

/// The first `n` development accounts.
pub(crate) fn accounts(n: u32) -> Vec<DevAccount> {
    let master = hmac(b"Bitcoin seed", &[&seed(MNEMONIC)]);
    let Ok(mut key) = SecretKey::from_slice(&master[..32]) else { return Vec::new() };
    let mut chain: [u8; 32] = master[32..].try_into().unwrap_or_default();
    for index in [44 | HARDENED, 60 | HARDENED, HARDENED, 0] {
        let Some(next) = child(&key, &chain, index) else { return Vec::new() };
        (key, chain) = next;
    }
    (0..n)
        .filter_map(|i| child(&key, &chain, i))
        .map(|(k, _)| DevAccount {
            address: atoll_evm::transaction::address_of(&k256::ecdsa::SigningKey::from(&k)),
            key: k.to_bytes().into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_development_account_is_the_one_every_tool_prints() {
        let accounts = accounts(10);
        assert_eq!(accounts.len(), 10);
        for account in &accounts {
            let signing = k256::ecdsa::SigningKey::from_slice(&account.key).expect("key");
            assert_eq!(atoll_evm::transaction::address_of(&signing), account.address);
        }
        let known = |a: &str| a.parse::<alloy_primitives::Address>().expect("address");
        assert_eq!(accounts[0].address, known("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
        assert_eq!(accounts[1].address, known("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    }
}
