//! # ferrochain-node
//!
//! The running node (DESIGN §1, §5): chain state, miner threads, node-held keys, the peer book, sync and relay,
//! events, metrics recording, configuration and shutdown — as a library with no HTTP server and no templates.
//! The HTTP surfaces (REST API, seed routes, peer routes, web UI, `/metrics`) live in `ferrochain-http`, which
//! calls this crate; this crate never calls it.
//!
//! The public API is the list of re-exports below plus two modules: [`embed`] (a chain inside another program)
//! and [`p2p`] (the peer protocol: messages, client, sync). Everything else is private to the crate.
//!
//! # Layout (bottom to top; a module imports only modules below it)
//! - `config` ([`Config`], [`load_network`]), `events` ([`Event`]), `files`, `error` ([`ErrorCode`]),
//!   `metrics` ([`Metrics`]): the bottom.
//! - `miner` ([`Miner`]): block templates and the multi-threaded midstate nonce search on a chain state;
//!   continuous mining.
//! - `peers` ([`Peers`]): the peer manager's book: known peers, back-off, scores, bans, `peers.json`.
//! - [`embed`]: open a chain on a store, wallets, send, mine, balances, blocks — no runtime, no HTTP.
//! - `node` ([`Node`], [`OpenError`], [`NodeError`]): the shared handle — chain state, node-held keys, miner,
//!   peers, events, metrics — and its blocking operations.
//! - [`p2p`]: the peer-to-peer protocol: handshake, headers-first sync, relay, the network task.
//! - `service` (methods on [`Node`]): the operations every surface calls — mine blocks, accept a transaction
//!   or block, pay from a held key, sign a record, create a held address, mining control, peer operations.

mod config;
pub mod embed;
mod error;
mod events;
mod files;
mod metrics;
mod miner;
mod node;
pub mod p2p;
mod peers;
mod service;

pub use config::{Config, ConfigError, NetworkError, load_network};
pub use error::ErrorCode;
pub use events::Event;
pub use files::write_atomically;
pub use metrics::{Gauges, Metrics};
pub use miner::{CHUNK, MAX_INTERVAL_SECS, MineError, Miner, NONCE_LIMIT, block_template};
pub use node::{Node, NodeError, OpenError, now_ms};
pub use peers::{
    BACKOFF_BASE_MS, BACKOFF_MAX_MS, BAN_DURATION_MS, BAN_THRESHOLD, Ban, Item, MAX_PEERS,
    PEERS_FILE, PeerInfo, Peers, client_address, client_ban_key, normalize_url, parse_peer_origin,
};
pub use service::{Background, MAX_MINE_BLOCKS};
