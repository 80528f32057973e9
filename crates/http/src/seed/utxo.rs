//! System D, the UTXO chain with PostgreSQL tables (`/api/*`): node-held wallets, sends, mining a block with a
//! bounded number of pending transactions, resetting a `dev` chain, the chain state and the pool.
//!
//! The action routes and `get_wallets` answer in D's envelope `{"data": …, "error": null}` /
//! `{"data": null, "error": "Type: message"}`, with 4xx statuses for errors. `get_blocks`, `get_pool` and
//! `get_chainstate` answer **bare**, in the shapes D's pocket-blockchain test stand parses: blocks,
//! transactions and unspent outputs as nested JSON strings (the `pocket_*` views of [`super::view`];
//! `docs/adr/0015-seed-compat-views-pocket.md`). No answer carries key material: a wallet's `privateKey` is a
//! sentence saying that the node keeps it.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrochain_core::utxo::UtxoEntry;
use ferrochain_core::{Height, OutPoint};
use serde_json::{Value, json};

use super::request::{
    Failure, Fields, Style, envelope, is_dev, node_failure, parse_address, parse_amount, parse_fee,
    require_owner, require_owner_off_dev, task_failure,
};
use super::tutorial::mine_to;
use super::view;
use crate::error::ApiError;
use crate::extract::{Body, Owner};
use crate::limits::Heavy;
use crate::stream::StreamError;
use ferrochain_node::Node;

/// Pending transactions `/api/mine_block` takes when the request names no `txAmount` (D's default).
pub const DEFAULT_TX_AMOUNT: u64 = 5;
/// Sample wallets `/api/reset_system` creates and funds.
pub const SAMPLE_WALLETS: usize = 3;

fn respond(result: Result<Value, Failure>) -> Response {
    result.map_or_else(|f| f.render(Style::Envelope), envelope)
}

/// What `get_wallets` shows in place of a private key: the node never hands one out.
pub const PRIVATE_KEY_TEXT: &str = "kept by the node: ferrochain never shows or sends a private key. The node \
     signs for this address itself (POST /api/send); to hold a key yourself, use `ferrochain wallet`";

/// Every node-held address with its confirmed balance (and pending balance), in whole units, and D's `wallet`
/// object: the public key (hex) and [`PRIVATE_KEY_TEXT`] — never key material.
fn wallets(node: &Node, addresses: &[String]) -> Result<Vec<Value>, Failure> {
    let decimals = node.network().spec().decimals;
    addresses
        .iter()
        .map(|address| {
            let hash = parse_address(node, "address", address)?;
            let balance = node
                .state()
                .balance(&hash)
                .map_err(|e| node_failure(node, e.into()))?;
            let public_key = node.held_public_key(address).map(|k| k.to_string());
            Ok(json!({
                "address": address,
                "balance": view::units(balance.confirmed, decimals),
                "pending": view::units(balance.pending, decimals),
                "wallet": {
                    "publicKey": public_key,
                    "privateKey": PRIVATE_KEY_TEXT,
                },
            }))
        })
        .collect()
}

/// `GET /api/get_wallets`: node-held addresses, balances and public keys — never private keys.
pub(super) async fn get_wallets(State(node): State<Node>) -> Response {
    let result = node
        .blocking(|n| wallets(&n, &n.held_addresses()))
        .await
        .map_err(task_failure)
        .and_then(|r| r);
    respond(result.map(Value::from))
}

/// A bare answer of D's read routes, or its failure in D's envelope.
fn bare(result: Result<Value, Failure>) -> Response {
    result.map_or_else(
        |f| f.render(Style::Envelope),
        |v| axum::Json(v).into_response(),
    )
}

/// Runs a read of D's bare routes on a blocking thread (they read the store or copy the UTXO set / pool).
async fn read_bare(
    node: &Node,
    f: impl FnOnce(&Node) -> Result<Value, Failure> + Send + 'static,
) -> Response {
    let result = node
        .blocking(move |n| f(&n))
        .await
        .map_err(task_failure)
        .and_then(|r| r);
    bare(result)
}

/// `GET /api/get_blocks`: every block of the active chain, genesis first, as a bare array of
/// [`view::pocket_block`], streamed block by block from the store ([`crate::stream`]).
pub(super) async fn get_blocks(
    State(node): State<Node>,
    Extension(heavy): Extension<Heavy>,
) -> Response {
    let permit = match heavy.enter() {
        Ok(permit) => permit,
        Err(busy) => return Failure::from(busy).render(Style::Envelope),
    };
    crate::stream::json_response(&node, permit, |n, w| {
        let tip = n.state().tip().height.0;
        w.raw("[")?;
        let mut first = true;
        for h in 0..=tip {
            let block = n
                .state()
                .block_at(Height(h))
                .map_err(|e| StreamError::Failed(format!("reading block {h}: {e}")))?;
            // A reorg or reset between reading the tip and this block ends the list early.
            let Some(block) = block else { break };
            if !first {
                w.raw(",")?;
            }
            first = false;
            w.value(&view::pocket_block(&block, n.network()))?;
        }
        w.raw("]")
    })
}

