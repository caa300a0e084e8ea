//! Client errors.

use thiserror::Error;

use crate::model::ErrorDetail;

/// Why a request failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node could not be reached or the connection failed.
    #[error("cannot reach the node: {0}")]
    Transport(String),
    /// The node answered with an error.
    #[error("{}", describe(.status, .detail))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's explanation.
        detail: ErrorDetail,
    },
    /// The node's answer is not what the API promises.
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
    /// A proof did not verify, or proves something else than the answer.
    #[error("proof verification failed: {0}")]
    Proof(String),
    /// Waiting ran out.
    #[error("timed out: {0}")]
    Timeout(String),
}

fn describe(status: &u16, detail: &ErrorDetail) -> String {
    match (&detail.module, detail.code) {
        (Some(module), Some(code)) => {
            format!("{} ({module} error {code}): {}", detail.kind, detail.message)
        }
        _ => format!("{} (HTTP {status}): {}", detail.kind, detail.message),
    }
}

impl ClientError {
    /// The API error detail, if the node answered with one.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self {
            ClientError::Api { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The HTTP status, if the node answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
