//! A node's keys, in `<home>/keys/`, each in a file only its owner can read.
//!
//! | file | key |
//! |---|---|
//! | `entity.key` | the entity that owns the node and its stake (move it offline in production) |
//! | `identity.key` | the node id: signs registrations and node transactions |
//! | `consensus.key` | signs consensus votes |
//! | `p2p.key` | the peer-to-peer identity |
//! | `vrf.key` | the beacon VRF key |

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use atoll_crypto::{FileSigner, KeyFileError, VrfProof, VrfPublicKey, VrfSecretKey};
use atoll_types::{Address, PublicKey, Signer};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why keys could not be created or loaded.
#[derive(Debug, Error)]
pub enum KeysError {
    /// A key file failed.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The keys directory or the identity file could not be created, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
    /// The public identity file is missing or malformed.
    #[error("{path}: {reason}")]
    Identity {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The public identity's file name in a node's home.
pub const IDENTITY_FILE: &str = "node.json";

/// The node's keys.
pub struct NodeKeys {
    /// The owning entity.
    pub entity: FileSigner,
    /// The node's identity.
    pub identity: FileSigner,
    /// The consensus key.
    pub consensus: FileSigner,
    /// The p2p key.
    pub p2p: FileSigner,
    /// The VRF key.
    pub vrf: VrfSecretKey,
}

/// The public half of a node's keys, shared with whoever builds the genesis.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// The entity's key.
    pub entity_id: PublicKey,
    /// The entity's account address.
    pub entity_address: Address,
    /// The node id.
    pub node_id: PublicKey,
    /// The consensus key.
    pub consensus_key: PublicKey,
    /// The p2p key.
    pub p2p_key: PublicKey,
    /// The VRF public key.
    pub vrf_key: VrfPublicKey,
    /// The VRF key's proof of possession for this node (see
    /// [`atoll_consensus::registry::types::Node::vrf_possession`]).
    pub vrf_possession: VrfProof,
    /// The node's external p2p address.
    pub address: String,
}

impl NodeIdentity {
    /// Writes it to `<home>/node.json`.
    pub fn save(&self, home: &Path) -> Result<(), KeysError> {
        let path = home.join(IDENTITY_FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| KeysError::Identity { path: path.clone(), reason: e.to_string() })?;
        fs::write(&path, text).map_err(io(&path))
    }

    /// Reads `<home>/node.json`.
    pub fn load(home: &Path) -> Result<Self, KeysError> {
        let path = home.join(IDENTITY_FILE);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|e| KeysError::Identity { path, reason: e.to_string() })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeysError + '_ {
    move |source| KeysError::Io { path: path.to_owned(), source }
}

fn vrf_key(path: &Path, create: bool) -> Result<VrfSecretKey, KeysError> {
    // The VRF seed is stored like an Ed25519 seed: a FileSigner file gives us the
    // permission checks; its 32-byte seed seeds the VRF key.
    let signer = if create { FileSigner::generate(path)? } else { FileSigner::load(path)? };
    Ok(VrfSecretKey::from_seed(*signer.seed()))
}

/// The keys a running node uses: all but the entity key, which controls the stake and
/// need not be on the node's host at all (`keys/entity.key` may be moved offline once the
/// node is registered).
pub struct OperationalKeys {
    /// The node's identity.
    pub identity: FileSigner,
    /// The consensus key.
    pub consensus: FileSigner,
    /// The p2p key.
    pub p2p: FileSigner,
    /// The VRF key.
    pub vrf: VrfSecretKey,
}

impl OperationalKeys {
    /// Loads them from `<home>/keys`.
    pub fn load(home: &Path) -> Result<Self, KeysError> {
        let dir = home.join("keys");
        Ok(Self {
            identity: FileSigner::load(&dir.join("identity.key"))?,
            consensus: FileSigner::load(&dir.join("consensus.key"))?,
            p2p: FileSigner::load(&dir.join("p2p.key"))?,
            vrf: vrf_key(&dir.join("vrf.key"), false)?,
        })
    }
}

impl NodeKeys {
    /// Creates all keys in `<home>/keys` (mode 0700); fails if any key exists.
    pub fn generate(home: &Path) -> Result<Self, KeysError> {
        let dir = home.join("keys");
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(io(&dir))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io(&dir))?;
        Ok(Self {
            entity: FileSigner::generate(&dir.join("entity.key"))?,
            identity: FileSigner::generate(&dir.join("identity.key"))?,
            consensus: FileSigner::generate(&dir.join("consensus.key"))?,
            p2p: FileSigner::generate(&dir.join("p2p.key"))?,
            vrf: vrf_key(&dir.join("vrf.key"), true)?,
        })
    }

    /// Loads the keys from `<home>/keys`.
    pub fn load(home: &Path) -> Result<Self, KeysError> {
        let OperationalKeys { identity, consensus, p2p, vrf } = OperationalKeys::load(home)?;
        let entity = FileSigner::load(&home.join("keys").join("entity.key"))?;
        Ok(Self { entity, identity, consensus, p2p, vrf })
    }

    /// The public identity, with the node's external address.
    pub fn identity(&self, address: &str) -> NodeIdentity {
        NodeIdentity {
            entity_id: self.entity.public_key(),
            entity_address: Address::from_public_key(&self.entity.public_key()),
            node_id: self.identity.public_key(),
            consensus_key: self.consensus.public_key(),
            p2p_key: self.p2p.public_key(),
            vrf_key: self.vrf.public_key(),
            vrf_possession: self
                .vrf
                .prove(&atoll_crypto::possession_input(self.identity.public_key().as_bytes()))
                .1,
            address: address.to_owned(),
        }
    }
}
