//! The REST API under `/api/v1` (DESIGN §7.1).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::node::Node;

/// The node's status.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    /// The network's name.
    pub network: String,
    /// The network id (genesis hash).
    pub network_id: String,
    /// Height of the active tip.
    pub height: u64,
    /// Hash of the active tip.
    pub tip: String,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
    /// Known peers.
    pub peers: usize,
    /// Hashes per second of this node's miner.
    pub hash_rate: f64,
    /// Whether continuous mining runs.
    pub mining: bool,
}

/// The `/api/v1` routes.
pub fn router() -> Router<Node> {
    Router::new().route("/status", get(status))
}

async fn status(State(node): State<Node>) -> Json<Status> {
    let tip = node.state().tip();
    Json(Status {
        network: node.network().spec().name.clone(),
        network_id: node.network().genesis_hash().to_string(),
        height: tip.height.0,
        tip: tip.hash.to_string(),
        mempool: node.state().mempool().len(),
        peers: node.peers().list().len(),
        hash_rate: node.miner().hash_rate(),
        mining: node.miner().continuous().is_some(),
    })
}
