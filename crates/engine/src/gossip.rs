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
//! A message is a bundle of transactions ([`bundle`]: what was queued for publication
//! together), bounded in size; it is forwarded if any of its transactions was admitted and
//! none was invalid ([`message_verdict`]).
//!
//! Messages are anonymous and named by their content ([`anonymous_gossip`]): what they
//! carry is signed by its own senders and checked by admission, so a gossipsub publisher
//! signature would prove nothing more, and gossipsub checks it on every copy a node
//! receives, before it drops duplicates — with one copy per mesh peer, that check was most
//! of a node's gossip cost. Each message ends with its publisher's [`Nonces`], so that the
//! same bundle published again (re-gossip, a retry) is a new message.

use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, identity, noise, tcp, yamux, Multiaddr, SwarmBuilder};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The gossip topic of consensus transactions (messages are bundles: see [`bundle`]).
pub const TOPIC: &str = "atoll/consensus/transactions/3";
/// Largest gossiped message (a transaction is far smaller).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Largest bundle, encoded: a message leaves room for the nonce and gossipsub's framing
/// (the topic, field tags), which [`MAX_MESSAGE`] bounds too.
pub const BUNDLE_BYTES: usize = MAX_MESSAGE - 1_024;
/// Transactions bundled into one message at most.
pub const MAX_BUNDLE: usize = 256;
/// Transactions waiting to be published.
const OUTBOUND_QUEUE: usize = 4_096;
/// Received messages waiting for admission; beyond this, messages are ignored.
pub const ADMISSION_QUEUE: usize = 256;
/// Admission workers (each verifies a batch of signatures and reads the state).
pub const ADMISSION_WORKERS: usize = 2;
/// Received transactions a worker takes from the queue at once (whole messages), so that
/// their signatures are verified in one batch.
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
    txs: Vec<Vec<u8>>,
}

/// Packs transactions into messages: each the borsh encoding of a list of at most
/// [`MAX_BUNDLE`] transactions and [`BUNDLE_BYTES`], in order (one gossipsub message and
/// one message id for many transactions). A transaction too large for any message is
/// dropped.
pub fn bundle(raws: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    split_bundles(raws, MAX_BUNDLE, BUNDLE_BYTES).iter().map(atoll_types::encode).collect()
}

/// `first` and, after it, whatever else `queue` holds now (up to `most` in all): the
/// transactions that go out bundled together.
pub fn with_queued<T>(first: T, queue: &mut mpsc::Receiver<T>, most: usize) -> Vec<T> {
    let mut items = vec![first];
    while items.len() < most {
        match queue.try_recv() {
            Ok(more) => items.push(more),
            Err(_) => break,
        }
    }
    items
}

/// Splits transactions, in order, into lists of at most `most` whose borsh encoding (a
/// list of byte strings) takes at most `bytes`; a transaction too large for any list is
/// dropped. [`bundle`] uses it, and the ParaTime gossip too, with its own bounds.
pub fn split_bundles(raws: Vec<Vec<u8>>, most: usize, bytes: usize) -> Vec<Vec<Vec<u8>>> {
    let mut bundles = Vec::new();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut size = 4;
    for raw in raws {
        let cost = 4 + raw.len();
        if 4 + cost > bytes {
            continue;
        }
        if current.len() == most || size + cost > bytes {
            bundles.push(std::mem::take(&mut current));
            size = 4;
        }
        size += cost;
        current.push(raw);
    }
    if !current.is_empty() {
        bundles.push(current);
    }
    bundles
}

/// The transactions of a received message: `None` for one no honest node sends (not a
/// list, empty, or longer than [`MAX_BUNDLE`]).
pub fn unbundle(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let txs: Vec<Vec<u8>> = atoll_types::decode(data, MAX_MESSAGE).ok()?;
    (!txs.is_empty() && txs.len() <= MAX_BUNDLE).then_some(txs)
}

/// A message's verdict from its transactions': rejected if any is invalid (its publisher
/// admitted it, so it is at fault), else accepted (forwarded) if any was admitted here,
/// else ignored.
pub fn message_verdict(verdicts: &[Verdict]) -> Verdict {
    if verdicts.contains(&Verdict::Reject) {
        Verdict::Reject
    } else if verdicts.contains(&Verdict::Accept) {
        Verdict::Accept
    } else {
        Verdict::Ignore
    }
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
    /// Queues an admitted transaction for publication, bundled with whatever else is queued
    /// (dropped if the queue is full).
    pub fn publish(&self, raw: Vec<u8>) {
        if self.outbound.try_send(raw).is_err() {
            tracing::debug!("gossip queue full; transaction not published");
        }
    }
}

