//! Attested Noise sessions between (simulated) enclaves: established only between enclaves
//! whose evidence verifies and whose RAK is the one registered on chain, and refused for a
//! relay, an unregistered key, a policy the peer no longer meets, and tampered messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use atoll_crypto::MemorySigner;
use atoll_tee::attestation::attest;
use atoll_tee::session::{Handshake, LocalEnclave, Peer, PeerCheck, RegisteredKeys, Session};
use atoll_tee::simulated::{CollateralTerms, SimulatedEnclave, SimulatedTcb, SimulationPki};
use atoll_tee::{
    Attestation, AttestationStatement, ConsensusTime, DcapVerifier, Enclave, EnclaveIdentity,
    QuotePolicy, TeeError,
};
use atoll_types::{ChainContext, PublicKey, RuntimeId, Signer};

const ISSUED: u64 = 1_767_225_600;
const DAY: u64 = 86_400;
const HEIGHT: u64 = 100;

struct Party {
    node: PublicKey,
    rak: MemorySigner,
    attestation: Attestation,
}

struct World {
    pki: SimulationPki,
    chain: ChainContext,
    runtime: RuntimeId,
    identity: EnclaveIdentity,
    a: Party,
    b: Party,
    registry: BTreeMap<(PublicKey, RuntimeId), PublicKey>,
}

/// One side's outcome of a handshake.
type Side = Result<(Session, Peer), TeeError>;

struct Registry<'a>(&'a BTreeMap<(PublicKey, RuntimeId), PublicKey>);

impl RegisteredKeys for Registry<'_> {
    fn rak(&self, node: &PublicKey, runtime: &RuntimeId) -> Option<PublicKey> {
        self.0.get(&(*node, *runtime)).copied()
    }
}

fn party(
    pki: &SimulationPki,
    chain: &ChainContext,
    runtime: RuntimeId,
    seed: u8,
    tcb_evaluation: u32,
) -> Party {
    let machine = Arc::new(pki.machine(&[seed; 32], SimulatedTcb::UpToDate).expect("machine"));
    let enclave = SimulatedEnclave::of_binary(machine, b"key manager");
    let rak = MemorySigner::from_seed([seed.wrapping_add(100); 32]);
    let node = MemorySigner::from_seed([seed.wrapping_add(200); 32]).public_key();
    let statement =
        AttestationStatement { node, runtime, height: HEIGHT, rek: [seed; 32], nonce: [seed; 32] };
    let mut attestation = attest(&enclave, &rak, chain, &statement).expect("attests");
    let terms =
        CollateralTerms { issued_at: ISSUED, valid_for: 30 * DAY, tcb_evaluation, revoked: vec![] };
    attestation.collateral = pki.collateral(&terms).expect("collateral").encode();
    Party { node, rak, attestation }
}

fn world() -> World {
    let pki = SimulationPki::from_seed(&[2; 32], ISSUED - DAY).expect("pki");
    let chain = ChainContext::from_genesis_document(b"sessions");
    let runtime = RuntimeId::from_bytes([5; 32]);
    let a = party(&pki, &chain, runtime, 1, 1);
    let b = party(&pki, &chain, runtime, 2, 1);
    let machine = Arc::new(pki.machine(&[1; 32], SimulatedTcb::UpToDate).expect("machine"));
    let identity = SimulatedEnclave::of_binary(machine, b"key manager").identity();
    let registry = BTreeMap::from([
        ((a.node, runtime), a.rak.public_key()),
        ((b.node, runtime), b.rak.public_key()),
    ]);
    World { pki, chain, runtime, identity, a, b, registry }
}

impl World {
    fn local<'a>(&'a self, party: &'a Party) -> LocalEnclave<'a> {
        LocalEnclave {
            chain: &self.chain,
            node: party.node,
            runtime: self.runtime,
            rak: &party.rak,
            attestation: &party.attestation,
        }
    }

    /// Runs a handshake from `a` to `b` under `policy`: both sides' results.
    fn handshake(
        &self,
        a: &LocalEnclave<'_>,
        b: &LocalEnclave<'_>,
        policy: &QuotePolicy,
    ) -> (Side, Side) {
        let verifier = DcapVerifier::with_root(self.pki.root_der());
        let enclaves = [self.identity];
        let registry = Registry(&self.registry);
        let check = PeerCheck {
            chain: &self.chain,
            verifier: &verifier,
            policy,
            enclaves: &enclaves,
            max_age: 1_000,
            runtime: self.runtime,
            registry: &registry,
            now: ConsensusTime::of_block(HEIGHT + 10, ISSUED + DAY),
        };
        let (initiator, first) = Handshake::initiate(a).expect("first message");
        let (responder, second) = Handshake::respond(b, &first).expect("second message");
        match initiator.initiator_finish(&second, &check) {
            Err(e) => (Err(e), Err(TeeError::Session("the initiator stopped".into()))),
            Ok((a_session, third, b_peer)) => {
                let b_side = responder.responder_finish(&third, &check);
                (Ok((a_session, b_peer)), b_side)
            }
        }
    }
}

