//! Which code runs in an enclave.

use borsh::{BorshDeserialize, BorshSerialize};

/// The identity an enclave's evidence proves: its measurement and who signed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum EnclaveIdentity {
    /// An Intel SGX enclave.
    Sgx {
        /// MRENCLAVE: the hash of the enclave's initial code and data.
        mr_enclave: [u8; 32],
        /// MRSIGNER: the hash of the key that signed the enclave.
        mr_signer: [u8; 32],
        /// The signer's product id.
        product_id: u16,
        /// The enclave's security version.
        svn: u16,
    },
    /// An Intel TDX trust domain.
    Tdx {
        /// MRTD: the measurement of the trust domain's initial contents.
        mr_td: [u8; 48],
        /// The four runtime measurement registers (firmware, kernel, command line,
        /// application).
        rtmr: [[u8; 48]; 4],
    },
}
