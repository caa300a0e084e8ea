//! Known-answer tests: RFC 8032 Ed25519, ZIP-215 edge cases, Deoxys-II-256-128.

use atoll_crypto::{BatchVerifier, DeoxysKey, MemorySigner};
use atoll_types::{PublicKey, Signature, Signer};

fn bytes<const N: usize>(hex_str: &str) -> [u8; N] {
    let mut out = [0u8; N];
    hex::decode_to_slice(hex_str, &mut out).expect("valid hex in test vector");
    out
}

/// RFC 8032, section 7.1: TEST 1, 2, 3 and SHA(abc).
const RFC8032: &[(&str, &str, &str, &str)] = &[
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

#[test]
fn rfc8032_sign_and_verify() {
    let mut batch = BatchVerifier::new();
    let mut messages = Vec::new();
    for (seed, public, message, signature) in RFC8032 {
        let signer = MemorySigner::from_seed(bytes(seed));
        let message = hex::decode(message).expect("hex");
        assert_eq!(signer.public_key().to_string(), *public);
        let produced = signer.sign_raw(&message);
        assert_eq!(produced.to_string(), *signature);
        let key = PublicKey::from_bytes(bytes(public));
        assert_eq!(key.verify(&message, &produced), Ok(()));
        batch.queue(&key, &message, &produced);
        messages.push(message);
    }
    assert_eq!(batch.verify(), Ok(()));

    // The same signatures over each other's messages fail, singly and in a batch.
    let mut batch = BatchVerifier::new();
    for (i, (_, public, _, signature)) in RFC8032.iter().enumerate() {
        let key = PublicKey::from_bytes(bytes(public));
        let wrong = &messages[(i + 1) % messages.len()];
        let signature = Signature::from_bytes(bytes(signature));
        assert!(key.verify(wrong, &signature).is_err());
        batch.queue(&key, wrong, &signature);
    }
    assert_eq!(batch.verify().map_err(|e| e.failed), Err(vec![0, 1, 2, 3]));
}

/// The encodings ZIP-215 enumerates: the eight small-order points and the non-canonical
/// encodings of small-order points. Every (A, R) pair among them with `s = 0` must verify.
const ZIP215_ENCODINGS: [&str; 14] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

#[test]
fn zip215_small_order_and_non_canonical_points_accepted_by_single_and_batch() {
    let mut batch = BatchVerifier::new();
    let mut cases = 0;
    for a in ZIP215_ENCODINGS {
        for r in ZIP215_ENCODINGS {
            let key = PublicKey::from_bytes(bytes(a));
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&bytes::<32>(r));
            let sig = Signature::from_bytes(sig);
            assert_eq!(key.verify(b"Zcash", &sig), Ok(()), "A={a} R={r}");
            batch.queue(&key, b"Zcash", &sig);
            cases += 1;
        }
    }
    assert_eq!(cases, 196);
    assert_eq!(batch.verify(), Ok(()));
}

/// The group order ℓ, little endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

#[test]
fn zip215_rejections_agree_between_single_and_batch() {
    let (_, public, _, signature) = RFC8032[0];
    let key = PublicKey::from_bytes(bytes(public));
    let valid: [u8; 64] = bytes(signature);

    // s + ℓ is the same scalar, but non-canonical: ZIP-215 requires rejecting it.
    let mut s = [0u8; 32];
    s.copy_from_slice(&valid[32..]);
    let mut non_canonical = valid;
    non_canonical[32..].copy_from_slice(&add_le(&s, &L));
    let non_canonical = Signature::from_bytes(non_canonical);
    assert!(key.verify(b"", &non_canonical).is_err());

    // A y-coordinate with no curve point: the key does not decode.
    let off_curve = (2u8..=255)
        .map(|y| {
            let mut enc = [0u8; 32];
            enc[0] = y;
            PublicKey::from_bytes(enc)
        })
        .find(|k| {
            k.verify(b"", &Signature::from_bytes(valid))
                == Err(atoll_types::SignatureError::MalformedPublicKey)
        })
        .expect("some small y is not on the curve");

    let mut batch = BatchVerifier::new();
    batch.queue(&key, b"", &Signature::from_bytes(valid));
    batch.queue(&key, b"", &non_canonical);
    batch.queue(&off_curve, b"", &Signature::from_bytes(valid));
    batch.queue(&key, b"", &Signature::from_bytes(valid));
    assert_eq!(batch.verify().map_err(|e| e.failed), Err(vec![1, 2]));
}

/// Deoxys-II-256-128 vectors from the Deoxys submission (key 10..2f, nonce 20..2e).
#[test]
fn deoxys_ii_256_vectors() {
    let key = DeoxysKey::from_bytes(bytes(
        "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
    ));
    let nonce: [u8; 15] = bytes("202122232425262728292a2b2c2d2e");
    // (aad, plaintext, ciphertext || tag)
    let vectors = [
        ("", "", "2b97bd77712f0cde975309959dfe1d7c"),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "",
            "54708ae5565a71f147bdb94d7ba3aed7",
        ),
        (
            "f495c9c03d29989695d98ff5d430650125805c1e0576d06f26cbda42b1f82238b8",
            "",
            "3277689dc4208cc1ff59d15434a1baf1",
        ),
        (
            "",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "9da20db1c2781f6669257d87e2a4d9be1970f7581bef2c995e1149331e5e8cc192ce3aec3a4b72ff9eab71c2a93492fa",
        ),
        (
            "",
            "15cd77732f9d0c4c6e581ef400876ad9188c5b8850ebd38224da95d7cdc99f7acc",
            "e5ffd2abc5b459a73667756eda6443ede86c0883fc51dd75d22bb14992c684618c5fa78d57308f19d0252072ee39df5ecc",
        ),
        (
            "000102030405060708090a0b0c0d0e0f",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "109f8a168b36dfade02628a9e129d5257f03cc7912aefa79729b67b186a2b08f6549f9bf10acba0a451dbb2484a60d90",
        ),
        (
            "000102030405060708090a0b0c0d0e0f10",
            "422857fb165af0a35c03199fb895604dca9cea6d788954962c419e0d5c225c0327",
            "7d772203fa38be296d8d20d805163130c69aba8cb16ed845c2296c61a8f34b394e0b3f10e3933c78190b24b33008bf80e9",
        ),
    ];
    for (aad, plaintext, expected) in vectors {
        let aad = hex::decode(aad).expect("hex");
        let plaintext = hex::decode(plaintext).expect("hex");
        let sealed = key.seal(&nonce, &plaintext, &aad).expect("seal");
        assert_eq!(hex::encode(&sealed), expected);
        assert_eq!(key.open(&nonce, &sealed, &aad).expect("open"), plaintext);
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x80;
        assert!(key.open(&nonce, &tampered, &aad).is_err());
    }
}
