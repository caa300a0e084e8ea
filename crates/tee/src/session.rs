//! Mutually attested sessions between enclaves: the channel compute enclaves and key
//! managers talk over.
//!
//! A Noise XX handshake (`Noise_XX_25519_ChaChaPoly_SHA256`) with a fresh static key per
//! session. Each side's handshake payload carries its [`Attestation`] and its RAK's
//! signature over that static key (context `atoll/tee: session key`, bound to the chain,
//! the node and the runtime). A side accepts its peer only if the peer's attestation
//! verifies under the runtime's policy at the current consensus time, the RAK that signed
//! the static key is the attested one, **and** that RAK is the one registered on chain for
//! that node and runtime. A relay — an enclave forwarding another's evidence, or a host
//! substituting its own static key — fails the signature or the registration check.

use atoll_types::{
    decode, encode, signing_digest, ChainContext, PublicKey, RuntimeId, Signable, Signature,
    SignatureContext, Signer,
};
use borsh::{BorshDeserialize, BorshSerialize};
use snow::resolvers::{CryptoResolver, RingResolver};
use snow::types::{Cipher, Dh, Hash, Random};
use x25519_dalek::{PublicKey as X25519Public, StaticSecret};

use crate::attestation::{Attestation, Expected};
use crate::error::TeeError;
use crate::time::ConsensusTime;
use crate::verifier::{Verified, Verifier};

const PATTERN: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// The largest Noise message (the protocol's limit).
const MAX_MESSAGE: usize = 65_535;
/// Authentication tag of each transport message.
const TAG: usize = 16;
/// The largest plaintext one transport message carries.
pub const MAX_PLAINTEXT: usize = MAX_MESSAGE - TAG;
/// The largest handshake payload accepted (an attestation with its collateral).
const MAX_PAYLOAD: usize = MAX_MESSAGE - 256;

/// What a RAK signs to vouch for a session's static key.
#[derive(BorshSerialize, BorshDeserialize)]
struct SessionKey {
    node: PublicKey,
    runtime: RuntimeId,
    static_key: [u8; 32],
}

impl Signable for SessionKey {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/tee: session key");
    const MAX_SIZE: usize = 128;
}

/// One side's handshake payload.
#[derive(BorshSerialize, BorshDeserialize)]
struct Payload {
    node: PublicKey,
    runtime: RuntimeId,
    attestation: Attestation,
    static_signature: Signature,
}

/// The keys the chain has registered: which RAK each node's enclave for a runtime holds.
pub trait RegisteredKeys {
    /// The RAK registered for `node` serving `runtime`, if any.
    fn rak(&self, node: &PublicKey, runtime: &RuntimeId) -> Option<PublicKey>;
}

/// This side of a session: the enclave's RAK and its registered attestation.
pub struct LocalEnclave<'a> {
    /// The chain.
    pub chain: &'a ChainContext,
    /// The node this enclave serves.
    pub node: PublicKey,
    /// The runtime it runs.
    pub runtime: RuntimeId,
    /// Its runtime attestation key (never leaves the enclave).
    pub rak: &'a dyn Signer,
    /// Its attestation (with collateral), as registered.
    pub attestation: &'a Attestation,
}

/// How to judge the peer: the peer runtime's policy, the roots, the registry, the time.
pub struct PeerCheck<'a> {
    /// The chain (a signature made for another chain does not verify).
    pub chain: &'a ChainContext,
    /// The verifier (under the chain's root for the peer runtime's hardware).
    pub verifier: &'a dyn Verifier,
    /// The quote policy of the peer's runtime, as it is now on chain.
    pub policy: &'a crate::QuotePolicy,
    /// The enclave identities the peer's runtime allows.
    pub enclaves: &'a [crate::EnclaveIdentity],
    /// The peer runtime's maximum attestation age.
    pub max_age: u64,
    /// The runtime the peer must serve.
    pub runtime: RuntimeId,
    /// The chain's registrations.
    pub registry: &'a dyn RegisteredKeys,
    /// The current consensus time.
    pub now: ConsensusTime,
}

/// The peer, as its attestation proved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its node.
    pub node: PublicKey,
    /// Its RAK (the registered one).
    pub rak: PublicKey,
    /// Its enclave's encryption key.
    pub rek: [u8; 32],
    /// What its evidence established.
    pub verified: Verified,
}

/// A handshake in progress.
pub struct Handshake {
    noise: snow::HandshakeState,
    payload: Vec<u8>,
}

