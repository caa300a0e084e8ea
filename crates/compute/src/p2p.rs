//! The ParaTime p2p network of compute nodes (libp2p, a swarm of its own).
//!
//! - **Gossip** (gossipsub, one topic per runtime): runtime transactions (in bundles, one
//!   message for what was queued together), signed batch proposals and signed executor
//!   commitments (for the scheduler to bring on chain, see [`crate::gather`]). A proposal
//!   names its transactions by hash only. Messages are anonymous and named by their
//!   content (`atoll_engine::gossip::anonymous_gossip`): all they carry is signed by its
//!   authors.
//! - **Fetch** (request-response): transactions by hash (for a proposal whose transactions
//!   a worker lacks), the write logs of a finalized round (for a node that lags) and the
//!   checkpoint of a round's state with its chunks (for a node that cannot replay), and
//!   parts of blobs (bytes too large for the chain, see [`crate::blobs`]). A
//!   request goes to [`FETCH_FANOUT`] connected peers at a time, in turn; the caller keeps
//!   what verifies.
//!
//! **Admission.** A peer that connects to this node must be a registered node serving the
//! runtime ([`Provider::admits`]); peers this node dials itself (its configured peers) are
//! trusted. Requests are served off the swarm's task, at most [`SERVE_PER_PEER`] at a time
//! per peer and [`SERVE_TOTAL`] in all (more get an empty answer).
//!
//! Messages are borsh with explicit bounds, checked before decoding; a frame is read as it
//! arrives, never allocated in full from its length prefix.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atoll_consensus::roothash::{SignedCommitment, SignedProposal};
use atoll_engine::gossip::{anonymous_gossip, split_bundles, unseal, with_queued, Nonces, Verdict};
use atoll_types::{Hash, Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    gossipsub, identity, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, SwarmBuilder,
};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use atoll_mkvs::checkpoint::Manifest;
use atoll_mkvs::RangeProof;
use atoll_runtime_host::BlobChunk;

use crate::storage::RoundWriteLogs;

/// Largest gossip message.
pub const MAX_GOSSIP: usize = 1 << 20;
/// Largest fetch request.
pub const MAX_REQUEST: usize = 1 << 20;
/// Largest fetch response (a round's write logs).
pub const MAX_RESPONSE: usize = 64 << 20;
/// Most hashes one request asks for.
pub const MAX_HASHES_PER_REQUEST: usize = 10_000;
/// Peers one fetch asks at a time.
pub const FETCH_FANOUT: usize = 2;
/// Requests of one peer served at a time.
pub const SERVE_PER_PEER: usize = 2;
/// Requests served at a time in all.
pub const SERVE_TOTAL: usize = 8;
const FETCH_PROTOCOL: &str = "/atoll/runtime/fetch/1";
const COMMANDS: usize = 1_024;
const INBOUND: usize = 4_096;

/// A batch proposal: the signed header and the hashes of its transactions, in order.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// The signed header (its batch hash commits to `tx_hashes`).
    pub header: SignedProposal,
    /// The batch's transaction hashes.
    pub tx_hashes: Vec<Hash>,
}

/// Runtime transactions one gossip message carries at most (as many as a consensus one).
pub use atoll_engine::gossip::MAX_BUNDLE;
/// Largest bundle of transactions, encoded: a gossip message with room for the enum tag and
/// gossipsub's framing (the publisher's nonce, the topic).
const BUNDLE_BYTES: usize = MAX_GOSSIP - 4_096;
/// Transactions waiting to be published; beyond this, new ones are dropped (the pool
/// gossips what stays pending again).
const OUTBOUND_TRANSACTIONS: usize = 4_096;

/// What compute nodes gossip.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum GossipMessage {
    /// Runtime transactions for the pools: a bundle of what was queued for publication
    /// together (1 to [`MAX_BUNDLE`]), so that many transactions cost one gossipsub
    /// message.
    Transactions(Vec<Vec<u8>>),
    /// A batch proposal.
    Proposal(Proposal),
    /// A worker's commitment on a scheduler's batch, for the scheduler to submit.
    Commitment(SignedCommitment),
}

