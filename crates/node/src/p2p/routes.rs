//! The server side of the peer protocol, mounted under `/p2p/v1` ([`router`]). Every route answers JSON;
//! malformed input gets a 4xx with the JSON error of the API ([`ApiError`]). Reads of the chain state run on
//! blocking threads, like everything that may wait for the state's lock or the database.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{RawQuery, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferrochain_core::{Block, BlockHash, Decode, Encode, Height};
use ferrochain_state::BlockOutcome;
use serde::de::DeserializeOwned;

use super::client::PeerClient;
use super::wire::{
    BlocksGetRequest, BlocksQuery, BlocksResponse, Handshake, HeadersQuery, HeadersResponse,
    PeersResponse, SubmitBlockRequest, SubmitBlockResponse, TipInfo,
};
use super::{
    MAX_BLOCKS_PER_RESPONSE, MAX_BLOCKS_RESPONSE_BYTES, MAX_HEADERS_PER_RESPONSE,
    MAX_LOCATOR_HASHES, PROTOCOL_VERSION, PeerError, describe_network,
};
use crate::api::ApiError;
use crate::api::extract::Body;
use crate::node::Node;
use crate::peers::{MAX_PEERS, Seen, normalize_url};

/// How long the handshake route waits for the caller's own URL to answer before giving up on adding it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `/p2p/v1` routes.
pub fn router() -> Router<Node> {
    Router::new()
        .route("/handshake", get(hello).post(handshake))
        .route("/headers", get(headers))
        .route("/blocks", get(blocks_from).post(submit_block))
        .route("/blocks/get", post(blocks_get))
        .route("/peers", get(peers))
}

/// Reads a query string into `T`, with a JSON error instead of axum's plain-text rejection.
fn query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request("invalid_query", format!("query string: {e}")))
}

fn parse_hash(text: &str) -> Result<BlockHash, ApiError> {
    text.trim().parse().map_err(|e| {
        ApiError::bad_request(
            "invalid_hash",
            format!("{:?} is not a block hash: {e}", text.trim()),
        )
    })
}

/// What a handshake says, as the peer list stores it.
pub(crate) fn seen(h: &Handshake) -> Seen {
    Seen {
        network_id: h.network_id,
        protocol_version: h.protocol_version,
        agent: h.agent.clone(),
        tip_hash: h.tip.hash,
        tip_height: h.tip.height,
        chain_work: h.tip.chain_work,
    }
}

/// Checks that a handshake is from this node's network and protocol.
///
/// # Errors
/// [`PeerError::WrongNetwork`], [`PeerError::WrongProtocol`].
pub(crate) fn check_compatible(node: &Node, theirs: &Handshake) -> Result<(), PeerError> {
    let ours = node.network().genesis_hash();
    if theirs.network_id != ours {
        return Err(PeerError::WrongNetwork {
            ours: describe_network(Some(&node.network().spec().name), &ours),
            theirs: describe_network(theirs.network.as_deref(), &theirs.network_id),
        });
    }
    if theirs.protocol_version != PROTOCOL_VERSION {
        return Err(PeerError::WrongProtocol {
            ours: PROTOCOL_VERSION,
            theirs: theirs.protocol_version,
        });
    }
    Ok(())
}

/// This node's own URL, normalised.
pub(crate) fn own_url(node: &Node) -> Option<String> {
    normalize_url(&node.config().public_url())
}

async fn hello(State(node): State<Node>) -> Json<Handshake> {
    Json(Handshake::of(&node, Some(node.config().public_url())))
}

