//! Which code runs in an enclave.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// The identity an enclave's evidence proves: its measurement and who signed it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnclaveIdentity {
    /// An Intel SGX enclave.
    Sgx {
        /// MRENCLAVE: the hash of the enclave's initial code and data.
        #[serde(with = "atoll_types::hex_serde::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        mr_enclave: [u8; 32],
        /// MRSIGNER: the hash of the key that signed the enclave.
        #[serde(with = "atoll_types::hex_serde::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        mr_signer: [u8; 32],
        /// The signer's product id.
        product_id: u16,
        /// The enclave's security version.
        svn: u16,
    },
    /// An Intel TDX trust domain.
    Tdx {
        /// MRTD: the measurement of the trust domain's initial contents.
        #[serde(with = "atoll_types::hex_serde::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        mr_td: [u8; 48],
        /// The four runtime measurement registers (firmware, kernel, command line,
        /// application).
        #[serde(with = "atoll_types::hex_serde::rtmrs")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        rtmr: [[u8; 48]; 4],
    },
    /// An AMD SEV-SNP guest.
    SevSnp {
        /// The launch measurement of the guest's initial memory.
        #[serde(with = "atoll_types::hex_serde::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        measurement: [u8; 48],
        /// Data the host supplied at launch (bound into the measurement's context).
        #[serde(with = "atoll_types::hex_serde::array")]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        host_data: [u8; 32],
        /// The guest's security version.
        guest_svn: u32,
    },
}
