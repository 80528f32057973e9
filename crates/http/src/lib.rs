//! # ferrochain-http
//!
//! Every HTTP surface of a ferrochain node (DESIGN §7), on one axum server: the REST API under `/api/v1` with
//! its OpenAPI document, the seed-compatible routes, the peer routes under `/p2p/v1`, the web UI at `/` and
//! `/metrics`. The handlers parse, authorize and format; what they do is an operation of the node's service
//! layer ([`ferrochain_node::Node`]).
//!
//! # Layout
//! - [`app`](fn@app): the whole router; [`run`] and [`serve`] start a node and serve it.
//! - `extract`: JSON-or-form bodies and the owner check; `error`: the JSON error and its mapping.
//! - `v1`: the REST API; `seed`: the seed systems' routes; `p2p`: the peer routes; `ui`: the web UI;
//!   `metrics`: `/metrics` and the request-latency middleware; `views`: the JSON views they share.

mod app;
pub mod error;
pub mod extract;
mod metrics;
mod p2p;
pub mod seed;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod ui;
pub mod v1;
pub mod views;

use std::future::Future;
use std::net::SocketAddr;

pub use app::app;
pub use error::ApiError;
use ferrochain_node::{Config, Node, OpenError};

/// Why a node could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The node could not open.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The server failed (accepting connections).
    #[error("the HTTP server failed: {0}")]
    Server(#[from] std::io::Error),
    /// Opening the node on a blocking thread failed (a panic).
    #[error("opening the node failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Opens the node described by `config` and serves it on `listener` until `shutdown` completes; then stops
/// the miner and returns (the chain state is written on every change, so nothing is left to flush).
///
/// # Errors
/// [`ServeError`] if the node cannot open (bad network, data directory, database) or the server fails.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let node = tokio::task::spawn_blocking(move || Node::open(config)).await??;
    serve(node, listener, shutdown).await
}

/// Serves an opened node on `listener` until `shutdown` completes (see [`run`]).
///
/// # Errors
/// [`ServeError::Server`] if the server fails.
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let background = node.start_background();
    let app = app(node.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let closing = node.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Streams (server-sent events) end when the node says it is closing.
            closing.close();
        })
        .await
        .map_err(ServeError::from);
    background.stop().await;
    result
}