/// Gossip of anonymous messages named by the SHA-256 of their content, for content that
/// authenticates itself (signed transactions, signed proposals and commitments): no
/// publisher, sequence number or signature is sent, and a received message carrying one is
/// refused. Every topic of ours uses it; `heartbeat` and `max_transmit_size` are the
/// topic's own.
pub fn anonymous_gossip(
    heartbeat: Duration,
    max_transmit_size: usize,
) -> Result<gossipsub::Behaviour, &'static str> {
    let config = gossipsub::ConfigBuilder::default()
        .max_transmit_size(max_transmit_size)
        .heartbeat_interval(heartbeat)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(atoll_types::Hash::digest(&message.data).as_bytes().to_vec())
        })
        .validate_messages()
        .build()
        .map_err(|_| "invalid gossipsub configuration")?;
    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
}

/// What makes each message a node publishes unique: a counter, appended to the message,
/// that starts at the time the node started (in nanoseconds), so a node that restarts does
/// not reuse a name its peers still remember. Without it, publishing the same content again
/// would be refused as a duplicate for as long as gossipsub remembers the first.
pub struct Nonces(u64);

/// Bytes a nonce adds to a message.
pub const NONCE_BYTES: usize = 8;

impl Nonces {
    /// Counting from now.
    pub fn new() -> Self {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Self(now.map(|d| d.as_nanos() as u64).unwrap_or_default())
    }

    /// `payload` with the next nonce appended: the data of one gossipsub message.
    pub fn seal(&mut self, mut payload: Vec<u8>) -> Vec<u8> {
        self.0 = self.0.wrapping_add(1);
        payload.extend_from_slice(&self.0.to_le_bytes());
        payload
    }
}

impl Default for Nonces {
    fn default() -> Self {
        Self::new()
    }
}

/// A received message's payload: its data without the publisher's nonce (`None` if too
/// short to hold one).
pub fn unseal(data: &[u8]) -> Option<&[u8]> {
    data.len().checked_sub(NONCE_BYTES).map(|end| &data[..end])
}

