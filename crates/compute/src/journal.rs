//! What this node signed in the round in progress, written to disk before anything is
//! published: after a restart the node re-sends the same proposal and commitments instead
//! of signing different ones, which the chain would punish as equivocation.
//!
//! Two rounds are kept (a node signs for the round in progress and, executing ahead, for
//! the next one); the file is replaced atomically (write, sync, rename), so a crash leaves
//! either the old or the new record.

use std::io::Write;
use std::path::{Path, PathBuf};

use atoll_consensus::roothash::SignedCommitment;
use atoll_types::{Hash, PublicKey, Round};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::p2p::Proposal;
use crate::ComputeError;

/// The largest journal this node reads back (a proposal and a few commitments).
const MAX_JOURNAL: usize = 64 << 20;

/// Everything signed for one round, which builds on the block `previous_hash`.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub(crate) struct SignedRound {
    /// The round.
    pub round: Round,
    /// The runtime block it builds on.
    pub previous_hash: Hash,
    /// This node's proposal, if it proposed.
    pub proposal: Option<Proposal>,
    /// This node's commitments, one per scheduler.
    pub commitments: Vec<(PublicKey, SignedCommitment)>,
}

/// Rounds the journal keeps: the round in progress and the next one.
const KEPT_ROUNDS: usize = 2;

