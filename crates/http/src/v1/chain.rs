//! Read routes of the REST API — status, network, blocks, transactions with their Merkle and record proofs,
//! addresses, mempool — and the submission of signed transactions and blocks.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrochain_core::{Block, Decode, Header, Height, Transaction};
use ferrochain_node::ErrorCode;
use ferrochain_state::{BlockOutcome, TxStatus};
use ferrochain_wallet::proof::{ProofError, RecordProof};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::Body;
use crate::extract::{PathParam, Query};
use crate::parse::{blocking, decode_hex};
use crate::read::{self, BlocksQuery, PageQuery, UtxoQuery};
use crate::views::{
    AddressView, BlockList, BlockView, ErrorBody, HistoryPage, MempoolView, MerkleProofView,
    NetworkView, Status, TxView, UtxoList,
};
use ferrochain_node::Node;

/// The node's status: tip, difficulty, chain work, mempool, peers, miner.
#[utoipa::path(
    get,
    path = "/status",
    tag = "node",
    responses((status = 200, description = "The node's status", body = Status))
)]
pub async fn status(State(node): State<Node>) -> Result<Json<Status>, ApiError> {
    Ok(Json(read::status(node).await?))
}

/// The network's rules (chain spec) and id.
#[utoipa::path(
    get,
    path = "/network",
    tag = "node",
    responses((status = 200, description = "The chain spec and network id", body = NetworkView))
)]
pub async fn network(State(node): State<Node>) -> Json<NetworkView> {
    Json(NetworkView::new(node.network()))
}

/// Active blocks as summaries, newest first by default.
#[utoipa::path(
    get,
    path = "/blocks",
    tag = "chain",
    params(BlocksQuery),
    responses(
        (status = 200, description = "A page of active blocks", body = BlockList),
        (status = 400, description = "Bad query (limit out of 1..=100, unknown order, not a number)", body = ErrorBody),
    )
)]
pub async fn blocks(
    State(node): State<Node>,
    Query(q): Query<BlocksQuery>,
) -> Result<Json<BlockList>, ApiError> {
    Ok(Json(read::blocks(node, q).await?))
}

/// A block by height (active chain) or by hash (any stored block).
#[utoipa::path(
    get,
    path = "/blocks/{id}",
    tag = "chain",
    params(("id" = String, Path, description = "A height (digits) or a block hash (64 hex digits)", pattern = r"^([0-9]{1,19}|[0-9a-fA-F]{64})$")),
    responses(
        (status = 200, description = "The block with its transactions", body = BlockView),
        (status = 400, description = "Neither a height nor a hash", body = ErrorBody),
        (status = 404, description = "No such block", body = ErrorBody),
    )
)]
pub async fn block(
    State(node): State<Node>,
    PathParam(id): PathParam,
) -> Result<Json<BlockView>, ApiError> {
    Ok(Json(read::block(node, id).await?))
}

/// A transaction with its status (pending with fee, or confirmed with block, height, index, confirmations).
#[utoipa::path(
    get,
    path = "/txs/{txid}",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id (64 hex digits)", pattern = r"^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The transaction", body = TxView),
        (status = 400, description = "Not a txid", body = ErrorBody),
        (status = 404, description = "Neither in the mempool nor in the active chain", body = ErrorBody),
    )
)]
pub async fn transaction(
    State(node): State<Node>,
    PathParam(txid): PathParam,
) -> Result<Json<TxView>, ApiError> {
    Ok(Json(read::transaction(node, txid).await?))
}

/// The Merkle inclusion proof of a confirmed transaction, with the steps to draw it.
#[utoipa::path(
    get,
    path = "/txs/{txid}/merkle-proof",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id (64 hex digits)", pattern = r"^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The proof", body = MerkleProofView),
        (status = 400, description = "Not a txid", body = ErrorBody),
        (status = 404, description = "Not confirmed in the active chain", body = ErrorBody),
    )
)]
pub async fn merkle_proof(
    State(node): State<Node>,
    PathParam(txid): PathParam,
) -> Result<Json<MerkleProofView>, ApiError> {
    Ok(Json(read::merkle_proof(node, txid).await?))
}

