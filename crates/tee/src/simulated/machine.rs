//! Simulated machines and the enclaves they run: the runtime process plays the enclave,
//! holding what hardware would hold — the machine's PCK and attestation keys and its
//! sealing secret — and writes real-format quotes with them.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::derive;
use super::pki::{qe_signer, PCE_SVN, QE_PRODUCT_ID, QE_SVN};
use super::quote::{
    sgx_quote, QuotingEnclave, ReportFields, ATTRIBUTE_DEBUG, ATTRIBUTE_INIT, ATTRIBUTE_MODE64,
    ATTRIBUTE_PROVISION_KEY,
};
use crate::enclave::{Enclave, SealingPolicy};
use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::verifier::Evidence;

/// The TCB level of a simulated machine's platform, as the simulation's TCB info rates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SimulatedTcb {
    /// Current microcode and firmware.
    UpToDate,
    /// Behind: affected by the simulation's advisory.
    OutOfDate,
    /// Compromised: never trusted.
    Revoked,
}

impl SimulatedTcb {
    /// The platform's CPU SVN (its 16 TCB components).
    pub(crate) fn cpu_svn(self) -> [u8; 16] {
        match self {
            Self::UpToDate => [3; 16],
            Self::OutOfDate => [2; 16],
            Self::Revoked => [1; 16],
        }
    }
}

/// A simulated machine: its seed (from which its keys derive), its TCB level and its PCK
/// certificate chain from the simulation PKI. What a devnet writes for each node's runtime
/// (never the node's own process).
#[derive(Clone, Serialize, Deserialize)]
pub struct SimulatedMachine {
    #[serde(with = "hex_seed")]
    seed: [u8; 32],
    tcb: SimulatedTcb,
    pck_chain: String,
}

impl std::fmt::Debug for SimulatedMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedMachine")
            .field("ppid", &hex::encode(self.ppid()))
            .field("tcb", &self.tcb)
            .finish()
    }
}

impl SimulatedMachine {
    pub(crate) fn new(seed: [u8; 32], tcb: SimulatedTcb, pck_chain: String) -> Self {
        Self { seed, tcb, pck_chain }
    }

    pub(crate) fn ppid_of(seed: &[u8; 32]) -> [u8; 16] {
        let digest =
            Sha256::new().chain_update(b"atoll simulated PPID\0").chain_update(seed).finalize();
        digest[..16].try_into().expect("16 of 32 bytes")
    }

    pub(crate) fn serial_of(ppid: &[u8; 16]) -> Vec<u8> {
        // Positive and 16 bytes long, like Intel's.
        [&[0x01][..], &ppid[..15]].concat()
    }

    /// The platform's id (PPID), which verified quotes report.
    pub fn ppid(&self) -> [u8; 16] {
        Self::ppid_of(&self.seed)
    }

    /// The serial number of its PCK certificate: what a CRL lists to revoke it.
    pub fn pck_serial(&self) -> Vec<u8> {
        Self::serial_of(&self.ppid())
    }

    /// Its TCB level.
    pub fn tcb(&self) -> SimulatedTcb {
        self.tcb
    }

    /// The machine as JSON (a devnet's file for one node's runtime).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a machine serializes")
    }

    /// A machine from its JSON.
    pub fn from_json(json: &str) -> Result<Self, TeeError> {
        serde_json::from_str(json)
            .map_err(|e| TeeError::Malformed { what: "simulated machine", reason: e.to_string() })
    }
}

mod hex_seed {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        seed: &[u8; 32],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(seed))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&text, &mut seed).map_err(serde::de::Error::custom)?;
        Ok(seed)
    }
}

/// The measurement (MRENCLAVE) of a simulated enclave running `binary`: its SHA-256.
pub fn measure(binary: &[u8]) -> [u8; 32] {
    Sha256::digest(binary).into()
}

/// [`measure`] of the file at `path`, read in pieces (a ParaTime binary may be large).
pub fn measure_file(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buffer[..read]);
    }
}

/// The signer (MRSIGNER) simulated enclaves are signed by, unless told otherwise.
pub fn simulated_signer() -> [u8; 32] {
    Sha256::digest(b"atoll simulated enclave signer").into()
}

