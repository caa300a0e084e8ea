//! Values the unit tests build alike: results headers and commitment bodies.

use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::ExecutorCommitmentBody;
use atoll_types::{Hash, PublicKey, Round, RuntimeId};

/// The runtime of every test commitment.
pub(crate) const RUNTIME: RuntimeId = RuntimeId::from_bytes([1; 32]);

/// Results of `round` whose state root is `state_root` (everything else zero).
pub(crate) fn results(round: Round, state_root: Hash) -> ComputeResultsHeader {
    ComputeResultsHeader {
        round,
        previous_hash: Hash::ZERO,
        io_root: Hash::ZERO,
        state_root,
        messages_hash: Hash::ZERO,
        in_msgs_hash: Hash::ZERO,
        in_msgs_count: 0,
    }
}

/// A commitment on `scheduler`'s batch in `round` to `header` (`None`: failure).
pub(crate) fn body(
    round: Round,
    scheduler: PublicKey,
    header: Option<ComputeResultsHeader>,
) -> ExecutorCommitmentBody {
    ExecutorCommitmentBody { runtime: RUNTIME, round, scheduler, header, messages: Vec::new() }
}
