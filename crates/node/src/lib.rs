//! # ferrochain-node
//!
//! The running node (DESIGN §1, §5): chain state, miner threads, node-held keys, the peer book, sync and relay,
//! events, metrics recording, configuration and shutdown — as a library with no HTTP server and no templates.
//! The HTTP surfaces (REST API, seed routes, peer routes, web UI, `/metrics`) live in `ferrochain-http`, which
//! calls this crate; this crate never calls it.
//!
//! # Layout
//! - [`config`]: every setting with its default and meaning (file, environment, flags).
//! - [`node`]: [`Node`], the shared handle, and the operations every surface uses.
//! - [`miner`]: block templates and the multi-threaded midstate nonce search; continuous mining.
//! - [`events`]: new blocks, transactions and reorgs, broadcast to streams and peers.
//! - [`peers`]: the peer manager's book: known peers, back-off, scores, bans, `peers.json`.
//! - [`metrics`]: Prometheus metrics: height, peers, mempool, hash rate, validation, sync and HTTP timings.
//! - [`embed`]: a chain inside another Rust program — open on a store, wallets, send, mine, balances, blocks.
//! - [`p2p`]: the peer-to-peer protocol: handshake, headers-first sync, relay, the network task.

pub mod config;
pub mod embed;
pub mod error;
pub mod events;
pub mod files;
pub mod metrics;
pub mod miner;
pub mod node;
pub mod p2p;
pub mod peers;
pub mod service;

pub use config::{Config, NetworkError, load_network};
pub use error::ErrorCode;
pub use metrics::Metrics;
pub use node::{Node, NodeError, OpenError};
