//! Transaction gossip: mempools share admitted transactions over libp2p gossipsub (the
//! libp2p Malachite itself uses), so a transaction submitted to any node can be proposed by
//! every validator.
//!
//! Each node publishes the transactions its clients submit; on receipt a node runs the same
//! admission check as for a client and keeps what passes. Gossipsub forwards messages to the
//! other peers of the topic, with its own duplicate suppression; messages are signed by the
//! sender's p2p key and bounded in size.

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

/// Starts the gossip swarm: listens on `listen`, keeps dialling `peers`, hands every
/// received transaction to `admit`.
pub fn start(
    p2p_seed: [u8; 32],
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    admit: impl Fn(Vec<u8>) + Send + 'static,
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
    swarm.behaviour_mut().subscribe(&topic).map_err(gossip_err)?;
    swarm.listen_on(listen).map_err(gossip_err)?;
    let (outbound, mut queue) = mpsc::channel::<Vec<u8>>(OUTBOUND_QUEUE);
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
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. })
                        if message.data.len() <= MAX_MESSAGE =>
                    {
                        tracing::debug!(bytes = message.data.len(), "gossiped transaction received");
                        admit(message.data);
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