/// Publishes `raws` in bundles; what finds no subscribed peer yet is kept in `unsent`.
fn publish(
    swarm: &mut libp2p::Swarm<gossipsub::Behaviour>,
    topic: &gossipsub::IdentTopic,
    raws: Vec<Vec<u8>>,
    unsent: &mut Vec<Vec<u8>>,
    nonces: &mut Nonces,
) {
    for message in bundle(raws) {
        match swarm.behaviour_mut().publish(topic.clone(), nonces.seal(message.clone())) {
            Ok(id) => tracing::debug!(%id, "transactions published"),
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                if let Some(txs) = unbundle(&message) {
                    unsent
                        .extend(txs.into_iter().take(OUTBOUND_QUEUE.saturating_sub(unsent.len())));
                }
            }
            Err(e) => tracing::debug!(error = %e, "transactions not published"),
        }
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
            |_key| -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                Ok(anonymous_gossip(Duration::from_millis(500), MAX_MESSAGE)?)
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
                    let mut txs = first.txs.len();
                    let mut batch = vec![first];
                    while txs < ADMISSION_BATCH {
                        match queue.try_recv() {
                            Ok(pending) => {
                                txs += pending.txs.len();
                                batch.push(pending);
                            }
                            Err(_) => break,
                        }
                    }
                    batch
                };
                let admit = Arc::clone(&admit);
                let counts: Vec<usize> = batch.iter().map(|p| p.txs.len()).collect();
                let (messages, txs): (Vec<_>, Vec<_>) =
                    batch.into_iter().map(|p| ((p.id, p.source), p.txs)).unzip();
                let all: Vec<Vec<u8>> = txs.into_iter().flatten().collect();
                let verdicts =
                    tokio::task::spawn_blocking(move || admit(all)).await.unwrap_or_default();
                let mut verdicts = verdicts.into_iter().chain(std::iter::repeat(Verdict::Ignore));
                for ((id, source), count) in messages.into_iter().zip(counts) {
                    let each: Vec<Verdict> = verdicts.by_ref().take(count).collect();
                    let verdict = message_verdict(&each);
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
        let mut nonces = Nonces::new();
        loop {
            tokio::select! {
                _ = redial.tick() => {
                    if swarm.connected_peers().count() < peers.len() {
                        for peer in &peers {
                            let _ = swarm.dial(peer.clone());
                        }
                    }
                    let retry = std::mem::take(&mut unsent);
                    publish(&mut swarm, &topic, retry, &mut unsent, &mut nonces);
                }
                raw = queue.recv() => {
                    let Some(raw) = raw else { break };
                    let raws = with_queued(raw, &mut queue, OUTBOUND_QUEUE);
                    publish(&mut swarm, &topic, raws, &mut unsent, &mut nonces);
                }
                Some((id, source, verdict)) = verdicts.recv() => {
                    let verdict: Verdict = verdict;
                    swarm.behaviour_mut().report_message_validation_result(&id, &source, verdict.into());
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(gossipsub::Event::Message {
                        propagation_source, message_id, message,
                    }) => {
                        tracing::debug!(bytes = message.data.len(), "gossiped transactions received");
                        let Some(txs) = unseal(&message.data).and_then(unbundle) else {
                            swarm.behaviour_mut().report_message_validation_result(
                                &message_id,
                                &propagation_source,
                                gossipsub::MessageAcceptance::Reject,
                            );
                            continue;
                        };
                        let pending = Pending { id: message_id, source: propagation_source, txs };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_keep_order_and_stay_within_the_message_limits() {
        let raws: Vec<Vec<u8>> =
            (0..1_000u32).map(|i| vec![i as u8; 100 + (i as usize % 300)]).collect();
        let messages = bundle(raws.clone());
        assert!(messages.len() > 1);
        let mut back = Vec::new();
        for message in &messages {
            assert!(message.len() <= BUNDLE_BYTES);
            back.extend(unbundle(message).expect("a bundle"));
        }
        assert_eq!(back, raws);
        // Too large for any message: dropped; the rest still goes.
        let messages = bundle(vec![vec![1; MAX_MESSAGE], vec![2; 10]]);
        assert_eq!(messages.len(), 1);
        assert_eq!(unbundle(&messages[0]), Some(vec![vec![2; 10]]));
        assert!(bundle(Vec::new()).is_empty());
    }

    #[test]
    fn sealed_messages_differ_each_time_and_unseal_to_their_payload() {
        let mut nonces = Nonces::new();
        let (first, second) = (nonces.seal(b"bundle".to_vec()), nonces.seal(b"bundle".to_vec()));
        assert_ne!(first, second, "the same content published twice must be two messages");
        assert_eq!(unseal(&first), Some(&b"bundle"[..]));
        assert_eq!(unseal(&second), Some(&b"bundle"[..]));
        assert_eq!(unseal(&[1; NONCE_BYTES]), Some(&[][..]));
        assert_eq!(unseal(&[1; NONCE_BYTES - 1]), None);
    }

    #[test]
    fn split_bundles_honour_both_bounds() {
        let raws: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 10]).collect();
        let by_count = split_bundles(raws.clone(), 3, 1_000);
        assert_eq!(by_count.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 3, 1]);
        // 4 bytes of list length, then 14 per transaction: 32 bytes hold two.
        let by_size = split_bundles(raws.clone(), 100, 32);
        assert!(by_size.iter().all(|b| b.len() == 2 && atoll_types::encode(b).len() <= 32));
        assert_eq!(by_size.concat(), raws);
    }

    #[test]
    fn what_no_honest_node_sends_is_no_bundle() {
        assert_eq!(unbundle(&atoll_types::encode(&Vec::<Vec<u8>>::new())), None);
        assert_eq!(unbundle(&atoll_types::encode(&vec![vec![0u8]; MAX_BUNDLE + 1])), None);
        assert_eq!(unbundle(b"garbage"), None);
        assert_eq!(unbundle(&[0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn one_invalid_transaction_rejects_its_message() {
        use Verdict::{Accept, Ignore, Reject};
        assert_eq!(message_verdict(&[Accept, Reject, Accept]), Reject);
        assert_eq!(message_verdict(&[Ignore, Accept]), Accept);
        assert_eq!(message_verdict(&[Ignore, Ignore]), Ignore);
    }
}