impl GossipMessage {
    /// Whether an honest node sends this: a bundle holds 1 to [`MAX_BUNDLE`] transactions.
    pub fn well_formed(&self) -> bool {
        match self {
            Self::Transactions(raws) => (1..=MAX_BUNDLE).contains(&raws.len()),
            Self::Proposal(_) | Self::Commitment(_) => true,
        }
    }
}

/// A fetch request.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum FetchRequest {
    /// Transactions by hash.
    Transactions(Vec<Hash>),
    /// The write logs of a finalized round.
    WriteLogs(Round),
    /// The proposals the peer knows for a round (for a worker that missed their gossip).
    Proposals(Round),
    /// The checkpoint of the state after a finalized round (for a node that cannot replay
    /// the rounds it lacks).
    Checkpoint(Round),
    /// One chunk of that checkpoint: the state's entries from `start` to `end` (`None`:
    /// the end of the key space), proven against its root.
    CheckpointChunk {
        /// The round whose state.
        round: Round,
        /// The first key.
        start: Vec<u8>,
        /// The key the chunk stops before.
        end: Option<Vec<u8>>,
    },
    /// A part of a blob the peer stores (see [`crate::blobs`]).
    Blob {
        /// The blob's SHA-256.
        id: Hash,
        /// Where the part starts.
        offset: u64,
    },
}

/// A fetch response.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum FetchResponse {
    /// The transactions the peer has (any order, any subset).
    Transactions(Vec<Vec<u8>>),
    /// The round's write logs, if the peer has them.
    WriteLogs(Option<RoundWriteLogs>),
    /// The proposals the peer knows for the round.
    Proposals(Vec<Proposal>),
    /// The round's checkpoint, if the peer keeps that state.
    Checkpoint(Option<Manifest>),
    /// The chunk, if the peer keeps that state.
    CheckpointChunk(Option<RangeProof>),
    /// The blob's part, if the peer stores the blob.
    Blob(Option<BlobChunk>),
}

/// What this node serves to peers' fetch requests.
pub trait Provider: Send + Sync {
    /// The transactions it has among `hashes`.
    fn transactions(&self, hashes: &[Hash]) -> Vec<Vec<u8>>;
    /// The write logs of finalized round `round`, if it has them.
    fn write_logs(&self, round: Round) -> Option<RoundWriteLogs>;
    /// The proposals it knows for `round`.
    fn proposals(&self, round: Round) -> Vec<Proposal>;
    /// The checkpoint of the state after `round`, if it keeps that state (by default it
    /// keeps none).
    fn checkpoint(&self, _round: Round) -> Option<Manifest> {
        None
    }
    /// The entries of the state after `round` from `start` to `end`, proven.
    fn checkpoint_chunk(
        &self,
        _round: Round,
        _start: &[u8],
        _end: Option<&[u8]>,
    ) -> Option<RangeProof> {
        None
    }
    /// The part of blob `id` from `offset`, if it stores the blob.
    fn blob(&self, _id: &Hash, _offset: u64) -> Option<BlobChunk> {
        None
    }
    /// Whether `peer` may connect to this node (a registered node serving the runtime).
    fn admits(&self, peer: &PeerId) -> bool;
}

/// Why the p2p network could not start.
#[derive(Debug, Error)]
#[error("runtime p2p: {0}")]
pub struct P2pError(String);

fn p2p_err(e: impl std::fmt::Display) -> P2pError {
    P2pError(e.to_string())
}

#[derive(Clone, Default)]
struct FetchCodec;

async fn read_bounded<T: AsyncRead + Unpin + Send, M: BorshDeserialize>(
    io: &mut T,
    max: usize,
) -> std::io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "message too large"));
    }
    // Grown as bytes arrive: a length prefix alone reserves nothing.
    let mut buf = Vec::with_capacity(len.min(64 << 10));
    (&mut *io).take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "message cut short"));
    }
    atoll_types::decode(&buf, max)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

