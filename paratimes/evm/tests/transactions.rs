//! Decoding raw Ethereum transactions: every accepted type round-trips (sender, hash and
//! fields), every refusal names its reason, and no input makes the decoder panic.

use alloy_consensus::{
    Signed, TxEip1559, TxEip2930, TxEip4844, TxEip4844Variant, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_eips::eip7702::Authorization;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use atoll_evm::transaction::{address_of, decode, sign, TxError, MAX_INITCODE_SIZE, MAX_TX_SIZE};
use k256::ecdsa::SigningKey;
use proptest::prelude::*;

const CHAIN: u64 = 0xa70;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed.max(1); 32]).expect("valid key")
}

fn legacy(chain_id: Option<u64>, nonce: u64, value: U256, input: Bytes) -> TxLegacy {
    TxLegacy {
        chain_id,
        nonce,
        gas_price: 100,
        gas_limit: 21_000 + 16 * input.len() as u64,
        to: TxKind::Call(Address::repeat_byte(7)),
        value,
        input,
    }
}

fn eip1559(nonce: u64, to: TxKind, input: Bytes) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: 1_000_000,
        max_fee_per_gas: 200,
        max_priority_fee_per_gas: 3,
        to,
        value: U256::from(5),
        access_list: AccessList(vec![AccessListItem {
            address: Address::repeat_byte(9),
            storage_keys: vec![B256::repeat_byte(1)],
        }]),
        input,
    }
}

fn raw(envelope: impl Into<TxEnvelope>) -> Vec<u8> {
    envelope.into().encoded_2718()
}

#[test]
fn every_accepted_type_round_trips() {
    let k = key(3);
    let sender = address_of(&k);
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (0, raw(sign(legacy(Some(CHAIN), 4, U256::from(9), Bytes::from_static(b"hi")), &k))),
        (
            1,
            raw(sign(
                TxEip2930 {
                    chain_id: CHAIN,
                    nonce: 1,
                    gas_price: 50,
                    gas_limit: 30_000,
                    to: TxKind::Create,
                    value: U256::ZERO,
                    access_list: AccessList::default(),
                    input: Bytes::from_static(&[0x60, 0x00]),
                },
                &k,
            )),
        ),
        (2, raw(sign(eip1559(2, TxKind::Call(Address::repeat_byte(1)), Bytes::new()), &k))),
        (
            4,
            raw(sign(
                TxEip7702 {
                    chain_id: CHAIN,
                    nonce: 3,
                    gas_limit: 100_000,
                    max_fee_per_gas: 10,
                    max_priority_fee_per_gas: 1,
                    to: Address::repeat_byte(2),
                    value: U256::ZERO,
                    access_list: AccessList::default(),
                    authorization_list: vec![{
                        let auth = Authorization {
                            chain_id: U256::from(CHAIN),
                            address: Address::repeat_byte(5),
                            nonce: 4,
                        };
                        let hash = auth.signature_hash();
                        let (sig, rec) =
                            k.sign_prehash_recoverable(hash.as_slice()).expect("signs");
                        auth.into_signed(alloy_primitives::Signature::from_signature_and_parity(
                            sig,
                            rec.is_y_odd(),
                        ))
                    }],
                    input: Bytes::new(),
                },
                &k,
            )),
        ),
    ];
    for (ty, bytes) in cases {
        let tx = decode(&bytes, CHAIN).expect("accepted");
        assert_eq!(tx.tx_type(), ty);
        assert_eq!(tx.sender, sender);
        assert_eq!(tx.hash, keccak256(&bytes));
        assert_eq!(tx.envelope.encoded_2718(), bytes, "re-encodes to the same bytes");
        let env = tx.tx_env();
        assert_eq!((env.caller, env.nonce, env.tx_type), (sender, tx.nonce(), ty));
    }
}

