//! A compute node's copy of a runtime's state: one version per finalized (`Normal`) round,
//! in an MKVS store on disk, plus each such round's I/O tree.
//!
//! Only results the consensus layer finalized are stored: a write log is applied with
//! [`Mkvs::commit_expecting`], so whatever its source (this node's own execution or a peer),
//! it lands only if it reproduces the round's state root from the runtime block.
//!
//! A node may keep only a window of recent rounds ([`RuntimeStorage::prune_before`]); the
//! rest of the history is then gone from this node (peers that kept it can still serve it).

use std::path::Path;

use atoll_mkvs::checkpoint::{CheckpointError, Manifest, Restore};
use atoll_mkvs::db::History;
use atoll_mkvs::{
    diff, KeyValueRead, Mkvs, MkvsError, NodeDb, PruneStats, RangeProof, RedbNodeDb, Root,
    RootKind, WriteLog, WriteLogEntry,
};
use atoll_runtime_host::{io_key, StateRoot, TxOutcome};
use atoll_types::{Hash, Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};

/// The write logs that take the state from the previous finalized round to `round`, and
/// the round's I/O tree contents.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RoundWriteLogs {
    /// The round.
    pub round: Round,
    /// State changes since the previous finalized round.
    pub state: WriteLog,
    /// The round's I/O tree.
    pub io: WriteLog,
}

/// The runtime's state on this node.
pub struct RuntimeStorage {
    runtime: RuntimeId,
    store: Mkvs<RedbNodeDb>,
}

impl RuntimeStorage {
    /// Opens (or creates) the store at `path`; a new store starts at the empty state,
    /// version 0 (the runtime's genesis block).
    pub fn open(path: &Path, runtime: RuntimeId) -> Result<Self, MkvsError> {
        let store = Mkvs::new(RedbNodeDb::open(path)?);
        if store.latest_root(runtime, RootKind::State)?.is_none() {
            store.commit(runtime, RootKind::State, None, 0, &Vec::new())?;
        }
        Ok(Self { runtime, store })
    }

    /// The store (the runtime host reads state-tree nodes from it).
    pub fn store(&self) -> &Mkvs<RedbNodeDb> {
        &self.store
    }

    fn history(&self, kind: RootKind) -> History {
        History { namespace: self.runtime.into_bytes(), kind }
    }

    /// The latest finalized state: what the next round executes on.
    pub fn latest(&self) -> Result<StateRoot, MkvsError> {
        let root = self
            .store
            .latest_root(self.runtime, RootKind::State)?
            .ok_or(MkvsError::RootNotFound { kind: RootKind::State, version: 0 })?;
        let record = self.store.db().root(&self.history(RootKind::State), root.version)?;
        Ok(StateRoot { version: root.version, hash: root.hash, node: record.and_then(|r| r.node) })
    }

