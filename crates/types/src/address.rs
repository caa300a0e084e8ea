//! Account addresses: a version byte and 20 bytes of a context-separated hash, shown as
//! bech32 with the prefix `atoll`.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::{Hash, PublicKey, RuntimeId};

/// The bech32 human-readable prefix of every Atoll address.
pub const ADDRESS_HRP: &str = "atoll";

const HRP: Hrp = Hrp::parse_unchecked(ADDRESS_HRP);

/// What an address is derived from: a domain-separation string and a version byte, so that
/// the address of a key can never equal the address of a runtime.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AddressContext {
    /// Domain-separation string hashed before the data.
    pub identifier: &'static str,
    /// Version byte, stored as the first byte of the address.
    pub version: u8,
}

impl AddressContext {
    /// Accounts controlled by an Ed25519 key.
    pub const STAKING: AddressContext =
        AddressContext { identifier: "atoll/address: staking", version: 0 };
    /// Accounts controlled by a ParaTime (its runtime messages move their tokens).
    pub const RUNTIME: AddressContext =
        AddressContext { identifier: "atoll/address: runtime", version: 0 };
    /// Accounts held by the consensus layer itself (common pool, fee accumulator, …).
    pub const RESERVED: AddressContext =
        AddressContext { identifier: "atoll/address: reserved", version: 0 };
}

/// An account address: `version || first 20 bytes of SHA-256(identifier || version || data)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Address([u8; Address::LEN]);

/// Why a string is not an Atoll address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Not valid bech32: bad character, mixed case, or checksum mismatch.
    #[error("invalid bech32: {0}")]
    Bech32(String),
    /// Valid bech32 with another prefix.
    #[error("address prefix is {found:?}, expected {ADDRESS_HRP:?}")]
    WrongPrefix {
        /// The prefix the string carried.
        found: String,
    },
    /// The payload is not 21 bytes.
    #[error("address payload is {0} bytes, expected 21")]
    WrongLength(usize),
}

impl Address {
    /// Encoded length: a version byte and a 20-byte hash.
    pub const LEN: usize = 21;

    /// Derives the address of `data` in `context`.
    pub fn derive(context: AddressContext, data: &[u8]) -> Self {
        let digest = Hash::digest_parts(&[context.identifier.as_bytes(), &[context.version], data]);
        let mut raw = [0u8; Self::LEN];
        raw[0] = context.version;
        raw[1..].copy_from_slice(&digest.as_bytes()[..Self::LEN - 1]);
        Self(raw)
    }

    /// The account address of an Ed25519 key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        Self::derive(AddressContext::STAKING, key.as_bytes())
    }

    /// The account address of a ParaTime.
    pub fn from_runtime_id(id: &RuntimeId) -> Self {
        Self::derive(AddressContext::RUNTIME, id.as_bytes())
    }

    /// The address of a consensus-layer account named `name` (e.g. `"common-pool"`).
    pub fn reserved(name: &str) -> Self {
        Self::derive(AddressContext::RESERVED, name.as_bytes())
    }

    /// The version byte of an Ethereum account's address: its 20 bytes follow unchanged.
    pub const ETH_VERSION: u8 = 1;

    /// The address of an Ethereum account (in an EVM ParaTime): [`Address::ETH_VERSION`]
    /// and the 20-byte Ethereum address, so each maps to the other.
    pub fn from_eth(eth: [u8; 20]) -> Self {
        let mut raw = [0u8; Self::LEN];
        raw[0] = Self::ETH_VERSION;
        raw[1..].copy_from_slice(&eth);
        Self(raw)
    }

    /// The Ethereum address this address stands for, if it is one.
    pub fn as_eth(&self) -> Option<[u8; 20]> {
        (self.0[0] == Self::ETH_VERSION).then(|| {
            let mut eth = [0u8; 20];
            eth.copy_from_slice(&self.0[1..]);
            eth
        })
    }

    /// Wraps raw address bytes.
    pub const fn from_bytes(raw: [u8; Self::LEN]) -> Self {
        Self(raw)
    }

    /// The raw 21 bytes.
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The version byte.
    pub const fn version(&self) -> u8 {
        self.0[0]
    }

    /// Parses a bech32 `atoll1…` string, checking prefix, checksum and length.
    pub fn from_bech32(s: &str) -> Result<Self, AddressError> {
        let checked =
            CheckedHrpstring::new::<Bech32>(s).map_err(|e| AddressError::Bech32(e.to_string()))?;
        if checked.hrp() != HRP {
            return Err(AddressError::WrongPrefix { found: checked.hrp().to_string() });
        }
        let bytes: Vec<u8> = checked.byte_iter().take(Self::LEN + 1).collect();
        let raw = <[u8; Self::LEN]>::try_from(bytes.as_slice())
            .map_err(|_| AddressError::WrongLength(checked.byte_iter().len()))?;
        Ok(Self(raw))
    }

    /// The bech32 form, `atoll1…`.
    pub fn to_bech32(&self) -> String {
        // 21 bytes under a 5-character prefix are far below bech32's 90-character limit.
        bech32::encode::<Bech32>(HRP, &self.0).expect("a 21-byte payload always fits bech32")
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_bech32())
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Address({})", self.to_bech32())
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_bech32(s)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
