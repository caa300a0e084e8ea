//! State queries: each reads the state after a height (default the latest), and with
//! `proof=true` returns a proof of every entry it read (see `atoll_mkvs::witness`), which
//! `atoll_client::verify` checks by rerunning the same query over the proof.

use atoll_client::model::{EpochInfo, ErrorBody, ListQuery, StateQuery, StateResponse};
use atoll_client::queries as shared;
use atoll_consensus::beacon::BeaconState;
use atoll_consensus::governance::Proposal;
use atoll_consensus::registry::types::{Entity, Node, NodeStatus, Runtime};
use atoll_consensus::scheduler::{Committee, Validator};
use atoll_consensus::staking::query as staking;
use atoll_consensus::staking::Account;
use atoll_consensus::ChainInfo;
use atoll_consensus::{beacon, chain as chain_state, governance, registry, scheduler, StateError};
use atoll_mkvs::{KeyValueRead, MkvsError, Recorder};
use atoll_types::{Address, Height, PublicKey, RuntimeId};
use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::error::{ApiPath, ApiQuery};
use super::pairs::{DebondingPair, DelegationPair, VotePair};
use super::{ApiError, ApiState};

type Answer = Result<Json<StateResponse<serde_json::Value>>, ApiError>;

fn state_error(e: StateError) -> ApiError {
    ApiError::internal(e)
}

impl ApiState {
    /// Runs `query` over the state asked for; `None` answers 404 with `missing`.
    pub(super) async fn query<T, F>(&self, options: StateQuery, missing: String, query: F) -> Answer
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&dyn KeyValueRead) -> Result<Option<T>, StateError> + Send + 'static,
    {
        let state = self.node.state().clone();
        tokio::task::spawn_blocking(move || {
            let tree = match options.height {
                Some(height) => state.tree_at(Height(height)).map_err(|e| match e {
                    atoll_consensus::AppError::Store(MkvsError::RootNotFound { .. }) => {
                        ApiError::not_found(format!(
                            "the state after height {height} is not kept by this node"
                        ))
                    }
                    e => ApiError::internal(e),
                })?,
                None => {
                    let root = state.latest().map_err(ApiError::internal)?;
                    let root = root.ok_or_else(|| ApiError::unavailable("no state yet"))?;
                    state.store().tree(&root).map_err(ApiError::internal)?
                }
            };
            let (value, proof) = if options.proof.unwrap_or(false) {
                let recorder = Recorder::new(&tree);
                let value = query(&recorder).map_err(state_error)?;
                let proof = recorder.into_proof().map_err(|e| match e {
                    atoll_mkvs::WitnessError::TooLarge(_) => ApiError::bad_request(e.to_string()),
                    e => ApiError::internal(e),
                })?;
                (value, Some(hex::encode(atoll_types::encode(&proof))))
            } else {
                (query(&tree).map_err(state_error)?, None)
            };
            let value = value.ok_or_else(|| ApiError::not_found(missing))?;
            let root = tree.root();
            Ok(Json(StateResponse {
                height: root.version,
                state_root: root.hash,
                value: serde_json::to_value(&value).map_err(ApiError::internal)?,
                proof,
            }))
        })
        .await
        .map_err(ApiError::internal)?
    }
}

/// A bech32 address, or a 64-digit hex public key standing for its address (an entity's
/// escrow account, a node's account).
pub(super) fn parse_address(text: &str) -> Result<Address, ApiError> {
    if text.len() == 64 {
        if let Ok(key) = text.parse::<PublicKey>() {
            return Ok(Address::from_public_key(&key));
        }
    }
    text.parse().map_err(|e| ApiError::bad_request(format!("invalid address {text:?}: {e}")))
}

pub(super) fn parse_key(text: &str) -> Result<PublicKey, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request(format!("invalid key {text:?}: {e}")))
}

pub(super) fn parse_runtime(text: &str) -> Result<RuntimeId, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request(format!("invalid runtime id {text:?}: {e}")))
}

fn always<T>(result: Result<T, StateError>) -> Result<Option<T>, StateError> {
    result.map(Some)
}

