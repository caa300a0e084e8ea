//! HKDF-SHA256 key derivation.

use hkdf::Hkdf;
use sha2::Sha256;
use thiserror::Error;

/// The most output HKDF-SHA256 can produce (255 blocks of 32 bytes).
pub const MAX_HKDF_OUTPUT: usize = 255 * 32;

/// The requested output is longer than HKDF-SHA256 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("HKDF output of {0} bytes requested, at most {MAX_HKDF_OUTPUT} possible")]
pub struct KdfError(pub usize);

/// Derives a 32-byte key from input key material, a salt and a context (`info`).
pub fn derive_key(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is always within HKDF-SHA256's output limit.
    derive_key_into(ikm, salt, info, &mut out).expect("32 bytes is a valid HKDF length");
    out
}

/// Fills `out` with HKDF-SHA256 output.
pub fn derive_key_into(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), KdfError> {
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out).map_err(|_| KdfError(out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869, test case 1.
    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt = hex::decode("000102030405060708090a0b0c").expect("hex");
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").expect("hex");
        let mut okm = [0u8; 42];
        derive_key_into(&ikm, &salt, &info, &mut okm).expect("derive");
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn too_long_output_is_an_error() {
        let mut out = vec![0u8; MAX_HKDF_OUTPUT + 1];
        assert_eq!(derive_key_into(b"k", b"s", b"i", &mut out), Err(KdfError(MAX_HKDF_OUTPUT + 1)));
    }
}
