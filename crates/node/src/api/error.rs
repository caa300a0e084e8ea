//! API errors: every failure is a JSON [`ErrorBody`] with a stable kind; client mistakes are
//! 4xx, and only the node's own failures are 5xx.

use atoll_client::model::{ErrorBody, ErrorDetail};
use atoll_consensus::TxError;
use atoll_engine::MempoolError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail {
                kind: kind.into(),
                message: message.into(),
                module: None,
                code: None,
            },
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: nothing there.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no_route", "no such endpoint; see /openapi.json")
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed here")
    }

    /// 429.
    pub fn rate_limited() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; slow down")
    }

    /// 413: the body is over the route's limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 507: the node has no room left for it.
    pub fn insufficient_storage(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", message)
    }

    /// 503: the node cannot answer now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: the node failed.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %message, "API request failed inside the node");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message.to_string())
    }

    /// 422: a transaction the chain refuses, with the module's code.
    pub fn rejected(error: TxError) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: ErrorDetail {
                kind: "rejected".into(),
                message: error.message,
                module: Some(error.module),
                code: Some(error.code),
            },
        }
    }

    /// The detail, for batch answers.
    pub fn into_detail(self) -> ErrorDetail {
        self.detail
    }
}

/// A refused submission: the transaction's fault is 422, the node's (full mempool, state
/// unavailable) is 503.
impl From<MempoolError> for ApiError {
    fn from(e: MempoolError) -> Self {
        match e {
            MempoolError::State(_) => ApiError::unavailable(e.to_string()),
            MempoolError::Full => ApiError::unavailable("mempool full; retry later"),
            _ => ApiError::rejected(e.tx_error()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.detail })).into_response()
    }
}

/// A JSON body whose rejections (syntax, unknown fields, wrong content type, too large)
/// come back as JSON errors with the matching 4xx status.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// 413 and 415 as they are; any other body that is not the route's JSON (bad syntax, wrong
/// fields or types) is a 400: 422 stays the chain's refusal.
fn json_rejection(rejection: JsonRejection) -> ApiError {
    let (status, kind) = match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        _ => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    ApiError::new(status, kind, rejection.body_text())
}

/// Query parameters whose rejections come back as JSON 400s.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

/// Path parameters whose rejections (a segment that does not parse as the route's type)
/// come back as JSON 400s, not plain text.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    let status = rejection.status();
    if status.is_client_error() {
        ApiError::bad_request(rejection.body_text())
    } else {
        ApiError::internal(rejection.body_text())
    }
}

/// A page size from `?limit=`: `default` if absent, refused unless 1 to `max`.
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<usize, ApiError> {
    match limit.unwrap_or(default) {
        0 => Err(ApiError::bad_request(format!("limit must be 1 to {max}"))),
        n if n > max => Err(ApiError::bad_request(format!("limit must be 1 to {max}"))),
        n => Ok(n as usize),
    }
}
