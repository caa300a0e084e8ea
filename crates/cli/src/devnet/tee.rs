//! `atoll devnet --tee`: the timestamping ParaTime as a runtime in a **simulated** TEE.
//!
//! When the devnet is created, a simulation PKI is generated (its seed in `tee/pki-seed`,
//! its root in `tee/root.der`) and the genesis trusts its root (`debug_allow_simulated_tee`);
//! the timestamping ParaTime requires `simulated` hardware, allows the enclave whose
//! measurement is the `atoll` binary's hash, and is served by nobody at genesis: each
//! compute node (and the client) gets a simulated machine (`<home>/tee/machine.json`) and
//! the PKI's collateral (`<home>/tee/collateral.json`, valid for a year), and registers the
//! ParaTime with its runtime's attestation once it runs. Nothing here isolates anything:
//! the "enclave" is an ordinary process.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use atoll_client::model::StateQuery;
use atoll_client::tx::SendOptions;
use atoll_client::Client;
use atoll_consensus::registry::types::{TeeHardware, TeePolicy};
use atoll_consensus::registry::{self, RegisterRuntime};
use atoll_consensus::Genesis;
use atoll_tee::simulated::{
    measure_file, simulated_identity, CollateralTerms, SimulatedTcb, SimulationPki,
};
use atoll_tee::{EnclaveIdentity, QuotePolicy, TrustRoots};
use atoll_types::RuntimeId;
use rand_core::{OsRng, RngCore};

use super::layout::{Kind, NodeSpec};

const DAY: u64 = 86_400;
/// How long the simulation's collateral is valid (Intel's is about a month; a devnet
/// should not need renewing it).
const COLLATERAL_DAYS: u64 = 365;
/// Attestations older than this many epochs are refused; nodes re-attest at half of it.
const MAX_ATTESTATION_EPOCHS: u64 = 20;
/// The machine file in a node's home.
pub(crate) const MACHINE_FILE: &str = "tee/machine.json";
/// The collateral file in a node's home.
pub(crate) const COLLATERAL_FILE: &str = "tee/collateral.json";

/// The enclave identity of the simulated enclave running `binary`.
pub(crate) fn identity(binary: &Path) -> Result<EnclaveIdentity> {
    let mr_enclave =
        measure_file(binary).with_context(|| format!("measuring {}", binary.display()))?;
    Ok(simulated_identity(mr_enclave))
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    seed
}

/// Makes `runtime` a simulated-TEE runtime in `genesis` and writes the PKI and each
/// ParaTime node's machine and collateral.
pub(crate) fn setup(
    dir: &Path,
    genesis: &mut Genesis,
    specs: &[NodeSpec],
    runtime: RuntimeId,
    binary: &Path,
) -> Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock")?.as_secs();
    let seed = random_seed();
    let pki = SimulationPki::from_seed(&seed, now - DAY).context("the simulation PKI")?;
    std::fs::create_dir_all(dir.join("tee"))?;
    std::fs::write(dir.join("tee/pki-seed"), hex::encode(seed))?;
    std::fs::write(dir.join("tee/root.der"), pki.root_der())?;
    genesis.registry.parameters.tee = TrustRoots {
        simulation: Some(pki.root_der()),
        debug_allow_simulated_tee: true,
        ..TrustRoots::default()
    };
    let max_attestation_age = MAX_ATTESTATION_EPOCHS * genesis.consensus.epoch_interval;
    let identity = identity(binary)?;
    let descriptor = genesis
        .registry
        .runtimes
        .iter_mut()
        .find(|r| r.id == runtime)
        .context("the TEE runtime is not in the genesis")?;
    descriptor.tee_hardware = TeeHardware::Simulated;
    descriptor.tee_policy =
        Some(TeePolicy { quote: QuotePolicy::up_to_date(), max_attestation_age });
    for deployment in &mut descriptor.deployments {
        deployment.enclaves = vec![identity];
    }
    // Served only with an attestation, which can only be made once the chain runs.
    for node in &mut genesis.registry.nodes {
        node.runtimes.retain(|r| r.id != runtime);
    }
    let terms = CollateralTerms {
        issued_at: now - DAY,
        valid_for: COLLATERAL_DAYS * DAY,
        tcb_evaluation: 1,
        revoked: Vec::new(),
    };
    let collateral = pki.collateral(&terms).context("the simulation collateral")?.encode();
    for spec in specs.iter().filter(|s| s.kind != Kind::Validator) {
        std::fs::create_dir_all(spec.home.join("tee"))?;
        let machine = pki.machine(&random_seed(), SimulatedTcb::UpToDate)?;
        std::fs::write(spec.home.join(MACHINE_FILE), machine.to_json())?;
        std::fs::write(spec.home.join(COLLATERAL_FILE), &collateral)?;
    }
    Ok(())
}

/// Makes the runtime allow the enclave of the binary the devnet runs now (a rebuilt `atoll`
/// has another measurement): its owner, `owner_home`'s entity, updates the descriptor.
/// Returns whether it had to.
pub(crate) async fn allow_binary(
    client: &Client,
    owner_home: &Path,
    runtime: &RuntimeId,
    binary: &Path,
) -> Result<bool> {
    let identity = identity(binary)?;
    let mut descriptor = client.runtime(runtime, StateQuery::default()).await?.value;
    let Some(deployment) = descriptor.deployments.last_mut() else { return Ok(false) };
    if deployment.enclaves.contains(&identity) {
        return Ok(false);
    }
    deployment.enclaves = vec![identity];
    let owner = atoll_node::NodeKeys::load(owner_home)?.entity;
    let body = RegisterRuntime { runtime: descriptor };
    client
        .send(&owner, registry::REGISTER_RUNTIME, &body, SendOptions::default())
        .await
        .context("allowing the new binary's enclave")?;
    Ok(true)
}
