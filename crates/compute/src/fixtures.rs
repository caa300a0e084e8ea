//! Values the unit tests build alike: results headers, executed batches and commitment
//! bodies.

use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::ExecutorCommitmentBody;
use atoll_runtime_host::ExecuteResult;
use atoll_types::{Hash, PublicKey, Round, RuntimeId};

use crate::round::Executed;

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

/// A batch of `round` executed (at once) to `state_root` and `io_root`.
pub(crate) fn executed(round: Round, state_root: Hash, io_root: Hash) -> Executed {
    let header = ComputeResultsHeader { io_root, ..results(round, state_root) };
    let result = ExecuteResult {
        txs: Vec::new(),
        outcomes: Vec::new(),
        state_write_log: Vec::new(),
        state_root,
        io_write_log: Vec::new(),
        io_root,
        messages: Vec::new(),
    };
    Executed { result, header, took: std::time::Duration::ZERO }
}