    /// Stores finalized round `round`: its state write log (on top of the latest version,
    /// required to reach `state_root`) and its I/O tree (required to reach `io_root`).
    pub fn commit_round(
        &self,
        round: Round,
        logs: &RoundWriteLogs,
        state_root: Hash,
        io_root: Hash,
    ) -> Result<(), MkvsError> {
        // Either commit stores nothing if its root is not the expected one. The I/O tree goes
        // first; if the state log then turns out wrong, a retry with another peer's logs
        // finds the (correct) I/O tree already there.
        let latest = self.latest()?;
        let io_present = match self.store.root_at(self.runtime, RootKind::Io, round.0) {
            Ok(root) => root.hash == io_root,
            Err(MkvsError::RootNotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        if !io_present {
            self.store.commit_expecting(
                self.runtime,
                RootKind::Io,
                None,
                round.0,
                &logs.io,
                io_root,
            )?;
        }
        self.store.commit_expecting(
            self.runtime,
            RootKind::State,
            Some(latest.version),
            round.0,
            &logs.state,
            state_root,
        )?;
        Ok(())
    }

    /// The write logs of finalized round `round`, if this node has it (served to peers).
    pub fn write_logs(&self, round: Round) -> Result<Option<RoundWriteLogs>, MkvsError> {
        let state = self.history(RootKind::State);
        if self.store.db().root(&state, round.0)?.is_none() {
            return Ok(None);
        }
        let Some(previous) = round.0.checked_sub(1) else { return Ok(None) };
        let Some(previous) = self.store.db().last_version(&state, previous)? else {
            return Ok(None);
        };
        let from =
            self.store.tree(&self.store.root_at(self.runtime, RootKind::State, previous)?)?;
        let to = self.store.tree(&self.store.root_at(self.runtime, RootKind::State, round.0)?)?;
        let state = diff(&from, &to)?;
        let io_tree =
            self.store.tree(&self.store.root_at(self.runtime, RootKind::Io, round.0)?)?;
        let mut io = Vec::new();
        for entry in io_tree.iter_from(&[]) {
            let (key, value) = entry?;
            io.push(WriteLogEntry { key, value: Some(value) });
        }
        Ok(Some(RoundWriteLogs { round, state, io }))
    }

    /// The earliest round whose state this node still has (0 until it prunes).
    pub fn earliest_round(&self) -> Result<u64, MkvsError> {
        Ok(self.store.earliest_version(self.runtime, RootKind::State)?.unwrap_or(0))
    }

    /// Forgets every round before `round` — state versions and I/O trees, and the tree
    /// nodes only they used — but keeps the state `round` reads (the latest version at or
    /// before it), so the state after every round from `round` on stays readable.
    pub fn prune_before(&self, round: u64) -> Result<PruneStats, MkvsError> {
        let Some(keep) = self.store.version_at_most(self.runtime, RootKind::State, round)? else {
            return Ok(PruneStats::default());
        };
        if self.earliest_round()? >= keep {
            return Ok(PruneStats::default());
        }
        let removed = self.store.prune(self.runtime, RootKind::State, keep)?;
        // Every stored state version but genesis has its round's I/O tree, stored first.
        let io = self.store.prune(self.runtime, RootKind::Io, keep)?;
        Ok(PruneStats { versions: removed.versions + io.versions, nodes: removed.nodes + io.nodes })
    }

    /// The checkpoint of the state after round `round` (the latest version at or before
    /// it), cut into chunks of at most `chunk_keys` entries and `chunk_bytes` bytes; `None`
    /// if this node does not keep that state.
    pub fn checkpoint(
        &self,
        round: u64,
        chunk_keys: usize,
        chunk_bytes: usize,
    ) -> Result<Option<Manifest>, CheckpointError> {
        let Some(root) = self.kept_state(round)? else { return Ok(None) };
        let tree = self.store.tree(&root)?;
        Manifest::of_bounded(&tree, chunk_keys, chunk_bytes).map(Some)
    }

    /// The entries of the state after round `round` from `start` up to `end`, proven
    /// against its root (at most `limit` of them); `None` if this node does not keep it.
    pub fn checkpoint_chunk(
        &self,
        round: u64,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Option<RangeProof>, MkvsError> {
        let Some(root) = self.kept_state(round)? else { return Ok(None) };
        self.store.tree(&root)?.prove_range(start, end, limit).map(Some)
    }

    fn kept_state(&self, round: u64) -> Result<Option<Root>, MkvsError> {
        match self.store.version_at_most(self.runtime, RootKind::State, round)? {
            Some(version) => self.stored_root(RootKind::State, version),
            None => Ok(None),
        }
    }

    /// Stores the state `restore` rebuilt from a peer's checkpoint as the state after
    /// round `round` (its root verified against the runtime block's), and forgets every
    /// earlier round: this node's history starts there, without that round's I/O.
    pub fn restore(&self, round: Round, mut restore: Restore) -> Result<Root, CheckpointError> {
        let latest = self.latest()?.version;
        if round.0 <= latest {
            return Err(MkvsError::VersionNotNew { version: round.0, latest }.into());
        }
        restore.relabel(self.runtime, RootKind::State, round.0);
        let root = restore.finish(&self.store)?;
        self.prune_before(round.0)?;
        Ok(root)
    }

    /// Finalized rounds this node stores, oldest first.
    pub fn rounds(&self) -> Result<Vec<u64>, MkvsError> {
        Ok(self.store.db().versions(&self.history(RootKind::Io))?)
    }

    /// The root of `kind` at `version`, if stored.
    fn stored_root(&self, kind: RootKind, version: u64) -> Result<Option<Root>, MkvsError> {
        match self.store.root_at(self.runtime, kind, version) {
            Ok(root) => Ok(Some(root)),
            Err(MkvsError::RootNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Finalized rounds from `from` up to `to` (both included) this node stores, oldest
    /// first.
    pub fn rounds_between(&self, from: u64, to: u64) -> Result<Vec<u64>, MkvsError> {
        let history = self.history(RootKind::Io);
        let mut out = Vec::new();
        let mut at = to;
        while let Some(round) = self.store.db().last_version(&history, at)? {
            if round < from {
                break;
            }
            out.push(round);
            let Some(before) = round.checked_sub(1) else { break };
            at = before;
        }
        out.reverse();
        Ok(out)
    }

    /// The state after finalized round `round`: the latest stored version at or before it.
    pub fn state_at(&self, round: u64) -> Result<StateRoot, MkvsError> {
        let history = self.history(RootKind::State);
        let version = self
            .store
            .db()
            .last_version(&history, round)?
            .ok_or(MkvsError::RootNotFound { kind: RootKind::State, version: round })?;
        let root = self.store.root_at(self.runtime, RootKind::State, version)?;
        let record = self.store.db().root(&history, version)?;
        Ok(StateRoot { version, hash: root.hash, node: record.and_then(|r| r.node) })
    }

    /// The value of `key` in the state of round `round` exactly, if stored.
    pub fn state_value(&self, round: u64, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        let Some(root) = self.stored_root(RootKind::State, round)? else { return Ok(None) };
        self.store.tree(&root)?.get(key)
    }

    /// Every transaction of finalized round `round` with its outcome, in hash order.
    pub fn transactions(&self, round: Round) -> Result<Vec<(Vec<u8>, TxOutcome)>, MkvsError> {
        let Some(root) = self.stored_root(RootKind::Io, round.0)? else { return Ok(Vec::new()) };
        let tree = self.store.tree(&root)?;
        let mut out = Vec::new();
        let mut input: Option<(Vec<u8>, Vec<u8>)> = None;
        for entry in tree.iter_from(&[]) {
            let (key, value) = entry?;
            match key.last() {
                Some(0) => input = Some((key[..key.len() - 1].to_vec(), value)),
                Some(1) => {
                    let Some((hash, raw)) = input.take() else { continue };
                    if hash.as_slice() != &key[..key.len() - 1] {
                        continue;
                    }
                    if let Ok(outcome) = atoll_types::decode::<TxOutcome>(&value, 16 << 20) {
                        out.push((raw, outcome));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The outcome of transaction `hash` if finalized round `round` executed it.
    pub fn outcome(&self, round: Round, hash: &Hash) -> Result<Option<TxOutcome>, MkvsError> {
        let Some(root) = self.stored_root(RootKind::Io, round.0)? else { return Ok(None) };
        let tree = self.store.tree(&root)?;
        let Some(bytes) = tree.get(&io_key(hash, 1))? else {
            return Ok(None);
        };
        Ok(atoll_types::decode(&bytes, 16 << 20).ok())
    }

    /// Every transaction outcome of finalized round `round`, in hash order.
    pub fn outcomes(&self, round: Round) -> Result<Vec<TxOutcome>, MkvsError> {
        Ok(self.transactions(round)?.into_iter().map(|(_, outcome)| outcome).collect())
    }
}

/// The transaction hashes an I/O write log holds (its input keys).
pub fn io_transactions(io: &WriteLog) -> Vec<Hash> {
    io.iter()
        .filter(|e| e.key.len() == 33 && e.key[32] == 0)
        .filter_map(|e| <[u8; 32]>::try_from(&e.key[..32]).ok().map(Hash::from_bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn write(key: String, value: u64) -> WriteLogEntry {
        WriteLogEntry { key: key.into_bytes(), value: Some(value.to_le_bytes().to_vec()) }
    }

    /// Rounds 1..=30, every fourth one not finalized normally (no version), each writing a
    /// shared key and one of its own; the snapshots are the oracle.
    fn history(storage: &RuntimeStorage) -> BTreeMap<u64, BTreeMap<Vec<u8>, Vec<u8>>> {
        let runtime = storage.runtime;
        let mut state = BTreeMap::new();
        let mut snapshots = BTreeMap::new();
        let mut latest = 0;
        for round in (1..=30u64).filter(|r| r % 4 != 0) {
            let log = vec![
                write(format!("shared-{}", round % 5), round),
                write(format!("r{round}"), round),
            ];
            for entry in &log {
                state.insert(entry.key.clone(), entry.value.clone().expect("a value"));
            }
            let io = vec![write(format!("io-{round}"), round)];
            let store = storage.store();
            store.commit(runtime, RootKind::Io, None, round, &io).expect("io");
            store.commit(runtime, RootKind::State, Some(latest), round, &log).expect("state");
            latest = round;
            snapshots.insert(round, state.clone());
        }
        snapshots
    }

    fn contents(
        storage: &RuntimeStorage,
        round: u64,
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, MkvsError> {
        let at = storage.state_at(round)?;
        let root = storage.store().root_at(storage.runtime, RootKind::State, at.version)?;
        let tree = storage.store().tree(&root)?;
        tree.iter_from(&[]).collect()
    }

    #[test]
    fn pruning_keeps_every_state_from_the_window_on_and_nothing_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage =
            RuntimeStorage::open(&dir.path().join("state.redb"), RuntimeId::from_bytes([7; 32]))
                .expect("storage");
        let snapshots = history(&storage);
        assert_eq!(storage.earliest_round().expect("earliest"), 0);

        // Round 16 did not execute: the state it reads is round 15's, which stays.
        let removed = storage.prune_before(16).expect("prune");
        assert!(removed.versions > 0 && removed.nodes > 0, "{removed:?}");
        assert_eq!(storage.earliest_round().expect("earliest"), 15);
        for round in 15..=30 {
            let expected = snapshots.range(..=round).next_back().map(|(_, s)| s.clone());
            assert_eq!(
                Some(contents(&storage, round).expect("kept state")),
                expected,
                "round {round}"
            );
        }
        for round in 0..15 {
            assert!(contents(&storage, round).is_err(), "round {round} is pruned");
            assert!(storage.transactions(Round(round)).expect("io").is_empty());
        }
        assert_eq!(storage.rounds().expect("rounds").first(), Some(&15));
        assert!(storage.write_logs(Round(15)).expect("logs").is_none(), "its base is gone");
        let logs = storage.write_logs(Round(17)).expect("logs").expect("kept round");
        assert_eq!(logs.io.len(), 1);

        // Pruning below what is already gone, or up to the same round, changes nothing.
        assert_eq!(storage.prune_before(10).expect("prune"), PruneStats::default());
        assert_eq!(storage.prune_before(16).expect("prune"), PruneStats::default());
        // Up to the latest round: only its state remains.
        storage.prune_before(30).expect("prune");
        assert_eq!(storage.earliest_round().expect("earliest"), 30);
        assert_eq!(Some(contents(&storage, 30).expect("latest")), snapshots.get(&30).cloned());
    }
}
