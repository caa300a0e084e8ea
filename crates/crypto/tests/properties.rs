//! Property tests: signed envelopes bind message, signature, context and chain; batch
//! verification agrees with single verification; sealed boxes round-trip and detect tampering.

use atoll_crypto::{
    BatchVerifier, MemorySigner, SealedBox, VrfProof, VrfPublicKey, VrfSecretKey, X25519PublicKey,
    X25519SecretKey,
};
use atoll_types::{
    decode, encode, signing_digest, ChainContext, Hash, MultiSigned, OpenError, PublicKey,
    Signable, Signature, SignatureContext, Signed, Signer, SignerEntry,
};
use borsh::{BorshDeserialize, BorshSerialize};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Note {
    nonce: u64,
    body: Vec<u8>,
}

impl Signable for Note {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/test: note");
    const MAX_SIZE: usize = 4096;
}

/// Same layout as [`Note`], another context: a `Note` signature must not open as a `Memo`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Memo {
    nonce: u64,
    body: Vec<u8>,
}

impl Signable for Memo {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/test: memo");
    const MAX_SIZE: usize = 4096;
}

fn signer(seed: u8) -> MemorySigner {
    MemorySigner::from_seed([seed; 32])
}

fn chain(seed: u8) -> ChainContext {
    ChainContext::from_genesis_document(&[seed])
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

proptest! {
    #[test]
    fn signed_round_trip(nonce: u64, body in proptest::collection::vec(any::<u8>(), 0..512), seed: u8) {
        let note = Note { nonce, body };
        let signed = Signed::sign(&signer(seed), &chain(1), &note);
        prop_assert_eq!(signed.open(&chain(1)), Ok(note));
        prop_assert_eq!(signed.signer(), &signer(seed).public_key());
        let decoded: Signed<Note> = decode(&encode(&signed), 8192).expect("decode envelope");
        prop_assert_eq!(decoded, signed);
    }

    #[test]
    fn flipped_message_bit_fails(body in proptest::collection::vec(any::<u8>(), 1..256), bit: usize) {
        let signed = Signed::sign(&signer(1), &chain(1), &Note { nonce: 1, body });
        let mut tampered = signed.body().to_vec();
        flip(&mut tampered, bit);
        let tampered = Signed::<Note>::from_parts(tampered, *signed.signature());
        prop_assert!(tampered.open(&chain(1)).is_err());
    }

    #[test]
    fn flipped_signature_or_key_bit_fails(bit in 0usize..(96 * 8)) {
        let signed = Signed::sign(&signer(1), &chain(1), &Note { nonce: 1, body: vec![7; 40] });
        let mut raw = [0u8; 96];
        raw[..32].copy_from_slice(signed.signer().as_bytes());
        raw[32..].copy_from_slice(signed.signature().signature.as_bytes());
        flip(&mut raw, bit);
        let mut key = [0u8; 32];
        key.copy_from_slice(&raw[..32]);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&raw[32..]);
        let entry = SignerEntry { public_key: PublicKey::from_bytes(key), signature: Signature::from_bytes(sig) };
        let tampered = Signed::<Note>::from_parts(signed.body().to_vec(), entry);
        let opened = tampered.open(&chain(1));
        prop_assert!(matches!(opened, Err(OpenError::Signature { .. })), "{:?}", opened);
    }

    #[test]
    fn flipped_chain_context_bit_fails(bit in 0usize..256) {
        let signed = Signed::sign(&signer(1), &chain(1), &Note { nonce: 1, body: vec![] });
        let mut other = *chain(1).hash().as_bytes();
        flip(&mut other, bit);
        let other = ChainContext::from_hash(Hash::from_bytes(other));
        let opened = signed.open(&other);
        prop_assert!(matches!(opened, Err(OpenError::Signature { .. })), "{:?}", opened);
    }

    #[test]
    fn flipped_context_bit_fails(bit: usize, message in proptest::collection::vec(any::<u8>(), 0..64)) {
        let context = Note::CONTEXT;
        let digest = signing_digest(&context, &chain(1), &message);
        let signature = signer(1).sign_raw(digest.as_bytes());
        let mut flipped = context.as_str().as_bytes().to_vec();
        flip(&mut flipped, bit);
        // Contexts are static strings; a leaked one per case is fine in a test.
        let flipped: &'static str = Box::leak(String::from_utf8_lossy(&flipped).into_owned().into_boxed_str());
        let other = signing_digest(&SignatureContext::new(flipped), &chain(1), &message);
        prop_assert!(signer(1).public_key().verify(other.as_bytes(), &signature).is_err());
    }

    #[test]
    fn batch_verification_equals_single_verification(
        n in 1usize..24,
        corrupt in proptest::collection::vec((any::<bool>(), 0u8..3, any::<usize>()), 24),
    ) {
        let mut batch = BatchVerifier::new();
        let mut expected_failures = Vec::new();
        for (i, &(bad, what, bit)) in corrupt.iter().enumerate().take(n) {
            let signer = signer(i as u8);
            let mut message = format!("message {i}").into_bytes();
            let mut key = *signer.public_key().as_bytes();
            let mut sig = *signer.sign_raw(&message).as_bytes();
            if bad {
                match what {
                    0 => flip(&mut message, bit),
                    1 => flip(&mut key, bit),
                    _ => flip(&mut sig, bit),
                }
            }
            let key = PublicKey::from_bytes(key);
            let sig = Signature::from_bytes(sig);
            if key.verify(&message, &sig).is_err() {
                expected_failures.push(i);
            }
            batch.queue(&key, &message, &sig);
        }
        let result = batch.verify().map_err(|e| e.failed);
        if expected_failures.is_empty() {
            prop_assert_eq!(result, Ok(()));
        } else {
            prop_assert_eq!(result, Err(expected_failures));
        }
    }

    #[test]
    fn sealed_box_round_trip_and_tamper(
        plaintext in proptest::collection::vec(any::<u8>(), 0..1024),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        bit: usize,
    ) {
        let recipient = X25519SecretKey::generate();
        let sealed = SealedBox::seal(&recipient.public_key(), &plaintext, &aad).expect("seal");
        prop_assert_eq!(sealed.open(&recipient, &aad).expect("open"), plaintext);
        let mut tampered = sealed.clone();
        flip(&mut tampered.ciphertext, bit);
        prop_assert!(tampered.open(&recipient, &aad).is_err());
        let decoded: SealedBox = decode(&encode(&sealed), 4096).expect("decode");
        prop_assert_eq!(decoded, sealed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn vrf_proofs_verify_only_for_their_input(seed: [u8; 32], alpha in proptest::collection::vec(any::<u8>(), 0..64), bit: usize) {
        let key = VrfSecretKey::from_seed(seed);
        let public = key.public_key();
        let (output, proof) = key.prove(&alpha);
        prop_assert_eq!(public.verify(&alpha, &proof), Ok(output));
        let mut other = alpha.clone();
        other.push(0);
        prop_assert!(public.verify(&other, &proof).is_err());
        let mut raw = encode(&proof);
        flip(&mut raw, bit);
        let tampered: VrfProof = decode(&raw, 96).expect("fixed size");
        prop_assert!(public.verify(&alpha, &tampered).is_err());
        prop_assert_eq!(decode::<VrfPublicKey>(&encode(&public), 32), Ok(public));
        let x = X25519SecretKey::from_bytes(seed).public_key();
        prop_assert_eq!(decode::<X25519PublicKey>(&encode(&x), 32), Ok(x));
    }
}

#[test]
fn signature_for_one_context_does_not_open_as_another() {
    let signed = Signed::sign(&signer(1), &chain(1), &Note { nonce: 3, body: vec![1, 2] });
    let as_memo = Signed::<Memo>::from_parts(signed.body().to_vec(), *signed.signature());
    assert!(matches!(as_memo.open(&chain(1)), Err(OpenError::Signature { .. })));
}

#[test]
fn oversized_body_refused_before_verification() {
    let huge = Note { nonce: 1, body: vec![0; 5000] };
    let signed = Signed::sign(&signer(1), &chain(1), &huge);
    assert!(matches!(signed.open(&chain(1)), Err(OpenError::Decode(_))));
}

#[test]
fn trailing_bytes_in_signed_body_refused() {
    let mut body = encode(&Note { nonce: 1, body: vec![] });
    body.push(0);
    let digest = signing_digest(&Note::CONTEXT, &chain(1), &body);
    let entry = SignerEntry {
        public_key: signer(1).public_key(),
        signature: signer(1).sign_raw(digest.as_bytes()),
    };
    let signed = Signed::<Note>::from_parts(body, entry);
    assert!(matches!(signed.open(&chain(1)), Err(OpenError::Decode(_))));
}

#[test]
fn multi_signed_requires_every_distinct_signature() {
    let note = Note { nonce: 9, body: b"entity".to_vec() };
    let (a, b, c) = (signer(1), signer(2), signer(3));
    let mut envelope = MultiSigned::sign(&[&a, &b], &chain(1), &note);
    envelope.add_signature(&c, &chain(1));
    let opened = envelope.open(&chain(1)).expect("open");
    assert_eq!(opened.value, note);
    assert_eq!(opened.signers, vec![a.public_key(), b.public_key(), c.public_key()]);
    assert!(matches!(envelope.open(&chain(2)), Err(OpenError::Signature { .. })));

    let mut duplicated = envelope.signatures().to_vec();
    duplicated.push(duplicated[0]);
    let duplicated = MultiSigned::<Note>::from_parts(envelope.body().to_vec(), duplicated);
    assert_eq!(duplicated.open(&chain(1)), Err(OpenError::DuplicateSigner(a.public_key())));

    let empty = MultiSigned::<Note>::from_parts(envelope.body().to_vec(), vec![]);
    assert_eq!(empty.open(&chain(1)), Err(OpenError::NoSignatures));

    let mut one_bad = envelope.signatures().to_vec();
    one_bad[1].signature = one_bad[0].signature;
    let one_bad = MultiSigned::<Note>::from_parts(envelope.body().to_vec(), one_bad);
    assert!(matches!(
        one_bad.open(&chain(1)),
        Err(OpenError::Signature { signer, .. }) if signer == b.public_key()
    ));

    let decoded: MultiSigned<Note> = decode(&encode(&envelope), 1 << 16).expect("decode");
    assert_eq!(decoded, envelope);
}