async fn write_bounded<T: AsyncWrite + Unpin + Send, M: BorshSerialize>(
    io: &mut T,
    message: &M,
    max: usize,
) -> std::io::Result<()> {
    let bytes = atoll_types::encode(message);
    if bytes.len() > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "message too large"));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

#[async_trait]
impl request_response::Codec for FetchCodec {
    type Protocol = StreamProtocol;
    type Request = FetchRequest;
    type Response = FetchResponse;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<FetchRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, MAX_REQUEST).await
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<FetchResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, MAX_RESPONSE).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: FetchRequest,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bounded(io, &request, MAX_REQUEST).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: FetchResponse,
    ) -> std::io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bounded(io, &response, MAX_RESPONSE).await
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossip: gossipsub::Behaviour,
    fetch: request_response::Behaviour<FetchCodec>,
}

enum Command {
    Publish(GossipMessage),
    Fetch { request: FetchRequest, reply: oneshot::Sender<Vec<FetchResponse>> },
    Report { ticket: u64, verdict: Verdict },
}

/// A gossiped message for the worker, with the ticket its verdict is reported under:
/// gossip forwards a message only once the worker found it valid (strict validation).
#[derive(Debug)]
pub struct Received {
    /// The message.
    pub message: GossipMessage,
    /// Hands the worker's verdict back to gossip ([`P2p::report`]).
    pub ticket: u64,
}

/// The handle the worker and the API use.
#[derive(Clone)]
pub struct P2p {
    commands: mpsc::Sender<Command>,
    transactions: mpsc::Sender<Vec<u8>>,
}

impl P2p {
    /// Gossips a runtime transaction, bundled with whatever else is queued for publication
    /// (dropped if the queue is full).
    pub fn publish_transaction(&self, raw: Vec<u8>) {
        if self.transactions.try_send(raw).is_err() {
            tracing::debug!("runtime transaction queue full; transaction not gossiped");
        }
    }

    /// Gossips a message (dropped if the network is congested).
    pub fn publish(&self, message: GossipMessage) {
        if self.commands.try_send(Command::Publish(message)).is_err() {
            tracing::debug!("runtime gossip queue full; message dropped");
        }
    }

    /// Reports what the worker made of a received message: gossip forwards it only if
    /// accepted, and lowers the sending peer's score if it was invalid.
    pub fn report(&self, ticket: u64, verdict: Verdict) {
        if self.commands.try_send(Command::Report { ticket, verdict }).is_err() {
            tracing::debug!("runtime gossip queue full; verdict dropped");
        }
    }

    /// Asks every connected peer; returns the answers that came back (possibly none).
    pub async fn fetch(&self, request: FetchRequest) -> Vec<FetchResponse> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Fetch { request, reply }).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }
}

/// Where a node's runtime p2p network listens and whom it dials.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// The node's p2p key seed (its libp2p identity).
    pub seed: [u8; 32],
    /// Listen address.
    pub listen: Multiaddr,
    /// Peers to keep dialling.
    pub peers: Vec<Multiaddr>,
}

struct PendingFetch {
    waiting: usize,
    answers: Vec<FetchResponse>,
    reply: oneshot::Sender<Vec<FetchResponse>>,
}