#[test]
fn two_attested_enclaves_establish_a_session_and_know_each_other() {
    let w = world();
    let (a, b) = w.handshake(&w.local(&w.a), &w.local(&w.b), &QuotePolicy::up_to_date());
    let (mut a_session, peer_b) = a.expect("the initiator accepts the responder");
    let (mut b_session, peer_a) = b.expect("the responder accepts the initiator");
    assert_eq!((peer_b.node, peer_b.rak, peer_b.rek), (w.b.node, w.b.rak.public_key(), [2; 32]));
    assert_eq!((peer_a.node, peer_a.rak), (w.a.node, w.a.rak.public_key()));
    assert_eq!(peer_a.verified.identity, w.identity);

    let sealed = a_session.seal(b"the ephemeral secret of epoch 7").expect("seals");
    assert_eq!(b_session.open(&sealed).expect("opens"), b"the ephemeral secret of epoch 7");
    let reply = b_session.seal(b"ack").expect("seals");
    // Altered, replayed or out-of-order messages are refused.
    let mut altered = reply.clone();
    altered[0] ^= 1;
    assert!(a_session.open(&altered).is_err());
    assert_eq!(a_session.open(&reply).expect("opens"), b"ack");
    assert!(a_session.open(&reply).is_err(), "a replay");
    assert!(a_session.open(&[0; 3]).is_err());
}

#[test]
fn a_relay_whose_rak_signature_covers_another_static_key_is_refused() {
    // Node A's host relays A's registered attestation but runs the handshake with its own
    // key: it cannot produce a RAK signature over its session key, so it signs with
    // another key and presents A's attestation.
    let w = world();
    let host_key = MemorySigner::from_seed([77; 32]);
    let relay = LocalEnclave { rak: &host_key, ..w.local(&w.a) };
    let (a, _) = w.handshake(&w.local(&w.b), &relay, &QuotePolicy::up_to_date());
    assert_eq!(
        a.err(),
        Some(TeeError::Binding("the RAK's signature does not cover this session's static key"))
    );
    // And the other way round: the responder refuses a relaying initiator.
    let (a, b) = w.handshake(&relay, &w.local(&w.b), &QuotePolicy::up_to_date());
    assert!(a.is_ok());
    assert!(matches!(b.err(), Some(TeeError::Binding(_))));
}

#[test]
fn valid_evidence_whose_rak_is_not_registered_on_chain_is_refused() {
    let mut w = world();
    w.registry.remove(&(w.b.node, w.runtime));
    let (a, _) = w.handshake(&w.local(&w.a), &w.local(&w.b), &QuotePolicy::up_to_date());
    assert_eq!(
        a.err(),
        Some(TeeError::Binding("the RAK is not the one registered on chain for this node"))
    );
    // Registered with another RAK (an enclave restarted with a new key, say): refused too.
    w.registry.insert((w.b.node, w.runtime), MemorySigner::from_seed([9; 32]).public_key());
    let (a, _) = w.handshake(&w.local(&w.a), &w.local(&w.b), &QuotePolicy::up_to_date());
    assert!(matches!(a.err(), Some(TeeError::Binding(_))));
}

#[test]
fn sessions_are_refused_once_the_policy_is_raised_past_the_peers_collateral() {
    // The TCB-recovery drill at the session layer: the runtime raises its minimum TCB
    // evaluation; a peer still attested under the old collateral is refused.
    let w = world();
    let raised = QuotePolicy { min_tcb_evaluation: 2, ..QuotePolicy::up_to_date() };
    let (a, _) = w.handshake(&w.local(&w.a), &w.local(&w.b), &raised);
    assert_eq!(a.err(), Some(TeeError::TcbEvaluation { got: 1, minimum: 2 }));
    // After re-attesting with the new collateral it is accepted again.
    let mut w = w;
    w.b = party(&w.pki, &w.chain, w.runtime, 2, 2);
    w.a = party(&w.pki, &w.chain, w.runtime, 1, 2);
    let (a, b) = w.handshake(&w.local(&w.a), &w.local(&w.b), &raised);
    assert!(a.is_ok() && b.is_ok());
}

#[test]
fn a_peer_serving_another_runtime_or_a_garbled_handshake_is_refused() {
    let w = world();
    let other = LocalEnclave { runtime: RuntimeId::from_bytes([6; 32]), ..w.local(&w.b) };
    let (a, _) = w.handshake(&w.local(&w.a), &other, &QuotePolicy::up_to_date());
    assert!(matches!(a.err(), Some(TeeError::Session(_))));

    let (_, first) = Handshake::initiate(&w.local(&w.a)).expect("first");
    let (_, mut second) = Handshake::respond(&w.local(&w.b), &first).expect("second");
    second[40] ^= 1;
    let (initiator, _) = Handshake::initiate(&w.local(&w.a)).expect("first");
    let verifier = DcapVerifier::with_root(w.pki.root_der());
    let registry = Registry(&w.registry);
    let check = PeerCheck {
        chain: &w.chain,
        verifier: &verifier,
        policy: &QuotePolicy::up_to_date(),
        enclaves: &[w.identity],
        max_age: 1_000,
        runtime: w.runtime,
        registry: &registry,
        now: ConsensusTime::of_block(HEIGHT, ISSUED + DAY),
    };
    assert!(initiator.initiator_finish(&second, &check).is_err());
    assert!(Handshake::respond(&w.local(&w.b), &[0; 70_000]).is_err());
    assert!(Handshake::respond(&w.local(&w.b), &[]).is_err());
}
