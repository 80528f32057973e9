//! The server side of the peer protocol, mounted under `/p2p/v1` ([`router`]). Every route answers JSON;
//! malformed input gets a 4xx with the JSON error of the API ([`ApiError`]). Reads of the chain state run on
//! blocking threads, like everything that may wait for the state's lock or the database.
//!
//! Requests that name their sender (`url` of a handshake, `from` of an announcement) are refused with 403
//! `peer_banned` while that URL is banned. Invalid data in an announcement scores its sender — but only when
//! the request really comes from the sender's address ([`attributable`]), so that nobody can get an honest
//! peer banned by naming it. A block that is only *early* (its time too far ahead of this node's clock) is
//! not invalid data: it is refused with 400 `block_not_yet` and nobody is scored ([`block_is_misbehaviour`]).

use ferrochain_node::ErrorCode;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferrochain_core::check::TxError;
use ferrochain_core::{Block, BlockHash, Decode, Height, Transaction};
use ferrochain_state::{BlockOutcome, MempoolError, Source, StateError};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::extract::{Body, Owner};
use ferrochain_node::p2p::client::PeerClient;
use ferrochain_node::p2p::wire::{
    BanRequest, BlocksGetRequest, BlocksQuery, BlocksResponse, Handshake, HeadersQuery,
    HeadersResponse, PeersResponse, SubmitBlockRequest, SubmitBlockResponse, SubmitTxsRequest,
    SubmitTxsResponse, TipInfo, TxOutcome, UnbanRequest,
};
use ferrochain_node::p2p::{
    MAX_BLOCKS_PER_RESPONSE, MAX_BLOCKS_RESPONSE_BYTES, MAX_HEADERS_PER_RESPONSE,
    MAX_LOCATOR_HASHES, MAX_TXS_PER_ANNOUNCEMENT, PeerError, SCORE_INVALID, attributable, own_url,
};
use ferrochain_node::{BAN_DURATION_MS, Item, MAX_PEERS, normalize_url};
use ferrochain_node::{Node, NodeError};

/// How long the handshake route waits for the caller's own URL to answer before giving up on adding it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `/p2p/v1` routes.
pub fn router() -> Router<Node> {
    Router::new()
        .route("/handshake", get(hello).post(handshake))
        .route("/headers", get(headers))
        .route("/blocks", get(blocks_from).post(submit_block))
        .route("/blocks/get", post(blocks_get))
        .route("/txs", post(submit_txs))
        .route("/peers", get(peers))
        .route("/peers/ban", post(ban))
        .route("/peers/unban", post(unban))
}

/// The caller's socket address, when the server knows it (served with connect info, or a test's
/// `MockConnectInfo`).
#[derive(Clone, Copy, Debug)]
pub struct Remote(pub Option<SocketAddr>);

impl FromRequestParts<Node> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        node: &Node,
    ) -> Result<Self, Self::Rejection> {
        Ok(Remote(
            ConnectInfo::<SocketAddr>::from_request_parts(parts, node)
                .await
                .ok()
                .map(|ConnectInfo(a)| a),
        ))
    }
}

/// The sender named in a request, normalised, refused when banned.
fn sender(node: &Node, from: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(url) = from.and_then(normalize_url) else {
        return Ok(None);
    };
    ferrochain_node::p2p::check_not_banned(node, &url)?;
    Ok(Some(url))
}

/// Whether a block refused for `error` proves its sender dishonest: it breaks a consensus rule, or descends
/// from a block that does. A block that is not valid *yet* (too far in the future, [`StateError::NotYet`]) is
/// not: clocks of honest nodes differ, and a strike would ban a peer for one skewed clock.
fn block_is_misbehaviour(error: &NodeError) -> bool {
    matches!(
        error,
        NodeError::State(StateError::InvalidBlock { .. } | StateError::KnownInvalid(_))
    )
}

/// Who sent a block, for the chain state's record of senders of bad blocks: the `from` peer when the request
/// comes from its address, else the client's address.
async fn block_source(from: Option<&str>, remote: Option<SocketAddr>) -> Option<Source> {
    match (from, remote) {
        (Some(url), _) if attributable(url, remote).await => Some(Source::new(url)),
        (_, Some(addr)) => Some(Source::new(addr.ip().to_string())),
        _ => None,
    }
}