#[test]
fn refusals_name_their_reason() {
    let k = key(4);
    let ok = raw(sign(eip1559(0, TxKind::Call(Address::ZERO), Bytes::new()), &k));
    assert!(matches!(decode(&[0xc0], CHAIN), Err(TxError::Malformed(_))));
    assert!(matches!(decode(&[], CHAIN), Err(TxError::Malformed(_))));
    assert!(matches!(decode(&[0x05, 0xc0], CHAIN), Err(TxError::Malformed(_))));
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(matches!(decode(&trailing, CHAIN), Err(TxError::Malformed(_))));
    assert_eq!(
        decode(&ok, CHAIN + 1).map(|_| ()),
        Err(TxError::WrongChainId { expected: CHAIN + 1, got: CHAIN })
    );
    let replayable = raw(sign(legacy(None, 0, U256::ZERO, Bytes::new()), &k));
    assert_eq!(decode(&replayable, CHAIN).map(|_| ()), Err(TxError::NoChainId));
    let blob = TxEip4844 {
        chain_id: CHAIN,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        to: Address::ZERO,
        value: U256::ZERO,
        access_list: AccessList::default(),
        blob_versioned_hashes: vec![B256::repeat_byte(1)],
        max_fee_per_blob_gas: 1,
        input: Bytes::new(),
    };
    let blob = raw(Signed::<TxEip4844Variant>::from(sign(blob, &k)));
    assert_eq!(decode(&blob, CHAIN).map(|_| ()), Err(TxError::UnsupportedType(3)));
    let huge = vec![0u8; MAX_TX_SIZE + 1];
    assert_eq!(decode(&huge, CHAIN).map(|_| ()), Err(TxError::TooLarge(MAX_TX_SIZE + 1)));
    let init = Bytes::from(vec![0u8; MAX_INITCODE_SIZE + 1]);
    let create = raw(sign(eip1559(0, TxKind::Create, init), &k));
    assert_eq!(
        decode(&create, CHAIN).map(|_| ()),
        Err(TxError::InitCodeTooLarge(MAX_INITCODE_SIZE + 1))
    );
}

#[test]
fn a_tampered_signature_never_yields_the_signer() {
    let k = key(5);
    let signed = sign(eip1559(0, TxKind::Call(Address::ZERO), Bytes::new()), &k);
    // High s (the malleable twin of a valid signature) is refused (EIP-2).
    let sig = *signed.signature();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .expect("order");
    let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
    let twin = raw(Signed::new_unchecked(signed.tx().clone(), high, B256::ZERO));
    assert_eq!(decode(&twin, CHAIN).map(|_| ()), Err(TxError::InvalidSignature));
    // A changed field recovers some other sender (or none).
    let mut body = signed.tx().clone();
    body.value = U256::from(6);
    let forged = raw(Signed::new_unchecked(body, sig, B256::ZERO));
    match decode(&forged, CHAIN) {
        Ok(tx) => assert_ne!(tx.sender, address_of(&k)),
        Err(e) => assert_eq!(e, TxError::InvalidSignature),
    }
}

proptest! {
    #[test]
    fn legacy_transactions_round_trip(
        seed in 1u8..=254,
        nonce in any::<u64>(),
        value in any::<u128>(),
        input in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let k = key(seed);
        let bytes = raw(sign(legacy(Some(CHAIN), nonce, U256::from(value), input.clone().into()), &k));
        let tx = decode(&bytes, CHAIN).expect("accepted");
        prop_assert_eq!(tx.sender, address_of(&k));
        prop_assert_eq!(tx.nonce(), nonce);
        let env = tx.tx_env();
        prop_assert_eq!(env.value, U256::from(value));
        prop_assert_eq!(env.data.to_vec(), input);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(&bytes, CHAIN);
    }

    #[test]
    fn corrupted_transactions_never_panic(index in 0usize..120, byte in any::<u8>()) {
        let k = key(9);
        let mut bytes = raw(sign(eip1559(1, TxKind::Call(Address::ZERO), Bytes::from_static(b"data")), &k));
        let i = index % bytes.len();
        bytes[i] = byte;
        let _ = decode(&bytes, CHAIN);
    }
}
