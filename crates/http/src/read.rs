//! The read model shared by the surfaces that show the chain: status, blocks, a block, a transaction with its
//! Merkle proof, an address with its UTXOs and history, the mempool. The REST routes answer these views as
//! JSON and the web UI renders them, so both show the same figures and refuse the same bad input the same way.
//! Reads of the chain state run on blocking threads within the node's time limit.

use ferrochain_core::Height;
use ferrochain_node::{ErrorCode, Node};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::parse::{blocking, parse_address, parse_block_hash, parse_txid};
use crate::views::{
    AddressView, AmountView, BalanceView, BlockList, BlockPlace, BlockSummary, BlockView,
    HistoryItem, HistoryPage, MempoolEntryView, MempoolView, MerkleProofView, SpentLookup, Status,
    TxKindName, TxView, UtxoList, UtxoView, WalletView, leading_zero_bits,
};

/// Most items a page may hold.
pub const MAX_PAGE: u64 = 100;
/// Items of a page when the request does not say.
pub const DEFAULT_PAGE: u64 = 20;
/// The largest offset or starting height a query may give: the OpenAPI document types them `int64`.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// The pattern of a transaction id in a path (what [`parse_txid`] reads).
pub const TXID_PATTERN: &str = "^[0-9a-fA-F]{64}$";
/// The pattern of a block id in a path: a height (at most 19 digits) or a block hash.
pub const BLOCK_ID_PATTERN: &str = "^([0-9]{1,19}|[0-9a-fA-F]{64})$";
/// The pattern of an address in a path: the shape of bech32m (a prefix, `1`, at least six characters of the
/// bech32 alphabet). The code refuses everything the pattern refuses, and more: mixed case, a bad checksum,
/// another network's prefix.
pub const ADDRESS_PATTERN: &str = "^[0-9A-Za-z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$";

/// Whether `text` matches [`ADDRESS_PATTERN`] in one case (written out: the crate has no regex engine).
fn is_address_shaped(text: &str) -> bool {
    const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let upper = text.bytes().any(|b| b.is_ascii_uppercase());
    if upper && text.bytes().any(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let Some((hrp, data)) = lower.rsplit_once('1') else {
        return false;
    };
    (1..=83).contains(&hrp.len())
        && hrp
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && data.len() >= 6
        && data.chars().all(|c| CHARSET.contains(c))
}

/// Reads an address given in a path: [`ADDRESS_PATTERN`], then the checks of [`parse_address`].
pub(crate) fn path_address(
    network: &ferrochain_core::Network,
    text: &str,
) -> Result<ferrochain_core::PubkeyHash, ApiError> {
    if !is_address_shaped(text) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidAddress,
            format!("{text:?} is not an address: an address matches {ADDRESS_PATTERN}"),
        ));
    }
    parse_address(network, text)
}

/// Reads a transaction id given in a path ([`TXID_PATTERN`]).
pub(crate) fn path_txid(text: &str) -> Result<ferrochain_core::Txid, ApiError> {
    parse_txid(text).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidTxid,
            format!("{}; a txid matches {TXID_PATTERN}", e.message),
        )
    })
}

fn check_offset(name: &str, value: Option<u64>) -> Result<(), ApiError> {
    match value {
        Some(n) if n > MAX_OFFSET => Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("{name} {n} is out of range: give 0 to {MAX_OFFSET}"),
        )),
        _ => Ok(()),
    }
}

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

/// Query of the block list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlocksQuery {
    /// Height to start from (default: the tip when newest first, genesis when oldest first).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub from: Option<u64>,
    /// Blocks per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `desc` (newest first, the default) or `asc`.
    #[param(inline)]
    pub order: Option<Order>,
}

/// The order of a block list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}
/// Query of the UTXO list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UtxoQuery {
    /// `true`: what a new transaction may spend now — confirmed outputs not already spent by the mempool
    /// (and matured), plus unconfirmed change (confirmations 0). Default `false`: the confirmed set.
    pub spendable: Option<bool>,
}
/// Query of a paged list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip (default 0).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub offset: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}
/// The answer of `status` (REST `GET` route and the web UI).
pub(crate) async fn status(node: Node) -> Result<Status, ApiError> {
    // Everything here is published outside the state lock (the committed view, the mempool's counters, the
    // miner's atomics), so it is read on the async worker: no blocking hop, and never waiting on a block
    // being connected.
    let state = node.state();
    let tip = state.tip();
    let bits = state
        .next_block_context()
        .map(|c| c.expected_bits)
        .unwrap_or(tip.header.bits);
    let (mempool, mempool_bytes) = state.mempool_size();
    Ok(Status {
        network: node.network().spec().name.clone(),
        network_id: node.network().genesis_hash().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        height: tip.height.0,
        tip: tip.hash.to_string(),
        tip_time_ms: tip.header.time_ms,
        chain_work: tip.chain_work.to_string(),
        bits: bits.to_string(),
        leading_zero_bits: leading_zero_bits(bits),
        mempool,
        mempool_bytes,
        peers: node.peers().len(),
        hash_rate: node.miner().hash_rate(),
        total_hashes: node.miner().total_hashes(),
        mining: node.miner().continuous().is_some(),
        miner_threads: node.miner().threads(),
        started_ms: node.started_ms(),
    })
}