/// Scores the sender of invalid data, if it can be blamed; returns whether it is banned now. Callers decide
/// what is invalid data ([`block_is_misbehaviour`], [`tx_error_is_misbehaviour`]): never a block that is only
/// early.
async fn blame(
    node: &Node,
    from: Option<&str>,
    remote: Option<SocketAddr>,
    points: u32,
    reason: &str,
) -> bool {
    match from {
        Some(url) if attributable(url, remote).await => {
            node.peers().misbehaved(url, points, reason).is_some()
        }
        // A sender that names no peer URL, or one it does not come from, is scored by its address (never
        // loopback: that is the owner's own machine, where a devnet's nodes share one address).
        _ => match remote {
            Some(addr) if !addr.ip().is_loopback() => node
                .peers()
                .misbehaved(&ferrochain_node::client_ban_key(addr.ip()), points, reason)
                .is_some(),
            _ => false,
        },
    }
}

/// Reads a query string into `T`, with a JSON error instead of axum's plain-text rejection.
fn query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, format!("query string: {e}")))
}

fn parse_hash(text: &str) -> Result<BlockHash, ApiError> {
    text.trim().parse().map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidHash,
            format!("{:?} is not a block hash: {e}", text.trim()),
        )
    })
}

async fn hello(State(node): State<Node>) -> Json<Handshake> {
    Json(Handshake::of(&node, Some(node.config().public_url())))
}

async fn handshake(
    State(node): State<Node>,
    Body(theirs): Body<Handshake>,
) -> Result<Json<Handshake>, ApiError> {
    theirs.check_compatible(&node)?;
    if let Some(raw) = theirs.url.as_deref().filter(|u| !u.trim().is_empty()) {
        let url = PeerError::origin(raw)?;
        ferrochain_node::p2p::check_not_banned(&node, &url)?;
        if Some(&url) != own_url(&node).as_ref() && !theirs.is_from(&node) {
            if node.peers().contains(&url) {
                node.peers().record_seen(&url, &theirs.seen(), false);
            } else if node.peers().len() < MAX_PEERS {
                // Only a URL that answers, on this network, becomes a peer: anyone can send a handshake.
                match tokio::time::timeout(PROBE_TIMEOUT, probe(&node, &url)).await {
                    Ok(Ok(probed)) => {
                        node.peers().record_seen(&url, &probed.seen(), true);
                        tracing::info!(peer = %url, "peer added by its handshake");
                    }
                    Ok(Err(e)) => tracing::info!(peer = %url, error = %e, "not adding peer"),
                    Err(_) => tracing::info!(peer = %url, "not adding peer: no answer in time"),
                }
            }
            // A known peer that claims more work than ours is synced from (the sync checks the claim).
            if node.peers().contains(&url) && theirs.tip.chain_work > node.state().tip().chain_work
            {
                ferrochain_node::p2p::net::sync_in_background(&node, url);
            }
        }
    }
    Ok(Json(Handshake::of(&node, Some(node.config().public_url()))))
}

/// Asks `url` who it is and checks it is on this network and is not this node under another name.
async fn probe(node: &Node, url: &str) -> Result<Handshake, PeerError> {
    PeerClient::new(node, url)?.hello_checked(node).await
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
            ErrorCode::LocatorTooLong,
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
fn push_block(out: &mut BlocksResponse, size: &mut usize, bytes: &[u8]) -> bool {
    let hex = hex::encode(bytes);
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
            // The active chain's hashes from the view, then their stored bytes through one connection.
            let hashes: Vec<BlockHash> = (start..)
                .take(limit)
                .map_while(|h| state.hash_at(Height(h)))
                .collect();
            state
                .block_bytes(hashes, |_, bytes| {
                    bytes.is_some_and(|b| push_block(&mut out, &mut size, &b))
                })
                .map_err(ApiError::internal)?;
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
            ErrorCode::TooManyHashes,
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
            node.state()
                .block_bytes(req.hashes, |hash, bytes| match bytes {
                    Some(b) => push_block(&mut out, &mut size, &b),
                    None => {
                        out.missing.push(hash);
                        true
                    }
                })
                .map_err(ApiError::internal)?;
            Ok(out)
        })
        .await??;
    Ok(Json(answer))
}