/// Starts the runtime's p2p network; gossip from peers arrives on the returned receiver.
pub fn start(
    runtime: RuntimeId,
    config: P2pConfig,
    provider: Arc<dyn Provider>,
) -> Result<(P2p, mpsc::Receiver<Received>, JoinHandle<()>), P2pError> {
    let keypair = identity::Keypair::ed25519_from_bytes(config.seed).map_err(p2p_err)?;
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(p2p_err)?
        .with_behaviour(|_key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
            // Anonymous, content-named messages: transactions, proposals and commitments
            // are signed by their own authors (see `anonymous_gossip`).
            let gossip = anonymous_gossip(Duration::from_millis(200), MAX_GOSSIP)?;
            let fetch = request_response::Behaviour::new(
                [(StreamProtocol::new(FETCH_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(5))
                    .with_max_concurrent_streams(SERVE_TOTAL * 2),
            );
            Ok(Behaviour { gossip, fetch })
        })
        .map_err(p2p_err)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    let topic = gossipsub::IdentTopic::new(format!("atoll/runtime/{runtime}/3"));
    swarm
        .behaviour_mut()
        .gossip
        .with_peer_score(
            atoll_engine::gossip::peer_score(&topic),
            gossipsub::PeerScoreThresholds::default(),
        )
        .map_err(p2p_err)?;
    swarm.behaviour_mut().gossip.subscribe(&topic).map_err(p2p_err)?;
    swarm.listen_on(config.listen.clone()).map_err(p2p_err)?;
    let (commands, mut queue) = mpsc::channel::<Command>(COMMANDS);
    let (transactions, mut outbound) = mpsc::channel::<Vec<u8>>(OUTBOUND_TRANSACTIONS);
    let (inbound, received) = mpsc::channel::<Received>(INBOUND);
    let peers = config.peers;
    let task = tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_secs(1));
        let mut unsent: Vec<Vec<u8>> = Vec::new();
        let mut nonces = Nonces::new();
        let mut pending: HashMap<u64, PendingFetch> = HashMap::new();
        let mut by_request: HashMap<OutboundRequestId, u64> = HashMap::new();
        let mut next_fetch = 0u64;
        // Messages waiting for the worker's verdict, oldest first (bounded like the queue).
        let mut awaiting: VecDeque<(u64, gossipsub::MessageId, PeerId)> = VecDeque::new();
        let mut next_ticket = 0u64;
        // Requests being served off this task, per peer, and their answers coming back.
        let mut serving: HashMap<PeerId, usize> = HashMap::new();
        let (served_tx, mut served) = mpsc::channel::<Served>(SERVE_TOTAL);
        let mut next_peer = 0usize;
        loop {
            tokio::select! {
                _ = redial.tick() => {
                    if swarm.connected_peers().count() < peers.len() {
                        for peer in &peers {
                            let _ = swarm.dial(peer.clone());
                        }
                    }
                    for bytes in std::mem::take(&mut unsent) {
                        publish(&mut swarm, &topic, bytes, &mut unsent, &mut nonces);
                    }
                }
                Some(raw) = outbound.recv() => {
                    let raws = with_queued(raw, &mut outbound, OUTBOUND_TRANSACTIONS);
                    for bundle in split_bundles(raws, MAX_BUNDLE, BUNDLE_BYTES) {
                        let message = GossipMessage::Transactions(bundle);
                        publish(&mut swarm, &topic, atoll_types::encode(&message), &mut unsent, &mut nonces);
                    }
                }
                command = queue.recv() => match command {
                    None => break,
                    Some(Command::Publish(message)) => {
                        publish(&mut swarm, &topic, atoll_types::encode(&message), &mut unsent, &mut nonces);
                    }
                    Some(Command::Report { ticket, verdict }) => {
                        // Tickets only grow, so the queue is sorted by them.
                        if let Ok(at) = awaiting.binary_search_by_key(&ticket, |(t, _, _)| *t) {
                            if let Some((_, id, source)) = awaiting.remove(at) {
                                swarm.behaviour_mut().gossip.report_message_validation_result(&id, &source, verdict.into());
                            }
                        }
                    }
                    Some(Command::Fetch { request, reply }) => {
                        let connected: Vec<PeerId> = swarm.connected_peers().copied().collect();
                        if connected.is_empty() {
                            let _ = reply.send(Vec::new());
                            continue;
                        }
                        // A few peers at a time, in turn, not everyone at once.
                        let asked: Vec<PeerId> = (0..FETCH_FANOUT.min(connected.len()))
                            .map(|k| connected[(next_peer + k) % connected.len()])
                            .collect();
                        next_peer = next_peer.wrapping_add(asked.len());
                        let id = next_fetch;
                        next_fetch += 1;
                        for peer in &asked {
                            let rid = swarm.behaviour_mut().fetch.send_request(peer, request.clone());
                            by_request.insert(rid, id);
                        }
                        pending.insert(id, PendingFetch { waiting: asked.len(), answers: Vec::new(), reply });
                    }
                },
                Some(Served { peer, channel, response }) = served.recv() => {
                    if let Some(count) = serving.get_mut(&peer) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            serving.remove(&peer);
                        }
                    }
                    let _ = swarm.behaviour_mut().fetch.send_response(channel, response);
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message { propagation_source, message_id, message })) => {
                        let gossip = &mut swarm.behaviour_mut().gossip;
                        let decoded = unseal(&message.data)
                            .and_then(|payload| atoll_types::decode::<GossipMessage>(payload, MAX_GOSSIP).ok())
                            .filter(GossipMessage::well_formed);
                        let Some(decoded) = decoded else {
                            tracing::debug!("undecodable runtime gossip");
                            gossip.report_message_validation_result(&message_id, &propagation_source, gossipsub::MessageAcceptance::Reject);
                            continue;
                        };
                        let ticket = next_ticket;
                        next_ticket += 1;
                        if inbound.try_send(Received { message: decoded, ticket }).is_err() {
                            tracing::debug!("runtime gossip inbound queue full");
                            gossip.report_message_validation_result(&message_id, &propagation_source, gossipsub::MessageAcceptance::Ignore);
                            continue;
                        }
                        if awaiting.len() >= INBOUND {
                            if let Some((_, id, source)) = awaiting.pop_front() {
                                gossip.report_message_validation_result(&id, &source, gossipsub::MessageAcceptance::Ignore);
                            }
                        }
                        awaiting.push_back((ticket, message_id, propagation_source));
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Fetch(request_response::Event::Message { peer, message, .. })) => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            let mine = serving.get(&peer).copied().unwrap_or(0);
                            let total: usize = serving.values().sum();
                            if mine >= SERVE_PER_PEER || total >= SERVE_TOTAL {
                                tracing::debug!(%peer, "runtime fetch refused: too many in flight");
                                let _ = swarm.behaviour_mut().fetch.send_response(channel, empty(&request));
                                continue;
                            }
                            *serving.entry(peer).or_default() += 1;
                            let (provider, done) = (provider.clone(), served_tx.clone());
                            tokio::task::spawn_blocking(move || {
                                let response = serve(provider.as_ref(), request);
                                let _ = done.blocking_send(Served { peer, channel, response });
                            });
                        }
                        request_response::Message::Response { request_id, response } => {
                            answer(&mut pending, &mut by_request, request_id, Some(response));
                        }
                    },
                    SwarmEvent::Behaviour(BehaviourEvent::Fetch(request_response::Event::OutboundFailure { request_id, error, .. })) => {
                        tracing::debug!(%error, "runtime fetch failed");
                        answer(&mut pending, &mut by_request, request_id, None);
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                        // Peers this node dialled are its operator's choice; a peer that
                        // dialled in must be a registered node of the runtime.
                        if endpoint.is_listener() && !provider.admits(&peer_id) {
                            tracing::debug!(%peer_id, "runtime peer refused: not a registered node of the runtime");
                            swarm.close_connection(connection_id);
                            continue;
                        }
                        tracing::debug!(%peer_id, "runtime peer connected");
                    }
                    _ => {}
                },
            }
        }
    });
    Ok((P2p { commands, transactions }, received, task))
}

