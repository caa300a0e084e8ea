//! Runtime state sync: a compute node that cannot replay the rounds it lacks (their blocks
//! left the consensus state, or no peer keeps their write logs any more), or that is more
//! than its `state_sync_behind` rounds behind, rebuilds the state of the latest finalized
//! round from a peer's checkpoint and follows from there.
//!
//! Nothing is taken on the peer's word: the checkpoint must be of the state root that the
//! runtime block finalized by the consensus layer names, and every chunk is a range proof
//! verified against that root as it arrives (a chunk that does not verify is asked from
//! the next peers). Peers cut checkpoints on demand from the state they keep and remember
//! the last one they cut.

use std::sync::{Arc, Mutex};

use atoll_consensus::roothash::RuntimeBlockHeader;
use atoll_mkvs::checkpoint::{Manifest, Restore};
use atoll_mkvs::RangeProof;
use atoll_types::Round;

use crate::p2p::{FetchRequest, FetchResponse, P2p};
use crate::storage::RuntimeStorage;
use crate::{ComputeError, Shared};

/// Most entries in one chunk of a runtime checkpoint.
pub const CHUNK_KEYS: usize = 512;
/// Most bytes of keys and values in one chunk (a larger single entry has a chunk of its
/// own): well under a fetch response's limit.
pub const CHUNK_BYTES: usize = 8 << 20;

/// The checkpoint this node last cut for its peers, by state version.
#[derive(Default)]
pub(crate) struct Served(Mutex<Option<(u64, Manifest)>>);

impl Served {
    /// The checkpoint of the state after `round` (the latest kept version at or before
    /// it), if this node keeps that state.
    pub(crate) fn manifest(&self, storage: &RuntimeStorage, round: Round) -> Option<Manifest> {
        let version = storage.state_at(round.0).ok()?.version;
        if let Ok(cached) = self.0.lock() {
            if let Some((_, manifest)) = cached.as_ref().filter(|(v, _)| *v == version) {
                return Some(manifest.clone());
            }
        }
        let manifest = match storage.checkpoint(round.0, CHUNK_KEYS, CHUNK_BYTES) {
            Ok(manifest) => manifest?,
            Err(error) => {
                tracing::warn!(round = round.0, %error, "could not cut a runtime checkpoint");
                return None;
            }
        };
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((version, manifest.clone()));
        }
        Some(manifest)
    }
}

/// The proven entries of the state after `round` from `start` to `end` (at most
/// [`CHUNK_KEYS`]), if this node keeps that state.
pub(crate) fn chunk(
    storage: &RuntimeStorage,
    round: Round,
    start: &[u8],
    end: Option<&[u8]>,
) -> Option<RangeProof> {
    storage.checkpoint_chunk(round.0, start, end, CHUNK_KEYS).ok().flatten()
}

/// Rebuilds the state after `block` (a finalized runtime block) from peers' checkpoints
/// and stores it as that round; `false` when no peer could provide all of it yet.
pub(crate) async fn restore(
    shared: &Arc<Shared>,
    p2p: &P2p,
    block: &RuntimeBlockHeader,
) -> Result<bool, ComputeError> {
    let round = block.round;
    let mut restore = None;
    for answer in p2p.fetch(FetchRequest::Checkpoint(round)).await {
        if let FetchResponse::Checkpoint(Some(manifest)) = answer {
            match Restore::new(manifest, &block.state_root) {
                Ok(accepted) => {
                    restore = Some(accepted);
                    break;
                }
                Err(error) => tracing::debug!(round = round.0, %error, "checkpoint refused"),
            }
        }
    }
    let Some(mut restore) = restore else {
        tracing::info!(round = round.0, "no peer has a checkpoint of the round's state yet");
        return Ok(false);
    };
    let chunks = restore.manifest().chunks();
    for index in restore.missing() {
        let (start, end) = restore.manifest().range(index)?;
        let request = FetchRequest::CheckpointChunk {
            round,
            start: start.to_vec(),
            end: end.map(<[u8]>::to_vec),
        };
        let mut added = false;
        for answer in p2p.fetch(request).await {
            if let FetchResponse::CheckpointChunk(Some(proof)) = answer {
                match restore.add(index, &proof) {
                    Ok(_) => {
                        added = true;
                        break;
                    }
                    Err(error) => tracing::debug!(index, %error, "checkpoint chunk refused"),
                }
            }
        }
        if !added {
            tracing::info!(round = round.0, index, chunks, "checkpoint chunk not available yet");
            return Ok(false);
        }
    }
    let storing = Arc::clone(shared);
    tokio::task::spawn_blocking(move || storing.storage().restore(round, restore))
        .await
        .map_err(|e| ComputeError::Internal(e.to_string()))??;
    tracing::info!(round = round.0, chunks, "restored the runtime state from a peer's checkpoint");
    Ok(true)
}
