//! Keeping the node registered. A node descriptor expires at most `max_node_expiration`
//! epochs after it was registered, and an expired node is no longer elected (validator or
//! compute committee) and is removed after the grace period. While it runs, a registered
//! node therefore registers itself again, with the same descriptor and a later expiration,
//! once half of its remaining time has passed.
//!
//! A node serving TEE runtimes also keeps their attestations fresh: when it has none
//! registered for such a runtime, when the registered one is half way to the runtime's
//! `max_attestation_age`, or when the runtime's active version changed, it asks the
//! runtime's enclave for a new attestation (through the runtime host: public keys and
//! evidence only) and registers again with it.
//!
//! The descriptor is signed by the node's identity, consensus and p2p keys (as the registry
//! requires), and so is the transaction, paid from the node's own account: the entity key,
//! which controls the stake, never has to be on the node's host. Its nonce follows whatever
//! the node has pending (the compute role's commitments share the identity key). A node
//! that is not in the registry (a full node, or one its operator registers by hand) does
//! nothing.

use atoll_compute::ComputeHandle;
use atoll_consensus::registry::types::{Node, NodeRuntime, TeeCapability, TeeHardware, Version};
use atoll_consensus::registry::{self, RegisterNode};
use atoll_consensus::{chain, staking, Fee, Transaction};
use atoll_engine::bft::NodeView;
use atoll_types::{Address, Amount, Epoch, Height, MultiSigned, Signed, Signer};
use tokio::task::JoinHandle;

use crate::keys::OperationalKeys;

/// Gas limit of a re-registration (the method's cost plus its bytes: three signatures, and
/// the attestations of TEE runtimes with their collateral).
const GAS: u64 = 100_000;
/// Blocks to wait for a submitted re-registration before sending it again.
const RETRY_BLOCKS: u64 = 20;

/// The re-registration loop's memory.
struct Renewal {
    keys: OperationalKeys,
    view: NodeView,
    gas_price: u128,
    /// The expiration last asked for, and the height it was asked at.
    submitted: Option<(Epoch, u64)>,
    /// The compute roles of the TEE runtimes this node serves.
    tee: Vec<ComputeHandle>,
    /// The first height this loop saw: a registered attestation made before it is from an
    /// earlier run (whose binary, hence enclave identity, may have changed) and is renewed.
    started_at: Option<u64>,
}

/// A re-registration that is due: the descriptor so far, the TEE runtimes to attest
/// (with the version to register), the nonce and gas price to send it with.
struct Due {
    descriptor: Node,
    attest: Vec<(ComputeHandle, Version)>,
    nonce: u64,
    price: u128,
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
    async fn step(&mut self, height: u64) -> Result<Step, String> {
        self.started_at.get_or_insert(height);
        let Some(due) = self.due(height)? else { return Ok(Step::Idle) };
        let mut descriptor = due.descriptor;
        for (compute, version) in due.attest {
            let attestation = compute
                .attest(descriptor.id, height)
                .await
                .map_err(|e| format!("attesting runtime {}: {e}", compute.runtime()))?;
            let served = NodeRuntime {
                id: compute.runtime(),
                version,
                tee: Some(TeeCapability { hardware: TeeHardware::Simulated, attestation }),
            };
            descriptor.runtimes.retain(|r| r.id != served.id);
            descriptor.runtimes.push(served);
        }
        let expiration = descriptor.expiration;
        let raw = self.transaction(descriptor, due.nonce, due.price);
        self.view.submit(raw).map_err(|e| format!("submitting the re-registration: {e}"))?;
        self.submitted = Some((expiration, height));
        Ok(Step::Submitted(expiration))
    }

    /// What is due at `height`, if anything: a later expiration, or fresh attestations.
    fn due(&self, height: u64) -> Result<Option<Due>, String> {
        let tree = self.view.state().tree_at(Height(height)).map_err(|e| e.to_string())?;
        let consensus = chain::parameters(&tree).map_err(|e| e.to_string())?;
        let epoch = consensus.epoch_of(Height(height));
        let max = registry::parameters(&tree).map_err(|e| e.to_string())?.max_node_expiration;
        let node_id = self.keys.identity.public_key();
        let Some(node) = registry::node(&tree, &node_id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut attest = Vec::new();
        for compute in &self.tee {
            let runtime =
                registry::runtime(&tree, &compute.runtime()).map_err(|e| e.to_string())?;
            let Some((runtime, policy)) =
                runtime.as_ref().and_then(|r| r.tee_policy.as_ref().map(|p| (r, p)))
            else {
                continue;
            };
            let Some(version) = runtime.active_deployment(epoch).map(|d| d.version) else {
                continue;
            };
            let refresh = (policy.max_attestation_age / 2).max(1);
            // Fresh: registered (so the registry accepted it), made during this run, and
            // not yet half way to the maximum age. A submitted one that failed is not.
            let started_at = self.started_at.unwrap_or(height);
            let fresh = node.runtimes.iter().any(|r| {
                r.id == runtime.id
                    && r.version == version
                    && r.tee.as_ref().is_some_and(|t| {
                        t.attestation.height >= started_at
                            && height.saturating_sub(t.attestation.height) < refresh
                    })
            });
            if !fresh {
                attest.push((compute.clone(), version));
            }
        }
        let target = Epoch(epoch.0.saturating_add(max));
        let remaining = node.expiration.0.saturating_sub(epoch.0);
        let expiring = node.expiration < target && remaining <= (max / 2).max(1);
        if !expiring && attest.is_empty() {
            return Ok(None);
        }
        if let Some((asked, at)) = self.submitted {
            if (asked >= target || !attest.is_empty()) && height < at.saturating_add(RETRY_BLOCKS) {
                return Ok(None);
            }
        }
        let sender = Address::from_public_key(&self.keys.identity.public_key());
        let on_chain = staking::account(&tree, &sender).map_err(|e| e.to_string())?.general.nonce;
        let nonce = self.view.next_nonce(&sender, on_chain);
        let price = self.gas_price.max(consensus.min_gas_price);
        Ok(Some(Due { descriptor: Node { expiration: target, ..node }, attest, nonce, price }))
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
/// unit (the node's own mempool minimum, at least 1), keeping the attestations of the TEE
/// runtimes in `tee` fresh.
pub fn spawn(
    keys: OperationalKeys,
    view: NodeView,
    gas_price: u128,
    tee: Vec<ComputeHandle>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut status = view.subscribe();
        let mut renewal = Renewal {
            keys,
            view,
            gas_price: gas_price.max(1),
            submitted: None,
            tee,
            started_at: None,
        };
        while status.changed().await.is_ok() {
            let height = status.borrow_and_update().height;
            if height == 0 {
                continue;
            }
            match renewal.step(height).await {
                Ok(Step::Submitted(expiration)) => {
                    tracing::info!(height, expiration = expiration.0, "node re-registration sent");
                }
                Ok(Step::Idle) => {}
                Err(e) => tracing::warn!(height, error = %e, "node re-registration"),
            }
        }
    })
}
