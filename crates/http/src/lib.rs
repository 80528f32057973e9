//! # ferrochain-http
//!
//! Every HTTP surface of a ferrochain node (DESIGN §7), on one axum server: the REST API under `/api/v1` with
//! its OpenAPI document, the seed-compatible routes, the peer routes under `/p2p/v1`, the web UI at `/` and
//! `/metrics`. The handlers parse, authorize and format; what they do is an operation of the node's service
//! layer ([`ferrochain_node::Node`]).
//!
//! The public API is short: [`app`](fn@app) (the whole router), [`run`] and [`serve`] (open and serve a node),
//! [`ServeError`], [`SAVE_FILE`] (what `/save` writes), the JSON error [`ApiError`] with [`status_of`], the
//! owner proof [`Owner`], the OpenAPI document [`ApiDoc`] and the list of REST routes [`rest_routes`]; with the
//! `test-utils` feature, the test fixture `testing`. Everything else is private to the crate.
//!
//! # Layout (bottom to top; a module imports only modules below it)
//! - `error`: the JSON error and the code → status table; `auth`: the authorization layer (who is the owner,
//!   cross-site signals); `extract`: JSON-or-form bodies, query and path extractors; `parse`: addresses,
//!   amounts, hashes, the blocking hop of reads; `views`: the JSON views; `read`: the read model the REST API
//!   and the UI share; `limits`: body limits per route, the heavy-route and subscriber limits, the bounded
//!   listener; `stream`: JSON answers streamed from the store.
//! - Surfaces: `v1` (REST API and OpenAPI), `seed` (the seed systems' routes), `p2p` (the peer routes), `ui`
//!   (the web UI), `metrics` (`/metrics` and the request-latency middleware).
//! - `app`: the router of all of them.

mod app;
mod auth;
mod error;
mod extract;
mod limits;
mod metrics;
mod p2p;
mod parse;
mod read;
mod seed;
mod stream;
#[cfg(feature = "test-utils")]
pub mod testing;
mod throttle;
mod ui;
mod v1;
mod views;

use std::future::Future;

pub use app::app;
pub use auth::Owner;
pub use error::{ApiError, status_of};
use ferrochain_node::{Config, Node, OpenError};
pub use seed::SAVE_FILE;
pub use throttle::{
    MAX_CLIENTS, P2P_BURST, P2P_PER_SECOND, PEER_WORK_PER_MINUTE, TOKEN_FAILURES, TOKEN_LOCKOUT,
};
pub use v1::{ApiDoc, routes as rest_routes};

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
    let closing = node.clone();
    let result = app::serve_app(node.clone(), listener, async move {
        shutdown.await;
        // Streams (server-sent events) end when the node says it is closing.
        closing.close();
    })
    .await
    .map_err(ServeError::from);
    background.stop().await;
    result
}
