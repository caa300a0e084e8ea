//! The read interface shared by committed trees and overlays.

use crate::MkvsError;

/// A `(key, value)` pair.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An iterator over entries in key order; storage errors end it.
pub type EntryIter<'a> = Box<dyn Iterator<Item = Result<Entry, MkvsError>> + 'a>;

/// Reads of an ordered key-value state.
pub trait KeyValueRead {
    /// The value of `key`, if present.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError>;

    /// Entries with key `≥ start`, in key order.
    fn iter_from(&self, start: &[u8]) -> EntryIter<'_>;

    /// Entries with `start ≤ key < end` (`end = None`: no upper bound), in key order.
    fn range(&self, start: &[u8], end: Option<&[u8]>) -> EntryIter<'_> {
        let end = end.map(<[u8]>::to_vec);
        Box::new(self.iter_from(start).take_while(move |item| match (item, &end) {
            (Ok((key, _)), Some(end)) => key < end,
            _ => true,
        }))
    }

    /// Entries whose key starts with `prefix`, in key order.
    fn prefix(&self, prefix: &[u8]) -> EntryIter<'_> {
        let end = crate::key::prefix_end(prefix);
        let prefix = prefix.to_vec();
        Box::new(self.iter_from(&prefix.clone()).take_while(move |item| match (item, &end) {
            (Ok((key, _)), Some(end)) => key < end,
            _ => true,
        }))
    }
}
