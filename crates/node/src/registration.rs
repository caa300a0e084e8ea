//! Keeping the node registered. A node descriptor expires at most `max_node_expiration`
//! epochs after it was registered, and an expired node is no longer elected (validator or
//! compute committee) and is removed after the grace period. While it runs, a registered
//! node therefore registers itself again, with the same descriptor and a later expiration,
//! once half of its remaining time has passed.
//!
//! The descriptor is signed by the node's identity, consensus and p2p keys (as the registry
//! requires), and so is the transaction, paid from the node's own account: the entity key,
//! which controls the stake, never has to be on the node's host. Its nonce follows whatever
//! the node has pending (the compute role's commitments share the identity key). A node
//! that is not in the registry (a full node, or one its operator registers by hand) does
//! nothing.

use atoll_consensus::registry::types::Node;
use atoll_consensus::registry::{self, RegisterNode};
use atoll_consensus::{chain, staking, Fee, Transaction};
use atoll_engine::bft::NodeView;
use atoll_types::{Address, Amount, Epoch, Height, MultiSigned, Signed, Signer};
use tokio::task::JoinHandle;

use crate::keys::OperationalKeys;

/// Gas limit of a re-registration (the method's cost plus the bytes of three signatures).
const GAS: u64 = 50_000;
/// Blocks to wait for a submitted re-registration before sending it again.
const RETRY_BLOCKS: u64 = 20;

/// The re-registration loop's memory.
struct Renewal {
    keys: OperationalKeys,
    view: NodeView,
    gas_price: u128,
    /// The expiration last asked for, and the height it was asked at.
    submitted: Option<(Epoch, u64)>,
}

/// What a renewal step did.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Not registered, or not due yet.
    Idle,
    /// A re-registration was submitted, expiring at this epoch.
    Submitted(Epoch),
}

impl Renewal {
    /// Checks the node's descriptor at `height` and re-registers it if it is due.
    fn step(&mut self, height: u64) -> Result<Step, String> {
        let tree = self.view.state().tree_at(Height(height)).map_err(|e| e.to_string())?;
        let consensus = chain::parameters(&tree).map_err(|e| e.to_string())?;
        let epoch = consensus.epoch_of(Height(height));
        let max = registry::parameters(&tree).map_err(|e| e.to_string())?.max_node_expiration;
        let node_id = self.keys.identity.public_key();
        let Some(node) = registry::node(&tree, &node_id).map_err(|e| e.to_string())? else {
            return Ok(Step::Idle);
        };
        let target = Epoch(epoch.0.saturating_add(max));
        let remaining = node.expiration.0.saturating_sub(epoch.0);
        if node.expiration >= target || remaining > (max / 2).max(1) {
            return Ok(Step::Idle);
        }
        if let Some((asked, at)) = self.submitted {
            if asked >= target && height < at.saturating_add(RETRY_BLOCKS) {
                return Ok(Step::Idle);
            }
        }
        let sender = Address::from_public_key(&self.keys.identity.public_key());
        let on_chain = staking::account(&tree, &sender).map_err(|e| e.to_string())?.general.nonce;
        let nonce = self.view.next_nonce(&sender, on_chain);
        drop(tree);
        let price = self.gas_price.max(consensus.min_gas_price);
        let raw = self.transaction(Node { expiration: target, ..node }, nonce, price);
        self.view.submit(raw).map_err(|e| format!("submitting the re-registration: {e}"))?;
        self.submitted = Some((target, height));
        Ok(Step::Submitted(target))
    }

    /// `registry.RegisterNode` for `descriptor`, sent and paid for by the node itself (its
    /// identity key): the entity key, which controls the stake, never has to be online.
    fn transaction(&self, descriptor: Node, nonce: u64, gas_price: u128) -> Vec<u8> {
        let chain = self.view.chain_context();
        let signers: [&dyn Signer; 3] = [&self.keys.identity, &self.keys.consensus, &self.keys.p2p];
        let body = RegisterNode { node: MultiSigned::sign(&signers, &chain, &descriptor) };
        let amount = Amount::new(u128::from(GAS).saturating_mul(gas_price));
        let tx = Transaction::new(nonce, Fee { amount, gas: GAS }, registry::REGISTER_NODE, &body);
        atoll_types::encode(&Signed::sign(&self.keys.identity, &chain, &tx))
    }
}

/// Starts the re-registration loop for the node `view` runs, paying `gas_price` per gas
/// unit (the node's own mempool minimum, at least 1).
pub fn spawn(keys: OperationalKeys, view: NodeView, gas_price: u128) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut status = view.subscribe();
        let mut renewal = Renewal { keys, view, gas_price: gas_price.max(1), submitted: None };
        while status.changed().await.is_ok() {
            let height = status.borrow_and_update().height;
            if height == 0 {
                continue;
            }
            match renewal.step(height) {
                Ok(Step::Submitted(expiration)) => {
                    tracing::info!(height, expiration = expiration.0, "node re-registration sent");
                }
                Ok(Step::Idle) => {}
                Err(e) => tracing::warn!(height, error = %e, "node re-registration"),
            }
        }
    })
}
