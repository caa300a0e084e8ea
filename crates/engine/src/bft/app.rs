//! The application loop: answers every message the engine sends, in order.
//!
//! The engine asks for a block to propose, hands over proposal parts, reports decisions
//! and asks for decided blocks to serve to lagging peers; this loop turns each request into
//! calls on [`Chain`] and replies.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atoll_types::{encode, Hash, Height, Signature};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::VoteExtensionError;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::StreamId;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate as EngineCertificate, LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{
    LocallyProposedValue, MisbehaviorEvidence, PeerId, ProposedValue,
};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use tokio::sync::watch;

use super::chain::{Chain, ChainError};
use super::codec::{from_engine_certificate, to_extended_certificate};
use super::context::{
    proposer_index, AtollContext, BlockHeight, BlockId, ProposalFin, ProposalInit,
    ValidatorAddress, ValidatorSet,
};
use super::metrics::EngineMetrics;
use super::run::MAX_SYNC_RESPONSE;
use super::signing::{ConsensusSigner, ProposedBlock, StreamOpening};
use super::streams::{self, AssembledProposal, StreamBuffer};
use crate::block::Block;
use crate::evidence::{DoubleSignEvidence, SignedVote};
use crate::store::UndecidedProposal;

/// The most decided blocks served in one sync response.
const MAX_SYNC_BATCH: u64 = 64;
/// Proposals for the next height kept until it starts (one per round and proposer at
/// most [`streams::MAX_STREAMS_PER_PROPOSER`]).
const MAX_FUTURE_PROPOSALS: usize = 32;

/// What the node reports about its chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainStatus {
    /// Latest committed height (0 before the first block).
    pub height: u64,
    /// Its block id.
    pub block_id: Hash,
    /// The state root after it.
    pub app_hash: Hash,
    /// The height being decided and its current round.
    pub consensus_height: u64,
    /// The current round.
    pub round: i64,
    /// Validators of the current height.
    pub validators: usize,
    /// The latest block arrived through value sync rather than live consensus: the node is
    /// catching up with its peers.
    pub catching_up: bool,
    /// The latest block's timestamp (unix seconds; 0 before the first block).
    pub block_time: u64,
}

/// How a node paces its blocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacing {
    /// The shortest time from the start of a height to its finalization; `None` moves on
    /// as soon as a block is decided.
    pub target_block_time: Option<Duration>,
    /// How long a proposer with nothing to include waits after the previous block for a
    /// transaction before proposing an empty block; `None` proposes at once.
    pub empty_block_interval: Option<Duration>,
}

/// The application half of a node.
pub struct App {
    chain: Chain,
    signer: ConsensusSigner,
    /// This node's p2p identity, which its stream openings name as publisher.
    peer_id: Vec<u8>,
    timeouts: LinearTimeouts,
    pacing: Pacing,
    streams: StreamBuffer,
    future: BTreeMap<u64, Vec<AssembledProposal>>,
    evidence: Vec<DoubleSignEvidence>,
    stream_nonce: u64,
    status: watch::Sender<ChainStatus>,
    metrics: EngineMetrics,
    last_commit_at: Option<Instant>,
    /// The last height whose block came through value sync.
    synced_height: Option<u64>,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl App {
    /// Binds the loop to a chain.
    pub fn new(
        chain: Chain,
        signer: ConsensusSigner,
        peer_id: Vec<u8>,
        timeouts: LinearTimeouts,
        pacing: Pacing,
        status: watch::Sender<ChainStatus>,
        metrics: EngineMetrics,
    ) -> Self {
        let stream_nonce =
            u64::from(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()))
                << 20;
        let app = Self {
            chain,
            signer,
            peer_id,
            timeouts,
            pacing,
            streams: StreamBuffer::default(),
            future: BTreeMap::new(),
            evidence: Vec::new(),
            stream_nonce,
            status,
            metrics,
            last_commit_at: None,
            synced_height: None,
        };
        let latest = app
            .chain
            .last_height()
            .ok()
            .and_then(|h| app.chain.store().block(Height(h)).ok().flatten());
        app.publish_chain(latest.as_ref());
        app
    }

