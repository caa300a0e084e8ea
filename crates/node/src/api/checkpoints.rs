//! State sync over the API: the checkpoints this node serves, their manifests and chunks,
//! and blocks as stored (borsh, with their certificates), all of which a new node verifies
//! itself against a block it trusts.

use atoll_client::model::{CheckpointInfo, ErrorBody};
use atoll_mkvs::checkpoint::Manifest;
use atoll_types::{encode, Height};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::error::ApiPath;
use super::read::parse_height;
use super::{ApiError, ApiState};

const OCTETS: [(header::HeaderName, &str); 1] =
    [(header::CONTENT_TYPE, "application/octet-stream")];

/// The state checkpoints this node serves, oldest first.
#[utoipa::path(get, path = "/v1/checkpoints", tag = "chain",
    responses((status = 200, body = Vec<CheckpointInfo>), (status = 500, body = ErrorBody)))]
pub(crate) async fn checkpoints(
    State(api): State<ApiState>,
) -> Result<Json<Vec<CheckpointInfo>>, ApiError> {
    let node = api.node.clone();
    tokio::task::spawn_blocking(move || {
        let store = node.blocks();
        let mut list = Vec::new();
        for height in store.checkpoint_heights().map_err(ApiError::internal)? {
            let Some(manifest) = store.checkpoint(height).map_err(ApiError::internal)? else {
                continue;
            };
            let trust_height = height.0 + 2;
            let trusted = store.block(Height(trust_height)).map_err(ApiError::internal)?;
            list.push(CheckpointInfo {
                height: height.0,
                root: manifest.root.hash,
                chunks: manifest.chunks() as u64,
                trust_height,
                trust_block_id: trusted.map(|b| b.id()),
            });
        }
        Ok(Json(list))
    })
    .await
    .map_err(ApiError::internal)?
}

fn manifest(api: &ApiState, height: &str) -> Result<Manifest, ApiError> {
    let height = parse_height(height)?;
    api.node
        .blocks()
        .checkpoint(Height(height))
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no checkpoint at height {height}")))
}

/// A checkpoint's manifest: the borsh encoding of its root and the first key of each chunk.
#[utoipa::path(get, path = "/v1/checkpoints/{height}/manifest", tag = "chain",
    params(("height" = u64, Path, description = "the checkpoint's height")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
            description = "borsh `Manifest`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn checkpoint_manifest(
    State(api): State<ApiState>,
    ApiPath(height): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((OCTETS, Bytes::from(encode(&manifest(&api, &height)?))))
}

/// One chunk of a checkpoint: the borsh encoding of a range proof of the chunk's entries
/// against the checkpoint's root.
#[utoipa::path(get, path = "/v1/checkpoints/{height}/chunks/{index}", tag = "chain",
    params(("height" = u64, Path, description = "the checkpoint's height"),
        ("index" = u64, Path, description = "the chunk, from 0")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
            description = "borsh `RangeProof`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn checkpoint_chunk(
    State(api): State<ApiState>,
    ApiPath((height, index)): ApiPath<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let manifest = manifest(&api, &height)?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid chunk index {index:?}")))?;
    if index >= manifest.chunks() {
        return Err(ApiError::not_found(format!(
            "chunk {index} of a checkpoint with {} chunks",
            manifest.chunks()
        )));
    }
    let _permit = api.heavy.acquire().await.map_err(ApiError::internal)?;
    let node = api.node.clone();
    let proof = tokio::task::spawn_blocking(move || {
        let state = node.state();
        let tree = state.store().tree(&manifest.root).map_err(ApiError::internal)?;
        manifest.chunk(&tree, index).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((OCTETS, Bytes::from(encode(&proof))))
}

/// What the block after a checkpoint changed: the borsh encoding of the write log from
/// the checkpoint's state to the next height's (whose root the block after that carries).
#[utoipa::path(get, path = "/v1/checkpoints/{height}/next", tag = "chain",
    params(("height" = u64, Path, description = "the checkpoint's height")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
            description = "borsh `WriteLog`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn checkpoint_next(
    State(api): State<ApiState>,
    ApiPath(height): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let manifest = manifest(&api, &height)?;
    let _permit = api.heavy.acquire().await.map_err(ApiError::internal)?;
    let node = api.node.clone();
    let writes = tokio::task::spawn_blocking(move || {
        let state = node.state();
        let next = manifest.root.version + 1;
        let Ok(to) = state.tree_at(Height(next)) else {
            return Err(ApiError::not_found(format!("no state at height {next} yet")));
        };
        let from = state.store().tree(&manifest.root).map_err(ApiError::internal)?;
        atoll_mkvs::diff(&from, &to).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((OCTETS, Bytes::from(encode(&writes))))
}

/// A block as this node stored it, with the certificate that decided it: the borsh
/// encoding of `(Block, CommitCertificate)`, which the reader checks itself (the block id,
/// the certificate's signatures).
#[utoipa::path(get, path = "/v1/blocks/{height}/raw", tag = "chain",
    params(("height" = u64, Path, description = "block height")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>,
            description = "borsh `(Block, CommitCertificate)`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn raw_block(
    State(api): State<ApiState>,
    ApiPath(height): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let height = Height(parse_height(&height)?);
    let store = api.node.blocks();
    let block = store.block(height).map_err(ApiError::internal)?;
    let certificate = store.certificate(height).map_err(ApiError::internal)?;
    match (block, certificate) {
        (Some(block), Some(certificate)) => {
            Ok((OCTETS, Bytes::from(encode(&(block, certificate)))))
        }
        _ => Err(ApiError::not_found(format!("no block at height {height}"))),
    }
}
