//! Ed25519 signing keys: in memory (tests, ephemeral keys) and in a key file (node keys).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use atoll_types::{PublicKey, Signature, Signer};
use ed25519_consensus::SigningKey;
use rand_core::{CryptoRng, OsRng, RngCore};
use thiserror::Error;
use zeroize::Zeroizing;

/// An Ed25519 key held in process memory.
#[derive(Clone)]
pub struct MemorySigner {
    key: SigningKey,
}

impl MemorySigner {
    /// The key with this 32-byte seed (the RFC 8032 private key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { key: SigningKey::from(seed) }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh key from `rng`.
    pub fn generate_with<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self { key: SigningKey::new(rng) }
    }

    /// The 32-byte seed. Handle with care: it is the private key.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }
}

impl Signer for MemorySigner {
    fn public_key(&self) -> PublicKey {
        PublicKey::from_bytes(self.key.verification_key().to_bytes())
    }

    fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature::from_bytes(self.key.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for MemorySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySigner({})", self.public_key())
    }
}

/// Why a key file could not be created or loaded.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// Reading or writing the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Group or others may access the file; the key may have leaked, so it is not used.
    #[error("key file {path} has mode {mode:o}; it must not be accessible by group or others (chmod 600)")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold a hex-encoded 32-byte seed.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The longest key file we read: a 64-digit hex seed plus whitespace.
const MAX_KEY_FILE_LEN: u64 = 1024;

/// An Ed25519 key stored in a file readable only by its owner (mode 0600).
///
/// The file holds the 32-byte seed as hex on one line. [`FileSigner::load`] refuses a file
/// that group or others can access.
#[derive(Debug, Clone)]
pub struct FileSigner {
    path: PathBuf,
    signer: MemorySigner,
}

impl FileSigner {
    /// Creates a new key at `path` with mode 0600. Fails if the file exists.
    pub fn generate(path: &Path) -> Result<Self, KeyFileError> {
        Self::create(path, &MemorySigner::generate().seed())
    }

    /// Stores the key with this seed at `path` with mode 0600 (an import). Fails if the
    /// file exists.
    pub fn create(path: &Path, seed: &[u8; 32]) -> Result<Self, KeyFileError> {
        let signer = MemorySigner::from_seed(*seed);
        let io = |source| KeyFileError::Io { path: path.to_owned(), source };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut line = Zeroizing::new(hex::encode(*signer.seed()));
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { path: path.to_owned(), signer })
    }

    /// Loads the key at `path`, refusing it if group or others can access the file.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io { path: path.to_owned(), source };
        let mut file = fs::File::open(path).map_err(io)?;
        let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::InsecurePermissions { path: path.to_owned(), mode });
        }
        let mut text = Zeroizing::new(String::new());
        Read::take(&mut file, MAX_KEY_FILE_LEN + 1).read_to_string(&mut text).map_err(|e| {
            KeyFileError::Malformed { path: path.to_owned(), reason: e.to_string() }
        })?;
        let malformed = |reason: &str| KeyFileError::Malformed {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        if text.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(malformed("file is too long for a key"));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), seed.as_mut())
            .map_err(|_| malformed("expected a 64-digit hex seed"))?;
        Ok(Self { path: path.to_owned(), signer: MemorySigner::from_seed(*seed) })
    }

    /// Loads the key at `path`, creating it first if there is no file.
    pub fn load_or_generate(path: &Path) -> Result<Self, KeyFileError> {
        match Self::generate(path) {
            Err(KeyFileError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Self::load(path)
            }
            other => other,
        }
    }

    /// The 32-byte seed. Handle with care: it is the private key.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        self.signer.seed()
    }

    /// Where the key lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    fn sign_raw(&self, message: &[u8]) -> Signature {
        self.signer.sign_raw(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_writes_owner_only_file_and_load_returns_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.key");
        let created = FileSigner::generate(&path).expect("generate");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = FileSigner::load(&path).expect("load");
        assert_eq!(loaded.public_key(), created.public_key());
        assert!(matches!(FileSigner::generate(&path), Err(KeyFileError::Io { .. })));
        let again = FileSigner::load_or_generate(&path).expect("load existing");
        assert_eq!(again.public_key(), created.public_key());
    }

    #[test]
    fn refuses_readable_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.key");
        FileSigner::generate(&path).expect("generate");
        for mode in [0o644, 0o640, 0o604] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            assert!(matches!(
                FileSigner::load(&path),
                Err(KeyFileError::InsecurePermissions { mode: m, .. }) if m == mode
            ));
        }
    }

    #[test]
    fn refuses_malformed_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in [
            ("short", "abcd\n".to_owned()),
            ("not-hex", "zz".repeat(32)),
            ("long", "0".repeat(4096)),
            ("empty", String::new()),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, content).expect("write");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
            assert!(
                matches!(FileSigner::load(&path), Err(KeyFileError::Malformed { .. })),
                "{name} must be refused"
            );
        }
        assert!(matches!(
            FileSigner::load(&dir.path().join("missing")),
            Err(KeyFileError::Io { .. })
        ));
    }
}
