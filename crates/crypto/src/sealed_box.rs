//! Deoxys-II-256-128 authenticated encryption, and sealed boxes to an X25519 public key.
//!
//! Deoxys-II is misuse-resistant: repeating a nonce reveals only whether two messages were
//! equal, which is why confidential ParaTimes can encrypt state with round-derived nonces.
//! A [`SealedBox`] encrypts to a public key with a fresh ephemeral X25519 key; the box key is
//! `HKDF-SHA256(salt = "atoll/sealed-box: v1", ikm = DH, info = ephemeral_pk || recipient_pk)`.

use borsh::{BorshDeserialize, BorshSerialize};
use deoxys::aead::generic_array::GenericArray;
use deoxys::aead::{Aead, KeyInit, Payload};
use deoxys::DeoxysII256;
use rand_core::{CryptoRng, OsRng, RngCore};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::{derive_key, X25519Error, X25519PublicKey, X25519SecretKey};

/// Deoxys-II nonce length: 120 bits.
pub const DEOXYS_NONCE_LEN: usize = 15;
/// Deoxys-II tag length: 128 bits, appended to the ciphertext.
pub const DEOXYS_TAG_LEN: usize = 16;

const SEALED_BOX_SALT: &[u8] = b"atoll/sealed-box: v1";

/// Why encryption or decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealError {
    /// Key agreement with the given public key failed.
    #[error("key agreement: {0}")]
    KeyAgreement(#[from] X25519Error),
    /// The ciphertext, nonce, associated data or key is wrong: nothing is revealed.
    #[error("decryption failed: wrong key or tampered ciphertext")]
    Authentication,
    /// The cipher refused the input (too long for Deoxys-II).
    #[error("encryption failed: input too long")]
    Encrypt,
}

/// A 256-bit Deoxys-II key.
#[derive(Clone)]
pub struct DeoxysKey(Zeroizing<[u8; 32]>);

impl DeoxysKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> DeoxysII256 {
        DeoxysII256::new(GenericArray::from_slice(self.0.as_ref()))
    }

    /// Encrypts `plaintext`, authenticating `aad`; returns ciphertext followed by the tag.
    pub fn seal(
        &self,
        nonce: &[u8; DEOXYS_NONCE_LEN],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        self.cipher()
            .encrypt(GenericArray::from_slice(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| SealError::Encrypt)
    }

    /// Decrypts and authenticates what [`DeoxysKey::seal`] produced.
    pub fn open(
        &self,
        nonce: &[u8; DEOXYS_NONCE_LEN],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        if ciphertext.len() < DEOXYS_TAG_LEN {
            return Err(SealError::Authentication);
        }
        self.cipher()
            .decrypt(GenericArray::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| SealError::Authentication)
    }
}

impl std::fmt::Debug for DeoxysKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeoxysKey(..)")
    }
}

/// A message encrypted to an X25519 public key; only the holder of its secret opens it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SealedBox {
    /// The sender's one-time X25519 public key.
    pub ephemeral_public_key: X25519PublicKey,
    /// The Deoxys-II nonce.
    pub nonce: [u8; DEOXYS_NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

fn box_key(
    shared: &[u8; 32],
    ephemeral: &X25519PublicKey,
    recipient: &X25519PublicKey,
) -> DeoxysKey {
    let mut info = [0u8; 64];
    info[..32].copy_from_slice(&ephemeral.0);
    info[32..].copy_from_slice(&recipient.0);
    DeoxysKey::from_bytes(derive_key(shared, SEALED_BOX_SALT, &info))
}

impl SealedBox {
    /// Encrypts `plaintext` (authenticating `aad`) to `recipient`.
    pub fn seal(
        recipient: &X25519PublicKey,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Self, SealError> {
        Self::seal_with(&mut OsRng, recipient, plaintext, aad)
    }

    /// Like [`SealedBox::seal`], drawing the ephemeral key and nonce from `rng`.
    pub fn seal_with<R: RngCore + CryptoRng>(
        rng: &mut R,
        recipient: &X25519PublicKey,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Self, SealError> {
        let ephemeral = X25519SecretKey::generate_with(rng);
        let ephemeral_public_key = ephemeral.public_key();
        let shared = ephemeral.diffie_hellman(recipient)?;
        let mut nonce = [0u8; DEOXYS_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext =
            box_key(&shared, &ephemeral_public_key, recipient).seal(&nonce, plaintext, aad)?;
        Ok(Self { ephemeral_public_key, nonce, ciphertext })
    }

    /// Decrypts with the recipient's secret key, checking `aad`.
    pub fn open(&self, recipient: &X25519SecretKey, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let shared = recipient.diffie_hellman(&self.ephemeral_public_key)?;
        box_key(&shared, &self.ephemeral_public_key, &recipient.public_key()).open(
            &self.nonce,
            &self.ciphertext,
            aad,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let recipient = X25519SecretKey::generate();
        let sealed =
            SealedBox::seal(&recipient.public_key(), b"secret call data", b"aad").expect("seal");
        assert_eq!(sealed.open(&recipient, b"aad").expect("open"), b"secret call data");
        assert_eq!(sealed.ciphertext.len(), 16 + DEOXYS_TAG_LEN);

        assert_eq!(sealed.open(&recipient, b"other aad"), Err(SealError::Authentication));
        assert_eq!(
            sealed.open(&X25519SecretKey::generate(), b"aad"),
            Err(SealError::Authentication)
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[3] ^= 1;
        assert_eq!(flipped.open(&recipient, b"aad"), Err(SealError::Authentication));
        let mut flipped = sealed.clone();
        flipped.nonce[0] ^= 1;
        assert_eq!(flipped.open(&recipient, b"aad"), Err(SealError::Authentication));
        let mut truncated = sealed.clone();
        truncated.ciphertext.truncate(5);
        assert_eq!(truncated.open(&recipient, b"aad"), Err(SealError::Authentication));
        let mut low_order = sealed;
        low_order.ephemeral_public_key = X25519PublicKey([0; 32]);
        assert_eq!(
            low_order.open(&recipient, b"aad"),
            Err(SealError::KeyAgreement(X25519Error::NonContributory))
        );
    }

    #[test]
    fn two_seals_of_one_message_differ() {
        let recipient = X25519SecretKey::generate().public_key();
        let a = SealedBox::seal(&recipient, b"m", b"").expect("seal");
        let b = SealedBox::seal(&recipient, b"m", b"").expect("seal");
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
