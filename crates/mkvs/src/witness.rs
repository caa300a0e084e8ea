//! Witnesses: proofs of exactly what a read-only computation looked at, so that a light
//! client can rerun the computation and trust its answer.
//!
//! The serving side wraps a committed [`Tree`] in a [`Recorder`], runs the query over it and
//! turns the recorded reads into a [`StateProof`]: one range proof per point read (the range
//! `[key, key‖0)`) and per iteration (from its start to just past the last key it consumed,
//! or to the end of the key space if it ran dry). The client verifies every range against a
//! trusted root and gets a [`Witness`], a partial state that answers the same reads and
//! refuses any read the proof does not cover. Running the same deterministic query over the
//! witness must give the answer the server sent.

use std::collections::BTreeMap;
use std::sync::Mutex;

use atoll_types::Hash;
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::key::successor;
use crate::proof::{verify_range, Proof, ProofError, MAX_RANGE_KEYS};
use crate::read::{Entry, EntryIter, KeyValueRead};
use crate::tree::Tree;
use crate::MkvsError;

/// The most ranges one state proof may hold.
pub const MAX_PROOF_RANGES: usize = 256;

/// One proven range `start ≤ key < end` (`end = None`: to the end of the key space).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProvenRange {
    /// The first key covered.
    pub start: Vec<u8>,
    /// The first key not covered.
    pub end: Option<Vec<u8>>,
    /// The proof of every entry in the range.
    pub proof: Proof,
}

/// Proof of every read a query made.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    /// The ranges, in the order they were read.
    pub ranges: Vec<ProvenRange>,
}

/// Why a witness could not be built or verified.
#[derive(Debug, Error)]
pub enum WitnessError {
    /// The query read more than one proof may carry.
    #[error("the query reads too much to prove ({0})")]
    TooLarge(&'static str),
    /// A range's proof does not verify.
    #[error("range {index}: {source}")]
    Proof {
        /// Which range.
        index: usize,
        /// Why.
        source: ProofError,
    },
    /// Reading the tree failed.
    #[error(transparent)]
    Mkvs(#[from] MkvsError),
}

/// One read, as recorded.
#[derive(Debug)]
enum Read {
    Point(Vec<u8>),
    Scan { start: Vec<u8>, last: Option<Vec<u8>>, exhausted: bool },
}

/// A read-only view of a tree that records every read.
pub struct Recorder<'t, 'db> {
    tree: &'t Tree<'db>,
    reads: Mutex<Vec<Read>>,
}

impl<'t, 'db> Recorder<'t, 'db> {
    /// Starts recording reads of `tree`.
    pub fn new(tree: &'t Tree<'db>) -> Self {
        Self { tree, reads: Mutex::new(Vec::new()) }
    }

    fn record(&self, read: Read) -> usize {
        let mut reads = self.reads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        reads.push(read);
        reads.len() - 1
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut Read)) {
        let mut reads = self.reads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(read) = reads.get_mut(index) {
            f(read);
        }
    }

    /// Proves every read made so far.
    pub fn into_proof(self) -> Result<StateProof, WitnessError> {
        let reads = self.reads.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        if reads.len() > MAX_PROOF_RANGES {
            return Err(WitnessError::TooLarge("too many reads"));
        }
        let mut ranges = Vec::with_capacity(reads.len());
        for read in reads {
            let (start, end) = match read {
                Read::Point(key) => {
                    let end = successor(&key);
                    (key, Some(end))
                }
                Read::Scan { start, exhausted: true, .. } => (start, None),
                Read::Scan { start, last: Some(last), .. } => (start, Some(successor(&last))),
                // Iterated without taking anything: nothing was learned.
                Read::Scan { last: None, .. } => continue,
            };
            let proven = self.tree.prove_range(&start, end.as_deref(), MAX_RANGE_KEYS)?;
            if proven.end != end {
                return Err(WitnessError::TooLarge("a scan covers too many keys"));
            }
            ranges.push(ProvenRange { start, end, proof: proven.proof });
        }
        Ok(StateProof { ranges })
    }
}

impl KeyValueRead for Recorder<'_, '_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        self.record(Read::Point(key.to_vec()));
        self.tree.get(key)
    }

    fn iter_from(&self, start: &[u8]) -> EntryIter<'_> {
        let index = self.record(Read::Scan { start: start.to_vec(), last: None, exhausted: false });
        let mut inner = self.tree.iter_from(start);
        Box::new(std::iter::from_fn(move || {
            let item = inner.next();
            match &item {
                Some(Ok((key, _))) => self.update(index, |r| {
                    if let Read::Scan { last, .. } = r {
                        *last = Some(key.clone());
                    }
                }),
                None => self.update(index, |r| {
                    if let Read::Scan { exhausted, .. } = r {
                        *exhausted = true;
                    }
                }),
                Some(Err(_)) => {}
            }
            item
        }))
    }
}

