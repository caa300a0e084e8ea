//! Proposal streaming: a block split into parts for gossip, and reassembled on arrival.
//!
//! A stream is `Init`, one or more `Data` chunks of the encoded block, `Fin` (the
//! proposer's signature over the assembled block's id), then the stream's end marker. Parts
//! may arrive out of order and through different peers; they are grouped by publisher (the
//! gossip author, authenticated by the p2p layer) and stream id.
//!
//! Buffering is adversarial: any peer may publish parts. A stream becomes *authenticated*
//! when its `Init` passes the caller's check (signed by the claimed proposer for this very
//! publisher, and that proposer scheduled for the height and round); until then it lives in
//! a small per-publisher budget and a global one, and only unauthenticated streams are
//! evicted to make room for others. Authenticated streams are bounded per proposer and
//! evicted only by the same proposer's newer streams, so no peer can push out an honest
//! proposal by publishing junk.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;

use super::chain::MAX_ENCODED_BLOCK;
use super::context::{ProposalFin, ProposalInit, ProposalPart, ValidatorAddress};

/// Bytes of block per `Data` part.
pub const CHUNK_SIZE: usize = 128 * 1024;
/// Incomplete streams whose `Init` has not been seen, per publisher.
pub const MAX_UNAUTHENTICATED_PER_PEER: usize = 2;
/// Bytes buffered for one publisher's unauthenticated streams.
pub const MAX_UNAUTHENTICATED_BYTES_PER_PEER: usize = 8 * CHUNK_SIZE;
/// Unauthenticated streams across all publishers.
pub const MAX_UNAUTHENTICATED: usize = 64;
/// Authenticated incomplete streams per proposer (a proposer restreams in later rounds).
pub const MAX_STREAMS_PER_PROPOSER: usize = 2;
/// Bytes of one stream's parts: a whole encoded block and its framing.
pub const MAX_STREAM_BYTES: usize = MAX_ENCODED_BLOCK;
/// Refused streams remembered, so their later parts are dropped at once.
const REFUSED_MEMORY: usize = 1024;

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
    /// The proposer whose checked `Init` opened the stream, once seen.
    proposer: Option<ValidatorAddress>,
    /// Arrival order, for eviction.
    seq: u64,
}

type Key = (PeerId, StreamId);

/// Streams being received.
#[derive(Default)]
pub struct StreamBuffer {
    open: BTreeMap<Key, OpenStream>,
    refused: VecDeque<Key>,
    next_seq: u64,
}

impl StreamBuffer {
    /// Adds one message from `publisher`; returns the proposal when its stream completes.
    /// `admit` decides whether an `Init` may open a stream from this publisher. Malformed
    /// streams (wrong part order, duplicate `Init`, oversize, refused `Init`) are dropped.
    pub fn insert(
        &mut self,
        publisher: PeerId,
        message: StreamMessage<ProposalPart>,
        admit: impl FnOnce(&PeerId, &StreamId, &ProposalInit) -> bool,
    ) -> Option<AssembledProposal> {
        let key = (publisher, message.stream_id.clone());
        if self.refused.contains(&key) {
            return None;
        }
        let authenticates = match &message.content {
            StreamContent::Data(ProposalPart::Init(init)) if message.sequence == 0 => {
                if !admit(&publisher, &key.1, init) {
                    self.refuse(key);
                    return None;
                }
                Some(init.proposer)
            }
            StreamContent::Data(ProposalPart::Init(_)) => {
                self.refuse(key);
                return None;
            }
            _ => None,
        };
        if !self.open.contains_key(&key) {
            self.make_room(&publisher, authenticates);
            let seq = self.next_seq;
            self.next_seq += 1;
            self.open.insert(key.clone(), OpenStream { seq, ..OpenStream::default() });
        }
        let stream = self.open.get_mut(&key)?;
        if let Some(proposer) = authenticates {
            if stream.proposer.is_some() {
                // The same Init again (another relay path): nothing new.
                return None;
            }
            stream.proposer = Some(proposer);
            self.evict_beyond(proposer);
        }
        let size = match &message.content {
            StreamContent::Data(ProposalPart::Data(d)) => d.len(),
            _ => 0,
        };
        let stream = self.open.get(&key)?;
        let (held, budget) = if stream.proposer.is_some() {
            (stream.bytes, MAX_STREAM_BYTES)
        } else {
            let others = self.unauthenticated_bytes(&publisher).saturating_sub(stream.bytes);
            (stream.bytes, MAX_UNAUTHENTICATED_BYTES_PER_PEER.saturating_sub(others))
        };
        if held.saturating_add(size) > budget {
            self.refuse(key);
            return None;
        }
        let stream = self.open.get_mut(&key)?;
        match message.content {
            StreamContent::Fin => stream.end = Some(message.sequence),
            StreamContent::Data(part) => {
                if stream.parts.insert(message.sequence, part).is_none() {
                    stream.bytes += size;
                }
            }
        }
        let end = stream.end?;
        if stream.parts.len() as u64 != end || stream.proposer.is_none() {
            return None;
        }
        let stream = self.open.remove(&key)?;
        assemble(stream)
    }

