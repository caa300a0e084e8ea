//! The state queries behind the API's read endpoints, shared by the node (which answers them
//! over its state) and the client (which reruns them over a verified proof).

use atoll_consensus::chain;
use atoll_consensus::StateError;
use atoll_mkvs::KeyValueRead;

use crate::model::EpochInfo;

/// The epoch of the state's last height and when the next one starts.
pub fn epoch(state: &dyn KeyValueRead) -> Result<EpochInfo, StateError> {
    let params = chain::parameters(state)?;
    let height = chain::last_height(state)?;
    let epoch = params.epoch_of(height);
    let interval = params.epoch_interval.max(1);
    Ok(EpochInfo {
        height: height.0,
        epoch: epoch.0,
        epoch_interval: interval,
        next_epoch_height: epoch.0.saturating_add(1).saturating_mul(interval).saturating_add(1),
    })
}

/// Where `runtime` stands on the consensus layer, if it has roothash state.
pub fn roothash_summary(
    state: &dyn KeyValueRead,
    runtime: &atoll_types::RuntimeId,
) -> Result<Option<crate::model::RoothashSummary>, StateError> {
    use atoll_consensus::roothash::{self, HeaderType};
    let Some(rs) = roothash::runtime_state(state, runtime)? else { return Ok(None) };
    let header_type = match rs.last_block.header_type {
        HeaderType::Normal => "normal",
        HeaderType::RoundFailed => "round_failed",
        HeaderType::EpochTransition => "epoch_transition",
        HeaderType::Suspended => "suspended",
    };
    let (workers, backups) = rs
        .committee
        .as_ref()
        .map(|c| (c.pool.workers.clone(), c.pool.backups.clone()))
        .unwrap_or_default();
    let next = atoll_types::Round(rs.last_block.round.0 + 1);
    let mut schedulers: Vec<(u64, atoll_types::PublicKey)> = rs
        .committee
        .as_ref()
        .map(|c| c.pool.workers.iter().filter_map(|w| Some((c.pool.rank(w, next)?, *w))).collect())
        .unwrap_or_default();
    schedulers.sort();
    Ok(Some(crate::model::RoothashSummary {
        round: rs.last_block.round.0,
        header_type: header_type.to_owned(),
        block_hash: rs.last_block.hash(),
        state_root: rs.last_block.state_root,
        last_normal_round: rs.last_normal_round.0,
        suspended: rs.suspended,
        workers,
        backups,
        schedulers: schedulers.into_iter().map(|(_, w)| w).collect(),
        discrepancy: rs.pool.as_ref().is_some_and(|p| p.in_resolution()),
        incoming_queue: roothash::incoming_queue_len(state, runtime)? as u64,
    }))
}

/// The latest block of `runtime`.
pub fn runtime_latest_block(
    state: &dyn KeyValueRead,
    runtime: &atoll_types::RuntimeId,
) -> Result<Option<atoll_consensus::roothash::RuntimeBlockHeader>, StateError> {
    Ok(atoll_consensus::roothash::runtime_state(state, runtime)?.map(|rs| rs.last_block))
}
