//! The typed Rust client of the Atoll node API (REST/JSON and the WebSocket stream), used by
//! the `atoll` CLI, the tests and the load generator.
//!
//! State reads can come with a proof: [`verify`] checks it against an app hash the caller
//! trusts and reruns the same query (from [`queries`] or `atoll_consensus`) over the proven
//! entries, so the answer is accepted only if the proof implies it.

pub mod bodies;
mod error;
pub mod model;
mod paratime;
pub mod queries;
mod stream;
pub mod tx;

use std::time::Duration;

use atoll_consensus::beacon::BeaconState;
use atoll_consensus::governance::{Proposal, Vote};
use atoll_consensus::registry::types::{Entity, Node, Runtime};
use atoll_consensus::scheduler::{Committee, Validator};
use atoll_consensus::staking::{Account, DebondingDelegation, Delegation};
use atoll_consensus::{ChainInfo, StateError};
use atoll_mkvs::{KeyValueRead, StateProof};
use atoll_types::{Address, Hash, PublicKey, RuntimeId};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::ClientError;
pub use stream::EventStream;

use model::{
    BatchItem, BatchSubmitRequest, BatchSubmitResponse, BlockResponse, CheckpointInfo, EpochInfo,
    ErrorBody, ErrorDetail, EstimateGasRequest, EstimateGasResponse, EventsResponse, ListQuery,
    NodeEvidence, StateQuery, StateResponse, Status, SubmitRequest, SubmitResponse,
    TransactionResponse,
};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

fn transport(e: reqwest::Error) -> ClientError {
    ClientError::Transport(e.to_string())
}

