//! The HTTP surfaces of one axum server (DESIGN §7): the REST API under `/api/v1` ([`v1`]), the seed-compatible
//! routes ([`seed`]), and the web UI ([`crate::ui`]). Every route answers malformed input with a 4xx and a message, bodies
//! over the configured limit with 413, and requests over the time limit with 408.

pub mod error;
pub mod extract;
pub mod seed;
pub mod v1;
pub mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;

use crate::node::Node;
pub use error::ApiError;

/// The whole HTTP application for `node`.
pub fn app(node: Node) -> Router {
    let limit = node.config().max_body_bytes;
    let timeout = Duration::from_secs(node.config().request_timeout_secs.max(1));
    Router::new()
        .merge(crate::ui::router())
        .nest("/api/v1", v1::router())
        .merge(seed::router())
        .nest("/p2p/v1", crate::p2p::router())
        .merge(crate::metrics::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            crate::metrics::track_http,
        ))
        .with_state(node)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}; the API is described at /api/v1/openapi.json",
        uri.path()
    ))
}