/// The record proof bundle of a confirmed record, from its block to the tip (checked offline with the
/// wallet: `ferrochain wallet verify-proof`, or `RecordProof::verify`).
#[utoipa::path(
    get,
    path = "/txs/{txid}/proof",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id of a record (64 hex digits)", pattern = r"^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The bundle (format `ferrochain-record-proof`, docs/wallet-format.md)", body = Object),
        (status = 400, description = "Not a txid, or a confirmed transaction that is not a record (`not_a_record`)", body = ErrorBody),
        (status = 404, description = "Not confirmed in the active chain", body = ErrorBody),
    )
)]
pub async fn record_proof(
    State(node): State<Node>,
    PathParam(txid): PathParam,
) -> Result<Response, ApiError> {
    let txid = crate::read::path_txid(&txid)?;
    blocking(&node, move |node| {
        let state = node.state();
        let info = state.transaction(&txid).map_err(ApiError::internal)?;
        let Some(TxStatus::Confirmed { block, height, .. }) = info.map(|i| i.status) else {
            return Err(ApiError::not_found(format!(
                "transaction {txid} is not confirmed in the active chain"
            )));
        };
        let body = state
            .block(&block)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("block {block} is not stored")))?;
        let tip = state.tip().height.0;
        let mut successors: Vec<Header> = Vec::new();
        for h in height.0 + 1..=tip {
            let rec = state
                .hash_at(Height(h))
                .and_then(|hash| state.header(&hash))
                .ok_or_else(|| ApiError::internal(format!("no active header at height {h}")))?;
            successors.push(rec.header);
        }
        let proof =
            RecordProof::from_block(&body, &txid, &successors, node.network().genesis_hash())
                .map_err(|e| match e {
                    ProofError::NotARecord => ApiError::bad_request(
                        ErrorCode::NotARecord,
                        format!(
                            "transaction {txid} is not a record; record proofs are for signed records \
                             (a Merkle proof of any transaction is at /api/v1/txs/{txid}/merkle-proof)"
                        ),
                    ),
                    other => ApiError::internal(other),
                })?;
        Ok((
            [(header::CONTENT_TYPE, "application/json")],
            proof.to_json_bytes(),
        )
            .into_response())
    })
    .await
}

/// An address's balance and number of unspent outputs.
#[utoipa::path(
    get,
    path = "/addresses/{address}",
    tag = "chain",
    params(("address" = String, Path, description = "A bech32m address of this network", pattern = r"^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$")),
    responses(
        (status = 200, description = "The address", body = AddressView),
        (status = 400, description = "Not an address (`invalid_address`) or another network's (`wrong_network`)", body = ErrorBody),
    )
)]
pub async fn address(
    State(node): State<Node>,
    PathParam(address): PathParam,
) -> Result<Json<AddressView>, ApiError> {
    Ok(Json(read::address(node, address).await?))
}

/// An address's unspent outputs in the active chain (or, with `spendable=true`, what it can spend now).
#[utoipa::path(
    get,
    path = "/addresses/{address}/utxos",
    tag = "chain",
    params(("address" = String, Path, description = "A bech32m address of this network", pattern = r"^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$"), UtxoQuery),
    responses(
        (status = 200, description = "The unspent outputs", body = UtxoList),
        (status = 400, description = "Not an address of this network", body = ErrorBody),
    )
)]
pub async fn address_utxos(
    State(node): State<Node>,
    PathParam(address): PathParam,
    Query(query): Query<UtxoQuery>,
) -> Result<Json<UtxoList>, ApiError> {
    Ok(Json(read::address_utxos(node, address, query).await?))
}

/// An address's confirmed transactions, newest first, paged.
#[utoipa::path(
    get,
    path = "/addresses/{address}/history",
    tag = "chain",
    params(("address" = String, Path, description = "A bech32m address of this network", pattern = r"^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$"), PageQuery),
    responses(
        (status = 200, description = "A page of the address's history", body = HistoryPage),
        (status = 400, description = "Not an address of this network, or a bad page", body = ErrorBody),
    )
)]
pub async fn address_history(
    State(node): State<Node>,
    PathParam(address): PathParam,
    Query(q): Query<PageQuery>,
) -> Result<Json<HistoryPage>, ApiError> {
    Ok(Json(read::address_history(node, address, q).await?))
}

/// The mempool in block order.
#[utoipa::path(
    get,
    path = "/mempool",
    tag = "chain",
    responses((status = 200, description = "Waiting transactions in the order a block takes them", body = MempoolView))
)]
pub async fn mempool(State(node): State<Node>) -> Result<Json<MempoolView>, ApiError> {
    Ok(Json(read::mempool(node).await?))
}

