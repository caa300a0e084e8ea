//! A slow, lossy path between the lab's nodes. This kernel has no `netem`, so the two
//! halves of a bad wide-area link are made separately:
//!
//! - **latency**: every node reaches every other through a relay in the hub namespace
//!   (its own address per node, `10.77.0.(101 + j)`), which holds each chunk of bytes for
//!   a fixed delay in each direction before passing it on; the direct routes between the
//!   nodes are blackholed, so nothing goes around the relay;
//! - **loss**: an nftables rule in each node's namespace drops a random share of the
//!   packets it sends to the subnet (`numgen random`), so TCP loses real segments and
//!   retransmits them.
//!
//! `nft` comes from Debian's nftables (installed by `install.sh` beside this file).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Lab, P2P_PORT, SUBNET};

/// Node `j`'s relay address (what the other nodes dial to reach it).
pub fn relay_ip(j: usize) -> String {
    format!("{SUBNET}.{}", 101 + j)
}

/// Makes sure `nft` is there (installing Debian's nftables if this user can), or says why
/// not.
pub fn nft_available() -> Result<(), String> {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netns/install.sh");
    let status = Command::new(&here).status().map_err(|e| format!("{}: {e}", here.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed", here.display()))
    }
}

/// Drops `percent` % of the packets node `i` sends to the lab's subnet, from now on.
pub fn lose(lab: &Lab, i: usize, percent: u32) {
    let rules = format!(
        "table inet atoll_lab {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n    \
         ip daddr {SUBNET}.0/24 numgen random mod 100 < {percent} drop\n  }}\n}}\n"
    );
    let mut nft = Command::new("ip")
        .args(["netns", "exec", &lab.ns(i), "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run nft");
    nft.stdin.take().expect("stdin").write_all(rules.as_bytes()).expect("write rules");
    assert!(nft.wait().expect("nft").success(), "nft refused the loss rule");
}

/// The relays of a lab; they stop when this is dropped.
pub struct Relays {
    /// The delay in each direction, in microseconds.
    delay: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Relays {
    /// From now on, each direction is delayed by `one_way` (the round trip between two
    /// nodes grows by twice that).
    pub fn set_delay(&self, one_way: Duration) {
        let micros = u64::try_from(one_way.as_micros()).unwrap_or(u64::MAX);
        self.delay.store(micros, Ordering::Relaxed);
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Routes every node's traffic to every other through a relay (which passes bytes on at
/// once until [`Relays::set_delay`]).
pub fn relay(lab: &Lab) -> Relays {
    for i in 0..lab.nodes {
        let after: Vec<usize> = (i + 1..lab.nodes).collect();
        lab.cut(&[i], &after);
    }
    lab.hub_ip(&format!("{SUBNET}.254/24"));
    let delay = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for j in 0..lab.nodes {
        lab.hub_ip(&format!("{}/32", relay_ip(j)));
        let listener = lab
            .in_hub(|| TcpListener::bind((relay_ip(j).as_str(), P2P_PORT)))
            .expect("bind the relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let target: SocketAddr = lab.p2p(j).parse().expect("node address");
        let hub = lab.hub_path();
        let (delay, stop) = (delay.clone(), stop.clone());
        threads.push(std::thread::spawn(move || accept(listener, target, &delay, &hub, &stop)));
    }
    Relays { delay, stop, threads }
}

/// Accepts connections for one node until `stop`, each passed on to `target` from inside
/// the hub namespace.
fn accept(
    listener: TcpListener,
    target: SocketAddr,
    delay: &Arc<AtomicU64>,
    hub: &str,
    stop: &AtomicBool,
) {
    let file = std::fs::File::open(hub).expect("hub namespace");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter the hub");
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((inbound, _)) => {
                let Ok(outbound) = TcpStream::connect_timeout(&target, Duration::from_secs(2))
                else {
                    continue;
                };
                for s in [&inbound, &outbound] {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_nodelay(true);
                }
                let (a, b) = (inbound.try_clone(), outbound.try_clone());
                if let (Ok(a), Ok(b)) = (a, b) {
                    pump(inbound, b, delay.clone());
                    pump(outbound, a, delay.clone());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Copies `from` to `to`, each chunk written `delay` (µs, as it is when the chunk is read)
/// after it was read; closes `to` when `from` ends (and stops reading when `to` fails).
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Arc<AtomicU64>) {
    let (send, receive) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now() + Duration::from_micros(delay.load(Ordering::Relaxed));
                    if send.send((due, buffer[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in receive {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
