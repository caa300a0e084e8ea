//! The runtime p2p network over real sockets on 127.0.0.1: a gossiped message the worker
//! found invalid is never forwarded.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use atoll_compute::p2p::{self, FetchRequest, GossipMessage, P2pConfig, Proposal, Provider};
use atoll_compute::storage::RoundWriteLogs;
use atoll_engine::gossip::Verdict;
use atoll_types::{Hash, Round, RuntimeId};
use libp2p::{Multiaddr, PeerId};

/// Serves nothing; admits the listed peers only (the registered nodes of the runtime), or
/// everyone.
struct Nothing(Option<Vec<PeerId>>);

impl Provider for Nothing {
    fn transactions(&self, _: &[Hash]) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn write_logs(&self, _: Round) -> Option<RoundWriteLogs> {
        None
    }
    fn proposals(&self, _: Round) -> Vec<Proposal> {
        Vec::new()
    }
    fn admits(&self, peer: &PeerId) -> bool {
        self.0.as_ref().is_none_or(|admitted| admitted.contains(peer))
    }
}

fn peer(seed: u8) -> PeerId {
    libp2p::identity::Keypair::ed25519_from_bytes([seed; 32]).expect("key").public().to_peer_id()
}

fn free_address() -> Multiaddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("multiaddr")
}

/// A node with key seed `seed`, listening on `listen`, dialling `peers`.
fn config(seed: u8, listen: &Multiaddr, peers: Vec<Multiaddr>) -> P2pConfig {
    P2pConfig { seed: [seed; 32], listen: listen.clone(), peers }
}

fn transaction(message: &GossipMessage) -> &[u8] {
    match message {
        GossipMessage::Transactions(raws) => &raws[0],
        GossipMessage::Proposal(_) | GossipMessage::Commitment(_) => &[],
    }
}

/// [S] finding 7 (runtime gossip): messages were forwarded before the worker looked at them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_gossip_refuses_to_forward_what_the_worker_rejected() {
    let runtime = RuntimeId::from_bytes([5; 32]);
    let (a, b, c) = (free_address(), free_address(), free_address());
    let (publisher, _a_in, _a) =
        p2p::start(runtime, config(1, &a, vec![b.clone()]), Arc::new(Nothing(None))).expect("A");
    let (relay, mut at_b, _b) =
        p2p::start(runtime, config(2, &b, vec![]), Arc::new(Nothing(None))).expect("B");
    let (_sink, mut at_c, _c) =
        p2p::start(runtime, config(3, &c, vec![b]), Arc::new(Nothing(None))).expect("C");
    // B's worker: forged transactions are invalid, everything else is accepted.
    let (seen_at_b, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(received) = at_b.recv().await {
            let raw = transaction(&received.message).to_vec();
            let verdict =
                if raw.starts_with(b"forged") { Verdict::Reject } else { Verdict::Accept };
            relay.report(received.ticket, verdict);
            let _ = seen_at_b.send(raw);
        }
    });
    let limit = Duration::from_secs(20);
    // Until the mesh has formed, probes are published again.
    let mut formed = false;
    for n in 0..200u32 {
        publisher.publish(GossipMessage::Transactions(vec![format!("probe {n}").into_bytes()]));
        if tokio::time::timeout(Duration::from_millis(100), at_c.recv()).await.is_ok() {
            formed = true;
            break;
        }
    }
    assert!(formed, "the mesh never formed");
    publisher.publish(GossipMessage::Transactions(vec![b"forged transaction".to_vec()]));
    publisher.publish(GossipMessage::Transactions(vec![b"valid transaction".to_vec()]));
    let mut forged_at_b = false;
    tokio::time::timeout(limit, async {
        while !forged_at_b {
            forged_at_b = seen.recv().await.expect("B runs").starts_with(b"forged");
        }
    })
    .await
    .expect("B received the forged transaction");
    let mut at_c_after = Vec::new();
    tokio::time::timeout(limit, async {
        loop {
            let received = at_c.recv().await.expect("C runs");
            let raw = transaction(&received.message).to_vec();
            let done = raw == b"valid transaction";
            at_c_after.push(raw);
            if done {
                break;
            }
        }
    })
    .await
    .expect("the valid transaction reached C");
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(received) = at_c.try_recv() {
        at_c_after.push(transaction(&received.message).to_vec());
    }
    assert!(
        !at_c_after.iter().any(|m| m.starts_with(b"forged")),
        "B forwarded what its worker rejected"
    );
}