async fn submit_block(
    State(node): State<Node>,
    Remote(remote): Remote,
    request: Request,
) -> Result<Json<SubmitBlockResponse>, ApiError> {
    // A block may be as large as the network allows, in hex: this route has its own body limit.
    let limit = (node.network().spec().max_block_bytes as usize).saturating_mul(2) + 64 * 1024;
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BodyTooLarge,
                format!("a block announcement is at most {limit} bytes"),
            )
        })?;
    let req: SubmitBlockRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidJson, format!("body: {e}")))?;
    let from = sender(&node, req.from.as_deref())?;
    let block = match hex::decode(req.hex.trim())
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidHex, format!("hex: {e}")))
        .and_then(|raw| {
            // The same code as the REST API's `POST /api/v1/blocks` for bytes that are no block.
            Block::from_bytes(&raw).map_err(|e| {
                ApiError::bad_request(
                    ErrorCode::InvalidEncoding,
                    format!("not a block encoding: {e}"),
                )
            })
        }) {
        Ok(block) => block,
        Err(e) => {
            blame(
                &node,
                from.as_deref(),
                remote,
                SCORE_INVALID,
                "a malformed block",
            )
            .await;
            return Err(e);
        }
    };
    let hash = block.hash();
    node.peers()
        .note_received(Item::Block(hash), from.as_deref());
    let source = block_source(from.as_deref(), remote).await;
    let submitted = node
        .blocking(move |node| match source {
            Some(source) => node.submit_block_from(block, &source),
            None => node.submit_block(block),
        })
        .await?;
    let outcome = match submitted {
        Ok(outcome) => outcome,
        Err(e) if block_is_misbehaviour(&e) => {
            let reason = format!("an invalid block: {e}");
            blame(&node, from.as_deref(), remote, SCORE_INVALID, &reason).await;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let (name, missing_parent, reorged) = match &outcome {
        BlockOutcome::AlreadyKnown => ("already_known", None, false),
        BlockOutcome::Orphan { missing_parent } => ("orphan", Some(*missing_parent), false),
        BlockOutcome::SideChain => ("side_chain", None, false),
        BlockOutcome::HeaderOnly => ("header_only", None, false),
        BlockOutcome::Connected(r) => ("connected", None, !r.disconnected.is_empty()),
    };
    let syncing = match (missing_parent, from) {
        (Some(_), Some(peer)) if node.peers().contains(&peer) => {
            ferrochain_node::p2p::net::sync_in_background(&node, peer)
        }
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

/// Whether a transaction refused for `error` proves its sender dishonest: it is invalid whatever the chain
/// (a bad signature, a key that does not own the output, outputs worth more than the inputs, a malformed
/// transaction), not merely late or conflicting.
fn tx_error_is_misbehaviour(error: &NodeError) -> bool {
    match error {
        NodeError::State(StateError::Mempool(MempoolError::Invalid(e))) => !matches!(
            e,
            TxError::MissingOrSpentInput { .. }
                | TxError::DoubleSpendInBlock { .. }
                | TxError::ImmatureCoinbase { .. }
                | TxError::AlreadyInChain(_)
        ),
        _ => false,
    }
}

async fn submit_txs(
    State(node): State<Node>,
    Remote(remote): Remote,
    Body(req): Body<SubmitTxsRequest>,
) -> Result<Json<SubmitTxsResponse>, ApiError> {
    let from = sender(&node, req.from.as_deref())?;
    let hexes: Vec<String> = req.hex.into_iter().chain(req.txs).collect();
    if hexes.len() > MAX_TXS_PER_ANNOUNCEMENT {
        return Err(ApiError::bad_request(
            ErrorCode::TooManyTransactions,
            format!(
                "announce at most {MAX_TXS_PER_ANNOUNCEMENT} transactions at a time, got {}",
                hexes.len()
            ),
        ));
    }
    let mut results: Vec<TxOutcome> = Vec::with_capacity(hexes.len());
    let mut decoded: Vec<(usize, Transaction)> = Vec::new();
    let mut malformed = 0;
    for (i, hex) in hexes.iter().enumerate() {
        let tx = hex::decode(hex.trim())
            .map_err(|e| format!("hex: {e}"))
            .and_then(|raw| {
                Transaction::from_bytes(&raw).map_err(|e| format!("not a transaction: {e}"))
            });
        match tx {
            Ok(tx) => {
                decoded.push((i, tx));
                results.push(TxOutcome {
                    txid: None,
                    outcome: String::new(),
                    error: None,
                });
            }
            Err(error) => {
                malformed += 1;
                results.push(TxOutcome {
                    txid: None,
                    outcome: "rejected".into(),
                    error: Some(error),
                });
            }
        }
    }
    let origin = from.clone();
    let outcomes = node
        .blocking(move |node| {
            decoded
                .into_iter()
                .map(|(i, tx)| {
                    let txid = tx.txid();
                    node.peers()
                        .note_received(Item::Tx(txid), origin.as_deref());
                    (i, txid, node.submit_transaction(tx))
                })
                .collect::<Vec<_>>()
        })
        .await?;
    let mut invalid = malformed;
    let mut accepted = 0;
    for (i, txid, result) in outcomes {
        let slot = &mut results[i];
        slot.txid = Some(txid);
        match result {
            Ok(_) => {
                accepted += 1;
                slot.outcome = "accepted".into();
            }
            Err(NodeError::State(StateError::Mempool(
                MempoolError::AlreadyInPool(_) | MempoolError::AlreadyInChain(_),
            ))) => slot.outcome = "already_known".into(),
            Err(e) => {
                if tx_error_is_misbehaviour(&e) {
                    invalid += 1;
                }
                slot.outcome = "rejected".into();
                slot.error = Some(e.to_string());
            }
        }
    }
    if invalid > 0 {
        let reason = format!("{invalid} invalid or malformed transactions");
        blame(&node, from.as_deref(), remote, SCORE_INVALID, &reason).await;
    }
    Ok(Json(SubmitTxsResponse { results, accepted }))
}

async fn peers(State(node): State<Node>) -> Json<PeersResponse> {
    Json(PeersResponse {
        peers: node.peers().all(),
        banned: node.peers().bans(),
    })
}

fn peer_url(given: &str) -> Result<String, ApiError> {
    PeerError::origin(given).map_err(Into::into)
}

/// `POST /p2p/v1/peers/ban` (owner): bans a peer — no exchange with it either way — for `seconds` (default
/// an hour).
async fn ban(
    State(node): State<Node>,
    _owner: Owner,
    Body(req): Body<BanRequest>,
) -> Result<Json<ferrochain_node::Ban>, ApiError> {
    let url = peer_url(&req.url)?;
    let duration = req
        .seconds
        .map_or(BAN_DURATION_MS, |s| s.saturating_mul(1000));
    let reason = req.reason.unwrap_or_else(|| "banned by the owner".into());
    Ok(Json(node.ban_peer(&url, duration, &reason)))
}

/// `POST /p2p/v1/peers/unban` (owner): lifts a ban and, unless `reconnect` is `false`, registers the peer
/// again (handshake both ways; it is then announced this node's tip and synced from if it has more work).
async fn unban(
    State(node): State<Node>,
    _owner: Owner,
    Body(req): Body<UnbanRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let url = peer_url(&req.url)?;
    let was_banned = node.unban_peer(&url);
    let mut answer = serde_json::json!({ "url": url, "was_banned": was_banned });
    if req.reconnect.unwrap_or(true) {
        match node.register_peer(&url).await {
            Ok(_) => answer["reconnected"] = true.into(),
            Err(e) => {
                answer["reconnected"] = false.into();
                answer["error"] = e.to_string().into();
            }
        }
    }
    Ok(Json(answer))
}