/// A signed transaction to submit: the transaction as JSON (the core `Transaction` shape) or its canonical
/// encoding as hex.
///
/// (The handler reads the body as JSON and decides by the `hex` key, for precise errors; this type documents
/// the two forms.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // the handler reads the body as JSON; this type is the document's schema of it
pub enum SubmitTransaction {
    /// `{"hex": "<canonical encoding>"}`.
    Hex(HexBody),
    /// The transaction as JSON: `{"version", "kind": {"type": "transfer", "inputs": [...]}, "outputs", "payload"}`.
    #[schema(value_type = Object)]
    Json(serde_json::Value),
}

/// A canonical encoding as hex.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HexBody {
    /// The canonical binary encoding, hex.
    pub hex: String,
}

/// The id of an accepted transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    /// The transaction id.
    pub txid: String,
}

/// Submits a signed transaction to the mempool.
#[utoipa::path(
    post,
    path = "/txs",
    tag = "submit",
    request_body(content = SubmitTransaction, description = "The transaction as JSON, or `{\"hex\": ...}`"),
    responses(
        (status = 201, description = "Accepted into the mempool", body = Submitted),
        (status = 400, description = "Malformed, or refused (`invalid_transaction` with the reason)", body = ErrorBody),
        (status = 409, description = "Conflicts with the mempool or already known (`conflict`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub async fn submit_transaction(
    State(node): State<Node>,
    Body(value): Body<serde_json::Value>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let tx = transaction_from_json(value)?;
    let txid = node.accept_transaction(tx).await?;
    Ok((
        StatusCode::CREATED,
        Json(Submitted {
            txid: txid.to_string(),
        }),
    ))
}

fn transaction_from_json(value: serde_json::Value) -> Result<Transaction, ApiError> {
    let is_hex = value.as_object().is_some_and(|o| o.contains_key("hex"));
    if is_hex {
        let HexBody { hex } = serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidJson, e.to_string()))?;
        let bytes = decode_hex(&hex, "hex")?;
        Transaction::from_bytes(&bytes).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::InvalidEncoding,
                format!("not a transaction encoding: {e}"),
            )
        })
    } else {
        serde_json::from_value(value).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::InvalidJson,
                format!(
                    "not a transaction (send the transaction's JSON or {{\"hex\": \"<encoding>\"}}): {e}"
                ),
            )
        })
    }
}

/// What became of a submitted block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockOutcomeView {
    /// `connected` (the active chain changed), `side_chain`, `header_only` (on a branch with less work than the
    /// active one: only its header kept), `orphan` (parent unknown, held; or an ancestor's body missing) or
    /// `already_known`.
    pub outcome: String,
    /// The block's hash.
    pub hash: String,
    /// The block's height.
    pub height: u64,
    /// For an orphan: the missing parent.
    pub missing_parent: Option<String>,
    /// Blocks that joined the active chain, lowest first.
    pub connected: Vec<String>,
    /// Blocks that left it, old tip first (a reorganisation).
    pub disconnected: Vec<String>,
}

/// Submits a block (its canonical encoding as hex); it is fully validated.
#[utoipa::path(
    post,
    path = "/blocks",
    tag = "submit",
    request_body(content = HexBody, description = "The block's canonical encoding as hex"),
    responses(
        (status = 200, description = "The outcome", body = BlockOutcomeView),
        (status = 400, description = "Malformed or invalid (`invalid_block` with the reason)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub async fn submit_block(
    State(node): State<Node>,
    Body(body): Body<HexBody>,
) -> Result<Json<BlockOutcomeView>, ApiError> {
    let bytes = decode_hex(&body.hex, "hex")?;
    let block = Block::from_bytes(&bytes).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidEncoding,
            format!("not a block encoding: {e}"),
        )
    })?;
    let hash = block.hash();
    let height = block.header.height.0;
    let outcome = node.accept_block(block).await?;
    let strings = |v: Vec<ferrochain_core::BlockHash>| v.iter().map(|h| h.to_string()).collect();
    let mut view = BlockOutcomeView {
        outcome: String::new(),
        hash: hash.to_string(),
        height,
        missing_parent: None,
        connected: Vec::new(),
        disconnected: Vec::new(),
    };
    match outcome {
        BlockOutcome::AlreadyKnown => view.outcome = "already_known".into(),
        BlockOutcome::SideChain => view.outcome = "side_chain".into(),
        BlockOutcome::HeaderOnly => view.outcome = "header_only".into(),
        BlockOutcome::Orphan { missing_parent } => {
            view.outcome = "orphan".into();
            view.missing_parent = Some(missing_parent.to_string());
        }
        BlockOutcome::Connected(r) => {
            view.outcome = "connected".into();
            view.connected = strings(r.connected);
            view.disconnected = strings(r.disconnected);
        }
    }
    Ok(Json(view))
}
