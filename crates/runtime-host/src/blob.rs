//! Putting a blob together from its parts, whoever serves them (the host to its runtime,
//! peers to a node): each part is checked as it arrives — the whole is at most the asked
//! maximum, every part continues the last at the length the first announced, nothing runs
//! past the end — and the whole must hash to the blob's id.

use atoll_types::Hash;

use crate::protocol::{BlobChunk, MAX_BLOB};

/// A blob being assembled.
pub struct BlobAssembly {
    id: Hash,
    max: u64,
    bytes: Vec<u8>,
    total: Option<u64>,
}

impl BlobAssembly {
    /// Blob `id`, at most `max` bytes (and never over [`MAX_BLOB`]).
    pub fn new(id: Hash, max: u64) -> Self {
        Self { id, max: max.min(MAX_BLOB), bytes: Vec::new(), total: None }
    }

    /// Where the next part starts.
    pub fn offset(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether every byte is here.
    pub fn is_complete(&self) -> bool {
        self.total.is_some_and(|total| self.offset() == total)
    }

    /// Adds the next part, or says why it does not fit (and adds nothing).
    pub fn add(&mut self, chunk: BlobChunk) -> Result<(), String> {
        let id = self.id;
        if chunk.total > self.max {
            return Err(format!("blob {id} has {} bytes, over {}", chunk.total, self.max));
        }
        if self.total.is_some_and(|total| total != chunk.total) {
            return Err(format!("blob {id}: a part announces another length"));
        }
        let end = self.offset() + chunk.bytes.len() as u64;
        if end > chunk.total || (chunk.bytes.is_empty() && end < chunk.total) {
            return Err(format!("blob {id}: a part that does not continue it"));
        }
        self.total = Some(chunk.total);
        self.bytes.extend_from_slice(&chunk.bytes);
        Ok(())
    }

    /// The whole blob, if it hashes to its id.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        if !self.is_complete() || Hash::digest(&self.bytes) != self.id {
            return Err(format!("blob {}: the parts do not make it", self.id));
        }
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(total: u64, bytes: &[u8]) -> BlobChunk {
        BlobChunk { total, bytes: bytes.to_vec() }
    }

    #[test]
    fn parts_that_do_not_continue_the_blob_are_refused() {
        let blob = b"hello, blob".to_vec();
        let mut assembly = BlobAssembly::new(Hash::digest(&blob), 64);
        assert!(assembly.add(part(100, &blob)).is_err(), "over the maximum");
        assert!(assembly.add(part(11, &[])).is_err(), "empty before the end");
        assert!(assembly.add(part(11, &[0; 12])).is_err(), "past the end");
        assembly.add(part(11, &blob[..5])).expect("first part");
        assert!(assembly.add(part(12, &blob[5..])).is_err(), "another length");
        assert!(!assembly.is_complete());
        assembly.add(part(11, &blob[5..])).expect("last part");
        assert!(assembly.is_complete());
        assert_eq!(assembly.finish().expect("whole"), blob);
        let mut wrong = BlobAssembly::new(Hash::digest(b"other"), 64);
        wrong.add(part(11, &blob)).expect("fits");
        assert!(wrong.finish().is_err(), "another blob's bytes");
    }
}
