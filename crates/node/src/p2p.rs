//! Peer-to-peer networking between nodes over HTTP/JSON (DESIGN §5, `docs/p2p.md`).
//!
//! Nodes talk plain HTTP so that a learner can watch them with curl. Block and header bodies travel as hex of
//! their canonical encoding (`docs/protocol.md` §1), so what one node sends is exactly what it hashed.
//!
//! # Layout
//! - [`wire`]: the JSON messages (handshake, headers, blocks, announcements, peer list).
//! - The server side (the `/p2p/v1` routes) is in the HTTP crate; it answers with these messages.
//! - [`client`]: the client side: one HTTP client with time limits and a response-size cap per operation.
//! - [`sync`]: registering peers ([`register_peer`]), headers-first sync with one peer ([`sync_with`]) and with
//!   every known peer ([`resolve`]).
//! - [`net`]: the node's network task ([`net::start`]): connecting to known peers at start, the periodic poll,
//!   peer-list exchange, background syncs, saving the peer list.
//! - [`relay`]: announcing newly accepted blocks and transactions to every peer once, through one worker per
//!   peer, so that a slow or dead peer delays nobody else.
//!
//! # Trust
//! Nothing a peer *claims* (its height, its cumulative work) decides anything: headers are checked (proof of
//! work, linkage) and their work summed here, bodies are fetched only for a branch with more work than ours,
//! and every block is validated in full by the chain state before it counts. A peer that sends invalid data is
//! scored and banned ([`crate::peers::Peers::misbehaved`]); a peer whose headers do not show the work it
//! claimed is scored too.

pub mod client;
pub mod net;
pub mod relay;
pub mod sync;
pub mod wire;

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
/// Time limit of a block or transaction announcement to a peer.
pub const ANNOUNCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
pub use crate::peers::{BACKGROUND_SYNCS, OUTGOING_CONCURRENCY};
/// Most transactions in one `POST /p2p/v1/txs`.
pub const MAX_TXS_PER_ANNOUNCEMENT: usize = 1000;
/// Misbehaviour points for invalid data (a bad header or block, malformed or oversized answers): a ban at
/// once.
pub const SCORE_INVALID: u32 = crate::peers::BAN_THRESHOLD;
/// Misbehaviour points for claiming more work than the headers show (two strikes: a ban).
pub const SCORE_FALSE_CLAIM: u32 = crate::peers::BAN_THRESHOLD / 2;

/// Why an exchange with a peer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The text is not a peer origin (`scheme://host:port`, nothing more).
    #[error(
        "{url:?} is not a peer address: {reason}; give only scheme://host:port, e.g. http://127.0.0.1:5001"
    )]
    BadUrl {
        /// The text given.
        url: String,
        /// What is wrong with it ([`crate::peers::parse_peer_origin`]).
        reason: String,
    },
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
    /// The peer answered with an HTTP error. Only the status (and the error code of this protocol, when the
    /// answer carries one of [`crate::ErrorCode`]'s) is kept: the text of a failed answer is never passed on,
    /// so a peer address cannot turn this node into a reader of other servers (issue 13).
    #[error("peer answered {status}{}", code.map(|c| format!(" ({})", c.as_str())).unwrap_or_default())]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The answer's error code, when it is one this node knows.
        code: Option<crate::ErrorCode>,
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
    /// The peer is banned by this node (it sent invalid data, or the owner banned it).
    #[error("peer {url} is banned until {until_ms} (ms since the Unix epoch): {reason}")]
    Banned {
        /// The peer.
        url: String,
        /// When the ban ends.
        until_ms: u64,
        /// Why it was banned.
        reason: String,
    },
}

impl PeerError {
    /// A stable machine-readable code (`peer_unreachable`, `wrong_network`, ...).
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            PeerError::BadUrl { .. } => ErrorCode::InvalidUrl,
            PeerError::Itself(_) => ErrorCode::PeerIsSelf,
            PeerError::Unreachable { .. } => ErrorCode::PeerUnreachable,
            PeerError::WrongNetwork { .. } => ErrorCode::WrongNetwork,
            PeerError::WrongProtocol { .. } => ErrorCode::WrongProtocol,
            PeerError::Http { .. } => ErrorCode::PeerHttpError,
            PeerError::InvalidData { .. } => ErrorCode::PeerInvalidData,
            PeerError::TooLarge { .. } => ErrorCode::PeerAnswerTooLarge,
            PeerError::Local(_) => ErrorCode::Internal,
            PeerError::Banned { .. } => ErrorCode::PeerBanned,
        }
    }

    /// Whether the peer is to blame: it sent malformed, invalid or oversized data.
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            PeerError::InvalidData { .. } | PeerError::TooLarge { .. }
        )
    }

    /// Reads `text` as a peer origin ([`crate::peers::parse_peer_origin`]).
    ///
    /// # Errors
    /// [`PeerError::BadUrl`] with the reason.
    pub fn origin(text: &str) -> Result<String, PeerError> {
        crate::peers::parse_peer_origin(text).map_err(|reason| PeerError::BadUrl {
            url: text.chars().take(200).collect(),
            reason,
        })
    }

    /// The error for a banned URL.
    pub fn banned(ban: crate::peers::Ban) -> PeerError {
        PeerError::Banned {
            url: ban.url,
            until_ms: ban.until_ms,
            reason: ban.reason,
        }
    }
}

/// This node's own URL (`config.public_url()`), normalised.
pub fn own_url(node: &crate::node::Node) -> Option<String> {
    crate::peers::normalize_url(&node.config().public_url())
}

/// Scores `url` for `error` when the error is the peer's fault ([`PeerError::is_misbehaviour`]); returns
/// whether the peer is banned now.
pub fn punish(node: &crate::node::Node, url: &str, error: &PeerError) -> bool {
    if !error.is_misbehaviour() {
        return false;
    }
    node.peers()
        .misbehaved(url, SCORE_INVALID, &error.to_string())
        .is_some()
}

/// Refuses a banned URL.
///
/// # Errors
/// [`PeerError::Banned`].
pub fn check_not_banned(node: &crate::node::Node, url: &str) -> Result<(), PeerError> {
    match node.peers().banned(url) {
        Some(ban) => Err(PeerError::banned(ban)),
        None => Ok(()),
    }
}

/// Whether a request from `remote` may be blamed on the peer at `url`: the URL's host is (or resolves to) the
/// address the request came from. Without a known remote address (in-process tests) it may.
pub async fn attributable(url: &str, remote: Option<std::net::SocketAddr>) -> bool {
    let Some(remote) = remote else { return true };
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let same =
        |ip: std::net::IpAddr| ip == remote.ip() || (ip.is_loopback() && remote.ip().is_loopback());
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return same(ip);
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    match tokio::time::timeout(
        std::time::Duration::from_secs(2),
        tokio::net::lookup_host((host, port)),
    )
    .await
    {
        Ok(Ok(mut addrs)) => addrs.any(|a| same(a.ip())),
        _ => false,
    }
}
