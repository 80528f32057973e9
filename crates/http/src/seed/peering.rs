//! The peer routes of A (`/nodes/register`, `/nodes/resolve`), B (`/blockchain/nodes/*`) and C
//! (`/register_node`, `/register_with`), on top of the node's peer-to-peer layer: registering is a handshake
//! both ways, resolving is a headers-first sync with every peer that adopts only a chain with more checked work,
//! and a peer that is down or on another network is reported, never a 500.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::{Failure, Fields, Style, answer, require_owner, require_owner_off_dev, text};
use super::view;
use crate::error::ApiError;
use crate::extract::{Body, Owner};
use crate::limits::Heavy;
use ferrochain_node::Node;
use ferrochain_node::p2p::PeerError;

/// Most nodes one registration request may name (each costs a handshake).
const MAX_NODES_PER_REQUEST: usize = 64;

const INVALID_NODES: &str = "Error: Please supply a valid list of nodes";

/// The failure of an exchange with a peer, as a seed answer: a 400 (the request named a peer that cannot be
/// used: not a URL, this node itself, another network, down, or answering nonsense), or a 500 whose cause is
/// only logged when this node failed to store what the peer sent.
fn peer_failure(prefix: &str, e: PeerError) -> Failure {
    match e {
        PeerError::Local(_) => ApiError::from(e).into(),
        other => Failure::bad("Peer", format!("{prefix}{other}")),
    }
}

/// The URLs of A's `{"nodes": [...]}` or B's form `nodes=a,b`.
fn node_list(fields: &Fields) -> Result<Vec<String>, Failure> {
    let invalid = || Failure {
        plain: true,
        ..Failure::bad("Request", INVALID_NODES)
    };
    let list: Vec<String> = match fields.get("nodes") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(invalid))
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        _ => return Err(invalid()),
    };
    let list: Vec<String> = list
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Err(invalid());
    }
    if list.len() > MAX_NODES_PER_REQUEST {
        return Err(Failure::bad(
            "Request",
            format!(
                "{INVALID_NODES}: at most {MAX_NODES_PER_REQUEST} nodes per request, got {}",
                list.len()
            ),
        ));
    }
    Ok(list)
}

/// `POST /nodes/register`, `POST /blockchain/nodes/register`: a handshake with each node; 201 if at least one
/// was added, each node's result in `results`.
pub(super) async fn register_nodes(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        require_owner(&owner)?;
        let list = node_list(&Fields::from_body(body)?)?;
        let attempts = list.iter().map(|given| {
            let node = node.clone();
            async move {
                match node.register_peer(given).await {
                    Ok(peer) => json!({ "node": peer.url, "added": true }),
                    Err(e) => json!({ "node": given, "added": false, "error": e.to_string() }),
                }
            }
        });
        let results = futures::future::join_all(attempts).await;
        let any = results.iter().any(|r| r["added"] == json!(true));
        let (status, message) = if any {
            (StatusCode::CREATED, "New nodes have been added")
        } else {
            (StatusCode::BAD_REQUEST, "No nodes were added")
        };
        Ok((
            status,
            axum::Json(json!({
                "message": message,
                "total_nodes": node.peers().list(),
                "results": results,
            })),
        )
            .into_response())
    };
    answer(result.await, Style::Message)
}

/// `GET /nodes/resolve`, `GET /blockchain/nodes/resolve`: sync with every peer now; `"Our chain was replaced"`
/// when the active tip changed, else `"Our chain is authoritative"`.
pub(super) async fn resolve(
    State(node): State<Node>,
    Extension(heavy): Extension<Heavy>,
    owner: Result<Owner, ApiError>,
) -> Response {
    let result = async {
        require_owner_off_dev(&node, &owner)?;
        // Taken before the sync, so a busy node says so before doing the work.
        let permit = heavy.enter()?;
        let before = node.state().tip().hash;
        let reports = node.resolve().await;
        let replaced = node.state().tip().hash != before;
        let peers: Vec<Value> = reports
            .into_iter()
            .map(|(url, r)| match r {
                Ok(report) => {
                    json!({ "node": url, "synced": true, "blocks_connected": report.connected })
                }
                Err(e) => json!({ "node": url, "synced": false, "error": e.to_string() }),
            })
            .collect();
        Ok(view::chain(
            &node,
            permit,
            1,
            u64::MAX,
            view::ChainAnswer::Resolved { replaced, peers },
            view::unedited,
        ))
    };
    answer(result.await, Style::Message)
}

/// `GET /blockchain/nodes/get`.
pub(super) async fn list_nodes(State(node): State<Node>) -> Response {
    axum::Json(json!({ "nodes": node.peers().list() })).into_response()
}

/// C's `node_address` field (the peer layer checks and normalises the URL).
fn node_address(fields: &Fields) -> Result<String, Failure> {
    let given = match fields.get("node_address") {
        None => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            return Err(Failure::bad(
                "Request",
                format!(
                    "Invalid data: node_address must be a string like \"http://127.0.0.1:5001\", not {}",
                    super::request::type_name(other)
                ),
            ));
        }
    };
    if given.is_empty() {
        return Err(Failure::bad(
            "Request",
            "Invalid data: node_address is required, e.g. {\"node_address\": \"http://127.0.0.1:5001\"}",
        ));
    }
    Ok(given)
}

/// `POST /register_node` (C): the node at `node_address` introduces itself; after a handshake with it, the
/// answer is this node's chain, as `/chain`.
pub(super) async fn register_node(
    State(node): State<Node>,
    Extension(heavy): Extension<Heavy>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let given = node_address(&Fields::from_body(body)?)?;
        node.register_peer(&given)
            .await
            .map_err(|e| peer_failure("Registration failed: ", e))?;
        let permit = heavy.enter()?;
        Ok(view::chain(
            &node,
            permit,
            1,
            u64::MAX,
            view::ChainAnswer::Chain,
            view::unedited,
        ))
    };
    answer(result.await, Style::Text)
}

/// `POST /register_with` (C): this node registers with the node at `node_address` and syncs its chain from it.
pub(super) async fn register_with(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        require_owner(&owner)?;
        let given = node_address(&Fields::from_body(body)?)?;
        let url = node
            .register_peer(&given)
            .await
            .map_err(|e| peer_failure("Registration failed: ", e))?
            .url;
        node.sync_with_peer(&url).await.map_err(|e| {
            peer_failure(
                &format!("Registered with {url}, but syncing from it failed: "),
                e,
            )
        })?;
        Ok(text(StatusCode::OK, "Registration successful"))
    };
    answer(result.await, Style::Text)
}
