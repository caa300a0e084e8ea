//! Signed envelopes with domain-separated signing contexts.
//!
//! A signature always covers `SHA-256(context || chain_context || borsh(value))`. The
//! context is a constant of the signed type ([`Signable::CONTEXT`]), so a signature made for
//! one use (a transaction) can never verify as another (an executor commitment), and the
//! chain context binds it to one genesis.

use std::fmt;
use std::marker::PhantomData;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::encoding::{decode, encode, DecodeError};
use crate::keys::{PublicKey, Signature, SignatureError, Signer};
use crate::{ChainContext, Hash};

/// The most signatures a [`MultiSigned`] envelope may carry.
pub const MAX_MULTI_SIGNERS: usize = 256;

/// A domain-separation string for one use of signatures, such as `atoll/consensus: tx`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignatureContext(&'static str);

impl SignatureContext {
    /// Declares a context. By convention `atoll/<module>: <use>`; every use has its own.
    pub const fn new(context: &'static str) -> Self {
        Self(context)
    }

    /// The context string.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A value that is signed on its own: it names its signing context and the most bytes its
/// encoding may take.
pub trait Signable: BorshSerialize + BorshDeserialize {
    /// The signing context of this type.
    const CONTEXT: SignatureContext;
    /// Upper bound on the encoded size; larger bodies are refused before decoding.
    const MAX_SIZE: usize;
}

/// The digest that is actually signed: `SHA-256(context || chain_context || message)`.
pub fn signing_digest(context: &SignatureContext, chain: &ChainContext, message: &[u8]) -> Hash {
    Hash::digest_parts(&[context.as_str().as_bytes(), chain.hash().as_bytes(), message])
}

/// Why an envelope did not open.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpenError {
    /// A signature did not verify.
    #[error("signature by {signer}: {source}")]
    Signature {
        /// Whose signature failed.
        signer: PublicKey,
        /// What was wrong with it.
        source: SignatureError,
    },
    /// The body is not a valid encoding of the expected type.
    #[error("body: {0}")]
    Decode(#[from] DecodeError),
    /// A multi-signed envelope carries no signature.
    #[error("no signatures")]
    NoSignatures,
    /// A multi-signed envelope carries more than [`MAX_MULTI_SIGNERS`] signatures.
    #[error("{0} signatures, the limit is {MAX_MULTI_SIGNERS}")]
    TooManySigners(usize),
    /// A multi-signed envelope carries two signatures by one key.
    #[error("duplicate signer {0}")]
    DuplicateSigner(PublicKey),
}

/// One signature with the key that made it.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct SignerEntry {
    /// The signer's public key.
    pub public_key: PublicKey,
    /// The signature over the signing digest.
    pub signature: Signature,
}

impl SignerEntry {
    fn sign<T: Signable>(signer: &dyn Signer, chain: &ChainContext, body: &[u8]) -> Self {
        let digest = signing_digest(&T::CONTEXT, chain, body);
        Self { public_key: signer.public_key(), signature: signer.sign_raw(digest.as_bytes()) }
    }

    fn verify<T: Signable>(&self, chain: &ChainContext, body: &[u8]) -> Result<(), OpenError> {
        let digest = signing_digest(&T::CONTEXT, chain, body);
        self.public_key
            .verify(digest.as_bytes(), &self.signature)
            .map_err(|source| OpenError::Signature { signer: self.public_key, source })
    }
}

/// A value signed by one key. The body stays encoded until [`Signed::open`] verifies it.
pub struct Signed<T> {
    body: Vec<u8>,
    signature: SignerEntry,
    _value: PhantomData<fn() -> T>,
}

impl<T: Signable> Signed<T> {
    /// Signs `value` for `chain` with `signer`.
    pub fn sign(signer: &dyn Signer, chain: &ChainContext, value: &T) -> Self {
        let body = encode(value);
        let signature = SignerEntry::sign::<T>(signer, chain, &body);
        Self { body, signature, _value: PhantomData }
    }

    /// Verifies the signature and decodes the body.
    pub fn open(&self, chain: &ChainContext) -> Result<T, OpenError> {
        check_size::<T>(&self.body)?;
        self.signature.verify::<T>(chain, &self.body)?;
        Ok(decode(&self.body, T::MAX_SIZE)?)
    }

    /// The digest the signature covers, for batch verification.
    pub fn signing_digest(&self, chain: &ChainContext) -> Hash {
        signing_digest(&T::CONTEXT, chain, &self.body)
    }

    /// Decodes the body **without verifying the signature**. Only for callers that have
    /// already verified it, e.g. a block's signatures checked together in one batch over
    /// [`Signed::signing_digest`].
    pub fn decode_verified_elsewhere(&self) -> Result<T, DecodeError> {
        check_size::<T>(&self.body)?;
        decode(&self.body, T::MAX_SIZE)
    }
}

