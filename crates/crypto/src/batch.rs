//! Batch verification of Ed25519 signatures under ZIP-215 rules.
//!
//! ZIP-215 makes batch and single verification agree on every input, so a block verified
//! in one batch is valid exactly when each of its signatures is. When a batch fails, each
//! item is checked alone to report which ones are bad.

use atoll_types::{PublicKey, Signature};
use ed25519_consensus::batch;
use rand_core::OsRng;
use thiserror::Error;

/// Which queued signatures failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} of the batch's signatures are invalid (first at index {})", .failed.len(), .failed[0])]
pub struct BatchError {
    /// Indices (in queue order) of the signatures that do not verify. Never empty.
    pub failed: Vec<usize>,
}

/// Collects `(key, message, signature)` triples and verifies them together.
///
/// The message is hashed when it is queued, so the verifier does not keep it.
#[derive(Default)]
pub struct BatchVerifier {
    items: Vec<batch::Item>,
}

impl BatchVerifier {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `n` signatures.
    pub fn with_capacity(n: usize) -> Self {
        Self { items: Vec::with_capacity(n) }
    }

    /// Adds one signature to check.
    pub fn queue(&mut self, key: &PublicKey, message: &[u8], signature: &Signature) {
        let key = ed25519_consensus::VerificationKeyBytes::from(key.into_bytes());
        let signature = ed25519_consensus::Signature::from(signature.into_bytes());
        self.items.push(batch::Item::from((key, signature, &message)));
    }

    /// How many signatures are queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Verifies every queued signature; an empty batch verifies.
    pub fn verify(self) -> Result<(), BatchError> {
        let mut verifier = batch::Verifier::new();
        for item in self.items.iter().cloned() {
            verifier.queue(item);
        }
        if verifier.verify(OsRng).is_ok() {
            return Ok(());
        }
        let failed: Vec<usize> = self
            .items
            .into_iter()
            .enumerate()
            .filter(|(_, item)| item.clone().verify_single().is_err())
            .map(|(i, _)| i)
            .collect();
        // ZIP-215's cofactored equations make a batch of individually valid signatures
        // always verify, so this only happens if the batch held an invalid one; validity is
        // defined by single verification either way.
        if failed.is_empty() {
            return Ok(());
        }
        Err(BatchError { failed })
    }
}
