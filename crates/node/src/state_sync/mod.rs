//! State sync: a new node rebuilds the consensus state from a peer's checkpoint instead of
//! replaying every block since genesis.
//!
//! The operator names one block to trust — height `T` and its id, checked against a source
//! they trust (`GET /v1/checkpoints` on any node lists the pair for each checkpoint) — or
//! lets the peers agree on one ([`trust_from_peers`]). With
//! `C = T − 2` a checkpoint height, the node fetches from the given peers (their APIs):
//!
//! 1. block `T` with its certificate — its id must be the trusted one;
//! 2. block `C + 1` — its id must be `T`'s `previous_block_id`;
//! 3. the manifest of checkpoint `C` — its root must be `C + 1`'s app hash — and every
//!    chunk, each verified against that root as it arrives (a bad one is asked from the
//!    next peer);
//! 4. the write log of block `C + 1` — applied to state `C`, it must give `T`'s app hash.
//!
//! Both certificates are then checked against the validator sets the rebuilt states name.
//! The data directory ends up holding states `C` and `C + 1` and blocks `C + 1` and `T`:
//! started on it, the node replays block `T` (as after a crash between storing a block and
//! committing its state) and follows the chain from `T + 1` through ordinary block sync.
//! Nothing is written unless all of this verified.
//!
//! Limits: the node holds no state and no block before `C`; double-signing evidence about
//! a height before `C + 1` cannot be judged by it (the validator set of that height is not
//! in its state), so it could not apply a block carrying such evidence — within the
//! 1,000-block evidence window after a sync. ParaTime state is not synced here: a compute
//! node restores its runtime's state from the other compute nodes (`atoll_compute`'s
//! `checkpoint`).

mod trust;

use std::path::Path;
use std::time::Instant;

use atoll_client::Client;
use atoll_consensus::{scheduler, ConsensusState};
use atoll_engine::{Block, BlockStore, CommitCertificate};
use atoll_mkvs::checkpoint::{CheckpointError, Manifest, Restore};
use atoll_mkvs::{Mkvs, RangeProof, RedbNodeDb, Root, RootKind, WriteLog, CONSENSUS_NAMESPACE};
use atoll_types::{decode, ChainContext, Hash, Height};
use thiserror::Error;

pub use trust::{trust_from_peers, MIN_AGREEING_PEERS};

/// The largest raw block answer accepted (a maximum block, its certificate and room).
const MAX_RAW_BLOCK: usize = 20 << 20;
/// The largest manifest accepted.
const MAX_MANIFEST: usize = 64 << 20;
/// The largest chunk accepted.
const MAX_CHUNK: usize = 64 << 20;
/// The largest write log of one block accepted.
const MAX_WRITE_LOG: usize = 256 << 20;

/// Which block to trust, and where to fetch from.
#[derive(Clone, Debug)]
pub struct StateSyncPlan {
    /// The peers' API addresses.
    pub sources: Vec<String>,
    /// The trusted block's height.
    pub trust_height: u64,
    /// The trusted block's id.
    pub trust_id: Hash,
}

/// What a state sync fetched.
#[derive(Clone, Debug)]
pub struct SyncReport {
    /// The checkpoint's height.
    pub checkpoint: u64,
    /// The height the node continues from (the trusted block, replayed at start).
    pub trusted: u64,
    /// Chunks fetched and how many entries they held.
    pub chunks: usize,
    /// Entries of the checkpoint.
    pub entries: usize,
    /// Bytes fetched.
    pub bytes: u64,
    /// Chunks a peer answered wrongly (asked again elsewhere).
    pub refused: usize,
    /// Seconds it took.
    pub seconds: f64,
}

/// Why a state sync failed (nothing was written).
#[derive(Debug, Error)]
pub enum StateSyncError {
    /// The request cannot be served as given.
    #[error("{0}")]
    Plan(String),
    /// No peer gave a verifiable answer.
    #[error("{what}: no peer gave a verifiable answer (last: {last})")]
    Fetch {
        /// What was asked.
        what: String,
        /// The last peer's error.
        last: String,
    },
    /// An answer did not verify against the trusted block.
    #[error("{0}")]
    Verify(String),
    /// The checkpoint did not rebuild.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The data directory could not be written.
    #[error("data directory: {0}")]
    Store(String),
}