/// Unspent outputs read from the chain state per page of `/api/get_chainstate`.
pub const CHAINSTATE_PAGE: usize = 4096;

/// One transaction's entry of D's chain state: its unspent outputs as the JSON string
/// `[{outputID, val, publicKeyHash, amount_units, height, coinbase}…]`, by output index.
fn chainstate_entry(node: &Node, outputs: &[(OutPoint, UtxoEntry)]) -> Value {
    let network = node.network();
    let decimals = network.spec().decimals;
    let outs: Vec<Value> = outputs
        .iter()
        .map(|(op, entry)| {
            json!({
                "outputID": op.vout,
                "val": view::units(entry.output.amount, decimals),
                "publicKeyHash": network.address(&entry.output.address),
                "amount_units": entry.output.amount.to_units(),
                "height": entry.height.0,
                "coinbase": entry.is_coinbase,
            })
        })
        .collect();
    let text = serde_json::to_string(&outs).unwrap_or_else(|_| "[]".into());
    json!({ "serializedUnspentOutputs": text })
}

/// `GET /api/get_chainstate`: the unspent outputs of the active chain grouped by transaction id, as D's bare
/// `{"<txid>": {"serializedUnspentOutputs": "<JSON string of [{outputID, val, publicKeyHash, …}]>"}}` in
/// txid order — streamed page by page of [`CHAINSTATE_PAGE`] outputs (`State::utxo_page`), never a copy of
/// the whole set. Pages are read one after another, so an answer that straddles a new block may show some
/// outputs from before it and some from after.
pub(super) async fn get_chainstate(
    State(node): State<Node>,
    Extension(heavy): Extension<Heavy>,
) -> Response {
    let permit = match heavy.enter() {
        Ok(permit) => permit,
        Err(busy) => return Failure::from(busy).render(Style::Envelope),
    };
    crate::stream::json_response(&node, permit, |n, w| {
        w.raw("{")?;
        let mut first = true;
        // The outputs of the transaction being collected (they are contiguous in outpoint order).
        let mut group: Vec<(OutPoint, UtxoEntry)> = Vec::new();
        let mut emit = |w: &mut crate::stream::JsonWriter,
                        group: &mut Vec<(OutPoint, UtxoEntry)>|
         -> Result<(), StreamError> {
            let Some((op, _)) = group.first() else {
                return Ok(());
            };
            if !first {
                w.raw(",")?;
            }
            first = false;
            w.value(&op.txid.to_string())?;
            w.raw(":")?;
            w.value(&chainstate_entry(n, group))?;
            group.clear();
            Ok(())
        };
        let mut after = None;
        loop {
            let page = n.state().utxo_page(after, CHAINSTATE_PAGE);
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            let full = page.len() == CHAINSTATE_PAGE;
            for (op, entry) in page {
                if group.first().is_some_and(|(g, _)| g.txid != op.txid) {
                    emit(w, &mut group)?;
                }
                group.push((op, entry));
            }
            if !full {
                break;
            }
        }
        emit(w, &mut group)?;
        w.raw("}")
    })
}

/// `GET /api/get_pool`: pending transactions in mempool order (fee rate, then arrival), as a bare array of
/// [`view::pocket_pending`].
pub(super) async fn get_pool(State(node): State<Node>) -> Response {
    read_bare(&node, |n| {
        let network = n.network();
        Ok(n.state()
            .mempool()
            .iter()
            .map(|e| view::pocket_pending(e, network))
            .collect())
    })
    .await
}

async fn new_held_address(node: &Node) -> Result<String, Failure> {
    node.new_address().await.map_err(|e| node_failure(node, e))
}

/// `POST /api/new_wallet`: a new node-held key; the answer is its address.
pub(super) async fn new_wallet(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
) -> Response {
    let result = async {
        require_owner(&owner)?;
        Ok(Value::from(new_held_address(&node).await?))
    };
    respond(result.await)
}

