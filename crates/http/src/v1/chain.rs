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
use utoipa::{IntoParams, ToSchema};

use super::{PathParam, Query, blocking, decode_hex, parse_address, parse_block_hash, parse_txid};
use crate::error::ApiError;
use crate::extract::Body;
use crate::views::{
    AddressView, AmountView, BalanceView, BlockPlace, BlockSummary, BlockView, ErrorBody,
    HistoryItem, HistoryPage, MempoolEntryView, MempoolView, MerkleProofView, NetworkView,
    SpentLookup, Status, TxKindName, TxView, UtxoList, UtxoView, leading_zero_bits,
};
use ferrochain_node::node::Node;

/// Most items a page may hold.
pub const MAX_PAGE: u64 = 100;
/// Items of a page when the request does not say.
pub const DEFAULT_PAGE: u64 = 20;

fn check_limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("limit {n} is out of range: give 1 to {MAX_PAGE}"),
        )),
    }
}

/// The node's status: tip, difficulty, chain work, mempool, peers, miner.
#[utoipa::path(
    get,
    path = "/status",
    tag = "node",
    responses((status = 200, description = "The node's status", body = Status))
)]
pub async fn status(State(node): State<Node>) -> Result<Json<Status>, ApiError> {
    // The state lock may be held by a block being connected: read it off the async workers.
    blocking(&node, |node| {
        let state = node.state();
        let tip = state.tip();
        let bits = state
            .next_block_context()
            .map(|c| c.expected_bits)
            .unwrap_or(tip.header.bits);
        let mempool = state.mempool();
        Ok(Json(Status {
            network: node.network().spec().name.clone(),
            network_id: node.network().genesis_hash().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            height: tip.height.0,
            tip: tip.hash.to_string(),
            tip_time_ms: tip.header.time_ms,
            chain_work: tip.chain_work.to_string(),
            bits: bits.to_string(),
            leading_zero_bits: leading_zero_bits(bits),
            mempool: mempool.len(),
            mempool_bytes: mempool.iter().map(|e| e.size).sum(),
            peers: node.peers().list().len(),
            hash_rate: node.miner().hash_rate(),
            total_hashes: node.miner().total_hashes(),
            mining: node.miner().continuous().is_some(),
            miner_threads: node.miner().threads(),
            started_ms: node.started_ms(),
        }))
    })
    .await
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

/// Query of the block list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlocksQuery {
    /// Height to start from (default: the tip when newest first, genesis when oldest first).
    pub from: Option<u64>,
    /// Blocks per page, 1 to 100 (default 20).
    pub limit: Option<u64>,
    /// `desc` (newest first, the default) or `asc`.
    pub order: Option<String>,
}

/// A page of active blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    /// Height of the active tip.
    pub tip_height: u64,
    /// The blocks.
    pub blocks: Vec<BlockSummary>,
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
    let limit = check_limit(q.limit)?;
    let ascending = match q.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("order {other:?}: give asc or desc"),
            ));
        }
    };
    blocking(&node, move |node| {
        let state = node.state();
        let tip = state.tip().height.0;
        let heights: Vec<u64> = if ascending {
            let from = q.from.unwrap_or(0);
            (from..=tip).take(limit as usize).collect()
        } else {
            let from = q.from.unwrap_or(tip).min(tip);
            (0..=from).rev().take(limit as usize).collect()
        };
        let mut blocks = Vec::with_capacity(heights.len());
        for h in heights {
            if let Some(block) = state.block_at(Height(h)).map_err(ApiError::internal)? {
                blocks.push(BlockSummary::new(&block));
            }
        }
        Ok(Json(BlockList {
            tip_height: tip,
            blocks,
        }))
    })
    .await
}