    /// Drops a stream and remembers not to buffer it again.
    fn refuse(&mut self, key: Key) {
        self.open.remove(&key);
        if self.refused.len() >= REFUSED_MEMORY {
            self.refused.pop_front();
        }
        self.refused.push_back(key);
    }

    fn unauthenticated_bytes(&self, publisher: &PeerId) -> usize {
        self.open
            .iter()
            .filter(|((p, _), s)| p == publisher && s.proposer.is_none())
            .map(|(_, s)| s.bytes)
            .sum()
    }

    /// Before a new stream opens: an unauthenticated one makes room among the publisher's
    /// own unauthenticated streams and then among all unauthenticated ones (oldest first);
    /// an authenticated one needs no room here (see [`Self::evict_beyond`]).
    fn make_room(&mut self, publisher: &PeerId, authenticated: Option<ValidatorAddress>) {
        if authenticated.is_some() {
            return;
        }
        while self.count(|(p, _), s| p == publisher && s.proposer.is_none())
            >= MAX_UNAUTHENTICATED_PER_PEER
        {
            self.evict_oldest(|(p, _), s| p == publisher && s.proposer.is_none());
        }
        while self.count(|_, s| s.proposer.is_none()) >= MAX_UNAUTHENTICATED {
            self.evict_oldest(|_, s| s.proposer.is_none());
        }
    }

    /// Keeps at most [`MAX_STREAMS_PER_PROPOSER`] authenticated streams of `proposer`.
    fn evict_beyond(&mut self, proposer: ValidatorAddress) {
        while self.count(|_, s| s.proposer == Some(proposer)) > MAX_STREAMS_PER_PROPOSER {
            self.evict_oldest(|_, s| s.proposer == Some(proposer));
        }
    }

    fn count(&self, filter: impl Fn(&Key, &OpenStream) -> bool) -> usize {
        self.open.iter().filter(|(k, s)| filter(k, s)).count()
    }

