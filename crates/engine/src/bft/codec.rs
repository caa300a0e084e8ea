//! Wire and WAL encoding of every message the engine exchanges: borsh, bounded.
//!
//! Decoding refuses input larger than [`MAX_MESSAGE_SIZE`] and input with trailing bytes,
//! so a peer cannot make a node allocate without limit or accept two encodings of one
//! message.

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core as mc;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};
use malachitebft_sync::ValueResponse;
use thiserror::Error;

use super::context::{AtollContext, BlockHeight, BlockId, ProposalPart, ValidatorAddress};
use crate::certificate::{CommitCertificate, CommitSignature};
use atoll_types::Signature;

/// Largest message accepted from the wire or the WAL: a full block plus its framing.
pub const MAX_MESSAGE_SIZE: usize = crate::block::MAX_BLOCK_SIZE + (1 << 20);

/// Why a message could not be encoded or decoded.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The input is larger than [`MAX_MESSAGE_SIZE`].
    #[error("message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The bytes are not a valid encoding.
    #[error("malformed message: {0}")]
    Malformed(#[from] std::io::Error),
}

/// The codec for consensus gossip, sync and the WAL.
#[derive(Clone, Copy, Debug, Default)]
pub struct WireCodec;

fn encode_borsh<T: borsh::BorshSerialize>(value: &T) -> Result<Bytes, CodecError> {
    let bytes = borsh::to_vec(value)?;
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(Bytes::from(bytes))
}

fn decode_borsh<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(borsh::from_slice(bytes)?)
}

macro_rules! borsh_codec {
    ($($ty:ty),* $(,)?) => {$(
        impl Codec<$ty> for WireCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                decode_borsh(&bytes)
            }

            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                encode_borsh(msg)
            }
        }
    )*};
}

borsh_codec!(
    ProposalPart,
    SignedConsensusMsg<AtollContext>,
    LivenessMsg<AtollContext>,
    StreamMessage<ProposalPart>,
    ProposedValue<AtollContext>,
    PolkaCertificate<AtollContext>,
    Status<AtollContext>,
    Request<AtollContext>,
);

/// Sync responses carry extended commit certificates, which have no borsh form upstream;
/// they travel as Atoll [`CommitCertificate`]s (vote extensions are disabled on Atoll).
#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct ResponseWire {
    start_height: u64,
    values: Vec<(Vec<u8>, CommitCertificate)>,
}

fn response_wire(msg: &Response<AtollContext>) -> Result<ResponseWire, CodecError> {
    let Response::ValueResponse(response) = msg;
    let mut values = Vec::with_capacity(response.values.len());
    for value in &response.values {
        let certificate = from_extended_certificate(&value.certificate).ok_or_else(|| {
            CodecError::Malformed(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "certificate with a vote extension or a nil round",
            ))
        })?;
        values.push((value.value_bytes.to_vec(), certificate));
    }
    Ok(ResponseWire { start_height: response.start_height.0, values })
}

impl Codec<Response<AtollContext>> for WireCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<AtollContext>, CodecError> {
        let wire: ResponseWire = decode_borsh(&bytes)?;
        let values = wire
            .values
            .into_iter()
            .map(|(value, certificate)| {
                RawDecidedValue::new(Bytes::from(value), to_extended_certificate(&certificate))
            })
            .collect();
        Ok(Response::ValueResponse(ValueResponse::new(BlockHeight(wire.start_height), values)))
    }

    fn encode(&self, msg: &Response<AtollContext>) -> Result<Bytes, CodecError> {
        encode_borsh(&response_wire(msg)?)
    }
}

impl HasEncodedLen<Response<AtollContext>> for WireCodec {
    fn encoded_len(&self, msg: &Response<AtollContext>) -> Result<usize, CodecError> {
        Ok(borsh::object_length(&response_wire(msg)?)?)
    }
}

fn atoll_certificate<'a>(
    height: BlockHeight,
    round: mc::Round,
    block_id: BlockId,
    signatures: impl Iterator<Item = (&'a ValidatorAddress, &'a Signature)>,
) -> Option<CommitCertificate> {
    Some(CommitCertificate {
        height: atoll_types::Height(height.0),
        round: round.as_u32()?,
        block_id: block_id.0,
        signatures: signatures
            .map(|(address, signature)| CommitSignature {
                validator: address.0,
                signature: *signature,
            })
            .collect(),
    })
}

/// The engine's certificate in Atoll's form. `None` if its round is nil (never decided).
pub fn from_engine_certificate(
    certificate: &mc::CommitCertificate<AtollContext>,
) -> Option<CommitCertificate> {
    let signatures = certificate.commit_signatures.iter().map(|s| (&s.address, &s.signature));
    atoll_certificate(certificate.height, certificate.round, certificate.value_id, signatures)
}

fn from_extended_certificate(
    certificate: &mc::ExtendedCommitCertificate<AtollContext>,
) -> Option<CommitCertificate> {
    if certificate.commit_signatures.iter().any(|s| s.extension.is_some()) {
        return None;
    }
    let signatures = certificate.commit_signatures.iter().map(|s| (&s.address, &s.signature));
    atoll_certificate(certificate.height, certificate.round, certificate.value_id, signatures)
}

/// An Atoll certificate in the form the engine's sync protocol carries.
pub fn to_extended_certificate(
    certificate: &CommitCertificate,
) -> mc::ExtendedCommitCertificate<AtollContext> {
    let plain = mc::CommitCertificate {
        height: BlockHeight(certificate.height.0),
        round: mc::Round::new(certificate.round),
        value_id: BlockId(certificate.block_id),
        commit_signatures: certificate
            .signatures
            .iter()
            .map(|s| mc::CommitSignature::new(ValidatorAddress(s.validator), s.signature))
            .collect(),
    };
    mc::ExtendedCommitCertificate::from_commit_certificate_and_extensions(
        plain,
        mc::VoteExtensions::default(),
    )
}

/// [`ValidatorProof`] has no borsh form upstream; it is encoded field by field.
#[derive(borsh::BorshSerialize, borsh::BorshDeserialize)]
struct ValidatorProofWire {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: Signature,
}

impl Codec<ValidatorProof<AtollContext>> for WireCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<AtollContext>, CodecError> {
        let wire: ValidatorProofWire = decode_borsh(&bytes)?;
        Ok(ValidatorProof::new(wire.public_key, wire.peer_id, wire.signature))
    }

    fn encode(&self, proof: &ValidatorProof<AtollContext>) -> Result<Bytes, CodecError> {
        encode_borsh(&ValidatorProofWire {
            public_key: proof.public_key.clone(),
            peer_id: proof.peer_id.clone(),
            signature: proof.signature,
        })
    }
}
