//! The whole application of one axum server (DESIGN §7): the REST API under `/api/v1` ([`crate::v1`]), the
//! seed-compatible routes ([`crate::seed`]), the peer routes, `/metrics` and the web UI ([`crate::ui`]). Every route answers malformed input with a 4xx and a message, bodies
//! over the configured limit with 413, and requests over the time limit with 408.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::{metrics, p2p, seed, ui, v1};
use ferrochain_node::Node;

/// The whole HTTP application for `node`.
pub fn app(node: Node) -> Router {
    let limit = node.config().max_body_bytes;
    let timeout = Duration::from_secs(node.config().request_timeout_secs.max(1));
    Router::new()
        .merge(ui::router())
        .nest("/api/v1", v1::router())
        .merge(seed::router())
        .nest("/p2p/v1", p2p::router())
        .merge(metrics::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            crate::auth::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (
                node.clone(),
                std::sync::Arc::new(crate::throttle::Throttle::new()),
            ),
            crate::throttle::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            metrics::track_http,
        ))
        .with_state(node)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}; the API is described at /api/v1/openapi.json",
        uri.path()
    ))
}
