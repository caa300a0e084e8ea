//! A compute node's copy of a runtime's state: one version per finalized (`Normal`) round,
//! in an MKVS store on disk, plus each such round's I/O tree.
//!
//! Only results the consensus layer finalized are stored: a write log is applied with
//! [`Mkvs::commit_expecting`], so whatever its source (this node's own execution or a peer),
//! it lands only if it reproduces the round's state root from the runtime block.

use std::path::Path;

use atoll_mkvs::db::History;
use atoll_mkvs::{
    diff, KeyValueRead, Mkvs, MkvsError, NodeDb, RedbNodeDb, Root, RootKind, WriteLog,
    WriteLogEntry,
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
