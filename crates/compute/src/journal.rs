//! What this node signed in the round in progress, written to disk before anything is
//! published: after a restart the node re-sends the same proposal and commitments instead
//! of signing different ones, which the chain would punish as equivocation.
//!
//! One round is kept (a node only signs for the round in progress); the file is replaced
//! atomically (write, sync, rename), so a crash leaves either the old or the new record.

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

/// The on-disk record of the round in progress.
pub(crate) struct Journal {
    path: PathBuf,
    current: SignedRound,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ComputeError {
    ComputeError::Internal(format!("signing journal {}: {e}", path.display()))
}

impl Journal {
    /// Opens the journal at `path` (empty if there is none yet); a file that does not
    /// decode is an error: starting without it could sign twice.
    pub(crate) fn open(path: PathBuf) -> Result<Self, ComputeError> {
        let current = match std::fs::read(&path) {
            Ok(bytes) => atoll_types::decode(&bytes, MAX_JOURNAL)
                .map_err(|e| io_error(&path, format!("corrupt ({e}); remove it only if this node signed nothing for the round in progress")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SignedRound::default(),
            Err(e) => return Err(io_error(&path, e)),
        };
        Ok(Self { path, current })
    }

    /// What was signed for `round` on top of `previous_hash` (nothing if the journal is
    /// about another round).
    pub(crate) fn round(&self, round: Round, previous_hash: Hash) -> Option<&SignedRound> {
        (self.current.round == round && self.current.previous_hash == previous_hash)
            .then_some(&self.current)
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
        self.enter(round, previous_hash);
        self.current.proposal = Some(proposal.clone());
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
        self.enter(round, previous_hash);
        self.current.commitments.retain(|(s, _)| *s != scheduler);
        self.current.commitments.push((scheduler, signed.clone()));
        self.persist()
    }

    fn enter(&mut self, round: Round, previous_hash: Hash) {
        if self.current.round != round || self.current.previous_hash != previous_hash {
            self.current = SignedRound { round, previous_hash, ..SignedRound::default() };
        }
    }

    fn persist(&self) -> Result<(), ComputeError> {
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&atoll_types::encode(&self.current))?;
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
    fn a_corrupt_journal_refuses_to_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal");
        std::fs::write(&path, b"\xff\xff not borsh").expect("write");
        let err = Journal::open(path).err().expect("refused");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