/// An established session: messages sealed to and opened from the peer.
pub struct Session {
    noise: snow::TransportState,
}

fn noise_error(e: snow::Error) -> TeeError {
    TeeError::Session(e.to_string())
}

impl Handshake {
    /// Starts a handshake as the initiator: the first message to send.
    pub fn initiate(local: &LocalEnclave<'_>) -> Result<(Self, Vec<u8>), TeeError> {
        let (noise, payload) = Self::state(local, true)?;
        let mut handshake = Self { noise, payload };
        let first = handshake.write(&[])?;
        Ok((handshake, first))
    }

    /// Answers an initiator's first message: the second message to send.
    pub fn respond(local: &LocalEnclave<'_>, first: &[u8]) -> Result<(Self, Vec<u8>), TeeError> {
        let (noise, payload) = Self::state(local, false)?;
        let mut handshake = Self { noise, payload };
        handshake.read(first)?;
        let payload = std::mem::take(&mut handshake.payload);
        let second = handshake.write(&payload)?;
        Ok((handshake, second))
    }

    /// The initiator reads the responder's message, judges the responder, and answers: the
    /// third message to send, the session and the peer.
    pub fn initiator_finish(
        mut self,
        second: &[u8],
        check: &PeerCheck<'_>,
    ) -> Result<(Session, Vec<u8>, Peer), TeeError> {
        let payload = self.read(second)?;
        let peer = self.judge(&payload, check)?;
        let own = std::mem::take(&mut self.payload);
        let third = self.write(&own)?;
        Ok((self.into_session()?, third, peer))
    }

    /// The responder reads the initiator's last message and judges the initiator.
    pub fn responder_finish(
        mut self,
        third: &[u8],
        check: &PeerCheck<'_>,
    ) -> Result<(Session, Peer), TeeError> {
        let payload = self.read(third)?;
        let peer = self.judge(&payload, check)?;
        Ok((self.into_session()?, peer))
    }

    fn state(
        local: &LocalEnclave<'_>,
        initiator: bool,
    ) -> Result<(snow::HandshakeState, Vec<u8>), TeeError> {
        let params = PATTERN.parse().map_err(noise_error)?;
        let builder = snow::Builder::with_resolver(params, Box::new(Resolver));
        let static_key = builder.generate_keypair().map_err(noise_error)?;
        let static_public: [u8; 32] = static_key
            .public
            .as_slice()
            .try_into()
            .map_err(|_| TeeError::Session("static key length".into()))?;
        let binding =
            SessionKey { node: local.node, runtime: local.runtime, static_key: static_public };
        let digest = signing_digest(&SessionKey::CONTEXT, local.chain, &encode(&binding));
        let payload = encode(&Payload {
            node: local.node,
            runtime: local.runtime,
            attestation: local.attestation.clone(),
            static_signature: local.rak.sign_raw(digest.as_bytes()),
        });
        if payload.len() > MAX_PAYLOAD {
            return Err(TeeError::Session(format!(
                "an attestation of {} bytes does not fit a handshake",
                payload.len()
            )));
        }
        let builder = builder.local_private_key(&static_key.private);
        let noise = if initiator { builder.build_initiator() } else { builder.build_responder() }
            .map_err(noise_error)?;
        Ok((noise, payload))
    }

    fn write(&mut self, payload: &[u8]) -> Result<Vec<u8>, TeeError> {
        let mut out = vec![0u8; MAX_MESSAGE];
        let length = self.noise.write_message(payload, &mut out).map_err(noise_error)?;
        out.truncate(length);
        Ok(out)
    }

    fn read(&mut self, message: &[u8]) -> Result<Vec<u8>, TeeError> {
        if message.len() > MAX_MESSAGE {
            return Err(TeeError::Session("a handshake message above 65,535 bytes".into()));
        }
        let mut out = vec![0u8; MAX_MESSAGE];
        let length = self.noise.read_message(message, &mut out).map_err(noise_error)?;
        out.truncate(length);
        Ok(out)
    }

