//! The ParaTime's enclave side, when its runtime runs in a TEE.
//!
//! Only the simulated backend exists (no enclave hardware here): the process is told where
//! its simulated machine is by [`SIMULATED_MACHINE_ENV`], measures its own binary (its
//! identity is that hash) and derives its runtime attestation key (RAK, Ed25519) and its
//! encryption key (REK, X25519) from its sealing key — the same enclave on the same machine
//! has the same keys across restarts, and both of a node's runtime processes (execution
//! and checks) hold the same ones. The host only ever receives the public keys and the
//! evidence ([`atoll_tee::Attestation`]).

use std::sync::Arc;

use atoll_crypto::MemorySigner;
use atoll_tee::attestation::attest;
use atoll_tee::simulated::{measure_file, SimulatedEnclave, SimulatedMachine};
use atoll_tee::{Attestation, AttestationStatement, Enclave, SealingPolicy};
use atoll_types::{ChainContext, PublicKey, RuntimeId};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

/// The environment variable naming the simulated machine's file (JSON, written by the
/// devnet); unset: the runtime runs without a TEE.
pub use atoll_tee::simulated::MACHINE_ENV as SIMULATED_MACHINE_ENV;

/// The enclave and the keys that never leave it.
pub(crate) struct EnclaveKeys {
    enclave: SimulatedEnclave,
    rak: MemorySigner,
    rek: [u8; 32],
}

impl EnclaveKeys {
    /// The enclave this process plays, if [`SIMULATED_MACHINE_ENV`] names a machine.
    pub(crate) fn from_env(runtime: RuntimeId) -> Result<Option<Self>, String> {
        let Some(path) = std::env::var_os(SIMULATED_MACHINE_ENV) else { return Ok(None) };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("simulated TEE machine {}: {e}", path.to_string_lossy()))?;
        let machine = SimulatedMachine::from_json(&text).map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| format!("the runtime's own binary: {e}"))?;
        let measurement =
            measure_file(&exe).map_err(|e| format!("measuring {}: {e}", exe.display()))?;
        Ok(Some(Self::new(
            SimulatedEnclave::of_measurement(Arc::new(machine), measurement),
            runtime,
        )))
    }

    /// The keys `enclave` derives for `runtime`.
    fn new(enclave: SimulatedEnclave, runtime: RuntimeId) -> Self {
        let sealing = enclave.sealing_key(SealingPolicy::Measurement);
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&sealing).expect("any key length");
            mac.update(label);
            mac.update(runtime.as_bytes());
            mac.finalize().into_bytes().into()
        };
        let rak = MemorySigner::from_seed(derive(b"atoll runtime attestation key\0"));
        let rek_secret =
            x25519_dalek::StaticSecret::from(derive(b"atoll runtime encryption key\0"));
        let rek = x25519_dalek::PublicKey::from(&rek_secret).to_bytes();
        Self { enclave, rak, rek }
    }

    /// An attestation for `node` serving `runtime` at `height` on `chain`, with a fresh
    /// nonce.
    pub(crate) fn attest(
        &self,
        chain: &ChainContext,
        node: PublicKey,
        runtime: RuntimeId,
        height: u64,
    ) -> Result<Attestation, String> {
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        let statement = AttestationStatement { node, runtime, height, rek: self.rek, nonce };
        attest(&self.enclave, &self.rak, chain, &statement).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use atoll_tee::simulated::{CollateralTerms, SimulatedTcb, SimulationPki};
    use atoll_tee::{ConsensusTime, DcapVerifier, Expected, QuotePolicy};
    use atoll_types::Signer;

    use super::*;

    fn keys(runtime: RuntimeId) -> (EnclaveKeys, SimulationPki) {
        let pki = SimulationPki::from_seed(&[1; 32], 1_700_000_000).expect("pki");
        let machine = pki.machine(&[2; 32], SimulatedTcb::UpToDate).expect("machine");
        let enclave = SimulatedEnclave::of_measurement(Arc::new(machine), [3; 32]);
        (EnclaveKeys::new(enclave, runtime), pki)
    }

    #[test]
    fn an_attestation_carries_public_keys_and_evidence_only() {
        let runtime = RuntimeId::from_bytes([4; 32]);
        let (keys, pki) = keys(runtime);
        let chain = ChainContext::from_genesis_document(b"host boundary");
        let node = MemorySigner::from_seed([5; 32]).public_key();
        let mut attestation = keys.attest(&chain, node, runtime, 10).expect("attests");
        // Nothing secret crosses to the host: neither the RAK's seed nor the sealing key.
        let encoded = atoll_types::encode(&attestation);
        let sealing = keys.enclave.sealing_key(SealingPolicy::Measurement);
        for secret in [*keys.rak.seed(), sealing] {
            assert!(!encoded.windows(32).any(|w| w == secret), "a secret in the attestation");
        }
        assert_eq!(attestation.rak, keys.rak.public_key());
        // And it verifies, as the registry will check it.
        let terms = CollateralTerms {
            issued_at: 1_700_000_000,
            valid_for: 86_400,
            tcb_evaluation: 1,
            revoked: vec![],
        };
        attestation.collateral = pki.collateral(&terms).expect("collateral").encode();
        let enclaves = [keys.enclave.identity()];
        let expected = Expected {
            chain: &chain,
            node,
            runtime,
            policy: &QuotePolicy::up_to_date(),
            enclaves: &enclaves,
            max_age: 100,
        };
        let verifier = DcapVerifier::with_root(pki.root_der());
        attestation
            .verify(&verifier, &expected, ConsensusTime::of_block(11, 1_700_000_100))
            .expect("verifies");
    }

    #[test]
    fn keys_are_the_same_across_restarts_and_differ_per_runtime() {
        let (a, _) = keys(RuntimeId::from_bytes([4; 32]));
        let (b, _) = keys(RuntimeId::from_bytes([4; 32]));
        let (c, _) = keys(RuntimeId::from_bytes([6; 32]));
        assert_eq!(a.rak.public_key(), b.rak.public_key());
        assert_eq!(a.rek, b.rek);
        assert_ne!(a.rak.public_key(), c.rak.public_key());
        // Fresh nonces: two attestations differ.
        let chain = ChainContext::from_genesis_document(b"x");
        let node = MemorySigner::from_seed([5; 32]).public_key();
        let one = a.attest(&chain, node, RuntimeId::from_bytes([4; 32]), 1).expect("attests");
        let two = a.attest(&chain, node, RuntimeId::from_bytes([4; 32]), 1).expect("attests");
        assert_ne!(one.nonce, two.nonce);
    }
}