/// Parses `HEIGHT:BLOCK_ID` (the id in hex).
pub fn parse_trust(text: &str) -> Result<(u64, Hash), StateSyncError> {
    let bad = || StateSyncError::Plan(format!("--trust {text:?}: expected HEIGHT:BLOCK_ID"));
    let (height, id) = text.split_once(':').ok_or_else(bad)?;
    let height = height.parse().map_err(|_| bad())?;
    let id = id.parse().map_err(|_| bad())?;
    Ok((height, id))
}

/// Fetches from the peers until one answer passes `check`.
struct Peers {
    clients: Vec<Client>,
    next: usize,
    bytes: u64,
    refused: usize,
}

impl Peers {
    async fn fetch<T>(
        &mut self,
        what: &str,
        path: &str,
        limit: usize,
        mut check: impl FnMut(&[u8]) -> Result<T, String>,
    ) -> Result<T, StateSyncError> {
        let mut last = String::from("no peer");
        for _ in 0..self.clients.len() {
            let client = &self.clients[self.next % self.clients.len()];
            self.next += 1;
            match client.bytes(path, limit).await {
                Ok(bytes) => {
                    self.bytes += bytes.len() as u64;
                    match check(&bytes) {
                        Ok(value) => return Ok(value),
                        Err(e) => {
                            tracing::warn!(peer = client.base(), what, error = %e, "refused a state-sync answer");
                            self.refused += 1;
                            last = format!("{}: {e}", client.base());
                        }
                    }
                }
                Err(e) => last = format!("{}: {e}", client.base()),
            }
        }
        Err(StateSyncError::Fetch { what: what.to_owned(), last })
    }
}

fn raw_block(bytes: &[u8], height: u64) -> Result<(Block, CommitCertificate), String> {
    let (block, certificate): (Block, CommitCertificate) =
        decode(bytes, MAX_RAW_BLOCK).map_err(|e| format!("not a stored block: {e}"))?;
    if block.header.height.0 != height
        || certificate.height.0 != height
        || certificate.block_id != block.id()
    {
        return Err(format!("not block {height} with its certificate"));
    }
    Ok((block, certificate))
}

