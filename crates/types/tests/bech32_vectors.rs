//! Address bech32 vectors: BIP-173 strings our parser must reject, and pinned addresses.

use atoll_types::{Address, AddressError, PublicKey, RuntimeId};
use sha2::{Digest, Sha256};

/// BIP-173's invalid strings: each must be refused as bad bech32.
#[test]
fn bip173_invalid_strings_are_rejected() {
    let invalid = [
        "\u{20}1nwldj5",  // HRP character out of range
        "\u{7f}1axkwrx",  // HRP character out of range
        "pzry9x0s0muk",   // no separator
        "1pzry9x0s0muk",  // empty HRP
        "x1b4n0q5v",      // invalid data character
        "li1dgmt3",       // checksum too short
        "de1lg7wt\u{ff}", // invalid character in checksum
        "A1G7SGD8",       // checksum calculated with uppercase HRP
        "10a06t8",        // empty HRP
        "1qzzfhee",       // empty HRP
    ];
    for s in invalid {
        assert!(
            matches!(s.parse::<Address>(), Err(AddressError::Bech32(_))),
            "{s:?} must be rejected as invalid bech32, got {:?}",
            s.parse::<Address>()
        );
    }
}

/// BIP-173's valid strings decode, but are not Atoll addresses (prefix or length).
#[test]
fn bip173_valid_strings_are_not_atoll_addresses() {
    for s in [
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        "?1ezyfcl",
    ] {
        assert!(
            matches!(s.parse::<Address>(), Err(AddressError::WrongPrefix { .. })),
            "{s:?}: {:?}",
            s.parse::<Address>()
        );
    }
    // Right prefix, wrong payload length.
    let short =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("atoll").expect("hrp"), &[0u8; 20])
            .expect("encode");
    assert_eq!(short.parse::<Address>(), Err(AddressError::WrongLength(20)));
    // Right prefix and length, but a bech32m checksum.
    let bech32m =
        bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("atoll").expect("hrp"), &[0u8; 21])
            .expect("encode");
    assert!(matches!(bech32m.parse::<Address>(), Err(AddressError::Bech32(_))));
}

#[test]
fn derivation_matches_the_documented_formula() {
    // RFC 8032 TEST 1 public key.
    let key: PublicKey =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".parse().expect("key");
    let mut hasher = Sha256::new();
    hasher.update(b"atoll/address: staking");
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let address = Address::from_public_key(&key);
    assert_eq!(address.version(), 0);
    assert_eq!(&address.as_bytes()[1..], &digest[..20]);

    // Pinned so that a change to the derivation or the encoding cannot go unnoticed.
    let text = address.to_string();
    assert!(text.starts_with("atoll1"));
    assert_eq!(text, "atoll1qrkzmt8m30e9nhxwuzz46v4at86shkc6ds3e2lct");
    assert_eq!(text.parse::<Address>(), Ok(address));
    assert_eq!(text.to_uppercase().parse::<Address>(), Ok(address));
    // One altered data character breaks the checksum.
    let altered = text.replacen("qrkz", "qrkx", 1);
    assert!(matches!(altered.parse::<Address>(), Err(AddressError::Bech32(_))));
    let mut mixed = text.clone();
    mixed.replace_range(0..1, "A");
    assert!(matches!(mixed.parse::<Address>(), Err(AddressError::Bech32(_))));
}

#[test]
fn key_and_runtime_addresses_are_separated() {
    let bytes = [42u8; 32];
    assert_ne!(
        Address::from_public_key(&PublicKey::from_bytes(bytes)),
        Address::from_runtime_id(&RuntimeId::from_bytes(bytes))
    );
    assert_ne!(Address::reserved("common-pool"), Address::reserved("fee-accumulator"));
}