/// The identity of the simulated enclave whose measurement is `mr_enclave`: what a
/// runtime allows for a binary measured with [`measure_file`].
pub fn simulated_identity(mr_enclave: [u8; 32]) -> EnclaveIdentity {
    EnclaveIdentity::Sgx { mr_enclave, mr_signer: simulated_signer(), product_id: 0, svn: 0 }
}

/// A simulated SGX enclave on a simulated machine.
#[derive(Clone, Debug)]
pub struct SimulatedEnclave {
    machine: Arc<SimulatedMachine>,
    mr_enclave: [u8; 32],
    mr_signer: [u8; 32],
    product_id: u16,
    svn: u16,
    debug: bool,
}

impl SimulatedEnclave {
    /// The enclave `identity` (an SGX one) on `machine`.
    pub fn new(
        machine: Arc<SimulatedMachine>,
        identity: EnclaveIdentity,
    ) -> Result<Self, TeeError> {
        let EnclaveIdentity::Sgx { mr_enclave, mr_signer, product_id, svn } = identity else {
            return Err(TeeError::Simulation("only SGX enclaves are simulated".into()));
        };
        Ok(Self { machine, mr_enclave, mr_signer, product_id, svn, debug: false })
    }

    /// The enclave of `binary` (its measurement), signed by the simulation's signer.
    pub fn of_binary(machine: Arc<SimulatedMachine>, binary: &[u8]) -> Self {
        Self::of_measurement(machine, measure(binary))
    }

    /// The enclave whose measurement is `mr_enclave` (of a binary measured with
    /// [`measure_file`]), signed by the simulation's signer.
    pub fn of_measurement(machine: Arc<SimulatedMachine>, mr_enclave: [u8; 32]) -> Self {
        Self {
            machine,
            mr_enclave,
            mr_signer: simulated_signer(),
            product_id: 0,
            svn: 0,
            debug: false,
        }
    }

    /// The same enclave launched in debug mode (its memory readable by the host): its
    /// quotes say so, and no verifier trusts them.
    pub fn in_debug_mode(mut self) -> Self {
        self.debug = true;
        self
    }

    fn report(&self, report_data: &[u8; 64]) -> ReportFields {
        let debug = if self.debug { ATTRIBUTE_DEBUG } else { 0 };
        ReportFields {
            cpu_svn: self.machine.tcb.cpu_svn(),
            attributes: ATTRIBUTE_INIT | ATTRIBUTE_MODE64 | debug,
            mr_enclave: self.mr_enclave,
            mr_signer: self.mr_signer,
            product_id: self.product_id,
            svn: self.svn,
            report_data: *report_data,
        }
    }
}

impl Enclave for SimulatedEnclave {
    fn identity(&self) -> EnclaveIdentity {
        EnclaveIdentity::Sgx {
            mr_enclave: self.mr_enclave,
            mr_signer: self.mr_signer,
            product_id: self.product_id,
            svn: self.svn,
        }
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, TeeError> {
        let seed = &self.machine.seed;
        let quoting_enclave = ReportFields {
            cpu_svn: self.machine.tcb.cpu_svn(),
            attributes: ATTRIBUTE_INIT | ATTRIBUTE_PROVISION_KEY,
            mr_enclave: Sha256::digest(b"atoll simulated quoting enclave").into(),
            mr_signer: qe_signer(),
            product_id: QE_PRODUCT_ID,
            svn: QE_SVN,
            report_data: [0; 64],
        };
        Ok(Evidence::Dcap(sgx_quote(
            &self.report(report_data),
            QuotingEnclave {
                report: quoting_enclave,
                pce_svn: PCE_SVN,
                attestation_key: &derive(seed, "attestation"),
                pck_key: &derive(seed, "pck"),
                pck_chain: &self.machine.pck_chain,
            },
        )))
    }

    fn sealing_key(&self, policy: SealingPolicy) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.machine.seed).expect("any key length");
        mac.update(b"atoll simulated sealing key\0");
        match policy {
            SealingPolicy::Measurement => {
                mac.update(b"measurement\0");
                mac.update(&self.mr_enclave);
            }
            SealingPolicy::Signer => mac.update(b"signer\0"),
        }
        mac.update(&self.mr_signer);
        mac.update(&self.product_id.to_le_bytes());
        mac.finalize().into_bytes().into()
    }
}
