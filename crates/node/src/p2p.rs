//! Peer-to-peer networking between nodes over HTTP/JSON (DESIGN §5, `docs/p2p.md`).
//!
//! Nodes talk plain HTTP so that a learner can watch them with curl. Block and header bodies travel as hex of
//! their canonical encoding (`docs/protocol.md` §1), so what one node sends is exactly what it hashed.
//!
//! # Layout
//! - [`wire`]: the JSON messages (handshake, headers, blocks, announcements, peer list).
//! - [`routes`]: the server side, mounted under `/p2p/v1` ([`router`]).
//! - [`client`]: the client side: one HTTP client with time limits and a response-size cap per operation.
//! - [`sync`]: registering peers ([`register_peer`]), headers-first sync with one peer ([`sync_with`]) and with
//!   every known peer ([`resolve`]).
//!
//! # Trust
//! Nothing a peer *claims* (its height, its cumulative work) decides anything: headers are checked (proof of
//! work, linkage) and their work summed here, bodies are fetched only for a branch with more work than ours,
//! and every block is validated in full by the chain state before it counts.
//!
//! Relay, peer-list exchange, scoring, bans, back-off, periodic polling and `ferrochain devnet` come later
//! (see "Not done yet" in `docs/p2p.md`).

pub mod client;
pub mod routes;
pub mod sync;
pub mod wire;

use axum::http::StatusCode;

pub use routes::router;
pub use sync::{
    SyncOptions, SyncReport, locator_heights, register_peer, resolve, sync_with, sync_with_options,
};
pub use wire::{Handshake, TipInfo};

/// The version of this protocol. A peer with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// The software name and version this node announces.
pub const AGENT: &str = concat!("ferrochain/", env!("CARGO_PKG_VERSION"));
/// Most headers in one `/p2p/v1/headers` answer (and the default when no limit is given).
pub const MAX_HEADERS_PER_RESPONSE: usize = 2000;
/// Most blocks in one `/p2p/v1/blocks` answer (and the default when no limit is given).
pub const MAX_BLOCKS_PER_RESPONSE: usize = 500;
/// A `/p2p/v1/blocks` answer stops adding blocks once their hex reaches this many bytes (one block is always
/// sent, however large, so that a sync always makes progress).
pub const MAX_BLOCKS_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Most hashes in a block locator.
pub const MAX_LOCATOR_HASHES: usize = 101;
/// Time limit for connecting to a peer.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Time limit for a whole request to a peer, body included.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Largest answer read from a peer for small messages (handshake, headers, peers).
pub const MAX_SMALL_RESPONSE_BYTES: usize = 2 * 1024 * 1024;
/// Most peers synced with at the same time by [`resolve`].
pub const RESOLVE_CONCURRENCY: usize = 8;

/// Why an exchange with a peer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The URL is not a plausible `http://host:port` URL.
    #[error("{0:?} is not a peer URL (expected http://host:port)")]
    BadUrl(String),
    /// The URL is this node's own.
    #[error("{0} is this node itself")]
    Itself(String),
    /// The peer could not be reached (refused, no route, timed out).
    #[error("peer {url} is unreachable: {reason}")]
    Unreachable {
        /// The peer.
        url: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The peer is on another network.
    #[error("peer is on network {theirs}, this node is on {ours}")]
    WrongNetwork {
        /// This node's network (name and genesis hash).
        ours: String,
        /// The peer's network (name and genesis hash).
        theirs: String,
    },
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {theirs}, this node speaks {ours}")]
    WrongProtocol {
        /// This node's version.
        ours: u32,
        /// The peer's version.
        theirs: u32,
    },
    /// The peer answered with an HTTP error.
    #[error("peer answered {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The peer's error message, if it sent one.
        message: String,
    },
    /// The peer sent data that is malformed or invalid (bad JSON or hex, a header without proof of work, a
    /// broken chain, an invalid block). Nothing after the bad item was used.
    #[error("peer sent invalid data: {reason}")]
    InvalidData {
        /// What was wrong.
        reason: String,
    },
    /// The peer's answer was larger than this node reads.
    #[error("peer's answer is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// This node failed while storing what the peer sent (database, task); not the peer's fault.
    #[error("this node failed: {0}")]
    Local(String),
}

impl PeerError {
    /// The HTTP status a route answers with when this error is the reason it failed.
    pub fn status(&self) -> StatusCode {
        match self {
            PeerError::BadUrl(_)
            | PeerError::Itself(_)
            | PeerError::WrongNetwork { .. }
            | PeerError::WrongProtocol { .. } => StatusCode::BAD_REQUEST,
            PeerError::Local(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// A stable machine-readable code (`peer_unreachable`, `wrong_network`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            PeerError::BadUrl(_) => "invalid_url",
            PeerError::Itself(_) => "peer_is_self",
            PeerError::Unreachable { .. } => "peer_unreachable",
            PeerError::WrongNetwork { .. } => "wrong_network",
            PeerError::WrongProtocol { .. } => "wrong_protocol",
            PeerError::Http { .. } => "peer_http_error",
            PeerError::InvalidData { .. } => "peer_invalid_data",
            PeerError::TooLarge { .. } => "peer_answer_too_large",
            PeerError::Local(_) => "internal",
        }
    }
}

impl From<PeerError> for crate::api::ApiError {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::Local(cause) => crate::api::ApiError::internal(cause),
            other => crate::api::ApiError::new(other.status(), other.code(), other.to_string()),
        }
    }
}

/// Describes a network for messages: its name (when known) and genesis hash.
pub(crate) fn describe_network(name: Option<&str>, id: &ferrochain_core::BlockHash) -> String {
    match name {
        Some(name) => format!("{name:?} (genesis {id})"),
        None => format!("with genesis {id}"),
    }
}
