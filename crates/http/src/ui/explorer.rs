//! The explorer pages: dashboard, blocks, one block, one transaction with its Merkle proof, addresses, signed
//! records, the mempool and search — and the fragments the dashboard and mempool pages refresh live.
//!
//! Data comes from the REST API's handlers and views ([`crate::v1::chain`], [`crate::views`]), so a
//! page shows exactly what `/api/v1` answers, and a bad hash, height or address gives the same 400 or 404
//! (as an HTML page) with the same message.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferrochain_core::{Height, Transaction, TxKind};
use minijinja::{Value, context};
use serde::Serialize;

use crate::read::{self, BlocksQuery, PageQuery, UtxoQuery};
use crate::ui::forms::UiQuery;
use crate::ui::{IsOwner, Page, UiError, blocking, charts, fragment, respond, v};
use ferrochain_node::Node;

/// Blocks per page of the block list.
pub const BLOCKS_PER_PAGE: u64 = 20;
/// Rows per page of an address's history.
pub const HISTORY_PER_PAGE: u64 = 20;
/// Records per page of the records page.
pub const RECORDS_PER_PAGE: usize = 20;
/// How many recent blocks the records page searches (the state has no record index).
pub const RECORD_SCAN_BLOCKS: u64 = 2000;
/// Blocks in the dashboard's chart.
pub const CHART_BLOCKS: u64 = 60;
/// Blocks and transactions listed on the dashboard.
pub const RECENT: usize = 8;

/// The highest page number accepted (beyond it every list is empty anyway).
pub const MAX_PAGE_NUMBER: u64 = 1_000_000_000;

fn parse_page(text: Option<&str>) -> Result<u64, UiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|p| *p <= MAX_PAGE_NUMBER)
            .ok_or_else(|| {
                UiError::bad_request(format!(
                    "page {t:?} is not a page number (0, 1, 2, ... up to {MAX_PAGE_NUMBER})"
                ))
            }),
    }
}

/// A confirmed transaction listed on the dashboard.
#[derive(Debug, Clone, Serialize)]
struct RecentTx {
    txid: String,
    kind: &'static str,
    height: u64,
    detail: String,
}

fn kind_name(tx: &Transaction) -> &'static str {
    match tx.kind {
        TxKind::Coinbase { .. } => "coinbase",
        TxKind::Transfer { .. } => "transfer",
        TxKind::Record { .. } => "record",
    }
}

/// The values of the dashboard's live fragment: recent blocks, recent transactions, mempool (blocking).
fn recent_ctx(node: &Node) -> Result<Value, UiError> {
    let state = node.state();
    let tip = state.tip().height.0;
    let d = node.network().spec().decimals;
    let mut blocks = Vec::new();
    let mut txs = Vec::new();
    for h in (0..=tip).rev().take(RECENT * 4) {
        let Some(block) = state
            .block_at(Height(h))
            .map_err(|e| UiError::from(crate::error::ApiError::internal(e)))?
        else {
            continue;
        };
        if blocks.len() < RECENT {
            blocks.push(crate::views::BlockSummary::new(&block));
        }
        for tx in block.transactions.iter().skip(1) {
            if txs.len() >= RECENT {
                break;
            }
            let detail = match &tx.kind {
                TxKind::Record { .. } => String::from_utf8_lossy(&tx.payload)
                    .chars()
                    .take(60)
                    .collect(),
                _ => format!(
                    "{} {}",
                    tx.output_total().unwrap_or_default().format_units(d),
                    node.network().spec().unit
                ),
            };
            txs.push(RecentTx {
                txid: tx.txid().to_string(),
                kind: kind_name(tx),
                height: h,
                detail,
            });
        }
        if blocks.len() >= RECENT && txs.len() >= RECENT {
            break;
        }
    }
    let mempool = state.mempool();
    let pending: Vec<Value> = mempool
        .iter()
        .take(RECENT)
        .map(|e| {
            context! {
                txid => e.txid.to_string(),
                kind => kind_name(&e.tx),
                fee => e.fee.format_units(d),
                size => e.size,
            }
        })
        .collect();
    Ok(context! {
        blocks => v(&blocks),
        txs => v(&txs),
        pending => pending,
        pending_count => mempool.len(),
    })
}

