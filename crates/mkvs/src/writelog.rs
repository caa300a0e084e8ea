//! Write logs: the ordered changes between two roots.
//!
//! Replicas and syncing nodes share state as write logs: applying the write log from root
//! A to root B onto A reproduces B exactly, and the result is checked against B's hash.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::node::{ChildRef, Node};
use crate::tree::Tree;
use crate::MkvsError;

/// One change: set `key` to `value`, or delete it (`value = None`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct WriteLogEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The new value, or `None` for a deletion.
    pub value: Option<Vec<u8>>,
}

/// An ordered list of changes.
pub type WriteLog = Vec<WriteLogEntry>;

/// The changes that turn `from` into `to`, in key order.
///
/// Subtrees the two trees share (equal hashes) are skipped without being read, so the cost
/// follows the size of the difference, not of the trees.
pub fn diff(from: &Tree<'_>, to: &Tree<'_>) -> Result<WriteLog, MkvsError> {
    let mut a: Vec<ChildRef> = from.top().into_iter().collect();
    let mut b: Vec<ChildRef> = to.top().into_iter().collect();
    let mut log = WriteLog::new();
    loop {
        match (a.last().copied(), b.last().copied()) {
            (None, None) => return Ok(log),
            (Some(x), Some(y)) if x.hash == y.hash => {
                a.pop();
                b.pop();
            }
            (Some(x), Some(y)) => {
                let (nx, ny) = (from.load(&x)?, to.load(&y)?);
                match (&*nx, &*ny) {
                    (Node::Leaf { key: kx, value: vx }, Node::Leaf { key: ky, value: vy }) => {
                        if kx < ky {
                            a.pop();
                            log.push(WriteLogEntry { key: kx.clone(), value: None });
                        } else if ky < kx {
                            b.pop();
                            log.push(WriteLogEntry { key: ky.clone(), value: Some(vy.clone()) });
                        } else {
                            a.pop();
                            b.pop();
                            if vx != vy {
                                log.push(WriteLogEntry {
                                    key: ky.clone(),
                                    value: Some(vy.clone()),
                                });
                            }
                        }
                    }
                    // Expand the larger subtree (lower branching bit) first; on a tie,
                    // both, so that equal subtrees below line up.
                    (Node::Internal { bit: bx, .. }, Node::Internal { bit: by, .. }) => {
                        if bx <= by {
                            expand(&mut a, &nx);
                        }
                        if by <= bx {
                            expand(&mut b, &ny);
                        }
                    }
                    (Node::Internal { .. }, Node::Leaf { .. }) => expand(&mut a, &nx),
                    (Node::Leaf { .. }, Node::Internal { .. }) => expand(&mut b, &ny),
                }
            }
            (Some(x), None) => {
                a.pop();
                let node = from.load(&x)?;
                match &*node {
                    Node::Leaf { key, .. } => {
                        log.push(WriteLogEntry { key: key.clone(), value: None })
                    }
                    Node::Internal { left, right, .. } => {
                        a.push(*right);
                        a.push(*left);
                    }
                }
            }
            (None, Some(y)) => {
                b.pop();
                let node = to.load(&y)?;
                match &*node {
                    Node::Leaf { key, value } => {
                        log.push(WriteLogEntry { key: key.clone(), value: Some(value.clone()) })
                    }
                    Node::Internal { left, right, .. } => {
                        b.push(*right);
                        b.push(*left);
                    }
                }
            }
        }
    }
}

fn expand(stack: &mut Vec<ChildRef>, node: &Arc<Node>) {
    if let Node::Internal { left, right, .. } = &**node {
        stack.pop();
        stack.push(*right);
        stack.push(*left);
    }
}
