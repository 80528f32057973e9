//! The JSON messages of the peer-to-peer routes (`docs/p2p.md` has examples).
//!
//! Hashes are 64 hex digits, cumulative work a decimal string (it does not fit a JSON number), headers and
//! blocks hex of their canonical encoding (a header is 96 bytes, so 192 hex digits).

use ferrochain_core::{BlockHash, Txid, Work};

use super::PeerError;
use crate::node::Node;
use crate::peers::Seen;

/// A node's tip as it announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TipInfo {
    /// The tip's hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: BlockHash,
    /// Its height.
    pub height: u64,
    /// Cumulative work of the chain up to it (decimal).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub chain_work: Work,
}

impl TipInfo {
    /// The active tip of `node`.
    pub fn of(node: &Node) -> TipInfo {
        let tip = node.state().tip();
        TipInfo {
            hash: tip.hash,
            height: tip.height.0,
            chain_work: tip.chain_work,
        }
    }
}

/// `POST /p2p/v1/handshake` (request and answer) and `GET /p2p/v1/handshake` (answer): who a node is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handshake {
    /// The network id: the genesis hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub network_id: BlockHash,
    /// The network's name (for messages only; the id decides).
    #[serde(default)]
    pub network: Option<String>,
    /// The protocol version ([`super::PROTOCOL_VERSION`]).
    pub protocol_version: u32,
    /// The sender's tip (a claim: never trusted for sync decisions).
    pub tip: TipInfo,
    /// The URL the sender is reached at; when given, the receiver checks it answers and adds it as a peer.
    #[serde(default)]
    pub url: Option<String>,
    /// The sender's software.
    #[serde(default)]
    pub agent: String,
    /// The sender's nonce for this run ([`Node::nonce`]): a node that receives its own nonce is talking to
    /// itself. Optional on the wire (older nodes and hand-written handshakes omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
}

impl Handshake {
    /// `node`'s handshake, announcing `url` (normally `config.public_url()`).
    pub fn of(node: &Node, url: Option<String>) -> Handshake {
        Handshake {
            network_id: node.network().genesis_hash(),
            network: Some(node.network().spec().name.clone()),
            protocol_version: super::PROTOCOL_VERSION,
            tip: TipInfo::of(node),
            url,
            agent: super::AGENT.to_string(),
            nonce: Some(node.nonce()),
        }
    }

    /// Whether this handshake is `node`'s own: it carries `node`'s nonce, or announces `node`'s own URL.
    pub fn is_from(&self, node: &Node) -> bool {
        self.nonce == Some(node.nonce())
            || (self.url.is_some()
                && self.url.as_deref().and_then(crate::peers::normalize_url)
                    == super::own_url(node))
    }
}

impl Handshake {
    /// Checks that this handshake is from `node`'s network and protocol.
    ///
    /// # Errors
    /// [`PeerError::WrongNetwork`] (naming both networks), [`PeerError::WrongProtocol`].
    pub fn check_compatible(&self, node: &Node) -> Result<(), PeerError> {
        let ours = node.network().genesis_hash();
        if self.network_id != ours {
            return Err(PeerError::WrongNetwork {
                ours: describe_network(Some(&node.network().spec().name), &ours),
                theirs: describe_network(self.network.as_deref(), &self.network_id),
            });
        }
        if self.protocol_version != super::PROTOCOL_VERSION {
            return Err(PeerError::WrongProtocol {
                ours: super::PROTOCOL_VERSION,
                theirs: self.protocol_version,
            });
        }
        Ok(())
    }

    /// What this handshake says, as the peer list stores it.
    pub fn seen(&self) -> Seen {
        Seen {
            network_id: self.network_id,
            protocol_version: self.protocol_version,
            agent: self.agent.clone(),
            tip_hash: self.tip.hash,
            tip_height: self.tip.height,
            chain_work: self.tip.chain_work,
        }
    }
}

/// Describes a network for messages: its name (when known) and genesis hash.
fn describe_network(name: Option<&str>, id: &BlockHash) -> String {
    match name {
        Some(name) => format!("{name:?} (genesis {id})"),
        None => format!("with genesis {id}"),
    }
}

