//! Runtime transactions: a call and its authentication, signed by every signer.

use atoll_types::{
    Address, Amount, ChainContext, Hash, PublicKey, RuntimeId, Signature, SignatureContext, Signer,
};
use borsh::{BorshDeserialize, BorshSerialize};

/// The signing context of runtime transactions. The chain context it is combined with is
/// the runtime's own (see [`runtime_chain_context`]), so a signature is bound to one runtime
/// on one chain.
pub const TX_CONTEXT: SignatureContext = SignatureContext::new("atoll/runtime: tx");

/// The chain context of a runtime: `SHA-256(consensus chain context ‖ runtime id)`.
pub fn runtime_chain_context(consensus: &ChainContext, runtime: &RuntimeId) -> ChainContext {
    ChainContext::from_hash(Hash::digest_parts(&[consensus.hash().as_bytes(), runtime.as_bytes()]))
}

/// What to call.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Call {
    /// Body format: 0 is plain borsh (encrypted formats come with confidential runtimes).
    pub format: u8,
    /// `module.Method`.
    pub method: String,
    /// The method's borsh-encoded body.
    pub body: Vec<u8>,
}

/// A signer and the nonce it signs with.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SignerInfo {
    /// The signer's key.
    pub public_key: PublicKey,
    /// Must equal the account's next nonce.
    pub nonce: u64,
}

/// The fee: `amount` for up to `gas`; unused gas is refunded at the offered price.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct Fee {
    /// Tokens paid up front by the first signer.
    pub amount: Amount,
    /// The gas limit.
    pub gas: u64,
}

impl Fee {
    /// The price per gas unit offered (0 with no gas).
    pub fn gas_price(&self) -> u128 {
        self.amount.base_units().checked_div(u128::from(self.gas)).unwrap_or(0)
    }
}

/// Who authorises the call and what they pay.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct AuthInfo {
    /// Ed25519 signers; the first pays the fee and is the caller. Empty for a transaction a
    /// module authenticates.
    pub signers: Vec<SignerInfo>,
    /// The fee: the most the sender pays, and the gas limit.
    pub fee: Fee,
    /// Set for a transaction in a module's own format (e.g. a signed Ethereum transaction):
    /// that module decoded it, recovered its sender and runs its nonces and fees. Never set
    /// in a transaction signed with the SDK's own signatures.
    pub module: Option<ModuleAuth>,
}

/// The authentication of a transaction a module decoded from its own format.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ModuleAuth {
    /// The module that decoded the transaction and authenticates it.
    pub module: String,
    /// The sender it recovered (the caller).
    pub sender: Address,
    /// The sender's nonce.
    pub nonce: u64,
}

/// How a transaction proves who sent it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum AuthProof {
    /// One Ed25519 signature per signer over `SHA-256(TX_CONTEXT ‖ runtime chain context ‖
    /// body)`; the body is `borsh(Transaction)`.
    Signatures(Vec<Signature>),
    /// The body is a transaction in the named scheme (e.g. `evm.ethereum.v0`), carrying its
    /// own signature: the module of that scheme decodes and authenticates it.
    Module(String),
}

/// A runtime transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// The call.
    pub call: Call,
    /// Its authentication.
    pub auth: AuthInfo,
}

/// A transaction as sent: the encoded body and its proof of authorship.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UnverifiedTransaction {
    /// borsh(Transaction), or a module scheme's own encoding.
    pub body: Vec<u8>,
    /// The signatures, or the module scheme.
    pub proof: AuthProof,
}

impl UnverifiedTransaction {
    /// Wraps a transaction of a module's own scheme (e.g. raw Ethereum transaction bytes).
    pub fn of_scheme(scheme: &str, body: Vec<u8>) -> Self {
        Self { body, proof: AuthProof::Module(scheme.to_owned()) }
    }
}

/// Most signers per transaction.
pub const MAX_SIGNERS: usize = 16;

impl Transaction {
    /// A transaction calling `method` with `body`, signed by keys with these nonces.
    pub fn new<B: BorshSerialize>(
        method: &str,
        body: &B,
        signers: Vec<SignerInfo>,
        fee: Fee,
    ) -> Self {
        Self {
            call: Call { format: 0, method: method.to_owned(), body: atoll_types::encode(body) },
            auth: AuthInfo { signers, fee, module: None },
        }
    }

