//! Errors of the FHE ParaTime's building blocks.

/// What went wrong with a key, ciphertext, proof or program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FheError {
    /// An object is over its size limit.
    #[error("{what}: {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// The tfhe type.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An object does not decode, or does not conform to the ParaTime's parameters.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The tfhe type.
        what: &'static str,
        /// tfhe's reason.
        reason: String,
    },
    /// An object could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encoding {
        /// The tfhe type.
        what: &'static str,
        /// tfhe's reason.
        reason: String,
    },
    /// Key generation or decompression failed.
    #[error("key set: {0}")]
    Keys(String),
    /// An input proof does not verify (forged, or bound to another contract, sender or nonce).
    #[error("input proof does not verify: {0}")]
    Proof(String),
    /// An input list holds the wrong number or types of values.
    #[error("inputs: {0}")]
    Inputs(String),
    /// A program breaks a rule of the contract model.
    #[error("program: {0}")]
    Program(String),
    /// A call failed while executing (a public check, a missing argument).
    #[error("execution: {0}")]
    Execution(String),
    /// The node's state could not be read or written (never the call's fault: the batch
    /// stops).
    #[error("storage: {0}")]
    Storage(String),
}