async fn handshake(
    State(node): State<Node>,
    Body(theirs): Body<Handshake>,
) -> Result<Json<Handshake>, ApiError> {
    check_compatible(&node, &theirs)?;
    if let Some(raw) = theirs.url.as_deref().filter(|u| !u.trim().is_empty()) {
        let url = normalize_url(raw).ok_or_else(|| PeerError::BadUrl(raw.to_string()))?;
        if Some(&url) != own_url(&node).as_ref() {
            if node.peers().contains(&url) {
                node.peers().record_seen(&url, &seen(&theirs), false);
            } else if node.peers().len() < MAX_PEERS {
                // Only a URL that answers, on this network, becomes a peer: anyone can send a handshake.
                match tokio::time::timeout(PROBE_TIMEOUT, probe(&node, &url)).await {
                    Ok(Ok(probed)) => {
                        node.peers().record_seen(&url, &seen(&probed), true);
                        tracing::info!(peer = %url, "peer added by its handshake");
                    }
                    Ok(Err(e)) => tracing::info!(peer = %url, error = %e, "not adding peer"),
                    Err(_) => tracing::info!(peer = %url, "not adding peer: no answer in time"),
                }
            }
        }
    }
    Ok(Json(Handshake::of(&node, Some(node.config().public_url()))))
}

/// Asks `url` who it is and checks it is on this network.
async fn probe(node: &Node, url: &str) -> Result<Handshake, PeerError> {
    let client = PeerClient::new(url, node.network().spec().max_block_bytes as usize)?;
    let theirs = client.hello().await?;
    check_compatible(node, &theirs)?;
    Ok(theirs)
}

async fn headers(
    State(node): State<Node>,
    RawQuery(raw): RawQuery,
) -> Result<Json<HeadersResponse>, ApiError> {
    let q: HeadersQuery = query(raw)?;
    let locator = q
        .locator
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_hash)
        .collect::<Result<Vec<_>, _>>()?;
    if locator.len() > MAX_LOCATOR_HASHES {
        return Err(ApiError::bad_request(
            "locator_too_long",
            format!(
                "a locator has at most {MAX_LOCATOR_HASHES} hashes, got {}",
                locator.len()
            ),
        ));
    }
    let limit = q
        .limit
        .unwrap_or(MAX_HEADERS_PER_RESPONSE)
        .min(MAX_HEADERS_PER_RESPONSE);
    let answer = node
        .blocking(move |node| {
            let state = node.state();
            let start = locator
                .iter()
                .find(|h| state.is_active(h))
                .and_then(|h| state.header(h))
                .map_or(0, |r| r.header.height.0);
            let tip = TipInfo::of(&node);
            let mut headers = Vec::new();
            let mut prev = state.hash_at(Height(start));
            for height in (start + 1..=tip.height).take(limit) {
                let Some(rec) = state.hash_at(Height(height)).and_then(|h| state.header(&h)) else {
                    break;
                };
                // The chain may switch branches while this runs: stop where the links break.
                if Some(rec.header.prev_hash) != prev {
                    break;
                }
                prev = Some(rec.hash);
                headers.push(hex::encode(rec.header.to_array()));
            }
            HeadersResponse { headers, tip }
        })
        .await?;
    Ok(Json(answer))
}

/// Adds `block` to `out` unless the answer is full; returns whether it was added.
fn push_block(out: &mut BlocksResponse, size: &mut usize, block: &Block) -> bool {
    let hex = hex::encode(block.to_bytes());
    if !out.blocks.is_empty() && *size + hex.len() > MAX_BLOCKS_RESPONSE_BYTES {
        return false;
    }
    *size += hex.len();
    out.blocks.push(hex);
    true
}

async fn blocks_from(
    State(node): State<Node>,
    RawQuery(raw): RawQuery,
) -> Result<Json<BlocksResponse>, ApiError> {
    let q: BlocksQuery = query(raw)?;
    let from = parse_hash(&q.from_hash)?;
    let limit = q
        .limit
        .unwrap_or(MAX_BLOCKS_PER_RESPONSE)
        .min(MAX_BLOCKS_PER_RESPONSE);
    let answer = node
        .blocking(move |node| -> Result<BlocksResponse, ApiError> {
            let state = node.state();
            let start = match state.header(&from) {
                Some(rec) if state.is_active(&from) => rec.header.height.0,
                _ => {
                    return Err(ApiError::not_found(format!(
                        "block {from} is not on this node's active chain"
                    )));
                }
            };
            let mut out = BlocksResponse::default();
            let mut size = 0;
            for height in (start..).take(limit) {
                let block = state.block_at(Height(height)).map_err(ApiError::internal)?;
                match block {
                    Some(block) if push_block(&mut out, &mut size, &block) => {}
                    _ => break,
                }
            }
            Ok(out)
        })
        .await??;
    Ok(Json(answer))
}