    /// Runs until the engine stops.
    pub async fn run(mut self, mut channels: Channels<AtollContext>) -> Result<(), ChainError> {
        while let Some(msg) = channels.consensus.recv().await {
            self.handle(msg, &channels).await?;
        }
        Ok(())
    }

    fn params(&self, height: u64) -> Result<HeightParams<AtollContext>, ChainError> {
        let set = ValidatorSet::from_scheduler(&self.chain.validators(height)?);
        if set.is_empty() {
            return Err(ChainError::Inconsistent(format!("no validators for height {height}")));
        }
        Ok(HeightParams::new(set, self.timeouts, self.pacing.target_block_time))
    }

    /// Publishes the chain part of the status after `block` (the latest committed block,
    /// `None` before the first).
    fn publish_chain(&self, block: Option<&Block>) {
        let Ok(last) = self.chain.last_height() else { return };
        let app_hash = self.chain.app_hash().unwrap_or(Hash::ZERO);
        let validators = self.chain.validators(last + 1).map_or(0, |v| v.len());
        let height = block.map_or(0, |b| b.header.height.0);
        let catching_up = height > 0 && self.synced_height == Some(height);
        self.status.send_modify(|s| {
            s.catching_up = catching_up;
            s.block_time = block.map_or(0, |b| b.header.time);
            s.height = block.map_or(0, |b| b.header.height.0);
            s.block_id = block.map_or(Hash::ZERO, Block::id);
            s.app_hash = app_hash;
            s.validators = validators;
        });
    }