impl Client {
    /// A client of the node API at `base`, e.g. `http://127.0.0.1:26657` (a bare
    /// `host:port` is taken as `http://`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/');
        let base = if base.contains("://") { base.to_owned() } else { format!("http://{base}") };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(transport)?;
        Ok(Self { base, http })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()));
        }
        let detail =
            serde_json::from_slice::<ErrorBody>(&bytes).map(|b| b.error).unwrap_or_else(|_| {
                ErrorDetail {
                    kind: "http".into(),
                    message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                    module: None,
                    code: None,
                }
            });
        Err(ClientError::Api { status: status.as_u16(), detail })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response =
            self.http.get(format!("{}{path}", self.base)).send().await.map_err(transport)?;
        Self::decode(response).await
    }

    async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        Self::decode(response).await
    }

    /// A state query at `path` with the height and proof options.
    pub async fn state<T: DeserializeOwned>(
        &self,
        path: &str,
        query: StateQuery,
    ) -> Result<StateResponse<T>, ClientError> {
        self.get_query(path, &query).await
    }

    /// A list read: one page of at most 1,000 entries (see [`ListQuery`]).
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &ListQuery,
    ) -> Result<StateResponse<T>, ClientError> {
        self.get_query(path, query).await
    }

    async fn get_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &impl serde::Serialize,
    ) -> Result<StateResponse<T>, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(transport)?;
        Self::decode(response).await
    }

    /// `GET /v1/checkpoints`: the state checkpoints the node serves.
    pub async fn checkpoints(&self) -> Result<Vec<CheckpointInfo>, ClientError> {
        self.get("/v1/checkpoints").await
    }

    /// The bytes of a binary answer at `path` (state-sync manifests, chunks, raw blocks),
    /// refused if longer than `limit`.
    pub async fn bytes(&self, path: &str, limit: usize) -> Result<Vec<u8>, ClientError> {
        let response =
            self.http.get(format!("{}{path}", self.base)).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Self::decode::<serde_json::Value>(response).await.map(|_| Vec::new());
        }
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(ClientError::Decode(format!("{path}: an answer over {limit} bytes")));
        }
        let bytes = response.bytes().await.map_err(transport)?;
        if bytes.len() > limit {
            return Err(ClientError::Decode(format!("{path}: an answer over {limit} bytes")));
        }
        Ok(bytes.to_vec())
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status").await
    }

    /// The OpenAPI document the node serves.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.get("/openapi.json").await
    }

    /// The block at `height`.
    pub async fn block(&self, height: u64) -> Result<BlockResponse, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// The latest block.
    pub async fn latest_block(&self) -> Result<BlockResponse, ClientError> {
        self.get("/v1/blocks/latest").await
    }

    /// The block with this id.
    pub async fn block_by_id(&self, id: &Hash) -> Result<BlockResponse, ClientError> {
        self.get(&format!("/v1/blocks/by-id/{id}")).await
    }

    /// The events of the block at `height`.
    pub async fn events(&self, height: u64) -> Result<EventsResponse, ClientError> {
        self.get(&format!("/v1/blocks/{height}/events")).await
    }

    /// A transaction by hash (committed, or pending in the node's mempool).
    pub async fn transaction(&self, hash: &Hash) -> Result<TransactionResponse, ClientError> {
        self.get(&format!("/v1/transactions/{hash}")).await
    }

    /// Submits a signed transaction; returns its hash once the node admitted it.
    pub async fn submit(&self, raw: &[u8]) -> Result<Hash, ClientError> {
        let response: SubmitResponse =
            self.post("/v1/transactions", &SubmitRequest { tx: hex::encode(raw) }).await?;
        Ok(response.hash)
    }

    /// Submits up to [`model::MAX_BATCH`] signed transactions in one request.
    pub async fn submit_batch(&self, raws: &[Vec<u8>]) -> Result<Vec<BatchItem>, ClientError> {
        let request = BatchSubmitRequest { txs: raws.iter().map(hex::encode).collect() };
        let response: BatchSubmitResponse = self.post("/v1/transactions/batch", &request).await?;
        Ok(response.results)
    }

    /// Submits up to [`model::MAX_BATCH`] signed transactions in one binary request (no hex,
    /// no JSON on the way in).
    pub async fn submit_batch_binary(
        &self,
        raws: &[Vec<u8>],
    ) -> Result<Vec<BatchItem>, ClientError> {
        let response = self
            .http
            .post(format!("{}/v1/transactions/batch/binary", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(atoll_types::encode(&raws.to_vec()))
            .send()
            .await
            .map_err(transport)?;
        let response: BatchSubmitResponse = Self::decode(response).await?;
        Ok(response.results)
    }

    /// The gas a call needs when signed by `signer`, and how a dry run of it ends.
    pub async fn estimate_gas(
        &self,
        signer: &PublicKey,
        method: &str,
        body: &[u8],
    ) -> Result<EstimateGasResponse, ClientError> {
        let request = EstimateGasRequest {
            signer: *signer,
            method: method.to_owned(),
            body: hex::encode(body),
        };
        self.post("/v1/transactions/estimate-gas", &request).await
    }

    /// The chain's identity and token.
    pub async fn chain(&self, query: StateQuery) -> Result<StateResponse<ChainInfo>, ClientError> {
        self.state("/v1/chain", query).await
    }

    /// An account.
    pub async fn account(
        &self,
        address: &Address,
        query: StateQuery,
    ) -> Result<StateResponse<Account>, ClientError> {
        self.state(&format!("/v1/accounts/{address}"), query).await
    }

    /// Delegations from `address`, as (escrow, delegation).
    pub async fn delegations(
        &self,
        address: &Address,
        query: impl Into<ListQuery>,
    ) -> Result<StateResponse<Vec<(Address, Delegation)>>, ClientError> {
        self.list(&format!("/v1/accounts/{address}/delegations"), &query.into()).await
    }

    /// Delegations to the escrow `address`, as (delegator, delegation).
    pub async fn delegators(
        &self,
        address: &Address,
        query: impl Into<ListQuery>,
    ) -> Result<StateResponse<Vec<(Address, Delegation)>>, ClientError> {
        self.list(&format!("/v1/accounts/{address}/delegators"), &query.into()).await
    }

    /// Debonding delegations of `address`, as (escrow, debonding delegation).
    pub async fn debonding_delegations(
        &self,
        address: &Address,
        query: impl Into<ListQuery>,
    ) -> Result<StateResponse<Vec<(Address, DebondingDelegation)>>, ClientError> {
        self.list(&format!("/v1/accounts/{address}/debonding-delegations"), &query.into()).await
    }

    /// The validator set.
    pub async fn validators(
        &self,
        query: StateQuery,
    ) -> Result<StateResponse<Vec<Validator>>, ClientError> {
        self.state("/v1/validators", query).await
    }

    /// Every entity.
    pub async fn entities(
        &self,
        query: StateQuery,
    ) -> Result<StateResponse<Vec<Entity>>, ClientError> {
        self.state("/v1/entities", query).await
    }

    /// One entity.
    pub async fn entity(
        &self,
        id: &PublicKey,
        query: StateQuery,
    ) -> Result<StateResponse<Entity>, ClientError> {
        self.state(&format!("/v1/entities/{id}"), query).await
    }

    /// Every node.
    pub async fn nodes(&self, query: StateQuery) -> Result<StateResponse<Vec<Node>>, ClientError> {
        self.state("/v1/nodes", query).await
    }

    /// One node.
    pub async fn node(
        &self,
        id: &PublicKey,
        query: StateQuery,
    ) -> Result<StateResponse<Node>, ClientError> {
        self.state(&format!("/v1/nodes/{id}"), query).await
    }

    /// The double-signing offences proven against a node's validator, newest first.
    pub async fn node_evidence(&self, id: &PublicKey) -> Result<NodeEvidence, ClientError> {
        self.get(&format!("/v1/nodes/{id}/evidence")).await
    }

    /// Every runtime.
    pub async fn runtimes(
        &self,
        query: StateQuery,
    ) -> Result<StateResponse<Vec<Runtime>>, ClientError> {
        self.state("/v1/runtimes", query).await
    }

    /// One runtime.
    pub async fn runtime(
        &self,
        id: &RuntimeId,
        query: StateQuery,
    ) -> Result<StateResponse<Runtime>, ClientError> {
        self.state(&format!("/v1/runtimes/{id}"), query).await
    }

    /// A runtime's executor committee.
    pub async fn committee(
        &self,
        id: &RuntimeId,
        query: StateQuery,
    ) -> Result<StateResponse<Committee>, ClientError> {
        self.state(&format!("/v1/runtimes/{id}/committee"), query).await
    }

    /// The current epoch.
    pub async fn epoch(&self, query: StateQuery) -> Result<StateResponse<EpochInfo>, ClientError> {
        self.state("/v1/epoch", query).await
    }

    /// The random beacon.
    pub async fn beacon(
        &self,
        query: StateQuery,
    ) -> Result<StateResponse<BeaconState>, ClientError> {
        self.state("/v1/beacon", query).await
    }

    /// Every governance proposal.
    pub async fn proposals(
        &self,
        query: impl Into<ListQuery>,
    ) -> Result<StateResponse<Vec<Proposal>>, ClientError> {
        self.list("/v1/governance/proposals", &query.into()).await
    }

    /// One governance proposal.
    pub async fn proposal(
        &self,
        id: u64,
        query: StateQuery,
    ) -> Result<StateResponse<Proposal>, ClientError> {
        self.state(&format!("/v1/governance/proposals/{id}"), query).await
    }

    /// The votes cast on a proposal, as (voter, vote).
    pub async fn votes(
        &self,
        id: u64,
        query: impl Into<ListQuery>,
    ) -> Result<StateResponse<Vec<(Address, Vote)>>, ClientError> {
        self.list(&format!("/v1/governance/proposals/{id}/votes"), &query.into()).await
    }

    /// Polls until the transaction is in a committed block.
    pub async fn wait_for_transaction(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<TransactionResponse, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.transaction(hash).await {
                Ok(tx) if tx.status == "committed" => return Ok(tx),
                Ok(_) => {}
                Err(ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(format!("transaction {hash} not committed")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until the node has committed `height`.
    pub async fn wait_for_height(
        &self,
        height: u64,
        timeout: Duration,
    ) -> Result<Status, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.status().await?;
            if status.height >= height {
                return Ok(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(format!("height {height} not reached")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Verifies a state answer against a trusted app hash: the proof must be against
/// `trusted_root` (the app hash of block `height + 1`, or a status's `app_hash`), and
/// rerunning `query` over the proven entries alone must give exactly the answered value.
pub fn verify<T: PartialEq + std::fmt::Debug>(
    response: &StateResponse<T>,
    trusted_root: &Hash,
    query: impl FnOnce(&dyn KeyValueRead) -> Result<T, StateError>,
) -> Result<(), ClientError> {
    if response.state_root != *trusted_root {
        return Err(ClientError::Proof(format!(
            "answer is for root {}, the trusted root is {trusted_root}",
            response.state_root
        )));
    }
    let hex_proof =
        response.proof.as_deref().ok_or_else(|| ClientError::Proof("no proof in answer".into()))?;
    let bytes = hex::decode(hex_proof).map_err(|e| ClientError::Proof(e.to_string()))?;
    let proof: StateProof = atoll_types::decode(&bytes, bytes.len())
        .map_err(|e| ClientError::Proof(format!("proof does not decode: {e}")))?;
    let witness = proof.verify(trusted_root).map_err(|e| ClientError::Proof(e.to_string()))?;
    let proven = query(&witness).map_err(|e| ClientError::Proof(e.to_string()))?;
    if proven != response.value {
        return Err(ClientError::Proof(format!(
            "the proof implies {proven:?}, the node answered {:?}",
            response.value
        )));
    }
    Ok(())
}