/// Query of `GET /p2p/v1/headers`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeadersQuery {
    /// Comma-separated block hashes, newest first ([`super::sync::locator_heights`]).
    #[serde(default)]
    pub locator: String,
    /// Most headers wanted (at most [`super::MAX_HEADERS_PER_RESPONSE`], the default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Answer of `GET /p2p/v1/headers`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeadersResponse {
    /// The active-chain headers after the first locator hash on the active chain (after genesis if none),
    /// lowest first, each as 192 hex digits.
    pub headers: Vec<String>,
    /// The answering node's tip.
    pub tip: TipInfo,
}

/// Query of `GET /p2p/v1/blocks`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlocksQuery {
    /// The first block wanted; it and the active-chain blocks after it are sent.
    pub from_hash: String,
    /// Most blocks wanted (at most [`super::MAX_BLOCKS_PER_RESPONSE`], the default).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Body of `POST /p2p/v1/blocks/get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlocksGetRequest {
    /// The blocks wanted, in the order they should come (at most [`super::MAX_BLOCKS_PER_RESPONSE`]).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub hashes: Vec<BlockHash>,
}

/// Answer of `GET /p2p/v1/blocks` and `POST /p2p/v1/blocks/get`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlocksResponse {
    /// Blocks as hex of their canonical encoding, in the order asked. The answer may stop early (size
    /// limit): ask again for the rest.
    pub blocks: Vec<String>,
    /// Hashes asked for that this node does not have (`POST /p2p/v1/blocks/get` only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    #[serde(default)]
    pub missing: Vec<BlockHash>,
}

/// Body of `POST /p2p/v1/blocks`: a block announced (or pushed) by a peer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitBlockRequest {
    /// The block as hex of its canonical encoding.
    pub hex: String,
    /// The sender's URL. When the block's parent is unknown and the sender is a known peer, this node syncs
    /// from it in the background.
    #[serde(default)]
    pub from: Option<String>,
}

/// Answer of `POST /p2p/v1/blocks`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitBlockResponse {
    /// `connected`, `side_chain`, `header_only` (on a branch with less work: only its header kept), `orphan` or
    /// `already_known`.
    pub outcome: String,
    /// The block's hash.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: BlockHash,
    /// For `orphan`: the parent this node is missing.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_parent: Option<BlockHash>,
    /// Whether the active chain switched branches.
    pub reorged: bool,
    /// Whether a background sync from `from` was started.
    pub syncing: bool,
    /// This node's tip after the block.
    pub tip: TipInfo,
}

/// Answer of `GET /p2p/v1/peers`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeersResponse {
    /// The known peers.
    pub peers: Vec<crate::peers::PeerInfo>,
    /// The bans in force.
    #[serde(default)]
    pub banned: Vec<crate::peers::Ban>,
}

/// Body of `POST /p2p/v1/txs`: transactions announced by a peer (or a client).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitTxsRequest {
    /// One transaction as hex of its canonical encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Several, in order (parents before children); at most [`super::MAX_TXS_PER_ANNOUNCEMENT`] with `hex`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub txs: Vec<String>,
    /// The sender's URL (relay does not send the transactions back to it).
    #[serde(default)]
    pub from: Option<String>,
}

/// What became of one announced transaction.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxOutcome {
    /// Its id (absent when it did not decode).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub txid: Option<Txid>,
    /// `accepted` (new in the mempool, relayed on), `already_known` (in the mempool or the chain) or
    /// `rejected`.
    pub outcome: String,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Answer of `POST /p2p/v1/txs`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitTxsResponse {
    /// One outcome per transaction, in order.
    pub results: Vec<TxOutcome>,
    /// How many were accepted.
    pub accepted: usize,
}

/// Body of `POST /p2p/v1/peers/ban` (owner).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BanRequest {
    /// The peer's URL.
    pub url: String,
    /// How long, in seconds (default an hour).
    #[serde(default)]
    pub seconds: Option<u64>,
    /// Why (shown in the peer list).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST /p2p/v1/peers/unban` (owner).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnbanRequest {
    /// The peer's URL.
    pub url: String,
    /// Register the peer again at once (handshake both ways), default `true`.
    #[serde(default)]
    pub reconnect: Option<bool>,
}
