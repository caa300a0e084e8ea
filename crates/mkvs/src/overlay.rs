//! Uncommitted changes over a readable state, with nested checkpoints.
//!
//! Execution writes into an overlay; a failed call rolls back to its checkpoint; at the end
//! of a block or round the overlay becomes the write log that is committed.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::error::{check_key, check_value};
use crate::read::{Entry, EntryIter, KeyValueRead};
use crate::writelog::{WriteLog, WriteLogEntry};
use crate::MkvsError;

/// The previous overlay state of a key (`None`: the overlay did not touch it).
type UndoEntry = (Vec<u8>, Option<Option<Vec<u8>>>);

/// Pending writes over `base`: reads see the writes, iteration merges both.
pub struct Overlay<'b> {
    base: &'b dyn KeyValueRead,
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    undo: Vec<Vec<UndoEntry>>,
}

impl<'b> Overlay<'b> {
    /// An overlay with no changes over `base`.
    pub fn new(base: &'b dyn KeyValueRead) -> Self {
        Self { base, changes: BTreeMap::new(), undo: Vec::new() }
    }

    fn record(&mut self, key: &[u8]) {
        if let Some(log) = self.undo.last_mut() {
            log.push((key.to_vec(), self.changes.get(key).cloned()));
        }
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), MkvsError> {
        check_key(key)?;
        check_value(&value)?;
        self.record(key);
        self.changes.insert(key.to_vec(), Some(value));
        Ok(())
    }

    /// Deletes `key`.
    pub fn remove(&mut self, key: &[u8]) -> Result<(), MkvsError> {
        check_key(key)?;
        self.record(key);
        self.changes.insert(key.to_vec(), None);
        Ok(())
    }

    /// Opens a checkpoint; checkpoints nest.
    pub fn checkpoint(&mut self) {
        self.undo.push(Vec::new());
    }

    /// Undoes every write since the innermost open checkpoint and closes it.
    pub fn rollback(&mut self) -> Result<(), MkvsError> {
        let log = self.undo.pop().ok_or(MkvsError::NoCheckpoint)?;
        for (key, previous) in log.into_iter().rev() {
            match previous {
                Some(state) => self.changes.insert(key, state),
                None => self.changes.remove(&key),
            };
        }
        Ok(())
    }

    /// Keeps the writes since the innermost open checkpoint and closes it (they can still
    /// be rolled back by an enclosing checkpoint).
    pub fn release(&mut self) -> Result<(), MkvsError> {
        let log = self.undo.pop().ok_or(MkvsError::NoCheckpoint)?;
        if let Some(parent) = self.undo.last_mut() {
            parent.extend(log);
        }
        Ok(())
    }

    /// How many checkpoints are open.
    pub fn depth(&self) -> usize {
        self.undo.len()
    }

    /// How many keys the overlay changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the overlay changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes as a write log in key order (open checkpoints are kept).
    pub fn into_write_log(self) -> WriteLog {
        self.changes.into_iter().map(|(key, value)| WriteLogEntry { key, value }).collect()
    }
}

impl KeyValueRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        match self.changes.get(key) {
            Some(change) => Ok(change.clone()),
            None => self.base.get(key),
        }
    }

    fn iter_from(&self, start: &[u8]) -> EntryIter<'_> {
        Box::new(Merge {
            base: self.base.iter_from(start).peekable(),
            changes: self.changes.range(start.to_vec()..).peekable(),
        })
    }
}

/// Merges the base's entries with the overlay's changes; changes win.
struct Merge<'a, C: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>> {
    base: Peekable<EntryIter<'a>>,
    changes: Peekable<C>,
}

impl<'a, C: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>> Iterator for Merge<'a, C> {
    type Item = Result<Entry, MkvsError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_change = match (self.base.peek(), self.changes.peek()) {
                (Some(Err(_)), _) => return self.base.next(),
                (None, None) => return None,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(Ok((base_key, _))), Some((change_key, _))) => {
                    change_key.as_slice().cmp(base_key)
                }
            };
            if take_change == std::cmp::Ordering::Equal {
                // The change shadows the base entry.
                self.base.next();
            }
            let take_change = take_change != std::cmp::Ordering::Greater;
            if !take_change {
                return self.base.next();
            }
            let (key, change) = self.changes.next()?;
            if let Some(value) = change {
                return Some(Ok((key.clone(), value.clone())));
            }
        }
    }
}
