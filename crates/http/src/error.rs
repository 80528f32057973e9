//! The JSON error of the REST API: `{"error": {"code": "...", "message": "..."}}` with a 4xx status for
//! anything a client can cause, and a generic 500 (details only in the node's log) for the node's own failures.
//!
//! Codes are [`ErrorCode`]s of the node crate; [`status_of`] is the one table from a code to its usual HTTP
//! status, so the node's errors ([`NodeError`], [`PeerError`]) are mapped by their code, never by a message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrochain_node::p2p::PeerError;
use ferrochain_node::{ErrorCode, NodeError};

/// An API error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`invalid_address`, `not_found`, ...).
    pub code: ErrorCode,
    /// What went wrong and, where useful, what to do instead.
    pub message: String,
    /// The request field the error is about, when one is (`amount`, `fee`, `to`): the web UI shows the
    /// message next to it.
    pub field: Option<&'static str>,
}

/// The usual HTTP status of an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotFound | ErrorCode::KeyNotHeld => StatusCode::NOT_FOUND,
        ErrorCode::OwnerOnly
        | ErrorCode::CrossSite
        | ErrorCode::KeysDisabled
        | ErrorCode::PeerBanned => StatusCode::FORBIDDEN,
        ErrorCode::BadToken => StatusCode::UNAUTHORIZED,
        ErrorCode::ForeignHost => StatusCode::MISDIRECTED_REQUEST,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Conflict | ErrorCode::KeystoreFull => StatusCode::CONFLICT,
        ErrorCode::MempoolFull | ErrorCode::ShuttingDown | ErrorCode::Busy => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::PeerUnreachable
        | ErrorCode::PeerHttpError
        | ErrorCode::PeerInvalidData
        | ErrorCode::PeerAnswerTooLarge => StatusCode::BAD_GATEWAY,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// An error with this code, its usual status ([`status_of`]) and a message.
    pub fn of(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(status_of(code), code, message)
    }

    /// 400 with a code.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// The same error, about the request field `field`.
    #[must_use]
    pub fn on_field(mut self, field: &'static str) -> ApiError {
        self.field = Some(field);
        self
    }

    /// 403 for owner-only operations.
    pub fn owner_only() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OwnerOnly,
            "this operation is allowed from the node's own machine (loopback) or with the API token \
             (header `Authorization: Bearer <token>`, set with --api-token)",
        )
    }

    /// 500 with a generic message; the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error answering a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; see the node's log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "error": { "code": self.code.as_str(), "message": self.message } });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> ApiError {
        match e.code() {
            ErrorCode::Internal => ApiError::internal(e),
            // An address refused by a node operation is about the request's address field.
            code => ApiError::of(code, e.to_string()),
        }
    }
}

impl From<PeerError> for ApiError {
    fn from(e: PeerError) -> Self {
        match e.code() {
            ErrorCode::Internal => ApiError::internal(e),
            code => ApiError::of(code, e.to_string()),
        }
    }
}
