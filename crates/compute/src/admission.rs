//! Gossiped runtime transactions, admitted off the worker loop: collected into batches,
//! checked by the checking runtime process (never the one that executes rounds) and pooled;
//! gossip forwards only what was admitted. Proposals go on to the worker.

use std::sync::Arc;

use atoll_engine::gossip::{message_verdict, Verdict};
use atoll_types::Hash;
use tokio::sync::mpsc;

use crate::p2p::{GossipMessage, P2p, Received};
use crate::{pool_sender, ComputeError, Shared};

/// Gossiped transactions checked in one call (whole messages: a batch may end beyond).
const CHECK_BATCH: usize = 256;

/// Takes gossip from the network: transactions are checked here, in batches of whole
/// messages; everything else goes to the worker on `worker`. A message's verdict is its
/// transactions' together ([`message_verdict`]).
pub(crate) async fn run(
    shared: Arc<Shared>,
    p2p: P2p,
    mut gossip: mpsc::Receiver<Received>,
    worker: mpsc::Sender<Received>,
) {
    while let Some(first) = gossip.recv().await {
        // The transactions to check, and each message's ticket and count of them.
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut messages: Vec<(u64, usize)> = Vec::new();
        let mut next = Some(first);
        while let Some(Received { message, ticket }) = next.take() {
            match message {
                GossipMessage::Transactions(raws) => {
                    messages.push((ticket, raws.len()));
                    batch.extend(raws);
                }
                other => {
                    if worker.try_send(Received { message: other, ticket }).is_err() {
                        p2p.report(ticket, Verdict::Ignore);
                    }
                }
            }
            if batch.len() < CHECK_BATCH {
                next = gossip.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        let verdicts = match admit(&shared, &batch).await {
            Ok(verdicts) => verdicts,
            Err(e) => {
                tracing::debug!(error = %e, "gossiped runtime transactions not checked");
                vec![Verdict::Ignore; batch.len()]
            }
        };
        let mut verdicts = verdicts.into_iter();
        for (ticket, count) in messages {
            let each: Vec<Verdict> = verdicts.by_ref().take(count).collect();
            p2p.report(ticket, message_verdict(&each));
        }
    }
}

/// Checks and pools `batch`; a verdict per transaction (accepted only if pooled now).
async fn admit(shared: &Arc<Shared>, batch: &[Vec<u8>]) -> Result<Vec<Verdict>, ComputeError> {
    let fresh: Vec<usize> = {
        let pool = shared.pool.lock().map_err(|_| ComputeError::Internal("pool lock".into()))?;
        (0..batch.len()).filter(|i| !pool.contains(&Hash::digest(&batch[*i]))).collect()
    };
    let mut verdicts = vec![Verdict::Ignore; batch.len()];
    if fresh.is_empty() {
        return Ok(verdicts);
    }
    let txs: Vec<Vec<u8>> = fresh.iter().map(|i| batch[*i].clone()).collect();
    let outcomes = shared.check_all(txs).await?;
    let mut pool = shared.pool.lock().map_err(|_| ComputeError::Internal("pool lock".into()))?;
    for (i, outcome) in fresh.into_iter().zip(outcomes) {
        if outcome.error.is_none()
            && pool.insert(batch[i].clone(), outcome.gas_price, pool_sender(&outcome)).is_ok()
        {
            shared.announce_pooled(&batch[i]);
            verdicts[i] = Verdict::Accept;
        }
    }
    Ok(verdicts)
}
