//! The consensus state over an MKVS store: genesis, blocks committed as versions, reads at
//! any retained height. Version `h` of the state tree is the state after block `h`; its
//! root is the app hash block `h + 1` carries.

use atoll_mkvs::{Mkvs, MkvsError, NodeDb, Root, RootKind, Tree, CONSENSUS_NAMESPACE};
use atoll_types::Height;
use thiserror::Error;

use crate::block::{apply_block_verified, BlockError, BlockOutcome};
use crate::context::BlockContext;
use crate::error::StateError;
use crate::genesis::Genesis;

/// Why the state could not be initialised or advanced.
#[derive(Debug, Error)]
pub enum AppError {
    /// The store already holds a chain.
    #[error("the state store already holds a chain")]
    AlreadyInitialised,
    /// There is no state yet: initialise from genesis first.
    #[error("no state: initialise from genesis first")]
    NotInitialised,
    /// The block could not be applied.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// State access failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] MkvsError),
    /// The genesis document is invalid.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
}

/// The consensus state machine bound to a store.
pub struct ConsensusState<D: NodeDb> {
    store: Mkvs<D>,
}

impl<D: NodeDb> ConsensusState<D> {
    /// Wraps a store.
    pub fn new(store: Mkvs<D>) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &Mkvs<D> {
        &self.store
    }

    /// Writes the genesis state as version `initial_height - 1`.
    pub fn init_genesis(&self, genesis: &Genesis) -> Result<Root, AppError> {
        if self.latest()?.is_some() {
            return Err(AppError::AlreadyInitialised);
        }
        let log = genesis.initial_state(&NoState)?;
        Ok(self.store.commit(
            CONSENSUS_NAMESPACE,
            RootKind::State,
            None,
            genesis.initial_height - 1,
            &log,
        )?)
    }

    /// The latest committed state root.
    pub fn latest(&self) -> Result<Option<Root>, AppError> {
        Ok(self.store.latest_root(CONSENSUS_NAMESPACE, RootKind::State)?)
    }

    /// The state after block `height` (or genesis, at `initial_height - 1`).
    pub fn tree_at(&self, height: Height) -> Result<Tree<'_>, AppError> {
        let root = self.store.root_at(CONSENSUS_NAMESPACE, RootKind::State, height.0)?;
        Ok(self.store.tree(&root)?)
    }

    /// Applies a block on the latest state and commits the result as version `height`.
    pub fn apply(
        &self,
        ctx: &BlockContext,
        txs: &[Vec<u8>],
    ) -> Result<(Root, BlockOutcome), AppError> {
        self.apply_verified(ctx, txs, &|_| false)
    }

    /// [`ConsensusState::apply`] skipping the signature check of the transactions for which
    /// `verified(hash)` holds (see [`apply_block_verified`]).
    pub fn apply_verified(
        &self,
        ctx: &BlockContext,
        txs: &[Vec<u8>],
        verified: &dyn Fn(&atoll_types::Hash) -> bool,
    ) -> Result<(Root, BlockOutcome), AppError> {
        let latest = self.latest()?.ok_or(AppError::NotInitialised)?;
        let tree = self.store.tree(&latest)?;
        let outcome = apply_block_verified(&tree, ctx, txs, verified)?;
        drop(tree);
        let root = self.store.commit(
            CONSENSUS_NAMESPACE,
            RootKind::State,
            Some(latest.version),
            ctx.height.0,
            &outcome.write_log,
        )?;
        Ok((root, outcome))
    }
}

/// The empty state genesis is written over.
struct NoState;

impl atoll_mkvs::KeyValueRead for NoState {
    fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        Ok(None)
    }

    fn iter_from(&self, _start: &[u8]) -> atoll_mkvs::EntryIter<'_> {
        Box::new(std::iter::empty())
    }
}