/// The answer of `blocks` (REST `GET` route and the web UI).
pub(crate) async fn blocks(node: Node, q: BlocksQuery) -> Result<BlockList, ApiError> {
    let limit = check_limit(q.limit)?;
    check_offset("from", q.from)?;
    let ascending = q.order == Some(Order::Asc);
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
        Ok(BlockList {
            tip_height: tip,
            blocks,
        })
    })
    .await
}

/// The answer of `block` (REST `GET` route and the web UI).
pub(crate) async fn block(node: Node, id: String) -> Result<BlockView, ApiError> {
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
        None => Some(parse_block_hash(&id).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::InvalidBlockId,
                format!("{}; a block id matches {BLOCK_ID_PATTERN}", e.message),
            )
        })?),
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
        Ok(BlockView::new(&block, place, node.network(), &mut lookup))
    })
    .await
}

/// The answer of `transaction` (REST `GET` route and the web UI).
pub(crate) async fn transaction(node: Node, txid: String) -> Result<TxView, ApiError> {
    let txid = path_txid(&txid)?;
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
        Ok(TxView::new(
            &info.tx,
            node.network(),
            &mut lookup,
            Some(&info.status),
        ))
    })
    .await
}

/// The answer of `merkle_proof` (REST `GET` route and the web UI).
pub(crate) async fn merkle_proof(node: Node, txid: String) -> Result<MerkleProofView, ApiError> {
    let txid = path_txid(&txid)?;
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
        Ok(MerkleProofView {
            txid: txid.to_string(),
            block: header.hash().to_string(),
            height: header.height.0,
            merkle_root: header.merkle_root.to_string(),
            leaf_hash: ferrochain_core::merkle::leaf_hash(&txid).to_string(),
            verified: proof.verify(&txid, &header.merkle_root),
            proof,
            steps,
        })
    })
    .await
}

/// The answer of `address` (REST `GET` route and the web UI).
pub(crate) async fn address(node: Node, address: String) -> Result<AddressView, ApiError> {
    let hash = path_address(node.network(), &address)?;
    blocking(&node, move |node| {
        let state = node.state();
        let balance = state.balance(&hash).map_err(ApiError::internal)?;
        let utxos = state.address_utxos(&hash).map_err(ApiError::internal)?;
        Ok(AddressView {
            address: node.network().address(&hash),
            pubkey_hash: hash.to_string(),
            balance: BalanceView::new(&balance, node.network().spec().decimals),
            utxo_count: utxos.len(),
        })
    })
    .await
}

/// The answer of `address_utxos` (REST `GET` route and the web UI).
pub(crate) async fn address_utxos(
    node: Node,
    address: String,
    query: UtxoQuery,
) -> Result<UtxoList, ApiError> {
    let hash = path_address(node.network(), &address)?;
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
        Ok(UtxoList {
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
        })
    })
    .await
}

/// The answer of `address_history` (REST `GET` route and the web UI).
pub(crate) async fn address_history(
    node: Node,
    address: String,
    q: PageQuery,
) -> Result<HistoryPage, ApiError> {
    let hash = path_address(node.network(), &address)?;
    let limit = check_limit(q.limit)?;
    check_offset("offset", q.offset)?;
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
        Ok(HistoryPage {
            address: node.network().address(&hash),
            offset,
            limit,
            items,
        })
    })
    .await
}

/// The answer of `mempool` (REST `GET` route and the web UI).
pub(crate) async fn mempool(node: Node) -> Result<MempoolView, ApiError> {
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
        Ok(MempoolView {
            count: entries.len(),
            bytes: entries.iter().map(|e| e.size).sum(),
            entries,
        })
    })
    .await
}

/// The node-held addresses with their balances (owner pages and routes). Keys are never shown.
pub(crate) async fn held_wallets(node: Node) -> Result<Vec<WalletView>, ApiError> {
    blocking(&node, move |node| {
        let d = node.network().spec().decimals;
        let mut out = Vec::new();
        for address in node.held_addresses() {
            let hash = parse_address(node.network(), &address)?;
            let balance = node.state().balance(&hash).map_err(ApiError::internal)?;
            out.push(WalletView {
                address,
                balance: BalanceView::new(&balance, d),
            });
        }
        Ok(out)
    })
    .await
}
