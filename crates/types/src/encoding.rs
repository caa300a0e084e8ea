//! The canonical binary encoding: borsh, with bounded, exact decoding.
//!
//! Every value that is hashed or signed is encoded with [`encode`]. [`decode`] is the only
//! way bytes from the network, the disk or a user become values: it refuses input longer
//! than the caller's limit before decoding anything, and refuses trailing bytes, so each
//! value has exactly one accepted encoding.

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

/// Why bytes did not decode into a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input is longer than the limit for this kind of value.
    #[error("encoded value is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The limit that applied.
        max: usize,
    },
    /// The input is not a valid encoding (truncated, bad tag, invalid UTF-8, …).
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A valid value was followed by extra bytes.
    #[error("{0} trailing bytes after the encoded value")]
    TrailingBytes(usize),
}

/// Encodes `value` canonically.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    // Encoding into a Vec only fails for collections longer than u32::MAX elements, which
    // no bounded Atoll value can hold.
    borsh::to_vec(value).expect("borsh encoding into a Vec is infallible for bounded values")
}

/// Decodes exactly one `T` from `bytes`, which must be at most `max_size` bytes long.
///
/// The size check happens before any decoding, so a hostile length prefix can never make
/// the decoder allocate more than the (already bounded) input justifies.
pub fn decode<T: BorshDeserialize>(bytes: &[u8], max_size: usize) -> Result<T, DecodeError> {
    if bytes.len() > max_size {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: max_size });
    }
    let mut rest = bytes;
    let value = T::deserialize(&mut rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let value = (1u32, String::from("atoll"), vec![3u8; 5]);
        assert_eq!(decode::<(u32, String, Vec<u8>)>(&encode(&value), 1024), Ok(value));
    }

    #[test]
    fn size_limit_applies_before_decoding() {
        let bytes = encode(&vec![0u8; 100]);
        assert_eq!(decode::<Vec<u8>>(&bytes, 50), Err(DecodeError::TooLarge { len: 104, max: 50 }));
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut bytes = encode(&5u64);
        bytes.push(0);
        assert_eq!(decode::<u64>(&bytes, 64), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn truncated_rejected() {
        let bytes = encode(&String::from("hello"));
        assert!(matches!(
            decode::<String>(&bytes[..bytes.len() - 1], 64),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn huge_length_prefix_does_not_allocate() {
        // Claims 4 GiB of payload but carries 8 bytes: must fail fast, not allocate.
        let mut bytes = u32::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1; 8]);
        assert!(matches!(decode::<Vec<u8>>(&bytes, 64), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode::<Vec<[u8; 64]>>(&bytes, 64), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn non_canonical_bool_rejected() {
        assert!(matches!(decode::<bool>(&[2], 1), Err(DecodeError::Malformed(_))));
    }
}