    /// Signs with `keys` (in signer order) for the runtime chain `chain`.
    pub fn sign(&self, keys: &[&dyn Signer], chain: &ChainContext) -> UnverifiedTransaction {
        let body = atoll_types::encode(self);
        let digest = atoll_types::signing_digest(&TX_CONTEXT, chain, &body);
        UnverifiedTransaction {
            proof: AuthProof::Signatures(
                keys.iter().map(|k| k.sign_raw(digest.as_bytes())).collect(),
            ),
            body,
        }
    }

    /// The caller: the module-recovered sender, or the first signer's address.
    pub fn caller(&self) -> Option<Address> {
        match &self.auth.module {
            Some(auth) => Some(auth.sender),
            None => self.auth.signers.first().map(|s| Address::from_public_key(&s.public_key)),
        }
    }

    /// The caller's nonce.
    pub fn nonce(&self) -> Option<u64> {
        match &self.auth.module {
            Some(auth) => Some(auth.nonce),
            None => self.auth.signers.first().map(|s| s.nonce),
        }
    }
}

/// Why a transaction did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The body does not decode, or signers and signatures do not line up.
    #[error("malformed transaction: {0}")]
    Malformed(&'static str),
    /// A signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
}

/// A transaction signed with the SDK's own signatures, decoded and checked for shape, its
/// signatures not verified yet: verify them one by one ([`Opened::verify`]) or in a batch
/// with others ([`Opened::queue`]).
pub struct Opened<'a> {
    /// The decoded transaction.
    pub tx: Transaction,
    digest: Hash,
    signatures: &'a [Signature],
}

impl Opened<'_> {
    /// Checks every signature alone.
    pub fn verify(self) -> Result<Transaction, VerifyError> {
        for (signer, signature) in self.tx.auth.signers.iter().zip(self.signatures) {
            signer
                .public_key
                .verify(self.digest.as_bytes(), signature)
                .map_err(|_| VerifyError::InvalidSignature)?;
        }
        Ok(self.tx)
    }

    /// Queues every signature into `batch` (one item per signer, in signer order); returns
    /// how many were queued.
    pub fn queue(&self, batch: &mut atoll_crypto::BatchVerifier) -> usize {
        for (signer, signature) in self.tx.auth.signers.iter().zip(self.signatures) {
            batch.queue(&signer.public_key, self.digest.as_bytes(), signature);
        }
        self.signatures.len()
    }
}

impl UnverifiedTransaction {
    /// Decodes the body of a transaction signed with the SDK's own signatures and checks
    /// its shape (module schemes are decoded by their module, see
    /// [`crate::TransactionHandler::decode_tx`]); the signatures are left to [`Opened`].
    pub fn open(&self, chain: &ChainContext, max_size: usize) -> Result<Opened<'_>, VerifyError> {
        let AuthProof::Signatures(signatures) = &self.proof else {
            return Err(VerifyError::Malformed("not a signed SDK transaction"));
        };
        let tx: Transaction = atoll_types::decode(&self.body, max_size)
            .map_err(|_| VerifyError::Malformed("transaction body does not decode"))?;
        if tx.auth.module.is_some() {
            return Err(VerifyError::Malformed(
                "a signed transaction cannot claim a module scheme",
            ));
        }
        if tx.auth.signers.is_empty()
            || tx.auth.signers.len() > MAX_SIGNERS
            || tx.auth.signers.len() != signatures.len()
        {
            return Err(VerifyError::Malformed("signers and signatures do not match"));
        }
        let digest = atoll_types::signing_digest(&TX_CONTEXT, chain, &self.body);
        Ok(Opened { tx, digest, signatures })
    }

    /// Decodes the body and checks every signature ([`Self::open`], then
    /// [`Opened::verify`]).
    pub fn verify(
        &self,
        chain: &ChainContext,
        max_size: usize,
    ) -> Result<Transaction, VerifyError> {
        self.open(chain, max_size)?.verify()
    }
}