async fn blocks_get(
    State(node): State<Node>,
    Body(req): Body<BlocksGetRequest>,
) -> Result<Json<BlocksResponse>, ApiError> {
    if req.hashes.len() > MAX_BLOCKS_PER_RESPONSE {
        return Err(ApiError::bad_request(
            "too_many_hashes",
            format!(
                "ask for at most {MAX_BLOCKS_PER_RESPONSE} blocks at a time, got {}",
                req.hashes.len()
            ),
        ));
    }
    let answer = node
        .blocking(move |node| -> Result<BlocksResponse, ApiError> {
            let mut out = BlocksResponse::default();
            let mut size = 0;
            for hash in req.hashes {
                match node.state().block(&hash).map_err(ApiError::internal)? {
                    Some(block) => {
                        if !push_block(&mut out, &mut size, &block) {
                            break;
                        }
                    }
                    None => out.missing.push(hash),
                }
            }
            Ok(out)
        })
        .await??;
    Ok(Json(answer))
}

/// Peers this node is syncing from because they announced a block with an unknown parent, keyed by this
/// node's URL and the peer's (so that repeated announcements start one sync, not many).
fn syncs_in_flight() -> &'static Mutex<HashSet<(String, String)>> {
    static IN_FLIGHT: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Starts a background sync from a known peer unless one is running; returns whether one was started.
fn sync_in_background(node: &Node, peer: String) -> bool {
    let key = (node.config().public_url(), peer.clone());
    {
        let mut set = syncs_in_flight().lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(key.clone()) {
            return false;
        }
    }
    let node = node.clone();
    tokio::spawn(async move {
        match super::sync_with(&node, &peer).await {
            Ok(report) => {
                tracing::info!(peer = %peer, connected = report.connected, "synced after an orphan block")
            }
            Err(e) => tracing::info!(peer = %peer, error = %e, "sync after an orphan block failed"),
        }
        syncs_in_flight()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
    true
}

async fn submit_block(
    State(node): State<Node>,
    request: Request,
) -> Result<Json<SubmitBlockResponse>, ApiError> {
    // A block may be as large as the network allows, in hex: this route has its own body limit.
    let limit = (node.network().spec().max_block_bytes as usize).saturating_mul(2) + 64 * 1024;
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("a block announcement is at most {limit} bytes"),
            )
        })?;
    let req: SubmitBlockRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("body: {e}")))?;
    let raw = hex::decode(req.hex.trim())
        .map_err(|e| ApiError::bad_request("invalid_hex", format!("hex: {e}")))?;
    let block = Block::from_bytes(&raw).map_err(|e| {
        ApiError::bad_request("invalid_block", format!("not a block encoding: {e}"))
    })?;
    let hash = block.hash();
    let outcome = node
        .blocking(move |node| node.submit_block(block))
        .await??;
    let (name, missing_parent, reorged) = match &outcome {
        BlockOutcome::AlreadyKnown => ("already_known", None, false),
        BlockOutcome::Orphan { missing_parent } => ("orphan", Some(*missing_parent), false),
        BlockOutcome::SideChain => ("side_chain", None, false),
        BlockOutcome::Connected(r) => ("connected", None, !r.disconnected.is_empty()),
    };
    let from = req.from.as_deref().and_then(normalize_url);
    let syncing = match (missing_parent, from) {
        (Some(_), Some(peer)) if node.peers().contains(&peer) => sync_in_background(&node, peer),
        _ => false,
    };
    Ok(Json(SubmitBlockResponse {
        outcome: name.to_string(),
        hash,
        missing_parent,
        reorged,
        syncing,
        tip: TipInfo::of(&node),
    }))
}

async fn peers(State(node): State<Node>) -> Json<PeersResponse> {
    Json(PeersResponse {
        peers: node.peers().all(),
    })
}
