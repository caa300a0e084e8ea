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
