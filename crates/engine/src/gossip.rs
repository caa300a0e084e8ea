//! Transaction gossip: mempools share admitted transactions over libp2p gossipsub (the
//! libp2p Malachite itself uses), so a transaction submitted to any node can be proposed by
//! every validator.
//!
//! Each node publishes the transactions its clients submit, and publishes them again while
//! they wait (every 10 blocks, `bft::run`'s re-gossip task): a message a busy peer ignored
//! is not lost for good. Validation is strict: a
//! received message is forwarded only after this node's own admission accepted it, and
//! admission runs on a small worker pool off the swarm task, behind a bounded queue (when
//! the queue is full, messages are ignored, neither forwarded nor held); a worker takes
//! every waiting message at once, so their signatures are verified in one batch. What admission
//! finds invalid (undecodable, forged, wrong chain) is reported as such, and gossipsub's
//! peer scoring makes the peers that send it lose their mesh and then their connection.
//! Messages are signed by the publisher's p2p key and bounded in size.

use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, identity, noise, tcp, yamux, Multiaddr, SwarmBuilder};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The gossip topic of consensus transactions.
pub const TOPIC: &str = "atoll/consensus/transactions/1";
/// Largest gossiped message (a transaction is far smaller).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Transactions waiting to be published.
const OUTBOUND_QUEUE: usize = 4_096;
/// Received transactions waiting for admission; beyond this, messages are ignored.
pub const ADMISSION_QUEUE: usize = 1_024;
/// Admission workers (each verifies a batch of signatures and reads the state).
pub const ADMISSION_WORKERS: usize = 2;
/// Received transactions a worker takes from the queue at once, so that their signatures
/// are verified in one batch.
pub const ADMISSION_BATCH: usize = 256;

/// What admission made of a received transaction, and so whether gossip forwards it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Admitted: forwarded to the other peers.
    Accept,
    /// Invalid whatever the state (undecodable, forged, another chain): dropped, and the
    /// peer that sent it is penalised.
    Reject,
    /// Not admitted here (a duplicate, a full pool, a nonce too far ahead, …): dropped,
    /// not forwarded, no penalty.
    Ignore,
}

impl From<Verdict> for gossipsub::MessageAcceptance {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Accept => Self::Accept,
            Verdict::Reject => Self::Reject,
            Verdict::Ignore => Self::Ignore,
        }
    }
}

/// A received message waiting for its verdict.
struct Pending {
    id: gossipsub::MessageId,
    source: libp2p::PeerId,
    data: Vec<u8>,
}

/// Scoring that only punishes invalid messages: a topic is quiet when nobody transacts, so
/// delivery-rate penalties would punish honest peers. Shared with the runtime gossip.
pub fn peer_score(topic: &gossipsub::IdentTopic) -> gossipsub::PeerScoreParams {
    let mut params = gossipsub::PeerScoreParams::default();
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.5,
        ..gossipsub::TopicScoreParams::default()
    };
    params.topics.insert(topic.hash(), topic_params);
    params
}

/// Why gossip could not start.
#[derive(Debug, Error)]
#[error("transaction gossip: {0}")]
pub struct GossipError(String);

fn gossip_err(e: impl std::fmt::Display) -> GossipError {
    GossipError(e.to_string())
}

/// Publishes transactions to the other nodes.
#[derive(Clone)]
pub struct TxGossip {
    outbound: mpsc::Sender<Vec<u8>>,
}

impl TxGossip {
    /// Queues an admitted transaction for publication (dropped if the queue is full).
    pub fn publish(&self, raw: Vec<u8>) {
        if self.outbound.try_send(raw).is_err() {
            tracing::debug!("gossip queue full; transaction not published");
        }
    }
}

fn publish(
    swarm: &mut libp2p::Swarm<gossipsub::Behaviour>,
    topic: &gossipsub::IdentTopic,
    raw: Vec<u8>,
    unsent: &mut Vec<Vec<u8>>,
) {
    match swarm.behaviour_mut().publish(topic.clone(), raw.clone()) {
        Ok(id) => tracing::debug!(%id, "transaction published"),
        Err(gossipsub::PublishError::NoPeersSubscribedToTopic) if unsent.len() < OUTBOUND_QUEUE => {
            unsent.push(raw);
        }
        Err(e) => tracing::debug!(error = %e, "transaction not published"),
    }
}

