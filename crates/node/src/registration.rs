//! Keeping the node registered. A node descriptor expires at most `max_node_expiration`
//! epochs after it was registered, and an expired node is no longer elected (validator or
//! compute committee) and is removed after the grace period. While it runs, a registered
//! node therefore registers itself again, with the same descriptor and a later expiration,
//! once half of its remaining time has passed.
//!
//! A node serving a runtime whose deployment requires a known answer (the FHE ParaTime:
//! see [`Determinism`]) registers the answer its runtime process computed at start-up, and
//! registers again whenever that changes (a restarted runtime, a new version); it says so
//! in its log when this machine lacks the CPU the deployment names.
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
//! the node has pending, numbered by [`atoll_engine::bft::NodeView::submit_own`] (the compute
//! role's commitments share the identity key and go through it too). A node
//! that is not in the registry (a full node, or one its operator registers by hand) does
//! nothing.

use atoll_compute::ComputeHandle;
use std::collections::BTreeSet;

use atoll_consensus::registry::types::{
    Determinism, Node, NodeRuntime, TeeCapability, TeeHardware, Version,
};
use atoll_consensus::registry::{self, RegisterNode};
use atoll_consensus::{chain, Fee, Transaction};
use atoll_engine::bft::NodeView;
use atoll_types::{Address, Amount, Epoch, Hash, Height, MultiSigned, RuntimeId, Signed, Signer};
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
    /// The compute roles of the runtimes this node serves.
    computes: Vec<ComputeHandle>,
    /// Runtimes whose CPU requirement this machine lacks, already said in the log.
    warned: BTreeSet<RuntimeId>,
    /// The first height this loop saw: a registered attestation made before it is from an
    /// earlier run (whose binary, hence enclave identity, may have changed) and is renewed.
    started_at: Option<u64>,
}

/// A re-registration that is due: the descriptor so far, the runtimes whose entries must
/// be registered anew, the gas price to send it with.
struct Due {
    descriptor: Node,
    refresh: Vec<Refresh>,
    price: u128,
}

/// A served runtime's entry to register anew: at this version, with a fresh attestation
/// (a TEE runtime) or the answer its process computed.
struct Refresh {
    compute: ComputeHandle,
    version: Version,
    attest: bool,
}

/// Whether the registered entry `registered` lacks what a deployment requiring
/// `determinism` needs at `version`: this node's current answer `own`.
fn answer_stale(
    registered: Option<&NodeRuntime>,
    version: Version,
    determinism: Option<&Determinism>,
    own: Option<Hash>,
) -> bool {
    determinism.is_some()
        && !registered.is_some_and(|r| r.version == version && r.known_answer == own)
}

/// CPU features a deployment names that this machine does not have (an architecture
/// other than this one lacks all of them).
fn missing_cpu(determinism: &Determinism) -> Vec<String> {
    if determinism.arch != std::env::consts::ARCH {
        return std::iter::once(determinism.arch.clone())
            .chain(determinism.cpu_features.iter().cloned())
            .collect();
    }
    determinism.cpu_features.iter().filter(|f| !has_cpu_feature(f)).cloned().collect()
}