/// A block by height (active chain) or by hash (any stored block).
#[utoipa::path(
    get,
    path = "/blocks/{id}",
    tag = "chain",
    params(("id" = String, Path, description = "A height (digits) or a block hash (64 hex digits)")),
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
    let id = id.trim().to_string();
    let by_height = !id.is_empty() && id.len() < 20 && id.bytes().all(|b| b.is_ascii_digit());
    let height = if by_height {
        Some(id.parse::<u64>().map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidBlockId, format!("height {id:?}: {e}"))
        })?)
    } else {
        None
    };
    let hash = match height {
        Some(_) => None,
        None => Some(parse_block_hash(&id)?),
    };
    blocking(&node, move |node| {
        let state = node.state();
        let hash = match (height, hash) {
            (Some(h), _) => state.hash_at(Height(h)).ok_or_else(|| {
                ApiError::not_found(format!(
                    "no active block at height {h} (the tip is at {})",
                    state.tip().height
                ))
            })?,
            (None, Some(hash)) => hash,
            (None, None) => return Err(ApiError::not_found("no block")),
        };
        let block = state
            .block(&hash)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found(format!("no block {hash} is stored here")))?;
        let rec = state.header(&hash);
        let active = state.is_active(&hash);
        let next = if active {
            block.header.height.next().and_then(|h| state.hash_at(h))
        } else {
            None
        };
        let place = BlockPlace {
            active,
            tip_height: state.tip().height.0,
            next,
            chain_work: rec.map(|r| r.chain_work),
        };
        let mut lookup = SpentLookup::new(state);
        Ok(Json(BlockView::new(
            &block,
            place,
            node.network(),
            &mut lookup,
        )))
    })
    .await
}

/// A transaction with its status (pending with fee, or confirmed with block, height, index, confirmations).
#[utoipa::path(
    get,
    path = "/txs/{txid}",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id (64 hex digits)")),
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
    let txid = parse_txid(&txid)?;
    blocking(&node, move |node| {
        let state = node.state();
        let info = state
            .transaction(&txid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "transaction {txid} is neither in the mempool nor in the active chain"
                ))
            })?;
        let mut lookup = SpentLookup::new(state);
        Ok(Json(TxView::new(
            &info.tx,
            node.network(),
            &mut lookup,
            Some(&info.status),
        )))
    })
    .await
}

/// The Merkle inclusion proof of a confirmed transaction, with the steps to draw it.
#[utoipa::path(
    get,
    path = "/txs/{txid}/merkle-proof",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id (64 hex digits)")),
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
    let txid = parse_txid(&txid)?;
    blocking(&node, move |node| {
        let (header, proof) = node
            .state()
            .merkle_proof(&txid)
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "transaction {txid} is not confirmed in the active chain (a pending transaction has no proof yet)"
                ))
            })?;
        let steps = proof.steps(&txid).unwrap_or_default();
        Ok(Json(MerkleProofView {
            txid: txid.to_string(),
            block: header.hash().to_string(),
            height: header.height.0,
            merkle_root: header.merkle_root.to_string(),
            leaf_hash: ferrochain_core::merkle::leaf_hash(&txid).to_string(),
            verified: proof.verify(&txid, &header.merkle_root),
            proof,
            steps,
        }))
    })
    .await
}

/// The record proof bundle of a confirmed record, from its block to the tip (checked offline with the
/// wallet: `ferrochain wallet verify-proof`, or `RecordProof::verify`).
#[utoipa::path(
    get,
    path = "/txs/{txid}/proof",
    tag = "chain",
    params(("txid" = String, Path, description = "Transaction id of a record (64 hex digits)")),
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
    let txid = parse_txid(&txid)?;
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
    params(("address" = String, Path, description = "A bech32m address of this network")),
    responses(
        (status = 200, description = "The address", body = AddressView),
        (status = 400, description = "Not an address (`invalid_address`) or another network's (`wrong_network`)", body = ErrorBody),
    )
)]
pub async fn address(
    State(node): State<Node>,
    PathParam(address): PathParam,
) -> Result<Json<AddressView>, ApiError> {
    let hash = parse_address(node.network(), &address)?;
    blocking(&node, move |node| {
        let state = node.state();
        let balance = state.balance(&hash).map_err(ApiError::internal)?;
        let utxos = state.address_utxos(&hash).map_err(ApiError::internal)?;
        Ok(Json(AddressView {
            address: node.network().address(&hash),
            pubkey_hash: hash.to_string(),
            balance: BalanceView::new(&balance, node.network().spec().decimals),
            utxo_count: utxos.len(),
        }))
    })
    .await
}

