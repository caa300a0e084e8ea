//! Applying writes to a committed tree and producing the nodes of the new version.
//!
//! Only the paths that writes touch are loaded ("materialised"); everything else stays a
//! reference to the stored node and is shared with the previous version. At commit, the
//! changed nodes get fresh ids, and the nodes they replace are recorded as stale: they are
//! no longer part of the new version and may be deleted once older versions are pruned.

use std::sync::Arc;

use crate::key::{bit, crit_bit};
use crate::node::{ChildRef, Node, NodeId};
use crate::tree::Tree;
use crate::MkvsError;
use atoll_types::Hash;

/// A node of a tree being modified.
enum MemNode {
    /// An untouched stored subtree.
    Stored(ChildRef),
    Leaf {
        key: Vec<u8>,
        value: Vec<u8>,
        /// The stored node this was loaded from, if any.
        original: Option<ChildRef>,
    },
    Internal {
        bit: u32,
        left: Box<MemNode>,
        right: Box<MemNode>,
        original: Option<ChildRef>,
    },
}

/// What a commit must store: new nodes, and stored nodes the new version no longer uses.
pub(crate) struct Finalized {
    pub(crate) top: Option<ChildRef>,
    pub(crate) new_nodes: Vec<(NodeId, Vec<u8>)>,
    /// The same nodes decoded (for the node cache once they are stored).
    pub(crate) decoded: Vec<(NodeId, Arc<Node>)>,
    pub(crate) stale: Vec<NodeId>,
    pub(crate) next_id: NodeId,
}

/// A tree under modification, on top of a committed base (or empty).
pub(crate) struct TreeUpdate<'t, 's> {
    base: Option<&'t Tree<'s>>,
    root: Option<MemNode>,
    removed: Vec<NodeId>,
}

impl<'t, 's> TreeUpdate<'t, 's> {
    pub(crate) fn new(base: Option<&'t Tree<'s>>) -> Self {
        let root = base.and_then(Tree::top).map(MemNode::Stored);
        Self { base, root, removed: Vec::new() }
    }

    fn materialize(&self, node: &mut MemNode) -> Result<(), MkvsError> {
        let MemNode::Stored(reference) = node else { return Ok(()) };
        let reference = *reference;
        let base = self.base.ok_or(MkvsError::MissingNode(reference.id))?;
        *node = match &*base.load(&reference)? {
            Node::Leaf { key, value } => {
                MemNode::Leaf { key: key.clone(), value: value.clone(), original: Some(reference) }
            }
            Node::Internal { bit, left, right } => MemNode::Internal {
                bit: *bit,
                left: Box::new(MemNode::Stored(*left)),
                right: Box::new(MemNode::Stored(*right)),
                original: Some(reference),
            },
        };
        Ok(())
    }

