//! The whole application of one axum server (DESIGN §7): the REST API under `/api/v1` ([`crate::v1`]), the
//! seed-compatible routes ([`crate::seed`]), the peer routes, `/metrics` and the web UI ([`crate::ui`]). Every
//! route answers malformed input with a 4xx and a message, bodies over its limit ([`crate::limits`]) with 413,
//! and requests over the time limit with 408; [`serve_app`] serves it within the connection limits.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{Extension, Router};
use tower_http::timeout::TimeoutLayer;

use crate::error::ApiError;
use crate::{limits, metrics, p2p, seed, ui, v1};
use ferrochain_node::Node;

/// The whole HTTP application for `node`.
pub fn app(node: Node) -> Router {
    let timeout = Duration::from_secs(node.config().request_timeout_secs.max(1));
    let heavy = limits::Heavy::new(node.config().max_heavy_requests);
    let subscribers = limits::Subscribers::new(node.config().max_event_subscribers);
    Router::new()
        .merge(ui::router())
        .nest("/api/v1", v1::router())
        .merge(seed::router())
        .nest("/p2p/v1", p2p::router())
        .merge(metrics::router())
        .fallback(not_found)
        // Each route's own body limit (`limits::limit_body`) replaces axum's single default.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            limits::limit_body,
        ))
        .layer(Extension(heavy))
        .layer(Extension(subscribers))
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

/// Serves `node`'s [`app`] on `listener` within the connection limits of its config (`max_connections`,
/// `write_timeout_secs`, `idle_timeout_secs`; [`limits::BoundedListener`]) until `shutdown` completes.
///
/// # Errors
/// An I/O error of the server.
pub async fn serve_app(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let max = node.config().max_connections;
    let timeouts = limits::Timeouts {
        write: Duration::from_secs(node.config().write_timeout_secs.max(1)),
        idle: Duration::from_secs(node.config().idle_timeout_secs.max(1)),
    };
    let listener = limits::BoundedListener::new(listener, max, timeouts)
        // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>` (the client address).
        .tap_io(|_| {});
    let app = app(node).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