/// The dashboard: the node's figures (live), the chart of recent block intervals and difficulty, recent
/// blocks and transactions.
pub async fn dashboard(State(node): State<Node>, owner: IsOwner) -> Result<Response, UiError> {
    let status = crate::ui::status(&node).await?;
    blocking(&node, move |node| {
        let recent = recent_ctx(&node)?;
        let chart = charts::intervals_chart(&node, CHART_BLOCKS);
        let ctx = context! {
            status => v(&status),
            rate => crate::ui::format_rate(status.hash_rate),
            recent => recent,
            chart => Value::from_safe_string(chart),
            miner_address => node.network().address(&node.miner_address()),
        };
        respond(
            &node,
            owner,
            Page::new("dashboard.html", "Dashboard", "dashboard", ctx),
        )
    })
    .await
}

/// The dashboard's recent blocks, transactions and mempool, re-drawn when a block or transaction arrives.
pub async fn partial_recent(State(node): State<Node>) -> Result<Response, UiError> {
    blocking(&node, |node| {
        let ctx = context! { recent => recent_ctx(&node)? };
        fragment("_recent.html", ctx)
    })
    .await
}

/// The dashboard's chart, re-drawn when a block arrives.
pub async fn partial_chart(State(node): State<Node>) -> Result<Response, UiError> {
    blocking(&node, |node| {
        let svg = charts::intervals_chart(&node, CHART_BLOCKS);
        Ok((
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::response::Html(svg),
        )
            .into_response())
    })
    .await
}

/// Active blocks, newest first, [`BLOCKS_PER_PAGE`] per page.
pub async fn blocks(
    State(node): State<Node>,
    owner: IsOwner,
    UiQuery(q): UiQuery,
) -> Result<Response, UiError> {
    let from = match q.get("from").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(t.parse::<u64>().map_err(|_| {
            UiError::bad_request(format!("from={t:?} is not a block height (digits)"))
        })?),
    };
    let list = read::blocks(
        node.clone(),
        BlocksQuery {
            // A height past the tip shows the newest blocks (the REST API refuses heights past int64).
            from: from.map(|h| h.min(read::MAX_OFFSET)),
            limit: Some(BLOCKS_PER_PAGE),
            order: None,
        },
    )
    .await?;
    let tip = list.tip_height;
    let newest = list.blocks.first().map_or(0, |b| b.height);
    let oldest = list.blocks.last().map_or(0, |b| b.height);
    let ctx = context! {
        blocks => v(&list.blocks),
        tip => tip,
        newer => (newest < tip).then(|| (newest + BLOCKS_PER_PAGE).min(tip)),
        older => (oldest > 0).then(|| oldest - 1),
    };
    respond(
        &node,
        owner,
        Page::new("blocks.html", "Blocks", "blocks", ctx),
    )
}

/// One block: header fields, its 96 header bytes, the link to its parent, every transaction.
pub async fn block(
    State(node): State<Node>,
    owner: IsOwner,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let view = read::block(node.clone(), id).await?;
    blocking(&node, move |node| {
        let state = node.state();
        let hash: ferrochain_core::BlockHash = view
            .hash
            .parse()
            .map_err(|_| UiError::not_found("no such block"))?;
        let header = state.header(&hash).map(|r| r.header);
        let header_hex = header
            .map(|h| hex::encode(h.to_array()))
            .unwrap_or_default();
        let parent = header.and_then(|h| state.header(&h.prev_hash));
        let ctx = context! {
            block => v(&view),
            header_hex => header_hex,
            parent_height => parent.map(|p| p.header.height.0),
            parent_active => parent.is_some_and(|p| state.is_active(&p.hash)),
        };
        let title = format!("Block {}", header.map_or(0, |h| h.height.0));
        respond(&node, owner, Page::new("block.html", title, "blocks", ctx))
    })
    .await
}

