//! The JSON error of the REST API: `{"error": {"code": "...", "message": "..."}}` with a 4xx status for
//! anything a client can cause, and a generic 500 (details only in the node's log) for the node's own failures.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrochain_state::{MempoolError, StateError};
use ferrochain_wallet::build::BuildError;

use crate::node::NodeError;

/// An API error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`invalid_address`, `not_found`, ...).
    pub code: &'static str,
    /// What went wrong and, where useful, what to do instead.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 403 for owner-only operations.
    pub fn owner_only() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "owner_only",
            "this operation is allowed from the node's own machine (loopback) or with the API token \
             (header `Authorization: Bearer <token>`, set with --api-token)",
        )
    }

    /// 500 with a generic message; the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error answering a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the node's log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> ApiError {
        match e {
            NodeError::State(StateError::InvalidBlock { .. })
            | NodeError::State(StateError::KnownInvalid(_)) => {
                ApiError::bad_request("invalid_block", e.to_string())
            }
            NodeError::State(StateError::Mempool(MempoolError::Conflict { .. }))
            | NodeError::State(StateError::Mempool(MempoolError::AlreadyInPool(_)))
            | NodeError::State(StateError::Mempool(MempoolError::AlreadyInChain(_))) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            NodeError::State(StateError::Mempool(MempoolError::Full)) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                e.to_string(),
            ),
            NodeError::State(StateError::Mempool(_)) => {
                ApiError::bad_request("invalid_transaction", e.to_string())
            }
            NodeError::Build(BuildError::Selection(_)) => {
                ApiError::bad_request("insufficient_funds", e.to_string())
            }
            NodeError::Build(_) => ApiError::bad_request("invalid_transaction", e.to_string()),
            NodeError::NotHeld(_) => ApiError::bad_request("key_not_held", e.to_string()),
            NodeError::KeysDisabled => {
                ApiError::new(StatusCode::FORBIDDEN, "keys_disabled", e.to_string())
            }
            NodeError::MinerAddress(_) => ApiError::bad_request("invalid_address", e.to_string()),
            NodeError::MiningInterrupted => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                e.to_string(),
            ),
            other => ApiError::internal(other),
        }
    }
}