/// Rebuilds the consensus state and the blocks needed to continue from the trusted block
/// into `data_dir`, which must hold no state yet.
pub async fn state_sync(
    data_dir: &Path,
    chain: &ChainContext,
    plan: &StateSyncPlan,
) -> Result<SyncReport, StateSyncError> {
    let began = Instant::now();
    let trusted = plan.trust_height;
    let checkpoint = trusted.checked_sub(2).filter(|c| *c >= 1).ok_or_else(|| {
        StateSyncError::Plan(format!("--trust height {trusted}: a checkpoint height + 2 is needed"))
    })?;
    let clients = plan
        .sources
        .iter()
        .map(|s| Client::new(s).map_err(|e| StateSyncError::Plan(format!("{s}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if clients.is_empty() {
        return Err(StateSyncError::Plan("no peer to state-sync from (--state-sync URL)".into()));
    }
    let state_path = data_dir.join("state.redb");
    let blocks_path = data_dir.join("blocks.redb");
    if state_path.exists() || blocks_path.exists() {
        return Err(StateSyncError::Plan(format!(
            "{} already holds a chain: state sync starts from an empty data directory",
            data_dir.display()
        )));
    }
    let mut peers = Peers { clients, next: 0, bytes: 0, refused: 0 };

    let id = plan.trust_id;
    let (top, top_certificate) = peers
        .fetch("the trusted block", &format!("/v1/blocks/{trusted}/raw"), MAX_RAW_BLOCK, |b| {
            let (block, certificate) = raw_block(b, trusted)?;
            if block.id() != id {
                return Err(format!("block {trusted} has id {}, not the trusted {id}", block.id()));
            }
            Ok((block, certificate))
        })
        .await?;
    let next = checkpoint + 1;
    let parent_id = top.header.previous_block_id;
    let (middle, middle_certificate) = peers
        .fetch(
            "the block after the checkpoint",
            &format!("/v1/blocks/{next}/raw"),
            MAX_RAW_BLOCK,
            |b| {
                let (block, certificate) = raw_block(b, next)?;
                if block.id() != parent_id {
                    return Err(format!("block {next} is not the trusted block's parent"));
                }
                Ok((block, certificate))
            },
        )
        .await?;
    let expected = Root {
        namespace: CONSENSUS_NAMESPACE,
        kind: RootKind::State,
        version: checkpoint,
        hash: middle.header.app_hash,
    };
    let mut restore = peers
        .fetch(
            "the checkpoint's manifest",
            &format!("/v1/checkpoints/{checkpoint}/manifest"),
            MAX_MANIFEST,
            |b| {
                let manifest: Manifest =
                    decode(b, MAX_MANIFEST).map_err(|e| format!("not a manifest: {e}"))?;
                if manifest.root != expected {
                    return Err(format!(
                        "manifest for {:?}, not the trusted state {expected:?}",
                        manifest.root
                    ));
                }
                Restore::new(manifest, &expected.hash).map_err(|e| e.to_string())
            },
        )
        .await?;
    let mut entries = 0;
    let chunks = restore.manifest().chunks();
    for index in restore.missing() {
        let path = format!("/v1/checkpoints/{checkpoint}/chunks/{index}");
        entries += peers
            .fetch(&format!("chunk {index} of {chunks}"), &path, MAX_CHUNK, |b| {
                let proof: RangeProof =
                    decode(b, MAX_CHUNK).map_err(|e| format!("not a chunk: {e}"))?;
                restore.add(index, &proof).map_err(|e| e.to_string())
            })
            .await?;
    }
    let writes: WriteLog = peers
        .fetch(
            "the write log after the checkpoint",
            &format!("/v1/checkpoints/{checkpoint}/next"),
            MAX_WRITE_LOG,
            |b| decode(b, MAX_WRITE_LOG).map_err(|e| format!("not a write log: {e}")),
        )
        .await?;

    // Everything fetched verified so far; build the stores in a scratch directory first,
    // so a failure leaves the data directory as it was.
    let scratch = data_dir.join("state-sync.partial");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| StateSyncError::Store(e.to_string()))?;
    let built = build(
        &scratch,
        chain,
        restore,
        &writes,
        top.header.app_hash,
        [(&middle, &middle_certificate), (&top, &top_certificate)],
    );
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(e);
    }
    for name in ["state.redb", "blocks.redb"] {
        std::fs::rename(scratch.join(name), data_dir.join(name))
            .map_err(|e| StateSyncError::Store(format!("{name}: {e}")))?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(SyncReport {
        checkpoint,
        trusted,
        chunks,
        entries,
        bytes: peers.bytes,
        refused: peers.refused,
        seconds: began.elapsed().as_secs_f64(),
    })
}

/// Commits the checkpoint and the next state, checks both blocks' certificates against the
/// validator sets those states name, and stores the blocks.
fn build(
    dir: &Path,
    chain: &ChainContext,
    restore: Restore,
    writes: &WriteLog,
    top_app_hash: Hash,
    blocks: [(&Block, &CommitCertificate); 2],
) -> Result<(), StateSyncError> {
    let store_err = |e: &dyn std::fmt::Display| StateSyncError::Store(e.to_string());
    let db = RedbNodeDb::open(&dir.join("state.redb")).map_err(|e| store_err(&e))?;
    let state = ConsensusState::new(Mkvs::new(db));
    let root = restore.finish(state.store())?;
    state
        .store()
        .commit_expecting(
            CONSENSUS_NAMESPACE,
            RootKind::State,
            Some(root.version),
            root.version + 1,
            writes,
            top_app_hash,
        )
        .map_err(|e| {
            StateSyncError::Verify(format!(
                "the block after the checkpoint does not lead to the trusted state: {e}"
            ))
        })?;
    for (block, certificate) in blocks {
        let height = block.header.height.0;
        let tree = state.tree_at(Height(height - 1)).map_err(|e| store_err(&e))?;
        let validators = scheduler::validators(&tree).map_err(|e| store_err(&e))?;
        certificate
            .verify(chain, &validators)
            .map_err(|e| StateSyncError::Verify(format!("block {height}'s certificate: {e}")))?;
    }
    drop(state);
    let store = BlockStore::open(&dir.join("blocks.redb")).map_err(|e| store_err(&e))?;
    for (block, certificate) in blocks {
        store.put(block, certificate).map_err(|e| store_err(&e))?;
    }
    Ok(())
}