/// One transaction: status, inputs with the outputs they spend, outputs, payload as text and hex, and — once
/// confirmed — its Merkle proof drawn from the leaf to the root, with the data the page's script checks.
pub async fn transaction(
    State(node): State<Node>,
    owner: IsOwner,
    Path(txid): Path<String>,
) -> Result<Response, UiError> {
    let view = read::transaction(node.clone(), txid.clone()).await?;
    let confirmed = matches!(
        view.status,
        Some(crate::views::TxStatusView::Confirmed { .. })
    );
    let proof = if confirmed {
        Some(read::merkle_proof(node.clone(), txid).await?)
    } else {
        None
    };
    blocking(&node, move |node| {
        let header_hex = proof
            .as_ref()
            .and_then(|p| p.block.parse::<ferrochain_core::BlockHash>().ok())
            .and_then(|h| node.state().header(&h))
            .map(|r| hex::encode(r.header.to_array()));
        let verify_data = proof.as_ref().map(|p| {
            serde_json::json!({
                "txid": p.txid,
                "leaf_index": p.proof.leaf_index,
                "leaf_count": p.proof.leaf_count,
                "path": p.proof.path.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                "merkle_root": p.merkle_root,
                "block": p.block,
                "header_hex": header_hex,
            })
            .to_string()
        });
        let title = format!("Transaction {}", crate::ui::short(&view.txid));
        // A record for an author without a key carries the author's name as a claim (ADR 0017).
        let payload = view
            .record
            .as_ref()
            .and_then(|_| hex::decode(&view.payload_hex).ok())
            .unwrap_or_default();
        let claim = ferrochain_wallet::Claim::from_payload(&payload);
        // The seed fork's RSA-signed record, co-signed by the node (ADR 0018): checked again here.
        let legacy = crate::views::LegacyRsaCheck::of(&payload);
        let ctx = context! {
            tx => v(&view),
            proof => v(&proof),
            verify_data => verify_data,
            claim => v(&claim),
            legacy => v(&legacy),
        };
        respond(&node, owner, Page::new("tx.html", title, "blocks", ctx))
    })
    .await
}

/// An address: balance (confirmed and pending), unspent outputs, history newest first, paged.
pub async fn address(
    State(node): State<Node>,
    owner: IsOwner,
    Path(address): Path<String>,
    UiQuery(q): UiQuery,
) -> Result<Response, UiError> {
    let page = parse_page(q.get("page").map(String::as_str))?;
    let view = read::address(node.clone(), address.clone()).await?;
    let utxos =
        read::address_utxos(node.clone(), address.clone(), UtxoQuery { spendable: None }).await?;
    let history = read::address_history(
        node.clone(),
        address,
        PageQuery {
            offset: Some(page.saturating_mul(HISTORY_PER_PAGE).min(read::MAX_OFFSET)),
            limit: Some(HISTORY_PER_PAGE),
        },
    )
    .await?;
    let more = history.items.len() as u64 == HISTORY_PER_PAGE;
    let held = node.holds(&view.address);
    let title = format!("Address {}", crate::ui::short(&view.address));
    let ctx = context! {
        addr => v(&view),
        utxos => v(&utxos),
        history => v(&history),
        page => page,
        prev_page => page.checked_sub(1),
        next_page => more.then_some(page + 1),
        held => held,
    };
    respond(&node, owner, Page::new("address.html", title, "", ctx))
}

/// The mempool's entries for the mempool page and its live fragment (blocking).
async fn mempool_ctx(node: &Node) -> Result<Value, UiError> {
    let view = read::mempool(node.clone()).await?;
    Ok(context! { mempool => v(&view) })
}

/// The mempool in block order, re-drawn live.
pub async fn mempool(State(node): State<Node>, owner: IsOwner) -> Result<Response, UiError> {
    let ctx = mempool_ctx(&node).await?;
    respond(
        &node,
        owner,
        Page::new("mempool.html", "Mempool", "mempool", ctx),
    )
}

/// The mempool table alone, re-drawn when a transaction or block arrives.
pub async fn partial_mempool(State(node): State<Node>) -> Result<Response, UiError> {
    let ctx = mempool_ctx(&node).await?;
    fragment("_mempool.html", ctx)
}

/// One signed record found by the records page.
#[derive(Debug, Clone, Serialize)]
pub struct RecordRow {
    /// The record's transaction.
    pub txid: String,
    /// Its author's address.
    pub author: String,
    /// When the author says it was signed (ms).
    pub timestamp_ms: u64,
    /// Its content as text, if it is UTF-8.
    pub text: Option<String>,
    /// Its content as hex.
    pub hex: String,
    /// The block height, `None` while pending.
    pub height: Option<u64>,
}

/// Finds records in the mempool and the last [`RECORD_SCAN_BLOCKS`] active blocks (blocking); returns them
/// newest first with the lowest height searched.
pub fn scan_records(node: &Node) -> Result<(Vec<RecordRow>, u64), UiError> {
    let state = node.state();
    let network = node.network();
    let row = |tx: &Transaction, height: Option<u64>| -> Option<RecordRow> {
        let TxKind::Record {
            author,
            timestamp_ms,
            ..
        } = &tx.kind
        else {
            return None;
        };
        Some(RecordRow {
            txid: tx.txid().to_string(),
            author: network.address(&author.pubkey_hash()),
            timestamp_ms: *timestamp_ms,
            text: String::from_utf8(tx.payload.clone()).ok(),
            hex: hex::encode(&tx.payload),
            height,
        })
    };
    let mut rows: Vec<RecordRow> = state
        .mempool()
        .iter()
        .filter_map(|e| row(&e.tx, None))
        .collect();
    let tip = state.tip().height.0;
    let lowest = tip.saturating_sub(RECORD_SCAN_BLOCKS - 1);
    for h in (lowest..=tip).rev() {
        if let Some(block) = state
            .block_at(Height(h))
            .map_err(|e| UiError::from(crate::error::ApiError::internal(e)))?
        {
            rows.extend(block.transactions.iter().filter_map(|tx| row(tx, Some(h))));
        }
    }
    Ok((rows, lowest))
}

