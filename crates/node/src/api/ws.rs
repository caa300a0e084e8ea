//! `GET /v1/ws`: a WebSocket stream of committed blocks and their events, filtered by the
//! query (`blocks`, `events`, `module`, `involving`). Every committed height is sent once,
//! in order, from the connection on; a client that falls far behind is cut off. Streams
//! are capped (`[api] max_streams`), and each height is read and decoded once, off the
//! async workers, for all of them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use atoll_client::model::{ErrorBody, StreamMessage, StreamQuery};
use atoll_types::Height;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;

use super::error::ApiQuery;
use super::read::event_items;
use super::{ApiError, ApiState};

/// The most heights one client may lag behind before it is disconnected.
const MAX_LAG: u64 = 1_000;

/// Opens the stream (a WebSocket upgrade; messages are JSON `StreamMessage`s).
#[utoipa::path(get, path = "/v1/ws", tag = "stream", params(StreamQuery),
    responses((status = 101, description = "switching to WebSocket; then JSON messages",
        body = StreamMessage), (status = 400, body = ErrorBody),
        (status = 503, description = "too many open streams", body = ErrorBody)))]
pub(crate) async fn stream(
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<StreamQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|e| {
        ApiError::bad_request(format!("this endpoint needs a WebSocket upgrade: {}", e.body_text()))
    })?;
    let permit = Arc::clone(&api.streams)
        .try_acquire_owned()
        .map_err(|_| ApiError::unavailable("too many open streams; try again later"))?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        serve(api, query, socket).await;
        drop(permit);
    }))
}

/// Heights kept decoded.
const CACHED_HEIGHTS: usize = 64;

/// The messages of recent heights, shared by every stream.
#[derive(Default)]
pub(crate) struct HeightCache {
    recent: Mutex<VecDeque<(u64, Arc<Vec<StreamMessage>>)>>,
}

impl HeightCache {
    /// What `height` produces: decoded once (on a blocking thread), then shared.
    async fn messages(&self, api: &ApiState, height: u64) -> Arc<Vec<StreamMessage>> {
        if let Some(found) = self.get(height) {
            return found;
        }
        let reader = api.clone();
        let decoded = tokio::task::spawn_blocking(move || messages(&reader, height))
            .await
            .unwrap_or_default();
        let decoded = Arc::new(decoded);
        if let Ok(mut recent) = self.recent.lock() {
            if !recent.iter().any(|(h, _)| *h == height) {
                if recent.len() >= CACHED_HEIGHTS {
                    recent.pop_front();
                }
                recent.push_back((height, Arc::clone(&decoded)));
            }
        }
        decoded
    }

    fn get(&self, height: u64) -> Option<Arc<Vec<StreamMessage>>> {
        let recent = self.recent.lock().ok()?;
        recent.iter().find(|(h, _)| *h == height).map(|(_, m)| Arc::clone(m))
    }
}

fn wanted(query: &StreamQuery, message: &StreamMessage) -> bool {
    match message {
        StreamMessage::Block { .. } => query.blocks.unwrap_or(true),
        StreamMessage::Event(item) => {
            if !query.events.unwrap_or(true) {
                return false;
            }
            let module_ok = query.module.as_deref().is_none_or(|module| {
                item.event.get("module").and_then(|m| m.as_str()) == Some(module)
            });
            let involving_ok = query
                .involving
                .as_deref()
                .is_none_or(|needle| item.event.to_string().contains(needle));
            module_ok && involving_ok
        }
    }
}

/// What one committed height produces.
fn messages(api: &ApiState, height: u64) -> Vec<StreamMessage> {
    let store = api.node.blocks();
    let Ok(Some(block)) = store.block(Height(height)) else { return Vec::new() };
    let mut out = vec![StreamMessage::Block {
        height,
        id: block.id(),
        time: block.header.time,
        tx_hashes: block.transactions.iter().map(|raw| atoll_types::Hash::digest(raw)).collect(),
    }];
    if let Ok(Some(results)) = store.results(Height(height)) {
        out.extend(event_items(height, &block, &results).into_iter().map(StreamMessage::Event));
    }
    out
}

async fn serve(api: ApiState, query: StreamQuery, mut socket: WebSocket) {
    let mut status = api.node.subscribe();
    let mut sent = status.borrow_and_update().height;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            changed = status.changed() => {
                if changed.is_err() {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                let latest = status.borrow_and_update().height;
                if latest.saturating_sub(sent) > MAX_LAG {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                while sent < latest {
                    sent += 1;
                    for message in api.heights.messages(&api, sent).await.iter() {
                        if !wanted(&query, message) {
                            continue;
                        }
                        let Ok(text) = serde_json::to_string(message) else { continue };
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
