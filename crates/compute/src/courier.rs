//! Where this node's signed commitments go in the round in progress, and when: a pure state
//! machine over [`crate::gather`]'s parts. Inputs are this node's own commitments (on its
//! batch, on another scheduler's, as a backup's vote), commitments gossiped to it, what the
//! chain holds after a block, and the time; outputs are [`Dispatch`]es — gossip a commitment,
//! submit some on chain — which the round machine ([`crate::machine`]) hands its driver. So
//! the routing, and what a withholding scheduler or a leading backup that is down does to
//! it, is tested here without a network or a chain.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use atoll_consensus::roothash::pool::CommitmentPool;
use atoll_consensus::roothash::{ExecutorCommitmentBody, SignedCommitment, MAX_COMMITMENTS_PER_TX};
use atoll_types::{PublicKey, Round};

use crate::gather::{gather_wait, outbox_wait, Deadline, Gathering, Outbox};
use crate::round::lead_backup;

/// What the courier asks the worker to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// Gossip this commitment to the runtime's nodes, for the one that gathers it.
    Gossip(SignedCommitment),
    /// Submit these commitments on chain in one transaction (`fallback`: this node's own,
    /// which the node that gathers it did not bring in time).
    Submit { commitments: Vec<SignedCommitment>, fallback: bool },
}

/// What the courier needs to know of the round at each step.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    /// This node.
    pub(crate) me: PublicKey,
    pub(crate) round: Round,
    /// The consensus height this node has seen.
    pub(crate) height: u64,
    pub(crate) now: Instant,
    /// The round's primary workers.
    pub(crate) workers: &'a [PublicKey],
    /// The round's backup workers.
    pub(crate) backups: &'a [PublicKey],
    /// The scheduler whose batch the backups resolve, once a discrepancy is declared.
    pub(crate) discrepancy: Option<PublicKey>,
    /// Whether this node submits the commitments others gossip to it (its byzantine mode).
    pub(crate) gathers: bool,
}

impl Context<'_> {
    fn leads_backups(&self) -> bool {
        lead_backup(self.backups) == Some(self.me)
    }
}

/// The commitments of the round in progress on their way to the chain.
#[derive(Default)]
pub(crate) struct Courier {
    /// The workers' commitments on this node's own batch.
    gathering: Gathering,
    /// This node's commitments on others' batches, until the chain has them.
    outbox: Outbox,
    /// The backups' votes, if this node leads the backups.
    backup_votes: Gathering,
    /// This backup's vote, until the chain has it (if another backup leads).
    backup_outbox: Outbox,
    /// Backups' commitments that came before this node, leading the backups, knew of a
    /// discrepancy (the others may see its block first, and a backup that committed as a
    /// worker votes at once): by node and the scheduler of the batch.
    early: BTreeMap<(PublicKey, PublicKey), SignedCommitment>,
}

impl Courier {
    /// This node's commitment on its own batch: held for the workers' until `deadline`
    /// ([`Deadline::new`]).
    pub(crate) fn own_batch(
        &mut self,
        cx: &Context<'_>,
        signed: SignedCommitment,
        deadline: Deadline,
    ) -> Vec<Dispatch> {
        self.gathering.start((cx.me, signed), deadline, cx.now);
        self.due(cx)
    }

    /// This node's commitment on `scheduler`'s batch, executed in `took`: gossiped to the
    /// scheduler and kept until the chain has it.
    pub(crate) fn for_scheduler(
        &mut self,
        cx: &Context<'_>,
        scheduler: PublicKey,
        signed: SignedCommitment,
        took: Duration,
    ) -> Vec<Dispatch> {
        self.outbox.record(scheduler, signed.clone(), cx.now, outbox_wait(took));
        vec![Dispatch::Gossip(signed)]
    }

    /// This backup's vote on `scheduler`'s batch in a discrepancy, executed in `took`: held
    /// with the others' if this node leads the backups, else gossiped to the leading backup
    /// and kept until the chain has it.
    pub(crate) fn backup_vote(
        &mut self,
        cx: &Context<'_>,
        scheduler: PublicKey,
        signed: SignedCommitment,
        took: Duration,
    ) -> Vec<Dispatch> {
        match lead_backup(cx.backups) {
            Some(lead) if lead == cx.me => {
                let deadline = Deadline::backups(cx.now, gather_wait(took), cx.height);
                self.backup_votes.set_quorum(cx.backups.len() / 2 + 1);
                self.backup_votes.start((cx.me, signed), deadline, cx.now);
                for ((node, on), vote) in std::mem::take(&mut self.early) {
                    if on == scheduler {
                        self.backup_votes.offer(node, vote, cx.now);
                    }
                }
                self.due(cx)
            }
            Some(_) => {
                // The leading backup submits two blocks on at the latest: due if the block
                // after the one its submission may land in still lacks this vote (it may
                // be down, or withhold).
                let by = (outbox_wait(took), cx.height.saturating_add(3));
                self.backup_outbox.record_by(scheduler, signed.clone(), cx.now, by);
                vec![Dispatch::Gossip(signed)]
            }
            None => vec![Dispatch::Submit { commitments: vec![signed], fallback: false }],
        }
    }

