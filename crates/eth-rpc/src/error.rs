//! Errors of the index and of the JSON-RPC methods, with the codes Ethereum clients expect.
//!
//! Clients branch on these codes: `-32601` (geth's wording) makes ethers fall back, `3`
//! carries revert data that ethers, viem and web3.py decode, `-32000` is how geth reports
//! a refused transaction.

use jsonrpsee::types::ErrorObjectOwned;

/// Invalid parameters.
pub const INVALID_PARAMS: i32 = -32602;
/// An internal failure.
pub const INTERNAL: i32 = -32603;
/// A refused transaction or an unavailable resource (geth's generic server error).
pub const SERVER: i32 = -32000;
/// A request over a configured limit.
pub const LIMIT_EXCEEDED: i32 = -32005;
/// Execution reverted (the data is the revert data).
pub const REVERTED: i32 = 3;

/// The index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The database failed.
    #[error("index database: {0}")]
    Db(String),
    /// A record does not decode or contradicts another.
    #[error("index corrupt: {0}")]
    Corrupt(String),
    /// The node's runtime storage failed.
    #[error("runtime storage: {0}")]
    Node(String),
}

/// A JSON-RPC error answer.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The parameters do not parse or do not make sense.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A call or gas estimate reverted.
    #[error("execution reverted{}", reason_suffix(.reason))]
    Reverted {
        /// The decoded `Error(string)` reason, if any.
        reason: Option<String>,
        /// The revert data.
        data: Vec<u8>,
    },
    /// The node refused (a transaction, a state it no longer has, ...).
    #[error("{0}")]
    Server(String),
    /// A configured limit was exceeded.
    #[error("{0}")]
    LimitExceeded(String),
    /// Something failed inside the node.
    #[error("internal error: {0}")]
    Internal(String),
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
}

impl From<atoll_compute::ComputeError> for IndexError {
    fn from(e: atoll_compute::ComputeError) -> Self {
        IndexError::Node(e.to_string())
    }
}

impl From<IndexError> for RpcError {
    fn from(e: IndexError) -> Self {
        RpcError::Internal(e.to_string())
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        let message = e.to_string();
        match e {
            RpcError::InvalidParams(_) => {
                ErrorObjectOwned::owned(INVALID_PARAMS, message, None::<()>)
            }
            RpcError::Reverted { data, .. } => ErrorObjectOwned::owned(
                REVERTED,
                message,
                Some(alloy_primitives::hex::encode_prefixed(data)),
            ),
            RpcError::Server(_) => ErrorObjectOwned::owned(SERVER, message, None::<()>),
            RpcError::LimitExceeded(_) => {
                ErrorObjectOwned::owned(LIMIT_EXCEEDED, message, None::<()>)
            }
            RpcError::Internal(_) => ErrorObjectOwned::owned(INTERNAL, message, None::<()>),
        }
    }
}

/// The reason string of `Error(string)` revert data.
pub fn revert_reason(data: &[u8]) -> Option<String> {
    const ERROR_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
    let body = data.strip_prefix(&ERROR_SELECTOR)?;
    // ABI: offset (32 bytes), length (32 bytes), the bytes padded to 32.
    let length_word = body.get(32..64)?;
    if length_word[..24].iter().any(|b| *b != 0) {
        return None;
    }
    let length = usize::try_from(u64::from_be_bytes(length_word[24..].try_into().ok()?)).ok()?;
    let bytes = body.get(64..64usize.checked_add(length)?)?;
    String::from_utf8(bytes.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_string_reason_is_decoded() {
        // Error("no")
        let data = alloy_primitives::hex::decode(
            "08c379a0\
             0000000000000000000000000000000000000000000000000000000000000020\
             0000000000000000000000000000000000000000000000000000000000000002\
             6e6f000000000000000000000000000000000000000000000000000000000000",
        )
        .expect("hex");
        assert_eq!(revert_reason(&data).as_deref(), Some("no"));
        assert_eq!(revert_reason(&data[..40]), None);
        assert_eq!(revert_reason(&[0xde, 0xad, 0xbe, 0xef]), None);
    }
}