    fn evict_oldest(&mut self, filter: impl Fn(&Key, &OpenStream) -> bool) {
        let oldest = self
            .open
            .iter()
            .filter(|(k, s)| filter(k, s))
            .min_by_key(|(_, s)| s.seq)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.open.remove(&key);
        }
    }

    /// How many streams are incomplete.
    pub fn open_streams(&self) -> usize {
        self.open.len()
    }

    /// Bytes buffered across incomplete streams.
    pub fn buffered_bytes(&self) -> usize {
        self.open.values().map(|s| s.bytes).sum()
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

    fn init(proposer: u8) -> ProposalInit {
        ProposalInit {
            height: BlockHeight(3),
            round: Round::new(1),
            valid_round: Round::Nil,
            proposer: ValidatorAddress(PublicKey::from_bytes([proposer; 32])),
            signature: Signature::from_bytes([proposer; 64]),
        }
    }

    fn fin() -> ProposalFin {
        ProposalFin { signature: Signature::from_bytes([9; 64]) }
    }

    fn peer(seed: u8) -> PeerId {
        let keypair = malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes([seed; 32])
            .expect("valid seed");
        PeerId::from_bytes(&keypair.public().to_peer_id().to_bytes()).expect("peer id")
    }

    /// The check a node applies, reduced to "proposer 7 signed it".
    fn honest_only(_: &PeerId, _: &StreamId, init: &ProposalInit) -> bool {
        init.proposer.0 == PublicKey::from_bytes([7; 32])
    }

    #[test]
    fn streams_reassemble_in_any_order() {
        let block: Vec<u8> = (0..(CHUNK_SIZE * 2 + 17)).map(|i| i as u8).collect();
        let mut messages = split(stream_id(3, 1, 0), init(7), &block, fin());
        messages.reverse();
        let mut buffer = StreamBuffer::default();
        let mut done = None;
        for m in messages {
            assert!(done.is_none(), "completed before the last part");
            done = buffer.insert(peer(7), m, honest_only);
        }
        let done = done.expect("complete");
        assert_eq!(done.encoded_block, block);
        assert_eq!(done.init, init(7));
        assert_eq!(buffer.open_streams(), 0);
    }

    /// [S] finding 2: peers streaming junk evicted real proposals from a global buffer.
    #[test]
    fn junk_streams_refuse_to_evict_an_authenticated_proposal() {
        let block: Vec<u8> = (0..(CHUNK_SIZE * 3)).map(|i| (i % 251) as u8).collect();
        let honest = split(stream_id(3, 1, 0), init(7), &block, fin());
        let mut buffer = StreamBuffer::default();
        // The Init and the first chunk arrive, then a flood.
        for m in &honest[..2] {
            assert!(buffer.insert(peer(7), m.clone(), honest_only).is_none());
        }
        for attacker in 0..40u8 {
            for n in 0..20u64 {
                let junk = split(stream_id(3, 1, n), init(50 + attacker), &block, fin());
                // Forged Inits are refused; Init-less data lives in a small budget.
                for m in junk {
                    assert!(buffer.insert(peer(100 + attacker), m, honest_only).is_none());
                }
                let data_only = StreamMessage::new(
                    stream_id(3, 1, 1_000 + n),
                    1,
                    StreamContent::Data(ProposalPart::Data(vec![0; CHUNK_SIZE])),
                );
                buffer.insert(peer(100 + attacker), data_only, honest_only);
            }
        }
        assert!(buffer.open_streams() <= MAX_UNAUTHENTICATED + 1);
        assert!(
            buffer.buffered_bytes()
                <= MAX_UNAUTHENTICATED * MAX_UNAUTHENTICATED_BYTES_PER_PEER + block.len()
        );
        let mut done = None;
        for m in &honest[2..] {
            done = buffer.insert(peer(7), m.clone(), honest_only);
        }
        assert_eq!(done.expect("the honest proposal survives").encoded_block, block);
    }

    #[test]
    fn a_proposer_refuses_to_hold_more_than_its_share_of_streams() {
        let block = vec![1u8; CHUNK_SIZE * 2];
        let mut buffer = StreamBuffer::default();
        for n in 0..10u64 {
            let parts = split(stream_id(3, 1, n), init(7), &block, fin());
            for m in &parts[..2] {
                buffer.insert(peer(7), m.clone(), honest_only);
            }
        }
        assert_eq!(buffer.open_streams(), MAX_STREAMS_PER_PROPOSER);
        // A second Init in one stream, or an Init out of place, drops the stream.
        let parts = split(stream_id(3, 1, 99), init(7), &block, fin());
        buffer.insert(peer(7), parts[1].clone(), honest_only);
        let misplaced = StreamMessage::new(
            stream_id(3, 1, 99),
            2,
            StreamContent::Data(ProposalPart::Init(init(7))),
        );
        assert!(buffer.insert(peer(7), misplaced, honest_only).is_none());
        assert!(buffer.insert(peer(7), parts[0].clone(), honest_only).is_none());
        for m in &parts[2..] {
            assert!(buffer.insert(peer(7), m.clone(), honest_only).is_none(), "refused stream");
        }
    }
}
