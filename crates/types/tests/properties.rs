//! Property tests: every type round-trips through the canonical encoding (and JSON where it
//! has one); truncated, oversized and trailing-garbage inputs are errors, never panics.

use std::fmt::Debug;

use atoll_types::{
    decode, encode, Address, Amount, ChainContext, DecodeError, Epoch, Hash, Height, PublicKey,
    Round, RuntimeId, Signature, SignerEntry, MAX_DECIMAL_EXPONENT,
};
use borsh::{BorshDeserialize, BorshSerialize};
use proptest::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

const LIMIT: usize = 1 << 16;

/// Checks the canonical-encoding contract for one value.
fn check_encoding<T>(value: &T, trailing: u8) -> Result<(), TestCaseError>
where
    T: BorshSerialize + BorshDeserialize + PartialEq + Debug,
{
    let bytes = encode(value);
    prop_assert_eq!(&decode::<T>(&bytes, LIMIT).expect("round trip"), value);
    // Every strict prefix is refused.
    for cut in 0..bytes.len() {
        prop_assert!(
            decode::<T>(&bytes[..cut], LIMIT).is_err(),
            "prefix of {} bytes accepted",
            cut
        );
    }
    let mut longer = bytes.clone();
    longer.push(trailing);
    prop_assert_eq!(decode::<T>(&longer, LIMIT), Err(DecodeError::TrailingBytes(1)));
    if !bytes.is_empty() {
        prop_assert_eq!(
            decode::<T>(&bytes, bytes.len() - 1),
            Err(DecodeError::TooLarge { len: bytes.len(), max: bytes.len() - 1 })
        );
    }
    Ok(())
}

fn check_json<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_string(value).expect("to json");
    prop_assert_eq!(&serde_json::from_str::<T>(&json).expect("from json"), value);
    Ok(())
}

fn bytes32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

proptest! {
    #[test]
    fn fixed_size_types_round_trip(raw in bytes32(), sig in proptest::collection::vec(any::<u8>(), 64), t: u8) {
        let sig = Signature::try_from(sig.as_slice()).expect("64 bytes");
        let hash = Hash::from_bytes(raw);
        let key = PublicKey::from_bytes(raw);
        let runtime = RuntimeId::from_bytes(raw);
        let chain = ChainContext::from_hash(hash);
        check_encoding(&hash, t)?;
        check_encoding(&key, t)?;
        check_encoding(&sig, t)?;
        check_encoding(&runtime, t)?;
        check_encoding(&chain, t)?;
        check_encoding(&SignerEntry { public_key: key, signature: sig }, t)?;
        check_json(&hash)?;
        check_json(&key)?;
        check_json(&sig)?;
        check_json(&runtime)?;
        check_json(&chain)?;
        prop_assert_eq!(hash.to_string().parse::<Hash>(), Ok(hash));
        prop_assert_eq!(sig.to_string().parse::<Signature>(), Ok(sig));
    }

    #[test]
    fn address_round_trips(raw in any::<[u8; 21]>(), key in bytes32(), t: u8) {
        let address = Address::from_bytes(raw);
        check_encoding(&address, t)?;
        check_json(&address)?;
        prop_assert_eq!(address.to_string().parse::<Address>(), Ok(address));
        let derived = Address::from_public_key(&PublicKey::from_bytes(key));
        prop_assert_eq!(derived.to_bech32().parse::<Address>(), Ok(derived));
    }

    #[test]
    fn counters_and_amounts_round_trip(v: u64, units: u128, t: u8) {
        check_encoding(&Epoch(v), t)?;
        check_encoding(&Height(v), t)?;
        check_encoding(&Round(v), t)?;
        check_encoding(&Amount::new(units), t)?;
        check_json(&Epoch(v))?;
        check_json(&Amount::new(units))?;
    }

    #[test]
    fn amount_decimal_round_trip(units: u128, exponent in 0u8..=MAX_DECIMAL_EXPONENT) {
        let amount = Amount::new(units);
        let text = amount.to_decimal(exponent).expect("valid exponent");
        prop_assert_eq!(Amount::from_decimal(&text, exponent), Ok(amount));
        prop_assert!(!text.ends_with('0') || !text.contains('.'), "trailing zero in {}", text);
    }

    #[test]
    fn amount_checked_ops_match_u128(a: u128, b: u128) {
        let (x, y) = (Amount::new(a), Amount::new(b));
        prop_assert_eq!(x.checked_add(y).ok().map(Amount::base_units), a.checked_add(b));
        prop_assert_eq!(x.checked_sub(y).ok().map(Amount::base_units), a.checked_sub(b));
        prop_assert_eq!(x.checked_mul(b).ok().map(Amount::base_units), a.checked_mul(b));
        prop_assert_eq!(x.checked_div(b).ok().map(Amount::base_units), a.checked_div(b));
    }

    /// Arbitrary bytes never panic the decoder, whatever type is expected.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<Hash>(&bytes, LIMIT);
        let _ = decode::<Address>(&bytes, LIMIT);
        let _ = decode::<SignerEntry>(&bytes, LIMIT);
        let _ = decode::<Vec<Vec<u8>>>(&bytes, LIMIT);
        let _ = decode::<(String, Amount, Option<Height>)>(&bytes, LIMIT);
        let text = String::from_utf8_lossy(&bytes);
        let _ = text.parse::<Address>();
        let _ = text.parse::<Hash>();
        let _ = Amount::from_decimal(&text, 9);
    }
}
