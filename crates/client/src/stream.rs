//! The WebSocket stream of new blocks and events (`GET /v1/ws`).

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::model::{StreamMessage, StreamQuery};
use crate::{Client, ClientError};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An open stream of [`StreamMessage`]s.
pub struct EventStream {
    socket: Socket,
}

impl Client {
    /// Opens the stream of blocks and events committed from now on, filtered by `query`.
    pub async fn stream(&self, query: &StreamQuery) -> Result<EventStream, ClientError> {
        let base = self.base();
        let ws_base = match base.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => format!("ws://{base}"),
        };
        let query =
            serde_urlencoded::to_string(query).map_err(|e| ClientError::Decode(e.to_string()))?;
        let url = format!("{ws_base}/v1/ws?{query}");
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(EventStream { socket })
    }
}

impl EventStream {
    /// The next message; `None` once the node closed the stream.
    pub async fn next(&mut self) -> Option<Result<StreamMessage, ClientError>> {
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(ClientError::Transport(e.to_string()))),
            };
            match message {
                Message::Text(text) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .map_err(|e| ClientError::Decode(e.to_string())),
                    )
                }
                Message::Close(_) => return None,
                // Pings are answered by the library; binary frames are not part of the API.
                _ => continue,
            }
        }
    }
}