/// A request served off the swarm's task, on its way back.
struct Served {
    peer: PeerId,
    channel: request_response::ResponseChannel<FetchResponse>,
    response: FetchResponse,
}

/// The answer that says "nothing" to `request`.
fn empty(request: &FetchRequest) -> FetchResponse {
    match request {
        FetchRequest::Transactions(_) => FetchResponse::Transactions(Vec::new()),
        FetchRequest::WriteLogs(_) => FetchResponse::WriteLogs(None),
        FetchRequest::Proposals(_) => FetchResponse::Proposals(Vec::new()),
        FetchRequest::Checkpoint(_) => FetchResponse::Checkpoint(None),
        FetchRequest::CheckpointChunk { .. } => FetchResponse::CheckpointChunk(None),
        FetchRequest::Blob { .. } => FetchResponse::Blob(None),
    }
}

/// The libp2p peer id of a node's p2p key.
pub fn peer_id_of(p2p_key: &atoll_types::PublicKey) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(p2p_key.as_bytes()).ok()?;
    Some(PeerId::from_public_key(&identity::PublicKey::from(key)))
}

fn serve(provider: &dyn Provider, request: FetchRequest) -> FetchResponse {
    match request {
        FetchRequest::Transactions(hashes) => {
            let hashes = &hashes[..hashes.len().min(MAX_HASHES_PER_REQUEST)];
            let mut txs = provider.transactions(hashes);
            let mut size = 0usize;
            txs.retain(|tx| {
                size += tx.len() + 4;
                size < MAX_RESPONSE / 2
            });
            FetchResponse::Transactions(txs)
        }
        FetchRequest::WriteLogs(round) => FetchResponse::WriteLogs(provider.write_logs(round)),
        FetchRequest::Proposals(round) => FetchResponse::Proposals(provider.proposals(round)),
        FetchRequest::Checkpoint(round) => FetchResponse::Checkpoint(provider.checkpoint(round)),
        FetchRequest::CheckpointChunk { round, start, end } => {
            FetchResponse::CheckpointChunk(provider.checkpoint_chunk(round, &start, end.as_deref()))
        }
        FetchRequest::Blob { id, offset } => FetchResponse::Blob(provider.blob(&id, offset)),
    }
}

