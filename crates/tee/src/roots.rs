//! The roots a chain trusts TEE evidence under (kept in its consensus parameters).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::dcap::{DcapVerifier, INTEL_SGX_ROOT_CA};
use crate::error::TeeError;

/// Which root certificates a chain trusts: Intel's for real hardware, and — on a devnet
/// only, when its genesis says so — a simulation PKI's for simulated enclaves.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TrustRoots {
    /// The root (DER) DCAP quotes of SGX/TDX hardware chain to: Intel's SGX Root CA.
    #[serde(with = "atoll_types::hex_serde::bytes")]
    pub dcap: Vec<u8>,
    /// A devnet's simulation root (DER), trusted for simulated enclaves only with
    /// `debug_allow_simulated_tee`.
    #[serde(default, with = "atoll_types::hex_serde::optional_bytes")]
    pub simulation: Option<Vec<u8>>,
    /// Whether this chain trusts simulated enclaves — whose "enclave" is an ordinary process
    /// anyone running the machine can read. Never on a chain that holds value.
    #[serde(default)]
    pub debug_allow_simulated_tee: bool,
}

impl Default for TrustRoots {
    fn default() -> Self {
        Self {
            dcap: INTEL_SGX_ROOT_CA.to_vec(),
            simulation: None,
            debug_allow_simulated_tee: false,
        }
    }
}

impl TrustRoots {
    /// Refuses a simulation root without the debug flag, or the flag without a root.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.simulation, self.debug_allow_simulated_tee) {
            (Some(_), false) => {
                Err("a simulation root is set but debug_allow_simulated_tee is false".into())
            }
            (None, true) => {
                Err("debug_allow_simulated_tee is set without a simulation root".into())
            }
            _ if self.dcap.is_empty() => Err("no DCAP root".into()),
            _ => Ok(()),
        }
    }

    /// The verifier for real SGX/TDX evidence.
    pub fn hardware(&self) -> DcapVerifier {
        DcapVerifier::with_root(self.dcap.clone())
    }

    /// The verifier for simulated evidence, if this chain trusts it.
    pub fn simulated(&self) -> Result<DcapVerifier, TeeError> {
        match (&self.simulation, self.debug_allow_simulated_tee) {
            (Some(root), true) => Ok(DcapVerifier::with_root(root.clone())),
            _ => Err(TeeError::Mismatch("this chain does not trust simulated TEEs".into())),
        }
    }
}