/// Signed records by author, searchable by content: the history of an item in the supply-chain use.
pub async fn records(
    State(node): State<Node>,
    owner: IsOwner,
    UiQuery(q): UiQuery,
) -> Result<Response, UiError> {
    let page = parse_page(q.get("page").map(String::as_str))? as usize;
    let text = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    let author = q
        .get("author")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let oldest_first = q.get("order").is_some_and(|o| o == "asc");
    if !author.is_empty() {
        crate::parse::parse_address(node.network(), &author).map_err(UiError::from)?;
    }
    blocking(&node, move |node| {
        let (all, lowest) = scan_records(&node)?;
        let needle = text.to_lowercase();
        let mut matching: Vec<RecordRow> = all
            .into_iter()
            .filter(|r| author.is_empty() || r.author == author)
            .filter(|r| {
                needle.is_empty()
                    || r.text
                        .as_deref()
                        .is_some_and(|t| t.to_lowercase().contains(&needle))
                    || r.hex.contains(&needle)
            })
            .collect();
        let mut authors: BTreeMap<String, usize> = BTreeMap::new();
        for r in &matching {
            *authors.entry(r.author.clone()).or_default() += 1;
        }
        let mut authors: Vec<(String, usize)> = authors.into_iter().collect();
        authors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if oldest_first {
            matching.reverse();
        }
        let total = matching.len();
        let shown: Vec<RecordRow> = matching
            .into_iter()
            .skip(page * RECORDS_PER_PAGE)
            .take(RECORDS_PER_PAGE)
            .collect();
        let ctx = context! {
            records => v(&shown),
            total => total,
            authors => authors,
            q => text,
            author => author,
            order => if oldest_first { "asc" } else { "desc" },
            page => page,
            prev_page => page.checked_sub(1),
            next_page => ((page + 1) * RECORDS_PER_PAGE < total).then_some(page + 1),
            lowest => lowest,
            tip => node.state().tip().height.0,
            scan => RECORD_SCAN_BLOCKS,
        };
        respond(
            &node,
            owner,
            Page::new("records.html", "Records", "records", ctx),
        )
    })
    .await
}

/// Goes to what the search box was given: a height, a txid or block hash, or an address.
pub async fn search(State(node): State<Node>, UiQuery(q): UiQuery) -> Result<Response, UiError> {
    let text = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    if text.is_empty() {
        return Err(UiError::bad_request(
            "type a block height, a block hash, a transaction id or an address",
        ));
    }
    if text.len() < 20 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Redirect::to(&format!("/ui/block/{text}")).into_response());
    }
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let lower = text.to_ascii_lowercase();
        let probe = lower.clone();
        let (is_tx, is_block) = blocking(&node, move |node| {
            let state = node.state();
            let is_tx = probe
                .parse::<ferrochain_core::Txid>()
                .ok()
                .and_then(|t| state.transaction(&t).ok().flatten())
                .is_some();
            let is_block = probe
                .parse::<ferrochain_core::BlockHash>()
                .ok()
                .and_then(|h| state.header(&h))
                .is_some();
            Ok((is_tx, is_block))
        })
        .await?;
        return if is_tx {
            Ok(Redirect::to(&format!("/ui/tx/{lower}")).into_response())
        } else if is_block {
            Ok(Redirect::to(&format!("/ui/block/{lower}")).into_response())
        } else {
            Err(UiError::not_found(format!(
                "{lower} is neither a transaction (pending or in the active chain) nor a block this node knows"
            )))
        };
    }
    match node.network().parse_address(&text) {
        Ok(hash) => Ok(
            Redirect::to(&format!("/ui/address/{}", node.network().address(&hash))).into_response(),
        ),
        Err(e) => Err(UiError::bad_request(format!(
            "{text:?} is not a block height, a 64-digit hash or txid, or an address of this network ({e})"
        ))),
    }
}