fn answer(
    pending: &mut HashMap<u64, PendingFetch>,
    by_request: &mut HashMap<OutboundRequestId, u64>,
    request: OutboundRequestId,
    response: Option<FetchResponse>,
) {
    let Some(id) = by_request.remove(&request) else { return };
    let Some(fetch) = pending.get_mut(&id) else { return };
    fetch.waiting = fetch.waiting.saturating_sub(1);
    if let Some(response) = response {
        fetch.answers.push(response);
    }
    if fetch.waiting == 0 {
        if let Some(done) = pending.remove(&id) {
            let _ = done.reply.send(done.answers);
        }
    }
}

fn publish(
    swarm: &mut libp2p::Swarm<Behaviour>,
    topic: &gossipsub::IdentTopic,
    bytes: Vec<u8>,
    unsent: &mut Vec<Vec<u8>>,
    nonces: &mut Nonces,
) {
    match swarm.behaviour_mut().gossip.publish(topic.clone(), nonces.seal(bytes.clone())) {
        Ok(_) => {}
        Err(gossipsub::PublishError::NoPeersSubscribedToTopic) if unsent.len() < INBOUND => {
            unsent.push(bytes);
        }
        Err(gossipsub::PublishError::Duplicate) => {}
        Err(e) => tracing::debug!(error = %e, "runtime gossip not published"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [T] finding 5: a frame's length prefix alone (up to 64 MiB) was allocated before a
    /// byte of it arrived.
    #[tokio::test]
    async fn a_length_prefix_alone_refuses_to_become_a_frame() {
        let mut bytes = ((MAX_RESPONSE - 1) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(b"ten bytes!");
        let mut io = libp2p::futures::io::Cursor::new(bytes);
        let read = read_bounded::<_, FetchResponse>(&mut io, MAX_RESPONSE).await;
        let err = read.expect_err("cut short");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        // A whole frame still reads.
        let mut whole = Vec::new();
        let response = FetchResponse::Transactions(vec![b"tx".to_vec()]);
        let encoded = atoll_types::encode(&response);
        whole.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        whole.extend_from_slice(&encoded);
        let mut io = libp2p::futures::io::Cursor::new(whole);
        let read: FetchResponse = read_bounded(&mut io, MAX_RESPONSE).await.expect("frame");
        assert_eq!(read, response);
    }
}