    pub(crate) fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), MkvsError> {
        let Some(mut root) = self.root.take() else {
            self.root = Some(MemNode::Leaf { key: key.to_vec(), value, original: None });
            return Ok(());
        };
        let result = self.insert_into(&mut root, key, value);
        self.root = Some(root);
        result
    }

    fn insert_into(
        &mut self,
        root: &mut MemNode,
        key: &[u8],
        value: Vec<u8>,
    ) -> Result<(), MkvsError> {
        // Find the leaf `key`'s bits lead to and where `key` branches off from it.
        let mut current = &mut *root;
        let nearest = loop {
            self.materialize(current)?;
            match current {
                MemNode::Leaf { key: leaf_key, .. } => break leaf_key.clone(),
                MemNode::Internal { bit: b, left, right, .. } => {
                    current = if bit(key, *b) { right } else { left };
                }
                MemNode::Stored(_) => unreachable!("materialized above"),
            }
        };
        let Some(crit) = crit_bit(key, &nearest) else {
            if let MemNode::Leaf { value: old, .. } = current {
                *old = value;
            }
            return Ok(());
        };
        // Walk down again to the first node branching after `crit` and split there.
        let mut current = root;
        loop {
            let go_right = match &*current {
                MemNode::Internal { bit: b, .. } if *b < crit => bit(key, *b),
                _ => break,
            };
            let MemNode::Internal { left, right, .. } = current else {
                unreachable!("matched above")
            };
            current = if go_right { right } else { left };
        }
        let existing =
            std::mem::replace(current, MemNode::Stored(ChildRef { id: 0, hash: Hash::ZERO }));
        let leaf = MemNode::Leaf { key: key.to_vec(), value, original: None };
        let (left, right) = if bit(key, crit) { (existing, leaf) } else { (leaf, existing) };
        *current = MemNode::Internal {
            bit: crit,
            left: Box::new(left),
            right: Box::new(right),
            original: None,
        };
        Ok(())
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Result<(), MkvsError> {
        let Some(mut root) = self.root.take() else { return Ok(()) };
        self.materialize(&mut root)?;
        if let MemNode::Leaf { key: leaf_key, original, .. } = &root {
            if leaf_key.as_slice() == key {
                self.removed.extend(original.map(|o| o.id));
                return Ok(());
            }
            self.root = Some(root);
            return Ok(());
        }
        let result = self.remove_below(&mut root, key);
        self.root = Some(root);
        result
    }

    /// Removes `key` from below the internal node `current`, collapsing its parent.
    fn remove_below(&mut self, mut current: &mut MemNode, key: &[u8]) -> Result<(), MkvsError> {
        loop {
            let MemNode::Internal { bit: b, left, right, .. } = current else { return Ok(()) };
            let go_right = bit(key, *b);
            let child = if go_right { &mut **right } else { &mut **left };
            self.materialize(child)?;
            let found = match child {
                MemNode::Leaf { key: leaf_key, .. } => leaf_key.as_slice() == key,
                _ => false,
            };
            if matches!(child, MemNode::Leaf { .. }) {
                if !found {
                    return Ok(());
                }
                let MemNode::Internal { left, right, original, .. } = std::mem::replace(
                    current,
                    MemNode::Stored(ChildRef { id: 0, hash: Hash::ZERO }),
                ) else {
                    unreachable!("checked above")
                };
                let (gone, kept) = if go_right { (right, left) } else { (left, right) };
                if let MemNode::Leaf { original: Some(o), .. } = *gone {
                    self.removed.push(o.id);
                }
                self.removed.extend(original.map(|o| o.id));
                *current = *kept;
                return Ok(());
            }
            let MemNode::Internal { left, right, .. } = current else { unreachable!() };
            current = if go_right { &mut **right } else { &mut **left };
        }
    }

    /// Hashes the modified tree, assigning ids from `next_id` to nodes that changed.
    ///
    /// Iterative (post-order with an explicit stack): a trie can be `MAX_DEPTH` deep.
    pub(crate) fn finalize(mut self, next_id: NodeId) -> Finalized {
        let mut out = Finalized {
            top: None,
            new_nodes: Vec::new(),
            decoded: Vec::new(),
            stale: Vec::new(),
            next_id,
        };
        let Some(root) = self.root.take() else {
            out.stale.append(&mut self.removed);
            return out;
        };
        enum Work {
            Visit(MemNode),
            Join { bit: u32, original: Option<ChildRef> },
        }
        let mut work = vec![Work::Visit(root)];
        let mut done: Vec<ChildRef> = Vec::new();
        while let Some(item) = work.pop() {
            match item {
                Work::Visit(MemNode::Stored(reference)) => done.push(reference),
                Work::Visit(MemNode::Leaf { key, value, original }) => {
                    done.push(emit(Node::Leaf { key, value }, original, &mut out));
                }
                Work::Visit(MemNode::Internal { bit, left, right, original }) => {
                    work.push(Work::Join { bit, original });
                    work.push(Work::Visit(*right));
                    work.push(Work::Visit(*left));
                }
                Work::Join { bit, original } => {
                    let (Some(right), Some(left)) = (done.pop(), done.pop()) else {
                        unreachable!("both children are finalized before their parent")
                    };
                    done.push(emit(Node::Internal { bit, left, right }, original, &mut out));
                }
            }
        }
        out.top = done.pop();
        out.stale.append(&mut self.removed);
        out
    }
}

impl Drop for TreeUpdate<'_, '_> {
    /// Takes the tree apart iteratively: dropping a deep chain of boxes recursively could
    /// overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<MemNode> = self.root.take().into_iter().collect();
        while let Some(node) = stack.pop() {
            if let MemNode::Internal { left, right, .. } = node {
                stack.push(*left);
                stack.push(*right);
            }
        }
    }
}

/// Stores `node` under a fresh id unless it equals the stored node it was loaded from.
fn emit(node: Node, original: Option<ChildRef>, out: &mut Finalized) -> ChildRef {
    let hash = node.hash();
    if let Some(original) = original {
        if original.hash == hash {
            // Touched but unchanged: keep sharing the stored node.
            return original;
        }
        out.stale.push(original.id);
    }
    let id = out.next_id;
    out.next_id += 1;
    out.new_nodes.push((id, node.encode()));
    out.decoded.push((id, Arc::new(node)));
    ChildRef { id, hash }
}
