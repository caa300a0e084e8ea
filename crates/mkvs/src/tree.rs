//! Read views of committed trees: lookups, ordered iteration, neighbours.

use std::sync::Arc;

use crate::cache::NodeCache;
use crate::db::NodeReader;
use crate::key::{bit, crit_bit};
use crate::node::{ChildRef, Node};
use crate::read::{Entry, EntryIter, KeyValueRead};
use crate::root::Root;
use crate::MkvsError;

/// A read-only view of one committed root. Every node it loads is checked against the hash
/// its parent recorded, so a corrupt database yields [`MkvsError::CorruptNode`], never a
/// wrong answer.
pub struct Tree<'s> {
    cache: &'s NodeCache,
    reader: Box<dyn NodeReader + 's>,
    root: Root,
    top: Option<ChildRef>,
}

/// One internal node on the path from the root towards a key.
pub(crate) struct PathStep {
    pub(crate) bit: u32,
    pub(crate) left: ChildRef,
    pub(crate) right: ChildRef,
}

/// The path from the root to the leaf a key's bits lead to.
pub(crate) struct SearchPath {
    pub(crate) steps: Vec<PathStep>,
    /// The root's reference.
    pub(crate) top: ChildRef,
    pub(crate) leaf_key: Vec<u8>,
}

impl<'s> Tree<'s> {
    pub(crate) fn new(
        cache: &'s NodeCache,
        reader: Box<dyn NodeReader + 's>,
        root: Root,
        top: Option<ChildRef>,
    ) -> Self {
        Self { cache, reader, root, top }
    }

    /// The root this view reads.
    pub fn root(&self) -> &Root {
        &self.root
    }

    pub(crate) fn top(&self) -> Option<ChildRef> {
        self.top
    }

    /// Loads and checks the node `reference` points to.
    pub(crate) fn load(&self, reference: &ChildRef) -> Result<Arc<Node>, MkvsError> {
        if let Some(node) = self.cache.get(reference.id) {
            return Ok(node);
        }
        let bytes = self.reader.node(reference.id)?.ok_or(MkvsError::MissingNode(reference.id))?;
        let node = Node::decode_checked(&bytes, reference)
            .map_err(|reason| MkvsError::CorruptNode { id: reference.id, reason })?;
        let node = Arc::new(node);
        self.cache.insert(reference.id, node.clone());
        Ok(node)
    }

    /// Follows `key`'s bits from the root to a leaf, telling `step` each internal node it
    /// passes; the leaf (its key and value), or `None` for an empty tree.
    fn descend(
        &self,
        key: &[u8],
        mut step: impl FnMut(PathStep),
    ) -> Result<Option<Arc<Node>>, MkvsError> {
        let Some(mut current) = self.top else { return Ok(None) };
        loop {
            let node = self.load(&current)?;
            match &*node {
                Node::Leaf { .. } => return Ok(Some(node)),
                Node::Internal { bit: b, left, right } => {
                    step(PathStep { bit: *b, left: *left, right: *right });
                    current = if bit(key, *b) { *right } else { *left };
                }
            }
        }
    }

    /// Follows `key`'s bits from the root to a leaf, recording the path; `None` for an
    /// empty tree.
    pub(crate) fn search(&self, key: &[u8]) -> Result<Option<SearchPath>, MkvsError> {
        let mut steps = Vec::new();
        let (Some(top), Some(leaf)) = (self.top, self.descend(key, |s| steps.push(s))?) else {
            return Ok(None);
        };
        let Node::Leaf { key: leaf_key, .. } = &*leaf else { return Ok(None) };
        Ok(Some(SearchPath { steps, top, leaf_key: leaf_key.clone() }))
    }