/// Whether this CPU has `feature` (one of the x86-64 features a runtime may name; any
/// other name is not known to be present).
fn has_cpu_feature(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            "sse4.1" => std::arch::is_x86_feature_detected!("sse4.1"),
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            "aes" => std::arch::is_x86_feature_detected!("aes"),
            "popcnt" => std::arch::is_x86_feature_detected!("popcnt"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
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
        for Refresh { compute, version, attest } in due.refresh {
            let id = compute.runtime();
            let registered = descriptor.runtimes.iter().find(|r| r.id == id);
            let tee = if attest {
                let attestation = compute
                    .attest(descriptor.id, height)
                    .await
                    .map_err(|e| format!("attesting runtime {id}: {e}"))?;
                Some(TeeCapability { hardware: TeeHardware::Simulated, attestation })
            } else {
                registered.filter(|r| r.version == version).and_then(|r| r.tee.clone())
            };
            let served = NodeRuntime { id, version, tee, known_answer: compute.known_answer() };
            descriptor.runtimes.retain(|r| r.id != id);
            descriptor.runtimes.push(served);
        }
        let expiration = descriptor.expiration;
        let sender = Address::from_public_key(&self.keys.identity.public_key());
        let (_, admitted) =
            self.view.submit_own(&sender, |nonce| self.transaction(descriptor, nonce, due.price));
        admitted.map_err(|e| format!("submitting the re-registration: {e}"))?;
        self.submitted = Some((expiration, height));
        Ok(Step::Submitted(expiration))
    }

    /// What is due at `height`, if anything: a later expiration, fresh attestations, or
    /// known answers.
    fn due(&mut self, height: u64) -> Result<Option<Due>, String> {
        let tree = self.view.state().tree_at(Height(height)).map_err(|e| e.to_string())?;
        let consensus = chain::parameters(&tree).map_err(|e| e.to_string())?;
        let epoch = consensus.epoch_of(Height(height));
        let max = registry::parameters(&tree).map_err(|e| e.to_string())?.max_node_expiration;
        let node_id = self.keys.identity.public_key();
        let Some(node) = registry::node(&tree, &node_id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut refresh = Vec::new();
        for compute in &self.computes {
            let Some(runtime) =
                registry::runtime(&tree, &compute.runtime()).map_err(|e| e.to_string())?
            else {
                continue;
            };
            let Some(deployment) = runtime.active_deployment(epoch) else { continue };
            let version = deployment.version;
            let registered = node.runtimes.iter().find(|r| r.id == runtime.id);
            let determinism = deployment.determinism.as_ref();
            if let Some(determinism) = determinism {
                let missing = missing_cpu(determinism);
                if !missing.is_empty() && self.warned.insert(runtime.id) {
                    tracing::error!(
                        runtime = %runtime.id,
                        missing = ?missing,
                        "this machine lacks the CPU the runtime's deployment requires: its \
                         results would differ from other workers'"
                    );
                }
            }
            // Fresh: registered (so the registry accepted it), made during this run, and
            // not yet half way to the maximum age. A submitted one that failed is not.
            let attest = compute.has_tee()
                && runtime.tee_policy.as_ref().is_some_and(|policy| {
                    let refresh = (policy.max_attestation_age / 2).max(1);
                    let started_at = self.started_at.unwrap_or(height);
                    !registered.is_some_and(|r| {
                        r.version == version
                            && r.tee.as_ref().is_some_and(|t| {
                                t.attestation.height >= started_at
                                    && height.saturating_sub(t.attestation.height) < refresh
                            })
                    })
                });
            if attest || answer_stale(registered, version, determinism, compute.known_answer()) {
                refresh.push(Refresh { compute: compute.clone(), version, attest });
            }
        }
        let target = Epoch(epoch.0.saturating_add(max));
        let remaining = node.expiration.0.saturating_sub(epoch.0);
        let expiring = node.expiration < target && remaining <= (max / 2).max(1);
        if !expiring && refresh.is_empty() {
            return Ok(None);
        }
        if let Some((asked, at)) = self.submitted {
            if (asked >= target || !refresh.is_empty()) && height < at.saturating_add(RETRY_BLOCKS)
            {
                return Ok(None);
            }
        }
        let price = self.gas_price.max(consensus.min_gas_price);
        Ok(Some(Due { descriptor: Node { expiration: target, ..node }, refresh, price }))
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
/// unit (the node's own mempool minimum, at least 1), keeping the entries of the runtimes
/// `computes` serve current (TEE attestations, known answers).
pub fn spawn(
    keys: OperationalKeys,
    view: NodeView,
    gas_price: u128,
    computes: Vec<ComputeHandle>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut status = view.subscribe();
        let mut renewal = Renewal {
            keys,
            view,
            gas_price: gas_price.max(1),
            submitted: None,
            computes,
            warned: BTreeSet::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn determinism() -> Determinism {
        Determinism {
            arch: std::env::consts::ARCH.into(),
            cpu_features: Vec::new(),
            known_answer: Hash::digest(b"answer"),
        }
    }

    fn entry(version: Version, known_answer: Option<Hash>) -> NodeRuntime {
        NodeRuntime { id: RuntimeId::from_bytes([0; 32]), version, tee: None, known_answer }
    }

    #[test]
    fn an_answer_is_registered_when_missing_changed_or_for_another_version() {
        let (v1, v2) = (Version::default(), Version { major: 1, ..Version::default() });
        let (ours, other) = (Some(Hash::digest(b"ours")), Some(Hash::digest(b"other")));
        let d = determinism();
        // A runtime without a determinism requirement never needs one.
        assert!(!answer_stale(None, v1, None, ours));
        assert!(answer_stale(None, v1, Some(&d), ours));
        assert!(answer_stale(Some(&entry(v1, None)), v1, Some(&d), ours));
        assert!(answer_stale(Some(&entry(v1, other)), v1, Some(&d), ours));
        assert!(answer_stale(Some(&entry(v2, ours)), v1, Some(&d), ours));
        assert!(!answer_stale(Some(&entry(v1, ours)), v1, Some(&d), ours));
        // A node whose runtime has no answer (did not start) registers that too: it is then
        // not elected, rather than elected on a stale answer.
        assert!(answer_stale(Some(&entry(v1, ours)), v1, Some(&d), None));
    }

    #[test]
    fn cpu_requirements_of_another_architecture_are_all_missing() {
        let mut d = determinism();
        assert!(missing_cpu(&d).is_empty());
        d.cpu_features = vec!["no-such-feature".into()];
        assert_eq!(missing_cpu(&d), vec!["no-such-feature".to_owned()]);
        d.arch = "riscv-of-the-future".into();
        assert_eq!(missing_cpu(&d).len(), 2);
    }
}
