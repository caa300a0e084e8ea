//! Transaction gossip over real sockets on 127.0.0.1: what a node's admission refuses is
//! never forwarded; a message bundling an invalid transaction is refused whole; the same
//! content published again is a new message.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atoll_engine::gossip::{self, Verdict};
use libp2p::Multiaddr;

fn free_address() -> Multiaddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("multiaddr")
}

/// Waits until `seen` holds `what`, or panics after a generous limit (a liveness failure).
async fn wait_for(seen: &Mutex<Vec<Vec<u8>>>, what: &[u8]) {
    for _ in 0..400 {
        if seen.lock().expect("lock").iter().any(|m| m == what) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never arrived", String::from_utf8_lossy(what));
}

fn accept_all(raws: Vec<Vec<u8>>) -> Vec<Verdict> {
    vec![Verdict::Accept; raws.len()]
}

/// [S] finding 7: gossip forwarded every message before validating it, so an invalid
/// transaction reached every node whatever each one's admission said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_refuses_to_forward_what_admission_rejected() {
    let (a, b, c) = (free_address(), free_address(), free_address());
    let at_b = Arc::new(Mutex::new(Vec::new()));
    let at_c = Arc::new(Mutex::new(Vec::new()));
    let recorder = |seen: &Arc<Mutex<Vec<Vec<u8>>>>, judge: fn(&[u8]) -> Verdict| {
        let seen = Arc::clone(seen);
        move |raws: Vec<Vec<u8>>| {
            let verdicts: Vec<Verdict> = raws.iter().map(|raw| judge(raw)).collect();
            seen.lock().expect("lock").extend(raws);
            verdicts
        }
    };
    // A line: A - B - C. B is an honest relay whose admission refuses "forged" messages.
    let (publisher, _a) = gossip::start([1; 32], a, vec![b.clone()], accept_all).expect("A");
    let relay =
        |raw: &[u8]| if raw.starts_with(b"forged") { Verdict::Reject } else { Verdict::Accept };
    let (_relay, _b) =
        gossip::start([2; 32], b.clone(), vec![], recorder(&at_b, relay)).expect("B");
    let (_sink, _c) =
        gossip::start([3; 32], c, vec![b], recorder(&at_c, |_| Verdict::Accept)).expect("C");

    // Until the mesh has formed, probes are published again.
    for n in 0..200u32 {
        publisher.publish(format!("probe {n}").into_bytes());
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !at_c.lock().expect("lock").is_empty() {
            break;
        }
    }
    // Apart, so that they are not bundled into one message (which B would refuse whole).
    publisher.publish(b"forged transaction".to_vec());
    wait_for(&at_b, b"forged transaction").await;
    publisher.publish(b"valid transaction".to_vec());
    wait_for(&at_c, b"valid transaction").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !at_c.lock().expect("lock").iter().any(|m| m.starts_with(b"forged")),
        "B forwarded what its admission rejected"
    );
}

/// Messages are anonymous and named by their content ([`gossip::anonymous_gossip`]), each
/// with its publisher's nonce: a transaction published before any peer subscribed still
/// goes out once one does, and the same transaction gossiped again (the re-gossip of what
/// stays pending) is a new message, not a duplicate gossipsub drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_content_published_again_is_a_new_message() {
    let (a, b) = (free_address(), free_address());
    let at_b = Arc::new(Mutex::new(Vec::new()));
    let (publisher, _a) = gossip::start([4; 32], a, vec![b.clone()], accept_all).expect("A");
    publisher.publish(b"published before B existed".to_vec());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = Arc::clone(&at_b);
    let (_b, _task) = gossip::start([5; 32], b, vec![], move |raws: Vec<Vec<u8>>| {
        let verdicts = accept_all(raws.clone());
        seen.lock().expect("lock").extend(raws);
        verdicts
    })
    .expect("B");
    wait_for(&at_b, b"published before B existed").await;

    let count = |what: &[u8]| at_b.lock().expect("lock").iter().filter(|m| *m == what).count();
    for expected in 1..=3 {
        publisher.publish(b"gossiped again".to_vec());
        let mut arrived = false;
        for _ in 0..200 {
            if count(b"gossiped again") == expected {
                arrived = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(arrived, "publication {expected} of the same transaction never arrived");
    }
}