    async fn handle(
        &mut self,
        msg: AppMsg<AtollContext>,
        channels: &Channels<AtollContext>,
    ) -> Result<(), ChainError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let height = self.chain.next_height()?;
                tracing::info!(height, "consensus ready");
                let _ = reply.send((BlockHeight(height), self.params(height)?));
            }
            AppMsg::StartedRound { height, round, proposer, role, reply_value } => {
                tracing::debug!(%height, %round, %proposer, ?role, "started round");
                self.metrics.round.set(round.as_i64());
                self.status.send_modify(|s| {
                    s.consensus_height = height.0;
                    s.round = round.as_i64();
                });
                let values = self.values_for_round(height, round)?;
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue { height, round, timeout, reply } => {
                let value = self.propose(height, round, timeout, channels).await?;
                let _ = reply.send(value);
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions { extensions, reply, .. } => {
                // Atoll disables vote extensions; any that arrive are refused.
                let verdicts = extensions
                    .into_iter()
                    .map(|(address, _)| (address, Err(VoteExtensionError::InvalidVoteExtension)))
                    .collect();
                let _ = reply.send(verdicts);
            }
            AppMsg::RestreamProposal { height, round, valid_round, address: _, value_id } => {
                self.restream(height, round, valid_round, value_id, channels).await?;
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let earliest =
                    self.chain.store().earliest()?.map_or(self.chain.initial_height(), |h| h.0);
                let _ = reply.send(BlockHeight(earliest));
            }
            AppMsg::ReceivedProposalPart { from, published_by, part, reply } => {
                let publisher = published_by.unwrap_or(from);
                let (chain, signer) = (&self.chain, &self.signer);
                let admit = |peer: &PeerId, stream: &StreamId, init: &ProposalInit| {
                    admit_stream(chain, signer, peer, stream, init).unwrap_or(false)
                };
                let value = match self.streams.insert(publisher, part, admit) {
                    Some(assembled) => self.received_proposal(assembled)?,
                    None => None,
                };
                let _ = reply.send(value);
            }
            AppMsg::Decided { certificate, extensions: _, reply } => {
                self.decided(&certificate)?;
                let _ = reply.send(());
            }
            AppMsg::Finalized { certificate, extensions: _, evidence, reply } => {
                self.collect_evidence(&evidence);
                if let Some(fuller) = from_engine_certificate(&certificate) {
                    if self.chain.record_fuller_certificate(&fuller)? {
                        tracing::debug!(height = %certificate.height, signatures = fuller.signatures.len(), "kept the certificate with late precommits");
                    }
                }
                let next = self.chain.next_height()?;
                let params = self.params(next)?;
                let decided = certificate.height.0 < next;
                let _ = reply.send(if decided {
                    Next::Start(BlockHeight(next), params)
                } else {
                    Next::Restart(certificate.height, params)
                });
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let _ = reply.send(self.decided_values(range.start().0, range.end().0)?);
            }
            AppMsg::ProcessSyncedValue { height, round, proposer, value_bytes, reply } => {
                let outcome = self.synced_value(height, round, proposer, &value_bytes)?;
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    fn proposed_value(
        height: BlockHeight,
        round: Round,
        valid_round: Round,
        proposer: ValidatorAddress,
        block: &Block,
        valid: bool,
    ) -> ProposedValue<AtollContext> {
        ProposedValue {
            height,
            round,
            valid_round,
            proposer,
            value: BlockId(block.id()),
            validity: Validity::from_bool(valid),
        }
    }

    /// Values already seen for a round (after a restart), and proposals that arrived before
    /// their height started.
    fn values_for_round(
        &mut self,
        height: BlockHeight,
        round: Round,
    ) -> Result<Vec<ProposedValue<AtollContext>>, ChainError> {
        let mut values = Vec::new();
        let early = self.future.remove(&height.0).unwrap_or_default();
        self.future.retain(|h, _| *h > height.0);
        for assembled in early {
            if let Some(value) = self.received_proposal(assembled)? {
                if value.round == round {
                    values.push(value);
                }
            }
        }
        if let Some(r) = round.as_u32() {
            for kept in self.chain.store().undecided(Height(height.0), Some(r))? {
                let value = Self::proposed_value(
                    height,
                    round,
                    Round::from(kept.valid_round),
                    ValidatorAddress(kept.block.header.proposer),
                    &kept.block,
                    kept.valid,
                );
                if !values.contains(&value) {
                    values.push(value);
                }
            }
        }
        Ok(values)
    }

    async fn propose(
        &mut self,
        height: BlockHeight,
        round: Round,
        timeout: Duration,
        channels: &Channels<AtollContext>,
    ) -> Result<LocallyProposedValue<AtollContext>, ChainError> {
        let Some(me) = self.signer.address() else {
            return Err(ChainError::Inconsistent("asked to propose without a key".into()));
        };
        let r = round.as_u32().unwrap_or(0);
        let kept = self
            .chain
            .store()
            .undecided(Height(height.0), Some(r))?
            .into_iter()
            .find(|p| p.block.header.proposer == me.0);
        let block = match kept {
            Some(p) => p.block,
            None => {
                if round.as_u32() == Some(0) {
                    self.wait_for_work(timeout).await;
                }
                let block = self.chain.build_block(me.0, &self.evidence, now_unix())?;
                self.chain.store().put_undecided(
                    Height(height.0),
                    &UndecidedProposal {
                        round: r,
                        valid_round: -1,
                        block: block.clone(),
                        valid: true,
                    },
                )?;
                block
            }
        };
        tracing::info!(%height, %round, txs = block.transactions.len(), id = %block.id(), "proposing");
        self.stream(height, round, Round::Nil, me, &block, channels).await?;
        Ok(LocallyProposedValue::new(height, round, BlockId(block.id())))
    }

    /// With an empty mempool and no evidence to include, waits for a transaction until the
    /// empty-block interval has passed since the previous commit, and never past three
    /// quarters of the propose timeout (the others must get the proposal before theirs
    /// runs out): an idle chain makes a block per interval instead of one per commit
    /// timeout, and a transaction arriving meanwhile is proposed at once.
    async fn wait_for_work(&self, timeout: Duration) {
        let Some(interval) = self.pacing.empty_block_interval else { return };
        let now = Instant::now();
        let deadline = (self.last_commit_at.unwrap_or(now) + interval).min(now + timeout * 3 / 4);
        let Ok(arrivals) = self.chain.mempool().lock().map(|m| m.arrivals()) else { return };
        while !self.has_work() {
            let arrived = arrivals.notified();
            if tokio::time::timeout_at(deadline.into(), arrived).await.is_err() {
                return;
            }
        }
    }

    /// Whether there is anything to put in a block.
    fn has_work(&self) -> bool {
        !self.evidence.is_empty() || self.chain.mempool().lock().map_or(true, |m| !m.is_empty())
    }

    async fn stream(
        &mut self,
        height: BlockHeight,
        round: Round,
        valid_round: Round,
        me: ValidatorAddress,
        block: &Block,
        channels: &Channels<AtollContext>,
    ) -> Result<(), ChainError> {
        let signature = self
            .signer
            .sign_proposed_block(height, round.as_i64(), block.id())
            .map_err(|e| ChainError::Inconsistent(e.to_string()))?;
        self.stream_nonce = self.stream_nonce.wrapping_add(1);
        let id = streams::stream_id(height.0, round.as_u32().unwrap_or(0), self.stream_nonce);
        let mut init = ProposalInit {
            height,
            round,
            valid_round,
            proposer: me,
            signature: Signature::from_bytes([0; 64]),
        };
        init.signature = self
            .signer
            .sign_stream_opening(&StreamOpening::of(&init, &id, self.peer_id.clone()))
            .map_err(|e| ChainError::Inconsistent(e.to_string()))?;
        for message in streams::split(id, init, &encode(block), ProposalFin { signature }) {
            if channels.network.send(NetworkMsg::PublishProposalPart(message)).await.is_err() {
                tracing::warn!("network stopped while streaming a proposal");
                break;
            }
        }
        Ok(())
    }

    async fn restream(
        &mut self,
        height: BlockHeight,
        round: Round,
        valid_round: Round,
        value_id: BlockId,
        channels: &Channels<AtollContext>,
    ) -> Result<(), ChainError> {
        let Some(me) = self.signer.address() else { return Ok(()) };
        let Some(kept) = self.chain.store().undecided_block(Height(height.0), &value_id.0)? else {
            tracing::warn!(%height, %round, %value_id, "asked to restream an unknown proposal");
            return Ok(());
        };
        self.chain.store().put_undecided(
            Height(height.0),
            &UndecidedProposal {
                round: round.as_u32().unwrap_or(0),
                valid_round: valid_round.as_i64(),
                block: kept.block.clone(),
                valid: kept.valid,
            },
        )?;
        self.stream(height, round, valid_round, me, &kept.block, channels).await
    }

    /// A proposal stream completed: check who signed it and validate the block.
    fn received_proposal(
        &mut self,
        assembled: AssembledProposal,
    ) -> Result<Option<ProposedValue<AtollContext>>, ChainError> {
        let init = assembled.init.clone();
        let next = self.chain.next_height()?;
        if init.height.0 < next || init.height.0 > next + 1 {
            return Ok(None);
        }
        if init.height.0 > next {
            // Kept until the height starts; bounded per proposer and in all, and re-checked
            // against the height's own validator set then.
            let by_proposer = self
                .future
                .get(&init.height.0)
                .map_or(0, |kept| kept.iter().filter(|p| p.init.proposer == init.proposer).count());
            let pending: usize = self.future.values().map(Vec::len).sum();
            if by_proposer < streams::MAX_STREAMS_PER_PROPOSER && pending < MAX_FUTURE_PROPOSALS {
                self.future.entry(init.height.0).or_default().push(assembled);
            }
            return Ok(None);
        }
        if scheduled_proposer(&self.chain, next, init.round)? != Some(init.proposer) {
            tracing::warn!(height = %init.height, round = %init.round, proposer = %init.proposer, "proposal from a validator not scheduled for its round");
            return Ok(None);
        }
        let Ok(block) = Chain::decode_block(&assembled.encoded_block) else {
            tracing::warn!(height = %init.height, proposer = %init.proposer, "undecodable proposal");
            return Ok(None);
        };
        let body = ProposedBlock {
            height: init.height.0,
            round: init.round.as_i64(),
            block_id: block.id(),
        };
        if !self.signer.verify_proposed_block(&init.proposer.0, &body, &assembled.fin.signature) {
            tracing::warn!(height = %init.height, proposer = %init.proposer, "proposal stream with a bad signature");
            return Ok(None);
        }
        let valid = match self.chain.validate(&block, Some(now_unix()))? {
            Ok(()) => true,
            Err(reason) => {
                tracing::warn!(height = %init.height, proposer = %init.proposer, %reason, "invalid proposal");
                false
            }
        };
        let round = init.round.as_u32().unwrap_or(0);
        // One proposal per round is persisted: the scheduled proposer's first. A second,
        // different one (equivocation) is neither written nor voted on.
        match self.chain.store().undecided_ids(Height(init.height.0), round)?.first() {
            Some(id) if *id != block.id() => {
                tracing::warn!(height = %init.height, round = %init.round, proposer = %init.proposer, "second proposal for a round ignored");
                return Ok(None);
            }
            Some(_) => {}
            None => self.chain.store().put_undecided(
                Height(init.height.0),
                &UndecidedProposal {
                    round,
                    valid_round: init.valid_round.as_i64(),
                    block: block.clone(),
                    valid,
                },
            )?,
        }
        Ok(Some(Self::proposed_value(
            init.height,
            init.round,
            init.valid_round,
            init.proposer,
            &block,
            valid,
        )))
    }

    fn decided(&mut self, certificate: &EngineCertificate<AtollContext>) -> Result<(), ChainError> {
        let height = certificate.height.0;
        if height < self.chain.next_height()? {
            return Ok(());
        }
        let ours = from_engine_certificate(certificate)
            .ok_or_else(|| ChainError::Inconsistent("certificate with a nil round".into()))?;
        let block = self
            .chain
            .store()
            .undecided_block(Height(height), &certificate.value_id.0)?
            .ok_or(ChainError::UnknownBlock(certificate.value_id.0, height))?
            .block;
        let outcome = self.chain.commit(&block, &ours)?;
        let included: Vec<Vec<u8>> = block.evidence.iter().map(DoubleSignEvidence::key).collect();
        self.evidence.retain(|e| !included.contains(&e.key()));
        let failed = outcome.results.iter().filter(|r| r.error.is_some()).count();
        tracing::info!(
            height,
            round = %certificate.round,
            id = %block.id(),
            txs = block.transactions.len(),
            failed,
            evidence = block.evidence.len(),
            "committed"
        );
        let now = Instant::now();
        if let Some(previous) = self.last_commit_at.replace(now) {
            self.metrics.block_interval.observe(now.duration_since(previous).as_secs_f64());
        }
        self.metrics.height.set(height as i64);
        self.metrics.committed_txs.inc_by(block.transactions.len() as u64);
        let own = outcome.results.iter().map(|r| &r.hash);
        for latency in self.chain.finality().committed(own, now) {
            self.metrics.finality_latency.observe(latency.as_secs_f64());
        }
        if let Ok(mempool) = self.chain.mempool().lock() {
            self.metrics.mempool_size.set(mempool.len() as i64);
        }
        self.publish_chain(Some(&block));
        Ok(())
    }

    fn collect_evidence(&mut self, evidence: &MisbehaviorEvidence<AtollContext>) {
        for (_, pairs) in evidence.votes.iter() {
            for (first, second) in pairs {
                let (Some(a), Some(b)) =
                    (first.message.to_signed_form(), second.message.to_signed_form())
                else {
                    continue;
                };
                let found = DoubleSignEvidence {
                    first: SignedVote { vote: a, signature: first.signature },
                    second: SignedVote { vote: b, signature: second.signature },
                };
                if !self.evidence.iter().any(|e| e.key() == found.key()) {
                    tracing::warn!(validator = %found.validator(), height = %found.height(), "double signing observed");
                    self.metrics.evidence_observed.inc();
                    self.evidence.push(found);
                }
            }
        }
    }

    fn decided_values(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<RawDecidedValue<AtollContext>>, ChainError> {
        let end = end.min(start.saturating_add(MAX_SYNC_BATCH - 1));
        let mut values = Vec::new();
        let mut bytes = 0usize;
        for height in start..=end {
            // No more blocks read than one response can carry (the engine trims to that).
            if bytes >= MAX_SYNC_RESPONSE {
                break;
            }
            let store = self.chain.store();
            let (Some(block), Some(certificate)) =
                (store.block(Height(height))?, store.certificate(Height(height))?)
            else {
                break;
            };
            let encoded = encode(&block);
            bytes = bytes.saturating_add(encoded.len());
            values.push(RawDecidedValue::new(
                Bytes::from(encoded),
                to_extended_certificate(&certificate),
            ));
        }
        Ok(values)
    }

    fn synced_value(
        &mut self,
        height: BlockHeight,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &[u8],
    ) -> Result<SyncedValueOutcome<AtollContext>, ChainError> {
        let Ok(block) = Chain::decode_block(bytes) else {
            return Ok(SyncedValueOutcome::PeerFault);
        };
        self.synced_height = Some(height.0);
        if block.header.height.0 != height.0 {
            return Ok(SyncedValueOutcome::PeerFault);
        }
        if height.0 != self.chain.next_height()? {
            return Ok(SyncedValueOutcome::LocalTransientError);
        }
        let valid = match self.chain.validate(&block, None)? {
            Ok(()) => true,
            Err(reason) => {
                tracing::warn!(%height, %reason, "invalid synced block");
                false
            }
        };
        self.chain.store().put_undecided(
            Height(height.0),
            &UndecidedProposal {
                round: round.as_u32().unwrap_or(0),
                valid_round: -1,
                block: block.clone(),
                valid,
            },
        )?;
        Ok(SyncedValueOutcome::Verdict(Self::proposed_value(
            height,
            round,
            Round::Nil,
            proposer,
            &block,
            valid,
        )))
    }
}

/// The validator scheduled to propose at `height` and `round`: from the height's own
/// validator set at the next height, and from the next height's set as the best prediction
/// one height further (re-checked once that height starts). `None` for any other height.
fn scheduled_proposer(
    chain: &Chain,
    height: u64,
    round: Round,
) -> Result<Option<ValidatorAddress>, ChainError> {
    let next = chain.next_height()?;
    if height != next && height != next + 1 {
        return Ok(None);
    }
    let set = ValidatorSet::from_scheduler(&chain.validators(next)?);
    let index = proposer_index(&set, BlockHeight(height), round);
    Ok(set.validators().get(index).map(|v| v.address))
}

/// Whether a stream's `Init` may open a buffered stream from `publisher`: signed by the
/// proposer it names, for this publisher and stream, and that proposer scheduled for the
/// round at the next height or the one after.
fn admit_stream(
    chain: &Chain,
    signer: &ConsensusSigner,
    publisher: &PeerId,
    stream: &StreamId,
    init: &ProposalInit,
) -> Result<bool, ChainError> {
    if scheduled_proposer(chain, init.height.0, init.round)? != Some(init.proposer) {
        return Ok(false);
    }
    let opening = StreamOpening::of(init, stream, publisher.to_bytes());
    Ok(signer.verify_stream_opening(&opening, &init.signature))
}
