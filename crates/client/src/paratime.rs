//! ParaTime requests: runtime blocks and roothash state from any node; runtime
//! transactions, their results, finalized rounds and queries from a node that runs the
//! ParaTime.

use std::time::Duration;

use atoll_consensus::roothash::RuntimeBlockHeader;
use atoll_types::{Hash, RuntimeId};

use crate::model::{
    BlobResponse, RoothashSummary, RuntimeQueryRequest, RuntimeQueryResponse, RuntimeRoundResponse,
    RuntimeTxStatus, StateQuery, StateResponse, SubmitRequest, SubmitResponse,
};
use crate::{Client, ClientError};

impl Client {
    /// The latest block of a runtime.
    pub async fn runtime_latest_block(
        &self,
        id: &RuntimeId,
        query: StateQuery,
    ) -> Result<StateResponse<RuntimeBlockHeader>, ClientError> {
        self.state(&format!("/v1/runtimes/{id}/blocks/latest"), query).await
    }

    /// A runtime block by round.
    pub async fn runtime_block(
        &self,
        id: &RuntimeId,
        round: u64,
        query: StateQuery,
    ) -> Result<StateResponse<RuntimeBlockHeader>, ClientError> {
        self.state(&format!("/v1/runtimes/{id}/blocks/{round}"), query).await
    }

    /// Where a runtime stands on the consensus layer.
    pub async fn roothash(
        &self,
        id: &RuntimeId,
        query: StateQuery,
    ) -> Result<StateResponse<RoothashSummary>, ClientError> {
        self.state(&format!("/v1/runtimes/{id}/roothash"), query).await
    }

    /// Submits a signed runtime transaction to a compute node.
    pub async fn submit_runtime_tx(&self, id: &RuntimeId, raw: &[u8]) -> Result<Hash, ClientError> {
        let body = SubmitRequest { tx: hex::encode(raw) };
        let response: SubmitResponse =
            self.post(&format!("/v1/runtimes/{id}/transactions"), &body).await?;
        Ok(response.hash)
    }

    /// Stores `bytes` (an FHE key set, say) on a compute node of runtime `id`, which serves
    /// them to its runtime and to its peers by their SHA-256.
    pub async fn put_blob(
        &self,
        id: &RuntimeId,
        bytes: Vec<u8>,
    ) -> Result<BlobResponse, ClientError> {
        let response = self
            .http
            .put(format!("{}/v1/runtimes/{id}/blobs", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .timeout(Duration::from_secs(300))
            .body(bytes)
            .send()
            .await
            .map_err(crate::transport)?;
        Self::decode(response).await
    }

    /// A runtime transaction: pending or finalized.
    pub async fn runtime_transaction(
        &self,
        id: &RuntimeId,
        hash: &Hash,
    ) -> Result<RuntimeTxStatus, ClientError> {
        self.get(&format!("/v1/runtimes/{id}/transactions/{hash}")).await
    }

    /// Waits until a runtime transaction's round is finalized.
    pub async fn wait_for_runtime_tx(
        &self,
        id: &RuntimeId,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<RuntimeTxStatus, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.runtime_transaction(id, hash).await {
                Ok(tx) if tx.status == "finalized" => return Ok(tx),
                Ok(_) | Err(ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(format!(
                    "runtime transaction {hash} not finalized"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The transactions of a finalized round.
    pub async fn runtime_round(
        &self,
        id: &RuntimeId,
        round: u64,
    ) -> Result<RuntimeRoundResponse, ClientError> {
        self.get(&format!("/v1/runtimes/{id}/rounds/{round}")).await
    }

    /// Runs a runtime query (`args` borsh-encoded) against the latest finalized state.
    pub async fn runtime_query(
        &self,
        id: &RuntimeId,
        method: &str,
        args: &[u8],
    ) -> Result<RuntimeQueryResponse, ClientError> {
        let body = RuntimeQueryRequest { method: method.to_owned(), args: hex::encode(args) };
        self.post(&format!("/v1/runtimes/{id}/query"), &body).await
    }
}