/// A partial state proven against a root: answers reads inside the proven ranges and
/// refuses the others with [`MkvsError::NotProven`].
#[derive(Debug)]
pub struct Witness {
    ranges: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl StateProof {
    /// Verifies every range against `root`.
    pub fn verify(&self, root: &Hash) -> Result<Witness, WitnessError> {
        if self.ranges.len() > MAX_PROOF_RANGES {
            return Err(WitnessError::TooLarge("too many ranges"));
        }
        let mut witness = Witness { ranges: Vec::new(), entries: BTreeMap::new() };
        for (index, range) in self.ranges.iter().enumerate() {
            let entries = verify_range(root, &range.start, range.end.as_deref(), &range.proof)
                .map_err(|source| WitnessError::Proof { index, source })?;
            witness.entries.extend(entries);
            witness.ranges.push((range.start.clone(), range.end.clone()));
        }
        Ok(witness)
    }
}

impl Witness {
    /// The proven range reaching furthest from `key`, if one covers it.
    fn covering(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.ranges
            .iter()
            .filter(|(start, end)| {
                start.as_slice() <= key && end.as_deref().is_none_or(|end| key < end)
            })
            .map(|(_, end)| end.as_deref())
            .max_by_key(|end| (end.is_none(), *end))
    }

    fn not_proven(key: &[u8]) -> MkvsError {
        MkvsError::NotProven { key: hex::encode(key) }
    }
}

impl KeyValueRead for Witness {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        match self.covering(key) {
            Some(_) => Ok(self.entries.get(key).cloned()),
            None => Err(Self::not_proven(key)),
        }
    }

    fn iter_from(&self, start: &[u8]) -> EntryIter<'_> {
        let Some(end) = self.covering(start) else {
            return Box::new(std::iter::once(Err(Self::not_proven(start))));
        };
        let end = end.map(<[u8]>::to_vec);
        let mut inner = self.entries.range(start.to_vec()..);
        let mut done = false;
        Box::new(std::iter::from_fn(move || {
            if done {
                return None;
            }
            let next: Option<Entry> = inner.next().map(|(k, v)| (k.clone(), v.clone()));
            match (next, &end) {
                (Some((k, v)), Some(end)) if k < *end => Some(Ok((k, v))),
                (Some((k, v)), None) => Some(Ok((k, v))),
                (_, Some(end)) => {
                    // Past what was proven: the caller wanted more than the server read.
                    done = true;
                    Some(Err(Self::not_proven(end)))
                }
                (None, None) => None,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryNodeDb, Mkvs, RootKind, WriteLog, WriteLogEntry, CONSENSUS_NAMESPACE};

    fn store(keys: &[(&[u8], &[u8])]) -> Mkvs<MemoryNodeDb> {
        let mkvs = Mkvs::new(MemoryNodeDb::default());
        let log: WriteLog = keys
            .iter()
            .map(|(k, v)| WriteLogEntry { key: k.to_vec(), value: Some(v.to_vec()) })
            .collect();
        mkvs.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &log).expect("commit");
        mkvs
    }

    fn query(state: &dyn KeyValueRead) -> Result<(Option<Vec<u8>>, Vec<Entry>), MkvsError> {
        let point = state.get(b"b")?;
        let listed = state.prefix(b"c").collect::<Result<Vec<_>, _>>()?;
        Ok((point, listed))
    }

    #[test]
    fn rerunning_a_query_over_its_witness_gives_the_same_answer() {
        let mkvs = store(&[(b"a", b"1"), (b"b", b"2"), (b"c1", b"3"), (b"c2", b"4"), (b"d", b"5")]);
        let root = mkvs.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root");
        let root = root.expect("committed");
        let tree = mkvs.tree(&root).expect("tree");
        let recorder = Recorder::new(&tree);
        let answer = query(&recorder).expect("query");
        let proof = recorder.into_proof().expect("prove");
        let witness = proof.verify(&root.hash).expect("verify");
        assert_eq!(query(&witness).expect("rerun"), answer);
        // A read the proof does not cover is refused, not answered as absent.
        assert!(matches!(witness.get(b"a"), Err(MkvsError::NotProven { .. })));
        let wrong = Hash::digest(b"another root");
        assert!(matches!(proof.verify(&wrong), Err(WitnessError::Proof { .. })));
    }

    #[test]
    fn a_tampered_value_fails_verification() {
        let mkvs = store(&[(b"a", b"1"), (b"b", b"2")]);
        let root = mkvs.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root");
        let root = root.expect("committed");
        let tree = mkvs.tree(&root).expect("tree");
        let recorder = Recorder::new(&tree);
        recorder.get(b"b").expect("read");
        let mut proof = recorder.into_proof().expect("prove");
        for entry in &mut proof.ranges[0].proof.entries {
            if let crate::ProofEntry::Leaf { value, .. } = entry {
                *value = b"9".to_vec();
            }
        }
        assert!(proof.verify(&root.hash).is_err());
    }
}
