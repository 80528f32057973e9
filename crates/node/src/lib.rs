//! # ferrochain-node
//!
//! The running node (DESIGN §1, §7): chain state, miner threads, the JSON API, the seed-compatible routes,
//! events, node-held keys, configuration and graceful shutdown — as a library, so that `main` only parses and
//! wires, and tests start nodes on `127.0.0.1:0`.
//!
//! # Layout
//! - [`config`]: every setting with its default and meaning (file, environment, flags).
//! - [`node`]: [`Node`], the shared handle, and the operations every surface uses.
//! - [`miner`]: block templates and the multi-threaded midstate nonce search; continuous mining.
//! - [`events`]: new blocks, transactions and reorgs, broadcast to streams and peers.
//! - [`peers`]: the peer manager's book: known peers, back-off, scores, bans, `peers.json`.
//! - [`metrics`]: Prometheus metrics at `/metrics`: height, peers, mempool, hash rate, validation, sync and
//!   HTTP timings.
//! - [`embed`]: a chain inside another Rust program — open on a store, wallets, send, mine, balances, blocks.
//! - [`p2p`]: the peer-to-peer protocol: handshake, headers-first sync, relay, the network task.
//! - [`api`]: the axum application: REST API, seed routes, peer routes and the web UI.
//! - [`ui`]: the web UI: server-rendered pages, SVG charts, a little JavaScript.

pub mod api;
pub mod config;
pub mod embed;
pub mod events;
pub mod metrics;
pub mod miner;
pub mod node;
pub mod p2p;
pub mod peers;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;

pub use api::app;
pub use config::Config;
pub use node::{Node, NodeError};

/// Opens the node described by `config` and serves it on `listener` until `shutdown` completes; then stops
/// the miner and returns (the chain state is written on every change, so nothing is left to flush).
///
/// # Errors
/// [`NodeError`] if the node cannot open (bad network, data directory, database) or the server fails.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let node = tokio::task::spawn_blocking(move || Node::open(config))
        .await
        .map_err(|e| NodeError::Task(e.to_string()))??;
    serve(node, listener, shutdown).await
}

/// Serves an opened node on `listener` until `shutdown` completes (see [`run`]).
///
/// # Errors
/// [`NodeError::Task`] if the server fails.
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    if node.config().mine {
        node.miner().start_continuous(
            &node,
            node.miner_address(),
            node.config().mine_interval_secs,
        );
    }
    // --- p2p hook: the network task (connect to known peers, poll, relay); it ends when the node closes. ---
    let network = p2p::net::start(&node);
    let app = app(node.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let closing = node.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Streams (server-sent events) end when the node says it is closing.
            closing.close();
        })
        .await
        .map_err(|e| NodeError::Task(e.to_string()));
    // --- p2p hook: let the network task save the peer list; never wait long for it. ---
    node.close();
    if tokio::time::timeout(std::time::Duration::from_millis(500), network)
        .await
        .is_err()
    {
        tracing::warn!("the network task did not stop in time");
    }
    let stopping = node.clone();
    let _ = tokio::task::spawn_blocking(move || stopping.miner().shutdown()).await;
    result
}