    /// The value stored under `key` (the descent of [`Tree::search`], nothing recorded).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        Ok(self.descend(key, |_| {})?.and_then(|leaf| match &*leaf {
            Node::Leaf { key: leaf_key, value } if leaf_key.as_slice() == key => {
                Some(value.clone())
            }
            _ => None,
        }))
    }

    /// The subtrees holding every key `≥ start`, as a stack whose top is visited first.
    fn seek(&self, start: &[u8]) -> Result<Vec<ChildRef>, MkvsError> {
        let Some(path) = self.search(start)? else { return Ok(Vec::new()) };
        let crit = crit_bit(start, &path.leaf_key);
        let (above_path, stop) = branch_off(&path, start, crit, false);
        // Below the branch-off point every key differs from `start` at `crit`: they are all
        // above `start` exactly when `start` has a 0 there. Without a critical bit, `stop`
        // is the leaf holding `start` itself.
        let mut stack = above_path;
        if crit.is_none_or(|c| !bit(start, c)) {
            stack.push(stop);
        }
        Ok(stack)
    }

    /// The leaf with the largest key `< key`, as `(key, reference)`.
    pub(crate) fn predecessor(&self, key: &[u8]) -> Result<Option<ChildRef>, MkvsError> {
        let Some(path) = self.search(key)? else { return Ok(None) };
        let crit = crit_bit(key, &path.leaf_key);
        let (left_of_path, stop) = branch_off(&path, key, crit, true);
        let below = match crit {
            Some(c) if bit(key, c) => Some(stop),
            _ => left_of_path.last().copied(),
        };
        below.map(|subtree| self.max_leaf(subtree)).transpose()
    }

    /// The leaf with the largest key in `subtree`.
    fn max_leaf(&self, mut subtree: ChildRef) -> Result<ChildRef, MkvsError> {
        loop {
            match &*self.load(&subtree)? {
                Node::Leaf { .. } => return Ok(subtree),
                Node::Internal { right, .. } => subtree = *right,
            }
        }
    }

    /// Entries with key `≥ start`, in key order.
    pub fn entries_from(&self, start: &[u8]) -> TreeIter<'_, 's> {
        match self.seek(start) {
            Ok(stack) => TreeIter { tree: self, stack, failed: false, pending_error: None },
            Err(e) => {
                TreeIter { tree: self, stack: Vec::new(), failed: false, pending_error: Some(e) }
            }
        }
    }
}

/// Walks `path` down to the first node whose bit is past `crit` (the point where `key`
/// branches off the tree), returning that node and the siblings passed on the way: right
/// siblings of left turns (`lefts = false`, in visiting order for a stack) or left siblings
/// of right turns (`lefts = true`, deepest last).
fn branch_off(
    path: &SearchPath,
    key: &[u8],
    crit: Option<u32>,
    lefts: bool,
) -> (Vec<ChildRef>, ChildRef) {
    let mut siblings = Vec::new();
    let mut current = None;
    for step in &path.steps {
        if crit.is_some_and(|c| step.bit > c) {
            break;
        }
        let right = bit(key, step.bit);
        if right == lefts {
            siblings.push(if lefts { step.left } else { step.right });
        }
        current = Some(if right { step.right } else { step.left });
    }
    (siblings, current.unwrap_or(path.top))
}

/// Iterates a tree's entries in key order, loading nodes as it goes.
pub struct TreeIter<'t, 's> {
    tree: &'t Tree<'s>,
    stack: Vec<ChildRef>,
    failed: bool,
    pending_error: Option<MkvsError>,
}

impl Iterator for TreeIter<'_, '_> {
    type Item = Result<Entry, MkvsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            self.failed = true;
            return Some(Err(e));
        }
        if self.failed {
            return None;
        }
        while let Some(reference) = self.stack.pop() {
            match self.tree.load(&reference) {
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Ok(node) => match &*node {
                    Node::Leaf { key, value } => return Some(Ok((key.clone(), value.clone()))),
                    Node::Internal { left, right, .. } => {
                        self.stack.push(*right);
                        self.stack.push(*left);
                    }
                },
            }
        }
        None
    }
}

impl KeyValueRead for Tree<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        Tree::get(self, key)
    }

    fn iter_from(&self, start: &[u8]) -> EntryIter<'_> {
        Box::new(self.entries_from(start))
    }
}
