//! The block to trust when the operator names none: the peers named with `--state-sync`
//! must agree on it, and the genesis validators must stand behind it.
//!
//! Every peer is asked for the checkpoints it serves; the latest one that **every**
//! answering peer lists with the same trusted block is chosen (at least
//! [`MIN_AGREEING_PEERS`] must answer: one peer alone is not asked to be believed). That
//! block's certificate must then carry valid signatures of more than a third of the
//! genesis validators' power — the light client's skipping check from the one validator
//! set this node knows without asking anyone, its genesis. A chain whose validators have
//! mostly changed since genesis fails this check: the operator then names the block with
//! `--trust`. What is trusted: that the named peers are not all lying together, and that
//! the genesis validators who still sign are honest (a long-range attack by validators
//! who left long ago is what `--trust` with a recent block protects against).

use atoll_client::Client;
use atoll_consensus::{scheduler, ConsensusState, Genesis};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::Hash;

use super::{raw_block, Peers, StateSyncError, MAX_RAW_BLOCK};

/// Peers that must answer, and agree, before their checkpoint is trusted.
pub const MIN_AGREEING_PEERS: usize = 2;

/// The trusted block (height and id) the peers at `sources` agree on and the validators
/// of `genesis` signed.
pub async fn trust_from_peers(
    sources: &[String],
    genesis: &Genesis,
) -> Result<(u64, Hash), StateSyncError> {
    let mut sources = sources.to_vec();
    sources.sort();
    sources.dedup();
    let mut lists = Vec::new();
    let mut silent = Vec::new();
    for source in &sources {
        let client =
            Client::new(source).map_err(|e| StateSyncError::Plan(format!("{source}: {e}")))?;
        match client.checkpoints().await {
            Ok(list) => lists.push((client, list)),
            Err(e) => silent.push(format!("{source}: {e}")),
        }
    }
    if lists.len() < MIN_AGREEING_PEERS {
        return Err(StateSyncError::Plan(format!(
            "without --trust, at least {MIN_AGREEING_PEERS} peers must answer and agree on a \
             checkpoint; {} did{}",
            lists.len(),
            if silent.is_empty() { String::new() } else { format!(" ({})", silent.join("; ")) }
        )));
    }
    let agreed = lists[0]
        .1
        .iter()
        .rev()
        .filter_map(|c| Some((c.trust_height, c.trust_block_id?)))
        .find(|(height, id)| {
            lists.iter().all(|(_, list)| {
                list.iter().any(|c| c.trust_height == *height && c.trust_block_id == Some(*id))
            })
        })
        .ok_or_else(|| {
            StateSyncError::Verify(format!(
                "the {} peers agree on no checkpoint (each must list the same trusted block); \
                 name one with --trust",
                lists.len()
            ))
        })?;
    let (height, id) = agreed;
    let agreeing = lists.len();
    let clients = lists.into_iter().map(|(client, _)| client).collect();
    let mut peers = Peers { clients, next: 0, bytes: 0, refused: 0 };
    let path = format!("/v1/blocks/{height}/raw");
    let certificate = peers
        .fetch("the block the peers agree on", &path, MAX_RAW_BLOCK, |bytes| {
            let (block, certificate) = raw_block(bytes, height)?;
            if block.id() != id {
                return Err(format!("block {height} is not the one the peers named"));
            }
            Ok(certificate)
        })
        .await?;
    let validators = genesis_validators(genesis)?;
    let (signed, total) = certificate
        .signed_power(&genesis.chain_context(), &validators)
        .map_err(|e| StateSyncError::Verify(format!("block {height}'s certificate: {e}")))?;
    if signed * 3 <= total {
        return Err(StateSyncError::Verify(format!(
            "block {height} is signed by {signed} of the genesis validators' {total} voting \
             power, not more than a third: the validators changed since genesis; name the block \
             to trust with --trust"
        )));
    }
    tracing::info!(height, %id, peers = agreeing, "the peers agree on the block to trust");
    Ok((height, id))
}

/// The validator set `genesis` starts the chain with.
fn genesis_validators(genesis: &Genesis) -> Result<Vec<scheduler::Validator>, StateSyncError> {
    let invalid = |e: &dyn std::fmt::Display| StateSyncError::Plan(format!("genesis: {e}"));
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    let root = state.init_genesis(genesis).map_err(|e| invalid(&e))?;
    let tree = state.store().tree(&root).map_err(|e| invalid(&e))?;
    scheduler::validators(&tree).map_err(|e| invalid(&e))
}
