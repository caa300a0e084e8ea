//! SHA-256 digests.

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

use crate::bytes::hex_bytes_newtype;

/// A SHA-256 digest: block ids, state roots, transaction hashes, signing digests.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash([u8; 32]);

hex_bytes_newtype!(Hash, 32);

impl Hash {
    /// The all-zero hash, used where "no value yet" must still be a hash (e.g. the previous
    /// block id of the first block).
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// SHA-256 of the concatenation of `parts`, without building the concatenation.
    pub fn digest_parts(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }

    /// SHA-256 of the canonical (borsh) encoding of `value`.
    pub fn of_encoded<T: BorshSerialize + ?Sized>(value: &T) -> Self {
        let mut hasher = HashWriter(Sha256::new());
        // Writing into a hasher cannot fail; borsh only fails on writer errors or on
        // collections longer than u32::MAX, which no hashed value of ours can hold.
        value.serialize(&mut hasher).expect("borsh encoding into a hasher is infallible");
        Self(hasher.0.finalize().into())
    }

    /// Whether this is [`Hash::ZERO`].
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 32]
    }
}

/// Streams borsh output straight into SHA-256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-2 example "abc" and the empty string.
        assert_eq!(
            Hash::digest(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Hash::digest(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parts_equal_concatenation() {
        assert_eq!(Hash::digest_parts(&[b"ab", b"", b"c"]), Hash::digest(b"abc"));
    }

    #[test]
    fn of_encoded_equals_digest_of_encoding() {
        let value = (7u64, vec![1u8, 2, 3], String::from("atoll"));
        assert_eq!(Hash::of_encoded(&value), Hash::digest(&crate::encode(&value)));
    }

    #[test]
    fn hex_round_trip_and_serde() {
        let h = Hash::digest(b"x");
        assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        let json = serde_json::to_string(&h).expect("serialize");
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).expect("deserialize"), h);
        assert!(serde_json::from_str::<Hash>("\"abcd\"").is_err());
    }
}
