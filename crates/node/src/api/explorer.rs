//! `/explorer`: a block explorer every node serves from its own API — a static page and
//! an ES module compiled into the binary (no bundler, no separate service or database).
//! Everything it shows comes from this node's REST and WebSocket API and is put in the page
//! as text; a content security policy allows nothing but this node.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiPath;
use super::{ApiError, ApiState};

const INDEX: &str = include_str!("explorer/index.html");
const JS: &str = "text/javascript; charset=utf-8";

/// The explorer's files: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("explorer/app.js")),
    ("dom.js", JS, include_str!("explorer/dom.js")),
    ("live.js", JS, include_str!("explorer/live.js")),
    ("chain.js", JS, include_str!("explorer/chain.js")),
    ("staking.js", JS, include_str!("explorer/staking.js")),
    ("paratimes.js", JS, include_str!("explorer/paratimes.js")),
    ("governance.js", JS, include_str!("explorer/governance.js")),
    ("evm.js", JS, include_str!("explorer/evm.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("explorer/style.css")),
];

/// Scripts, styles, images and connections only from this node; no framing, no inline
/// scripts or styles, no plugins.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The explorer's routes.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/explorer", get(|| async { asset(INDEX, "text/html; charset=utf-8") }))
        .route("/explorer/", get(|| async { asset(INDEX, "text/html; charset=utf-8") }))
        .route("/explorer/{file}", get(file))
}

async fn file(ApiPath(name): ApiPath<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => asset(body, content_type),
        None => ApiError::not_found(format!("no explorer file {name:?}")).into_response(),
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