/// `POST /api/send` `{from, to, amount[, fee]}`: a transfer from a node-held key into the pool.
pub(super) async fn send(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        let missing = fields.missing(&["from", "to", "amount"]);
        if !missing.is_empty() {
            return Err(Failure::bad(
                "Request",
                format!("Missing values: {}", missing.join(", ")),
            ));
        }
        let from = parse_address(&node, "from", &fields.required_text("from")?)?;
        let from = node.network().address(&from);
        let to = parse_address(&node, "to", &fields.required_text("to")?)?;
        let decimals = node.network().spec().decimals;
        let amount = parse_amount(
            "amount",
            fields.get("amount").unwrap_or(&Value::Null),
            decimals,
            false,
        )?;
        let fee = parse_fee(&node, &fields)?;
        // The owner check first: others learn nothing about which addresses the node holds.
        require_owner(&owner).map_err(|f| {
            f.prefixed(
                "sending from a node-held key is an owner operation (others sign the transfer themselves: \
                 POST /client/generate/transaction): ",
            )
        })?;
        if !node.holds(&from) {
            return Err(Failure::bad(
                "Wallet",
                format!(
                    "this node holds no key for {from}: send from an address of /api/get_wallets (create one \
                     with POST /api/new_wallet), or sign the transfer yourself (POST /client/generate/transaction)"
                ),
            ));
        }
        if node.network().address(&to) == from {
            // D refused this too, in these words (after the owner check: callers who may not send learn
            // nothing more).
            return Err(Failure::bad("Request", "invalid request parameters").with_reason(
                "from and to are the same address; send to another address (POST /api/new_wallet makes one)",
            ));
        }
        node.pay(from, to, amount, fee, Vec::new())
            .await
            .map_err(|e| node_failure(&node, e))?;
        Ok(json!("Transaction is added to pool"))
    };
    respond(result.await)
}

/// Reads `txAmount`: a whole number of transactions, zero or more.
fn tx_amount(fields: &Fields) -> Result<u64, Failure> {
    let Some(v) = fields.get("txAmount") else {
        return Ok(DEFAULT_TX_AMOUNT);
    };
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| {
            Failure::bad(
                "Request",
                format!("txAmount must be a whole number of transactions (0 or more), not {v}"),
            )
        })
}

/// `POST /api/mine_block` `{address[, txAmount]}`: one block paying `address`, with at most `txAmount`
/// pending transactions in mempool order.
pub(super) async fn mine_block(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        if !fields.missing(&["address"]).is_empty() {
            return Err(Failure::bad("Request", "Missing values: address"));
        }
        let address = parse_address(&node, "address", &fields.required_text("address")?)?;
        let max = usize::try_from(tx_amount(&fields)?).unwrap_or(usize::MAX);
        require_owner_off_dev(&node, &owner)?;
        let block = mine_to(&node, address, max).await?;
        Ok(view::block(&block, node.network()))
    };
    respond(result.await)
}

/// `POST /api/reset_system` (owner, `dev` chains only): throws the chain away — back to the genesis block, with
/// every other block, the UTXO set, the indexes and the mempool gone, in one store transaction that changes
/// nothing if it fails ([`Node::reset_to_genesis`]) — then creates [`SAMPLE_WALLETS`] node-held wallets and
/// mines one block to each. Node-held keys stay (their balances start again from zero).
pub(super) async fn reset_system(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
) -> Response {
    let result = async {
        require_owner(&owner)?;
        if !is_dev(&node) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "System",
                "reset_system is only available on dev chains",
            ));
        }
        node.reset_to_genesis()
            .await
            .map_err(|e| node_failure(&node, e))?;
        let mut created = Vec::with_capacity(SAMPLE_WALLETS);
        for _ in 0..SAMPLE_WALLETS {
            let address = new_held_address(&node).await?;
            let hash = parse_address(&node, "address", &address)?;
            mine_to(&node, hash, 0).await.map_err(|f| {
                f.prefixed(
                    "the chain was reset to genesis, but funding the sample wallets failed: ",
                )
            })?;
            created.push(address);
        }
        let wallets = node
            .blocking(move |n| wallets(&n, &created))
            .await
            .map_err(task_failure)??;
        Ok(json!({
            "wiped": true,
            "height": node.state().tip().height.0,
            "wallets": wallets,
            "message": format!(
                "the chain was reset to its genesis block (every other block, unspent output, index and pending \
                 transaction removed), then {SAMPLE_WALLETS} sample wallets were created and one block mined to \
                 each (one block subsidy each); the node's keys were kept"
            ),
        }))
    };
    respond(result.await)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tx_amount_defaults_to_five_and_refuses_negatives() {
        let fields = |v: Value| Fields::from_body(Ok(Body(v))).unwrap();
        assert_eq!(tx_amount(&fields(json!({}))).unwrap(), 5);
        assert_eq!(tx_amount(&fields(json!({"txAmount": 2}))).unwrap(), 2);
        assert_eq!(tx_amount(&fields(json!({"txAmount": "0"}))).unwrap(), 0);
        assert!(tx_amount(&fields(json!({"txAmount": -1}))).is_err());
        assert!(tx_amount(&fields(json!({"txAmount": 1.5}))).is_err());
    }
}