/// The on-disk record of the rounds this node signs for.
pub(crate) struct Journal {
    path: PathBuf,
    /// The latest rounds, oldest first.
    rounds: Vec<SignedRound>,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ComputeError {
    ComputeError::Internal(format!("signing journal {}: {e}", path.display()))
}

impl Journal {
    /// Opens the journal at `path` (empty if there is none yet); a file that does not
    /// decode is an error: starting without it could sign twice.
    pub(crate) fn open(path: PathBuf) -> Result<Self, ComputeError> {
        let rounds = match std::fs::read(&path) {
            // A journal written before rounds were executed ahead holds one round.
            Ok(bytes) => atoll_types::decode::<Vec<SignedRound>>(&bytes, MAX_JOURNAL)
                .or_else(|_| atoll_types::decode::<SignedRound>(&bytes, MAX_JOURNAL).map(|r| vec![r]))
                .map_err(|e| io_error(&path, format!("corrupt ({e}); remove it only if this node signed nothing for the rounds in progress")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_error(&path, e)),
        };
        Ok(Self { path, rounds })
    }

    /// What was signed for `round` on top of `previous_hash` (nothing if the journal is
    /// about other rounds).
    pub(crate) fn round(&self, round: Round, previous_hash: Hash) -> Option<&SignedRound> {
        self.rounds.iter().find(|r| r.round == round && r.previous_hash == previous_hash)
    }

    /// The commitment signed on `scheduler`'s batch in `round`, if any.
    pub(crate) fn commitment(
        &self,
        round: Round,
        previous_hash: Hash,
        scheduler: &PublicKey,
    ) -> Option<&SignedCommitment> {
        self.round(round, previous_hash)?
            .commitments
            .iter()
            .find(|(s, _)| s == scheduler)
            .map(|(_, signed)| signed)
    }

    /// Records a proposal (durably) before it is published.
    pub(crate) fn record_proposal(
        &mut self,
        round: Round,
        previous_hash: Hash,
        proposal: &Proposal,
    ) -> Result<(), ComputeError> {
        self.enter(round, previous_hash).proposal = Some(proposal.clone());
        self.persist()
    }

    /// Records a commitment on `scheduler`'s batch (durably) before it is submitted.
    pub(crate) fn record_commitment(
        &mut self,
        round: Round,
        previous_hash: Hash,
        scheduler: PublicKey,
        signed: &SignedCommitment,
    ) -> Result<(), ComputeError> {
        let entry = self.enter(round, previous_hash);
        entry.commitments.retain(|(s, _)| *s != scheduler);
        entry.commitments.push((scheduler, signed.clone()));
        self.persist()
    }

    /// The record of `round` on top of `previous_hash`: a new one replaces the round's
    /// record on another block, and the oldest beyond [`KEPT_ROUNDS`] go.
    fn enter(&mut self, round: Round, previous_hash: Hash) -> &mut SignedRound {
        let found = self.rounds.iter().position(|r| r.round == round);
        let index = match found {
            Some(i) if self.rounds[i].previous_hash == previous_hash => i,
            Some(i) => {
                self.rounds[i] = SignedRound { round, previous_hash, ..SignedRound::default() };
                i
            }
            None => {
                self.rounds.push(SignedRound { round, previous_hash, ..SignedRound::default() });
                self.rounds.sort_by_key(|r| r.round);
                if self.rounds.len() > KEPT_ROUNDS {
                    // The oldest goes (not the one entered, were it older still).
                    let oldest = usize::from(self.rounds[0].round == round);
                    self.rounds.remove(oldest);
                }
                self.rounds.iter().position(|r| r.round == round).unwrap_or_default()
            }
        };
        &mut self.rounds[index]
    }

    fn persist(&self) -> Result<(), ComputeError> {
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&atoll_types::encode(&self.rounds))?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| io_error(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atoll_consensus::roothash::ExecutorCommitmentBody;
    use atoll_crypto::MemorySigner;
    use atoll_types::{ChainContext, RuntimeId, Signed, Signer};

    fn commitment(signer: &MemorySigner, round: Round) -> SignedCommitment {
        let body = ExecutorCommitmentBody {
            runtime: RuntimeId::from_bytes([1; 32]),
            round,
            scheduler: signer.public_key(),
            header: None,
            messages: Vec::new(),
        };
        Signed::sign(signer, &ChainContext::from_hash(Hash::digest(b"chain")), &body)
    }

    #[test]
    fn what_was_signed_survives_a_restart_and_another_round_forgets_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal");
        let signer = MemorySigner::from_seed([7; 32]);
        let previous = Hash::digest(b"block 4");
        let signed = commitment(&signer, Round(5));
        let mut journal = Journal::open(path.clone()).expect("open");
        assert!(journal.round(Round(5), previous).is_none());
        journal
            .record_commitment(Round(5), previous, signer.public_key(), &signed)
            .expect("record");
        drop(journal);
        let journal = Journal::open(path.clone()).expect("reopen");
        assert_eq!(
            journal.commitment(Round(5), previous, &signer.public_key()),
            Some(&signed),
            "re-sent, never signed again"
        );
        assert!(journal
            .commitment(Round(5), Hash::digest(b"other"), &signer.public_key())
            .is_none());
        assert!(journal.round(Round(6), previous).is_none());
    }

    #[test]
    fn the_round_in_progress_and_the_next_are_kept_and_older_ones_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal");
        let signer = MemorySigner::from_seed([7; 32]);
        let me = signer.public_key();
        let (block4, predicted5) = (Hash::digest(b"block 4"), Hash::digest(b"block 5"));
        let mut journal = Journal::open(path.clone()).expect("open");
        let five = commitment(&signer, Round(5));
        let six = commitment(&signer, Round(6));
        journal.record_commitment(Round(5), block4, me, &five).expect("record");
        journal.record_commitment(Round(6), predicted5, me, &six).expect("record ahead");
        let journal = Journal::open(path.clone()).expect("reopen");
        assert_eq!(journal.commitment(Round(5), block4, &me), Some(&five), "kept");
        assert_eq!(journal.commitment(Round(6), predicted5, &me), Some(&six), "kept");
        let mut journal = journal;
        journal.record_commitment(Round(7), Hash::digest(b"block 6"), me, &six).expect("record");
        assert!(journal.round(Round(5), block4).is_none(), "two rounds back: gone");
        assert!(journal.round(Round(6), predicted5).is_some());
        // Round 6 on another block than predicted: its record starts anew.
        journal.record_commitment(Round(6), Hash::digest(b"other"), me, &six).expect("record");
        assert!(journal.round(Round(6), predicted5).is_none());
    }

    #[test]
    fn a_journal_of_one_round_from_before_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal");
        let signer = MemorySigner::from_seed([7; 32]);
        let previous = Hash::digest(b"block 4");
        let old = SignedRound {
            round: Round(5),
            previous_hash: previous,
            proposal: None,
            commitments: vec![(signer.public_key(), commitment(&signer, Round(5)))],
        };
        std::fs::write(&path, atoll_types::encode(&old)).expect("write");
        let journal = Journal::open(path).expect("open");
        assert_eq!(journal.round(Round(5), previous), Some(&old));
    }

    #[test]
    fn a_corrupt_journal_refuses_to_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal");
        std::fs::write(&path, b"\xff\xff not borsh").expect("write");
        let err = Journal::open(path).err().expect("refused");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
