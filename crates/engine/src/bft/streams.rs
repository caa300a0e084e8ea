//! Proposal streaming: a block split into parts for gossip, and reassembled on arrival.
//!
//! A stream is `Init`, one or more `Data` chunks of the encoded block, `Fin` (the
//! proposer's signature over the assembled block's id), then the stream's end marker. Parts
//! may arrive out of order and through different peers; they are grouped by publisher and
//! stream id. Incomplete streams are bounded in number and bytes: the oldest is dropped
//! when a bound is hit.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;

use super::context::{ProposalFin, ProposalInit, ProposalPart};

/// Bytes of block per `Data` part.
pub const CHUNK_SIZE: usize = 128 * 1024;
/// Incomplete streams kept at once.
pub const MAX_OPEN_STREAMS: usize = 64;
/// Bytes buffered across incomplete streams.
pub const MAX_BUFFERED_BYTES: usize = 64 << 20;

/// Splits an encoded block into the messages of one stream.
pub fn split(
    stream_id: StreamId,
    init: ProposalInit,
    encoded_block: &[u8],
    fin: ProposalFin,
) -> Vec<StreamMessage<ProposalPart>> {
    let mut parts = vec![ProposalPart::Init(init)];
    parts.extend(encoded_block.chunks(CHUNK_SIZE).map(|c| ProposalPart::Data(c.to_vec())));
    if encoded_block.is_empty() {
        parts.push(ProposalPart::Data(Vec::new()));
    }
    parts.push(ProposalPart::Fin(fin));
    let mut messages: Vec<_> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(p)))
        .collect();
    let end = messages.len() as u64;
    messages.push(StreamMessage::new(stream_id, end, StreamContent::Fin));
    messages
}

/// The stream id for a proposal: height, round and a per-node counter, so a restarted
/// proposer never reuses one.
pub fn stream_id(height: u64, round: u32, nonce: u64) -> StreamId {
    let mut bytes = Vec::with_capacity(20);
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&round.to_be_bytes());
    bytes.extend_from_slice(&nonce.to_be_bytes());
    StreamId::new(Bytes::from(bytes))
}

/// A complete stream, ready for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledProposal {
    /// What the first part said.
    pub init: ProposalInit,
    /// The encoded block.
    pub encoded_block: Vec<u8>,
    /// The proposer's closing signature.
    pub fin: ProposalFin,
}

#[derive(Default)]
struct OpenStream {
    parts: BTreeMap<u64, ProposalPart>,
    end: Option<u64>,
    bytes: usize,
}

/// Streams being received.
#[derive(Default)]
pub struct StreamBuffer {
    open: BTreeMap<(PeerId, StreamId), OpenStream>,
    order: VecDeque<(PeerId, StreamId)>,
    bytes: usize,
}

impl StreamBuffer {
    /// Adds one message; returns the proposal when its stream completes. Malformed streams
    /// (wrong part order, duplicate `Init`, oversize) are dropped.
    pub fn insert(
        &mut self,
        publisher: PeerId,
        message: StreamMessage<ProposalPart>,
    ) -> Option<AssembledProposal> {
        let key = (publisher, message.stream_id.clone());
        if !self.open.contains_key(&key) {
            while self.open.len() >= MAX_OPEN_STREAMS {
                self.evict_oldest();
            }
            self.open.insert(key.clone(), OpenStream::default());
            self.order.push_back(key.clone());
        }
        let size = match &message.content {
            StreamContent::Data(ProposalPart::Data(d)) => d.len(),
            _ => 0,
        };
        // Oldest first, possibly this very stream (then the part is dropped with it).
        while self.bytes + size > MAX_BUFFERED_BYTES && !self.order.is_empty() {
            self.evict_oldest();
        }
        let stream = self.open.get_mut(&key)?;
        match message.content {
            StreamContent::Fin => stream.end = Some(message.sequence),
            StreamContent::Data(part) => {
                if stream.parts.insert(message.sequence, part).is_none() {
                    stream.bytes += size;
                    self.bytes += size;
                }
            }
        }
        let end = stream.end?;
        if stream.parts.len() as u64 != end {
            return None;
        }
        let stream = self.remove(&key)?;
        assemble(stream)
    }

    fn remove(&mut self, key: &(PeerId, StreamId)) -> Option<OpenStream> {
        let stream = self.open.remove(key)?;
        self.bytes -= stream.bytes;
        self.order.retain(|k| k != key);
        Some(stream)
    }

    fn evict_oldest(&mut self) {
        if let Some(key) = self.order.pop_front() {
            if let Some(stream) = self.open.remove(&key) {
                self.bytes -= stream.bytes;
            }
        }
    }

    /// How many streams are incomplete.
    pub fn open_streams(&self) -> usize {
        self.open.len()
    }
}

fn assemble(stream: OpenStream) -> Option<AssembledProposal> {
    let mut parts = stream.parts.into_iter();
    let (0, ProposalPart::Init(init)) = parts.next()? else { return None };
    let mut encoded_block = Vec::with_capacity(stream.bytes);
    let mut fin = None;
    for (expected, (sequence, part)) in (1u64..).zip(parts) {
        if sequence != expected || fin.is_some() {
            return None;
        }
        match part {
            ProposalPart::Data(chunk) => encoded_block.extend_from_slice(&chunk),
            ProposalPart::Fin(f) => fin = Some(f),
            ProposalPart::Init(_) => return None,
        }
    }
    Some(AssembledProposal { init, encoded_block, fin: fin? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bft::context::{BlockHeight, ValidatorAddress};
    use atoll_types::{PublicKey, Signature};
    use malachitebft_app_channel::app::types::core::Round;

    fn init() -> ProposalInit {
        ProposalInit {
            height: BlockHeight(3),
            round: Round::new(1),
            valid_round: Round::Nil,
            proposer: ValidatorAddress(PublicKey::from_bytes([7; 32])),
        }
    }

    fn fin() -> ProposalFin {
        ProposalFin { signature: Signature::from_bytes([9; 64]) }
    }

    #[test]
    fn streams_reassemble_in_any_order() {
        let block: Vec<u8> = (0..(CHUNK_SIZE * 2 + 17)).map(|i| i as u8).collect();
        let mut messages = split(stream_id(3, 1, 0), init(), &block, fin());
        messages.reverse();
        let mut buffer = StreamBuffer::default();
        let keypair = malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes([7u8; 32])
            .expect("valid seed");
        let peer = PeerId::from_bytes(&keypair.public().to_peer_id().to_bytes()).expect("peer id");
        let mut done = None;
        for m in messages {
            assert!(done.is_none(), "completed before the last part");
            done = buffer.insert(peer, m);
        }
        let done = done.expect("complete");
        assert_eq!(done.encoded_block, block);
        assert_eq!(done.init, init());
        assert_eq!(buffer.open_streams(), 0);
    }
}
