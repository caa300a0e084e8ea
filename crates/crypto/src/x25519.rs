//! X25519 key agreement.

use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::{CryptoRng, OsRng, RngCore};
use thiserror::Error;
use zeroize::Zeroizing;

/// An X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct X25519PublicKey(pub [u8; 32]);

/// An X25519 secret key.
#[derive(Clone)]
pub struct X25519SecretKey(x25519_dalek::StaticSecret);

/// Key agreement produced no shared secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum X25519Error {
    /// The peer's key is a low-order point: the "shared" secret would be all zeros.
    #[error("peer public key is a low-order point")]
    NonContributory,
}

impl X25519SecretKey {
    /// The secret key with these bytes (clamped as X25519 requires).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::StaticSecret::from(bytes))
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh key from `rng`.
    pub fn generate_with<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(x25519_dalek::StaticSecret::random_from_rng(rng))
    }

    /// The matching public key.
    pub fn public_key(&self) -> X25519PublicKey {
        X25519PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// The secret bytes. Handle with care.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The shared secret with `peer`, refusing low-order peer keys.
    pub fn diffie_hellman(
        &self,
        peer: &X25519PublicKey,
    ) -> Result<Zeroizing<[u8; 32]>, X25519Error> {
        let shared = self.0.diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err(X25519Error::NonContributory);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl std::fmt::Debug for X25519SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "X25519SecretKey(public: {})", hex::encode(self.public_key().0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).expect("hex");
        out
    }

    /// RFC 7748, section 6.1.
    #[test]
    fn rfc7748_diffie_hellman() {
        let alice = X25519SecretKey::from_bytes(hex32(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = X25519SecretKey::from_bytes(hex32(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            hex::encode(alice.public_key().0),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert_eq!(
            hex::encode(bob.public_key().0),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
        );
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        assert_eq!(hex::encode(*alice.diffie_hellman(&bob.public_key()).expect("dh")), shared);
        assert_eq!(hex::encode(*bob.diffie_hellman(&alice.public_key()).expect("dh")), shared);
    }

    #[test]
    fn low_order_peer_is_refused() {
        let key = X25519SecretKey::generate();
        assert_eq!(
            key.diffie_hellman(&X25519PublicKey([0; 32])),
            Err(X25519Error::NonContributory)
        );
    }
}