impl<T> Signed<T> {
    /// Assembles an envelope from an encoded body and a signature (neither is checked).
    pub fn from_parts(body: Vec<u8>, signature: SignerEntry) -> Self {
        Self { body, signature, _value: PhantomData }
    }

    /// Who signed (not yet verified).
    pub fn signer(&self) -> &PublicKey {
        &self.signature.public_key
    }

    /// The signature with its key.
    pub fn signature(&self) -> &SignerEntry {
        &self.signature
    }

    /// The encoded, unverified body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

fn check_size<T: Signable>(body: &[u8]) -> Result<(), DecodeError> {
    if body.len() > T::MAX_SIZE {
        return Err(DecodeError::TooLarge { len: body.len(), max: T::MAX_SIZE });
    }
    Ok(())
}

/// A value signed by several keys, such as an entity descriptor signed by all its nodes.
pub struct MultiSigned<T> {
    body: Vec<u8>,
    signatures: Vec<SignerEntry>,
    _value: PhantomData<fn() -> T>,
}

/// An opened [`MultiSigned`]: the value and the keys that signed it, in envelope order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<T> {
    /// The verified value.
    pub value: T,
    /// Every key whose signature verified.
    pub signers: Vec<PublicKey>,
}

impl<T: Signable> MultiSigned<T> {
    /// Signs `value` for `chain` with every signer in `signers`.
    pub fn sign(signers: &[&dyn Signer], chain: &ChainContext, value: &T) -> Self {
        let body = encode(value);
        let signatures = signers.iter().map(|s| SignerEntry::sign::<T>(*s, chain, &body)).collect();
        Self { body, signatures, _value: PhantomData }
    }

    /// Adds one more signature over the same body.
    pub fn add_signature(&mut self, signer: &dyn Signer, chain: &ChainContext) {
        self.signatures.push(SignerEntry::sign::<T>(signer, chain, &self.body));
    }

    /// Verifies every signature (at least one, distinct signers) and decodes the body.
    pub fn open(&self, chain: &ChainContext) -> Result<Opened<T>, OpenError> {
        check_size::<T>(&self.body)?;
        if self.signatures.is_empty() {
            return Err(OpenError::NoSignatures);
        }
        if self.signatures.len() > MAX_MULTI_SIGNERS {
            return Err(OpenError::TooManySigners(self.signatures.len()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for entry in &self.signatures {
            if !seen.insert(entry.public_key) {
                return Err(OpenError::DuplicateSigner(entry.public_key));
            }
            entry.verify::<T>(chain, &self.body)?;
        }
        let value = decode(&self.body, T::MAX_SIZE)?;
        Ok(Opened { value, signers: self.signatures.iter().map(|e| e.public_key).collect() })
    }
}

impl<T> MultiSigned<T> {
    /// Assembles an envelope from an encoded body and signatures (none are checked).
    pub fn from_parts(body: Vec<u8>, signatures: Vec<SignerEntry>) -> Self {
        Self { body, signatures, _value: PhantomData }
    }

    /// The signatures carried (not yet verified).
    pub fn signatures(&self) -> &[SignerEntry] {
        &self.signatures
    }

    /// The encoded, unverified body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

// Manual impls: derives would demand `T: Clone`, `T: Debug`, … although only bytes are held.
macro_rules! envelope_impls {
    ($name:ident, $sigs:ident: $sig_ty:ty) => {
        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                Self { body: self.body.clone(), $sigs: self.$sigs.clone(), _value: PhantomData }
            }
        }

        impl<T> PartialEq for $name<T> {
            fn eq(&self, other: &Self) -> bool {
                self.body == other.body && self.$sigs == other.$sigs
            }
        }

        impl<T> Eq for $name<T> {}

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("body", &hex::encode(&self.body))
                    .field(stringify!($sigs), &self.$sigs)
                    .finish()
            }
        }

        impl<T> BorshSerialize for $name<T> {
            fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
                BorshSerialize::serialize(&self.body, writer)?;
                BorshSerialize::serialize(&self.$sigs, writer)
            }
        }

        impl<T> BorshDeserialize for $name<T> {
            fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
                let body = Vec::<u8>::deserialize_reader(reader)?;
                let $sigs = <$sig_ty>::deserialize_reader(reader)?;
                Ok(Self { body, $sigs, _value: PhantomData })
            }
        }
    };
}

envelope_impls!(Signed, signature: SignerEntry);
envelope_impls!(MultiSigned, signatures: Vec<SignerEntry>);
