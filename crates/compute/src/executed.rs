//! Results this node executed for rounds not stored yet, on disk before it commits to them.
//!
//! A round is finalized on the consensus layer from the workers' commitments; each worker
//! stores the round's state afterwards, from its own result or from a peer's write logs.
//! Results kept only in memory would be lost by a restart in between — and when every
//! worker restarts at once (a whole network stopped and started again), nobody would have
//! the write logs of a finalized round, and the ParaTime could never advance. So every
//! result is written here (write, sync, rename) before its commitment is signed, read back
//! when the round is stored, served to peers that lack it, and pruned once stored.

use std::io::Write;
use std::path::{Path, PathBuf};

use atoll_mkvs::WriteLog;
use atoll_types::{Hash, Round};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::storage::RoundWriteLogs;
use crate::ComputeError;

/// The largest result file read back.
const MAX_RESULT: usize = 256 << 20;

/// One executed result, as read back: the roots it reaches and the write logs that reach
/// them.
#[derive(BorshDeserialize)]
struct Record {
    state_root: Hash,
    io_root: Hash,
    logs: RoundWriteLogs,
}

/// A [`Record`] as written, borrowing the write logs (borsh encodes a reference as the
/// value, and `RoundWriteLogs` as its fields in order: the same bytes).
#[derive(BorshSerialize)]
struct RecordRef<'a> {
    state_root: Hash,
    io_root: Hash,
    round: Round,
    state: &'a WriteLog,
    io: &'a WriteLog,
}

/// The directory of executed results.
pub(crate) struct ExecutedResults {
    dir: PathBuf,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ComputeError {
    ComputeError::Internal(format!("executed results {}: {e}", path.display()))
}

impl ExecutedResults {
    /// Opens (or creates) the directory.
    pub(crate) fn open(dir: PathBuf) -> Result<Self, ComputeError> {
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Self { dir })
    }

    fn file(&self, round: Round, state_root: &Hash, io_root: &Hash) -> PathBuf {
        self.dir.join(format!("{:020}-{state_root}-{io_root}", round.0))
    }

    /// Keeps the write logs of `round` (`state` takes the latest stored state to
    /// `state_root`, `io` is the I/O tree with root `io_root`), durably.
    pub(crate) fn save(
        &self,
        round: Round,
        (state, state_root): (&WriteLog, Hash),
        (io, io_root): (&WriteLog, Hash),
    ) -> Result<(), ComputeError> {
        let path = self.file(round, &state_root, &io_root);
        if path.exists() {
            return Ok(());
        }
        let record = RecordRef { state_root, io_root, round, state, io };
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        file.write_all(&atoll_types::encode(&record)).map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
        Ok(())
    }

    fn read(path: &Path) -> Option<Record> {
        let bytes = std::fs::read(path).ok()?;
        match atoll_types::decode::<Record>(&bytes, MAX_RESULT) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable executed result");
                None
            }
        }
    }

    /// The result of `round` that reaches these roots, if this node executed it.
    pub(crate) fn find(
        &self,
        round: Round,
        state_root: &Hash,
        io_root: &Hash,
    ) -> Option<RoundWriteLogs> {
        let record = Self::read(&self.file(round, state_root, io_root))?;
        (record.logs.round == round
            && record.state_root == *state_root
            && record.io_root == *io_root)
            .then_some(record.logs)
    }

    /// Every result kept for `round` (peers verify what they are given against the block).
    pub(crate) fn of_round(&self, round: Round) -> Vec<RoundWriteLogs> {
        let prefix = format!("{:020}-", round.0);
        self.names()
            .filter(|name| name.starts_with(&prefix) && !name.ends_with(".tmp"))
            .filter_map(|name| Self::read(&self.dir.join(name)))
            .filter(|record| record.logs.round == round)
            .map(|record| record.logs)
            .collect()
    }

    /// Forgets the results of rounds up to `through` (they are stored, or can never be).
    pub(crate) fn prune(&self, through: Round) {
        for name in self.names() {
            let Some(round) = name.split('-').next().and_then(|r| r.parse::<u64>().ok()) else {
                continue;
            };
            if round <= through.0 {
                let _ = std::fs::remove_file(self.dir.join(&name));
            }
        }
    }

    fn names(&self) -> impl Iterator<Item = String> {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
    }
}

#[cfg(test)]
mod tests {
    use atoll_mkvs::WriteLogEntry;

    use super::*;

    fn save(results: &ExecutedResults, logs: &RoundWriteLogs, state: Hash, io: Hash) {
        results.save(logs.round, (&logs.state, state), (&logs.io, io)).expect("saved");
    }

    fn logs(round: u64, value: u8) -> RoundWriteLogs {
        let entry = WriteLogEntry { key: vec![value], value: Some(vec![value; 3]) };
        RoundWriteLogs { round: Round(round), state: vec![entry.clone()], io: vec![entry] }
    }

    #[test]
    fn results_survive_reopening_and_are_found_by_their_roots() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("executed");
        let (state, io) = (Hash::digest(b"state"), Hash::digest(b"io"));
        save(&ExecutedResults::open(path.clone()).expect("opens"), &logs(7, 1), state, io);
        let results = ExecutedResults::open(path).expect("reopens");
        assert_eq!(results.find(Round(7), &state, &io), Some(logs(7, 1)));
        assert_eq!(results.find(Round(7), &io, &state), None, "other roots");
        assert_eq!(results.find(Round(8), &state, &io), None, "another round");
        assert_eq!(results.of_round(Round(7)), vec![logs(7, 1)]);
        assert!(results.of_round(Round(6)).is_empty());
    }

    #[test]
    fn pruning_forgets_stored_rounds_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let results = ExecutedResults::open(dir.path().join("executed")).expect("opens");
        let (state, io) = (Hash::digest(b"state"), Hash::digest(b"io"));
        for round in [3, 4, 5] {
            save(&results, &logs(round, round as u8), state, io);
        }
        results.prune(Round(4));
        assert!(results.of_round(Round(3)).is_empty());
        assert!(results.of_round(Round(4)).is_empty());
        assert_eq!(results.find(Round(5), &state, &io), Some(logs(5, 5)));
    }

    #[test]
    fn a_corrupt_result_is_ignored_not_trusted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let results = ExecutedResults::open(dir.path().join("executed")).expect("opens");
        let (state, io) = (Hash::digest(b"state"), Hash::digest(b"io"));
        save(&results, &logs(9, 2), state, io);
        let file = results.file(Round(9), &state, &io);
        std::fs::write(&file, b"garbage").expect("overwritten");
        assert_eq!(results.find(Round(9), &state, &io), None);
        assert!(results.of_round(Round(9)).is_empty());
    }
}