/// The chain's identity and token.
#[utoipa::path(get, path = "/v1/chain", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<ChainInfo>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn chain(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(chain_state::chain_info(s))).await
}

/// An account: balance, nonce, allowances, escrow.
#[utoipa::path(get, path = "/v1/accounts/{address}", tag = "state",
    params(("address" = String, Path, pattern = "^(atoll1[02-9ac-hj-np-z]{6,}|[0-9a-fA-F]{64})$",
        description = "bech32 address, or a hex public key standing for its address"), StateQuery),
    responses((status = 200, body = StateResponse<Account>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn account(
    State(api): State<ApiState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let address = parse_address(&address)?;
    api.query(q, String::new(), move |s| always(staking::account(s, &address))).await
}

/// The `after` of a list query keyed by address.
fn after_address(q: &ListQuery) -> Result<Option<Address>, ApiError> {
    q.after.as_deref().map(parse_address).transpose()
}

/// Delegations made by an account, as `[escrow, delegation]` pairs: a page of at most
/// 1,000, by escrow address (`after` = the last escrow of the previous page).
#[utoipa::path(get, path = "/v1/accounts/{address}/delegations", tag = "state",
    params(("address" = String, Path, pattern = "^(atoll1[02-9ac-hj-np-z]{6,}|[0-9a-fA-F]{64})$", description = "the delegator"), ListQuery),
    responses((status = 200, body = StateResponse<Vec<DelegationPair>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delegations(
    State(api): State<ApiState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Answer {
    let (address, after) = (parse_address(&address)?, after_address(&q)?);
    api.query(q.state(), String::new(), move |s| {
        always(staking::delegations_from_after(s, &address, after.as_ref()))
    })
    .await
}

/// Delegations to an escrow account, as `[delegator, delegation]` pairs: a page of at most
/// 1,000, by delegator address (`after` = the last delegator of the previous page).
#[utoipa::path(get, path = "/v1/accounts/{address}/delegators", tag = "state",
    params(("address" = String, Path, pattern = "^(atoll1[02-9ac-hj-np-z]{6,}|[0-9a-fA-F]{64})$", description = "the escrow account"), ListQuery),
    responses((status = 200, body = StateResponse<Vec<DelegationPair>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delegators(
    State(api): State<ApiState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Answer {
    let (address, after) = (parse_address(&address)?, after_address(&q)?);
    api.query(q.state(), String::new(), move |s| {
        always(staking::delegations_to_after(s, &address, after.as_ref()))
    })
    .await
}

/// Debonding delegations of an account, as `[escrow, debonding delegation]` pairs: a page of
/// at most 1,000, by escrow then end epoch (`after` = `<escrow>:<debond_end>` of the last
/// entry of the previous page).
#[utoipa::path(get, path = "/v1/accounts/{address}/debonding-delegations", tag = "state",
    params(("address" = String, Path, pattern = "^(atoll1[02-9ac-hj-np-z]{6,}|[0-9a-fA-F]{64})$", description = "the delegator"), ListQuery),
    responses((status = 200, body = StateResponse<Vec<DebondingPair>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn debonding_delegations(
    State(api): State<ApiState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Answer {
    let address = parse_address(&address)?;
    let after = match q.after.as_deref() {
        None => None,
        Some(text) => {
            let bad =
                || ApiError::bad_request(format!("after must be <escrow>:<epoch>, not {text:?}"));
            let (escrow, epoch) = text.rsplit_once(':').ok_or_else(bad)?;
            Some((parse_address(escrow)?, atoll_types::Epoch(epoch.parse().map_err(|_| bad())?)))
        }
    };
    api.query(q.state(), String::new(), move |s| {
        let after = after.as_ref().map(|(escrow, end)| (escrow, *end));
        always(staking::debonding_delegations_after(s, &address, after))
    })
    .await
}

/// The validator set.
#[utoipa::path(get, path = "/v1/validators", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<Vec<Validator>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn validators(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(scheduler::validators(s))).await
}

/// Every registered entity.
#[utoipa::path(get, path = "/v1/entities", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<Vec<Entity>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn entities(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(registry::entities(s))).await
}

/// One entity.
#[utoipa::path(get, path = "/v1/entities/{id}", tag = "state",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "entity public key, hex"), StateQuery),
    responses((status = 200, body = StateResponse<Entity>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn entity(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_key(&id)?;
    api.query(q, format!("no entity {id}"), move |s| registry::entity(s, &id)).await
}

/// Every registered node.
#[utoipa::path(get, path = "/v1/nodes", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<Vec<Node>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn nodes(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(registry::nodes(s))).await
}

/// One node.
#[utoipa::path(get, path = "/v1/nodes/{id}", tag = "state",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "node public key, hex"), StateQuery),
    responses((status = 200, body = StateResponse<Node>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn node(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_key(&id)?;
    api.query(q, format!("no node {id}"), move |s| registry::node(s, &id)).await
}

/// A node's status: frozen after a slash until an epoch, liveness faults per runtime.
#[utoipa::path(get, path = "/v1/nodes/{id}/status", tag = "state",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "node public key, hex"), StateQuery),
    responses((status = 200, body = StateResponse<NodeStatus>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn node_status(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_key(&id)?;
    api.query(q, format!("no node {id}"), move |s| {
        if registry::node(s, &id)?.is_none() {
            return Ok(None);
        }
        registry::node_status(s, &id).map(Some)
    })
    .await
}

/// Every registered runtime.
#[utoipa::path(get, path = "/v1/runtimes", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<Vec<Runtime>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn runtimes(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(registry::runtimes(s))).await
}

/// One runtime.
#[utoipa::path(get, path = "/v1/runtimes/{id}", tag = "state",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"), StateQuery),
    responses((status = 200, body = StateResponse<Runtime>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn runtime(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_runtime(&id)?;
    api.query(q, format!("no runtime {id}"), move |s| registry::runtime(s, &id)).await
}

/// A runtime's executor committee for the current epoch.
#[utoipa::path(get, path = "/v1/runtimes/{id}/committee", tag = "state",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"), StateQuery),
    responses((status = 200, body = StateResponse<Committee>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn committee(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_runtime(&id)?;
    api.query(q, format!("no committee for runtime {id}"), move |s| scheduler::committee(s, &id))
        .await
}

/// The epoch and when the next one starts.
#[utoipa::path(get, path = "/v1/epoch", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<EpochInfo>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn epoch(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(shared::epoch(s))).await
}

/// The random beacon's state.
#[utoipa::path(get, path = "/v1/beacon", tag = "state", params(StateQuery),
    responses((status = 200, body = StateResponse<BeaconState>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn beacon(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    api.query(q, String::new(), |s| always(beacon::beacon(s))).await
}

/// Governance proposals: a page of at most 1,000, by id (`after` = the last id of the
/// previous page).
#[utoipa::path(get, path = "/v1/governance/proposals", tag = "state", params(ListQuery),
    responses((status = 200, body = StateResponse<Vec<Proposal>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn proposals(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Answer {
    let after = q
        .after
        .as_deref()
        .map(|a| a.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid id {a:?}"))))
        .transpose()?;
    api.query(q.state(), String::new(), move |s| always(governance::proposals_after(s, after)))
        .await
}

/// One governance proposal.
#[utoipa::path(get, path = "/v1/governance/proposals/{id}", tag = "state",
    params(("id" = u64, Path, description = "proposal id"), StateQuery),
    responses((status = 200, body = StateResponse<Proposal>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn proposal(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request(format!("invalid id {id:?}")))?;
    api.query(q, format!("no proposal {id}"), move |s| governance::proposal(s, id)).await
}

/// The votes cast on a proposal, as `[voter, vote]` pairs: a page of at most 1,000, by voter
/// address (`after` = the last voter of the previous page).
#[utoipa::path(get, path = "/v1/governance/proposals/{id}/votes", tag = "state",
    params(("id" = u64, Path, description = "proposal id"), ListQuery),
    responses((status = 200, body = StateResponse<Vec<VotePair>>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn votes(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Answer {
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request(format!("invalid id {id:?}")))?;
    let after = after_address(&q)?;
    api.query(q.state(), String::new(), move |s| {
        always(governance::listed_votes_after(s, id, after.as_ref()))
    })
    .await
}