/// Transactions queued for gossip together go out as bundles (one gossipsub message, one
/// publisher signature for many), in order; an empty bundle, which no honest node sends,
/// never reaches the receiver's admission.
#[tokio::test]
async fn queued_transactions_are_gossiped_in_bundles_in_order() {
    let runtime = RuntimeId::from_bytes([7; 32]);
    let (a, b) = (free_address(), free_address());
    let (publisher, _a_in, _a) =
        p2p::start(runtime, config(1, &a, vec![b.clone()]), Arc::new(Nothing(None))).expect("A");
    let (_receiver, mut at_b, _b) =
        p2p::start(runtime, config(2, &b, vec![]), Arc::new(Nothing(None))).expect("B");
    let mut formed = false;
    for n in 0..200u32 {
        publisher.publish_transaction(format!("probe {n}").into_bytes());
        if tokio::time::timeout(Duration::from_millis(100), at_b.recv()).await.is_ok() {
            formed = true;
            break;
        }
    }
    assert!(formed, "the mesh never formed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    while at_b.try_recv().is_ok() {}
    publisher.publish(GossipMessage::Transactions(Vec::new()));
    // One thread: all of them are queued before the swarm's task runs again.
    let sent: Vec<Vec<u8>> = (0..1_000u32).map(|n| format!("burst {n}").into_bytes()).collect();
    for raw in &sent {
        publisher.publish_transaction(raw.clone());
    }
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut messages = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while got.len() < sent.len() {
            let received = at_b.recv().await.expect("B runs");
            let GossipMessage::Transactions(raws) = received.message else { continue };
            assert!(!raws.is_empty(), "an empty bundle reached admission");
            assert!(raws.len() <= p2p::MAX_BUNDLE);
            messages += 1;
            got.extend(raws.into_iter().filter(|raw| raw.starts_with(b"burst")));
        }
    })
    .await
    .expect("the burst arrived");
    assert_eq!(got, sent);
    assert!(messages < sent.len() / 100, "{messages} messages for {} transactions", sent.len());
}

/// [T] finding 5: any process could connect to a compute node's runtime p2p port and have
/// its gossip taken and its requests served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_registered_nodes_of_the_runtime_may_connect() {
    let runtime = RuntimeId::from_bytes([6; 32]);
    let (a, b, c) = (free_address(), free_address(), free_address());
    // A admits the node with seed 3 only; B (seed 2) and C (seed 3) both dial A.
    let (_a, mut at_a, _ta) =
        p2p::start(runtime, config(1, &a, vec![]), Arc::new(Nothing(Some(vec![peer(3)]))))
            .expect("A");
    let (stranger, _b_in, _tb) =
        p2p::start(runtime, config(2, &b, vec![a.clone()]), Arc::new(Nothing(None))).expect("B");
    let (member, _c_in, _tc) =
        p2p::start(runtime, config(3, &c, vec![a]), Arc::new(Nothing(None))).expect("C");
    let mut from_member = false;
    let mut from_stranger = false;
    for n in 0..100u32 {
        stranger.publish(GossipMessage::Transactions(vec![format!("stranger {n}").into_bytes()]));
        member.publish(GossipMessage::Transactions(vec![format!("member {n}").into_bytes()]));
        while let Ok(Some(received)) =
            tokio::time::timeout(Duration::from_millis(100), at_a.recv()).await
        {
            let raw = transaction(&received.message);
            from_member |= raw.starts_with(b"member");
            from_stranger |= raw.starts_with(b"stranger");
        }
        if from_member && n > 30 {
            break;
        }
    }
    assert!(from_member, "the registered node's gossip arrives");
    assert!(!from_stranger, "a node that is not registered was let in");
}

/// Serves write logs slowly and records how many it served at once.
struct Slow {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

impl Provider for Slow {
    fn transactions(&self, _: &[Hash]) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn write_logs(&self, _: Round) -> Option<RoundWriteLogs> {
        use std::sync::atomic::Ordering;
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_secs(1));
        self.now.fetch_sub(1, Ordering::SeqCst);
        None
    }
    fn proposals(&self, _: Round) -> Vec<Proposal> {
        Vec::new()
    }
    fn admits(&self, _: &PeerId) -> bool {
        true
    }
}

/// [T] finding 5: write logs were computed on the swarm's own task, one request after the
/// other for as many as a peer sent: ten slow ones (1 s each) outlasted the 5 s request
/// timeout and the swarm served nothing else meanwhile. Now a peer gets two served at once
/// on blocking threads and an empty answer beyond that, so every request is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gets_at_most_its_share_of_serving_at_once() {
    let runtime = RuntimeId::from_bytes([7; 32]);
    let (a, b) = (free_address(), free_address());
    let slow = Arc::new(Slow { now: 0.into(), most: 0.into() });
    let (_server, _a_in, _ta) =
        p2p::start(runtime, config(1, &a, vec![]), slow.clone()).expect("A");
    let (client, _b_in, _tb) =
        p2p::start(runtime, config(2, &b, vec![a]), Arc::new(Nothing(None))).expect("B");
    // Wait for the connection: a fetch with no peer answers nothing at once.
    for _ in 0..100 {
        if !client.fetch(FetchRequest::Proposals(Round(1))).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fetches = (0..10).map(|_| client.fetch(FetchRequest::WriteLogs(Round(1))));
    let answers = libp2p::futures::future::join_all(fetches).await;
    assert!(answers.iter().all(|a| a.len() == 1), "every request is answered (some empty)");
    let most = slow.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=p2p::SERVE_PER_PEER).contains(&most), "served {most} of one peer's at once");
}