/// Starts the gossip swarm: listens on `listen`, keeps dialling `peers`, hands received
/// transactions to `admit` (on a worker pool, as many at once as are waiting, up to
/// [`ADMISSION_BATCH`]; one verdict each, in order) and forwards each only if admitted.
pub fn start(
    p2p_seed: [u8; 32],
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    admit: impl Fn(Vec<Vec<u8>>) -> Vec<Verdict> + Send + Sync + 'static,
) -> Result<(TxGossip, JoinHandle<()>), GossipError> {
    let keypair = identity::Keypair::ed25519_from_bytes(p2p_seed).map_err(gossip_err)?;
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(gossip_err)?
        .with_behaviour(
            |key| -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let config = gossipsub::ConfigBuilder::default()
                    .max_transmit_size(MAX_MESSAGE)
                    .heartbeat_interval(Duration::from_millis(500))
                    .validate_messages()
                    .build()?;
                Ok(gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    config,
                )?)
            },
        )
        .map_err(gossip_err)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    let topic = gossipsub::IdentTopic::new(TOPIC);
    swarm
        .behaviour_mut()
        .with_peer_score(peer_score(&topic), gossipsub::PeerScoreThresholds::default())
        .map_err(gossip_err)?;
    swarm.behaviour_mut().subscribe(&topic).map_err(gossip_err)?;
    swarm.listen_on(listen).map_err(gossip_err)?;
    let (outbound, mut queue) = mpsc::channel::<Vec<u8>>(OUTBOUND_QUEUE);
    let (to_admit, admissions) = mpsc::channel::<Pending>(ADMISSION_QUEUE);
    let (verdict_tx, mut verdicts) = mpsc::channel(ADMISSION_QUEUE);
    let admissions = Arc::new(tokio::sync::Mutex::new(admissions));
    let admit = Arc::new(admit);
    for _ in 0..ADMISSION_WORKERS {
        let (admissions, admit, verdict_tx) =
            (Arc::clone(&admissions), Arc::clone(&admit), verdict_tx.clone());
        tokio::spawn(async move {
            loop {
                let batch = {
                    let mut queue = admissions.lock().await;
                    let Some(first) = queue.recv().await else { return };
                    let mut batch = vec![first];
                    while batch.len() < ADMISSION_BATCH {
                        match queue.try_recv() {
                            Ok(pending) => batch.push(pending),
                            Err(_) => break,
                        }
                    }
                    batch
                };
                let admit = Arc::clone(&admit);
                let (messages, data): (Vec<_>, Vec<_>) =
                    batch.into_iter().map(|p| ((p.id, p.source), p.data)).unzip();
                let verdicts =
                    tokio::task::spawn_blocking(move || admit(data)).await.unwrap_or_default();
                let verdicts = verdicts.into_iter().chain(std::iter::repeat(Verdict::Ignore));
                for ((id, source), verdict) in messages.into_iter().zip(verdicts) {
                    if verdict_tx.send((id, source, verdict)).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    let task = tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_secs(2));
        // Published before any peer subscribed (e.g. at start-up): retried on the next tick.
        let mut unsent: Vec<Vec<u8>> = Vec::new();
        loop {
            tokio::select! {
                _ = redial.tick() => {
                    if swarm.connected_peers().count() < peers.len() {
                        for peer in &peers {
                            let _ = swarm.dial(peer.clone());
                        }
                    }
                    for raw in std::mem::take(&mut unsent) {
                        publish(&mut swarm, &topic, raw, &mut unsent);
                    }
                }
                raw = queue.recv() => {
                    let Some(raw) = raw else { break };
                    publish(&mut swarm, &topic, raw, &mut unsent);
                }
                Some((id, source, verdict)) = verdicts.recv() => {
                    let verdict: Verdict = verdict;
                    swarm.behaviour_mut().report_message_validation_result(&id, &source, verdict.into());
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(gossipsub::Event::Message {
                        propagation_source, message_id, message,
                    }) => {
                        tracing::debug!(bytes = message.data.len(), "gossiped transaction received");
                        let pending =
                            Pending { id: message_id, source: propagation_source, data: message.data };
                        if let Err(full) = to_admit.try_send(pending) {
                            let Pending { id, source, .. } = full.into_inner();
                            swarm.behaviour_mut().report_message_validation_result(
                                &id,
                                &source,
                                gossipsub::MessageAcceptance::Ignore,
                            );
                        }
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                        tracing::debug!(%peer_id, "gossip peer connected");
                    }
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        tracing::debug!(%error, "gossip dial failed");
                    }
                    _ => {}
                },
            }
        }
    });
    Ok((TxGossip { outbound }, task))
}