    /// A commitment gossiped by `node` (its signature checked, for this runtime and round):
    /// gathered if it is a worker's on this node's own batch, or a backup's vote in the
    /// discrepancy while this node leads the backups (a backup's that comes before this
    /// node knows of a discrepancy is kept for one); returns whether it was gathered (new).
    pub(crate) fn offered(
        &mut self,
        cx: &Context<'_>,
        node: PublicKey,
        body: &ExecutorCommitmentBody,
        signed: SignedCommitment,
    ) -> bool {
        if !cx.gathers || body.round != cx.round {
            return false;
        }
        let gathered = cx.workers.contains(&node)
            && body.scheduler == cx.me
            && self.gathering.offer(node, signed.clone(), cx.now);
        let backup = cx.backups.contains(&node) && cx.leads_backups();
        if backup && cx.discrepancy.is_none() {
            self.early.insert((node, body.scheduler), signed);
            return gathered;
        }
        let voted = backup
            && cx.discrepancy == Some(body.scheduler)
            && self.backup_votes.offer(node, signed, cx.now);
        gathered || voted
    }

    /// What the chain holds after a block: `bodies`, the round's commitments (`(node,
    /// body)`), and `pool`, its commitment pool. This node's commitments there need no
    /// sending any more; one on a batch whose scheduler's own commitment the chain holds
    /// without it (or a backup vote the leading backup's vote came without) is due once a
    /// later block lacks it too.
    pub(crate) fn on_chain(
        &mut self,
        cx: &Context<'_>,
        bodies: impl Iterator<Item = (PublicKey, ExecutorCommitmentBody)>,
        pool: Option<&CommitmentPool>,
    ) {
        let mut submitted = Vec::new();
        for (node, body) in bodies.filter(|(_, b)| b.round == cx.round) {
            if node == cx.me {
                self.outbox.landed(&body.scheduler);
            } else if node == body.scheduler {
                submitted.push(node);
            }
        }
        for scheduler in submitted {
            self.outbox.passed_over(&scheduler, cx.height);
        }
        // A backup's vote: the pool tells it from the same node's primary one.
        let (Some(scheduler), Some(pool)) = (cx.discrepancy, pool) else { return };
        if pool.round() != cx.round {
            return;
        }
        if pool.backup_voted(&scheduler, &cx.me) {
            self.backup_outbox.landed(&scheduler);
        } else if lead_backup(cx.backups).is_some_and(|lead| pool.backup_voted(&scheduler, &lead)) {
            self.backup_outbox.passed_over(&scheduler, cx.height);
        }
    }

    /// What is due now: the gathered commitments (this node's batch, or the backups' votes
    /// it leads), and this node's own the chain still lacks past their wait.
    pub(crate) fn due(&mut self, cx: &Context<'_>) -> Vec<Dispatch> {
        let at = (cx.now, cx.height);
        let mut sends: Vec<Dispatch> = self
            .gathering
            .due(at, cx.workers, MAX_COMMITMENTS_PER_TX)
            .into_iter()
            .chain(self.backup_votes.due(at, cx.backups, MAX_COMMITMENTS_PER_TX))
            .map(|commitments| Dispatch::Submit { commitments, fallback: false })
            .collect();
        let own = self.outbox.due(cx.now, cx.height);
        let votes = self.backup_outbox.due(cx.now, cx.height);
        sends.extend(
            own.into_iter()
                .chain(votes)
                .map(|c| Dispatch::Submit { commitments: vec![c], fallback: true }),
        );
        sends
    }

    /// The round became the one in progress at `height`, having been executed ahead: the
    /// workers' commitments on this node's batch are awaited until the next block from
    /// there (while ahead, blocks that finalize the previous round do not count).
    pub(crate) fn round_started(&mut self, height: u64) {
        self.gathering.rebase(height.saturating_add(1));
    }

    /// Whether a commitment is on its way: held to submit with others, or waiting for
    /// another node to bring it.
    pub(crate) fn pending(&self) -> bool {
        self.gathering.pending()
            || self.outbox.pending()
            || self.backup_votes.pending()
            || self.backup_outbox.pending()
    }

    /// How late the workers' commitments on this node's batch came after its own
    /// ([`Gathering::lateness`]).
    pub(crate) fn lateness(&self) -> Option<Duration> {
        self.gathering.lateness()
    }
}

#[cfg(test)]
mod tests;