/// Query of the UTXO list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UtxoQuery {
    /// `true`: what a new transaction may spend now — confirmed outputs not already spent by the mempool
    /// (and matured), plus unconfirmed change (confirmations 0). Default `false`: the confirmed set.
    pub spendable: Option<bool>,
}

/// An address's unspent outputs in the active chain (or, with `spendable=true`, what it can spend now).
#[utoipa::path(
    get,
    path = "/addresses/{address}/utxos",
    tag = "chain",
    params(("address" = String, Path, description = "A bech32m address of this network"), UtxoQuery),
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
    let hash = parse_address(node.network(), &address)?;
    let spendable = query.spendable.unwrap_or(false);
    blocking(&node, move |node| {
        let state = node.state();
        let d = node.network().spec().decimals;
        let tip = state.tip().height.0;
        let mut utxos = if spendable {
            state.spendable(&hash)
        } else {
            state.address_utxos(&hash)
        }
        .map_err(ApiError::internal)?;
        utxos.sort_by_key(|(op, e)| (e.height, *op));
        let total =
            ferrochain_core::Amount::checked_sum(utxos.iter().map(|(_, e)| e.output.amount))
                .unwrap_or(ferrochain_core::Amount::MAX);
        Ok(Json(UtxoList {
            address: node.network().address(&hash),
            total: AmountView::new(total, d),
            utxos: utxos
                .into_iter()
                .map(|(op, e)| UtxoView {
                    txid: op.txid.to_string(),
                    vout: op.vout,
                    amount: AmountView::new(e.output.amount, d),
                    height: e.height.0,
                    coinbase: e.is_coinbase,
                    confirmations: if e.height.0 > tip {
                        0
                    } else {
                        tip - e.height.0 + 1
                    },
                })
                .collect(),
        }))
    })
    .await
}

/// Query of a paged list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip (default 0).
    pub offset: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u64>,
}

/// An address's confirmed transactions, newest first, paged.
#[utoipa::path(
    get,
    path = "/addresses/{address}/history",
    tag = "chain",
    params(("address" = String, Path, description = "A bech32m address of this network"), PageQuery),
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
    let hash = parse_address(node.network(), &address)?;
    let limit = check_limit(q.limit)?;
    let offset = q.offset.unwrap_or(0);
    blocking(&node, move |node| {
        let state = node.state();
        let d = node.network().spec().decimals;
        let rows = state
            .history(&hash, offset, limit)
            .map_err(ApiError::internal)?;
        let mut lookup = SpentLookup::new(state);
        let items = rows
            .iter()
            .map(|row| HistoryItem::new(row, &hash, state, d, &mut lookup))
            .collect();
        Ok(Json(HistoryPage {
            address: node.network().address(&hash),
            offset,
            limit,
            items,
        }))
    })
    .await
}

/// The mempool in block order.
#[utoipa::path(
    get,
    path = "/mempool",
    tag = "chain",
    responses((status = 200, description = "Waiting transactions in the order a block takes them", body = MempoolView))
)]
pub async fn mempool(State(node): State<Node>) -> Result<Json<MempoolView>, ApiError> {
    blocking(&node, |node| {
        let d = node.network().spec().decimals;
        let entries: Vec<MempoolEntryView> = node
            .state()
            .mempool()
            .into_iter()
            .map(|e| MempoolEntryView {
                txid: e.txid.to_string(),
                kind: TxKindName::of(&e.tx),
                fee: AmountView::new(e.fee, d),
                size: e.size,
                fee_rate: e.fee.to_units() as f64 / e.size.max(1) as f64,
            })
            .collect();
        Ok(Json(MempoolView {
            count: entries.len(),
            bytes: entries.iter().map(|e| e.size).sum(),
            entries,
        }))
    })
    .await
}

/// A signed transaction to submit: the transaction as JSON (the core `Transaction` shape) or its canonical
/// encoding as hex.
///
/// (The handler reads the body as JSON and decides by the `hex` key, for precise errors; this type documents
/// the two forms.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
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
    let txid = blocking(&node, move |node| Ok(node.submit_transaction(tx)?)).await?;
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
    /// `connected` (the active chain changed), `side_chain`, `orphan` (parent unknown, held) or
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
    let outcome = blocking(&node, move |node| Ok(node.submit_block(block)?)).await?;
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