    /// Accepts the peer whose payload this is, or says why not.
    fn judge(&self, payload: &[u8], check: &PeerCheck<'_>) -> Result<Peer, TeeError> {
        let payload: Payload = decode(payload, MAX_PAYLOAD)
            .map_err(|e| TeeError::Malformed { what: "session payload", reason: e.to_string() })?;
        let remote: [u8; 32] =
            self.noise
                .get_remote_static()
                .and_then(|key| key.try_into().ok())
                .ok_or_else(|| TeeError::Session("the peer sent no static key".into()))?;
        if payload.runtime != check.runtime {
            return Err(TeeError::Session("the peer serves another runtime".into()));
        }
        let rak = payload.attestation.rak;
        let binding =
            SessionKey { node: payload.node, runtime: payload.runtime, static_key: remote };
        let chain = check.chain;
        let digest = signing_digest(&SessionKey::CONTEXT, chain, &encode(&binding));
        rak.verify(digest.as_bytes(), &payload.static_signature).map_err(|_| {
            TeeError::Binding("the RAK's signature does not cover this session's static key")
        })?;
        let expected = Expected {
            chain,
            node: payload.node,
            runtime: payload.runtime,
            policy: check.policy,
            enclaves: check.enclaves,
            max_age: check.max_age,
        };
        let verified = payload.attestation.verify(check.verifier, &expected, check.now)?;
        if check.registry.rak(&payload.node, &payload.runtime) != Some(rak) {
            return Err(TeeError::Binding(
                "the RAK is not the one registered on chain for this node",
            ));
        }
        Ok(Peer { node: payload.node, rak, rek: payload.attestation.rek, verified })
    }

    fn into_session(self) -> Result<Session, TeeError> {
        Ok(Session { noise: self.noise.into_transport_mode().map_err(noise_error)? })
    }
}

impl Session {
    /// Encrypts `plaintext` (at most [`MAX_PLAINTEXT`] bytes) for the peer.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, TeeError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(TeeError::Session(format!("a message above {MAX_PLAINTEXT} bytes")));
        }
        let mut out = vec![0u8; plaintext.len() + TAG];
        let length = self.noise.write_message(plaintext, &mut out).map_err(noise_error)?;
        out.truncate(length);
        Ok(out)
    }

    /// Decrypts a message from the peer (in order; a replayed, reordered or altered
    /// message is refused).
    pub fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, TeeError> {
        if ciphertext.len() > MAX_MESSAGE || ciphertext.len() < TAG {
            return Err(TeeError::Session("a message of impossible length".into()));
        }
        let mut out = vec![0u8; ciphertext.len()];
        let length = self.noise.read_message(ciphertext, &mut out).map_err(noise_error)?;
        out.truncate(length);
        Ok(out)
    }
}

/// snow's ring resolver for hashes, ciphers and randomness, with x25519-dalek for the key
/// agreement (the ring resolver has none).
struct Resolver;

impl CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        RingResolver.resolve_rng()
    }

    fn resolve_dh(&self, choice: &snow::params::DHChoice) -> Option<Box<dyn Dh>> {
        matches!(choice, snow::params::DHChoice::Curve25519)
            .then(|| Box::new(X25519 { secret: [0; 32], public: [0; 32] }) as Box<dyn Dh>)
    }

    fn resolve_hash(&self, choice: &snow::params::HashChoice) -> Option<Box<dyn Hash>> {
        RingResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &snow::params::CipherChoice) -> Option<Box<dyn Cipher>> {
        RingResolver.resolve_cipher(choice)
    }
}

/// X25519 for Noise.
struct X25519 {
    secret: [u8; 32],
    public: [u8; 32],
}

impl Dh for X25519 {
    fn name(&self) -> &'static str {
        "25519"
    }

    fn pub_len(&self) -> usize {
        32
    }

    fn priv_len(&self) -> usize {
        32
    }

    fn set(&mut self, private: &[u8]) {
        if let Some(key) = private.get(..32) {
            self.secret.copy_from_slice(key);
        }
        self.public = X25519Public::from(&StaticSecret::from(self.secret)).to_bytes();
    }

    fn generate(&mut self, rng: &mut dyn Random) {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        self.set(&secret);
    }

    fn pubkey(&self) -> &[u8] {
        &self.public
    }

    fn privkey(&self) -> &[u8] {
        &self.secret
    }

    fn dh(&self, public: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        // snow hands the key in a buffer of its largest key size.
        let public: [u8; 32] =
            public.get(..32).and_then(|key| key.try_into().ok()).ok_or(snow::Error::Dh)?;
        let shared = StaticSecret::from(self.secret).diffie_hellman(&X25519Public::from(public));
        // A low-order public key gives a shared secret the peer did not contribute to.
        if !shared.was_contributory() {
            return Err(snow::Error::Dh);
        }
        out[..32].copy_from_slice(shared.as_bytes());
        Ok(())
    }
}
