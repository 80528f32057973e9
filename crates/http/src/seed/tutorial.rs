//! Systems A (the tutorial node: `/mine`, `/transactions/new`, `/chain`) and B (`/blockchain/*` and the
//! client wallet `/client/*`). Answers are JSON `{"message": …}` objects, as theirs were; `Missing values` is
//! plain text, as theirs was.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrochain_core::{Block, PubkeyHash, Signature, SigningKey, Transaction, Txid};
use ferrochain_state::{MempoolError, StateError};
use ferrochain_wallet::build::{TransferRequest, build_transfer};
use ferrochain_wallet::coin_select::FeePolicy;
use serde_json::{Value, json};

use super::request::{
    Failure, Fields, Style, answer, node_failure, parse_address, parse_amount, parse_fee,
    require_owner, require_owner_off_dev, task_failure, text, wants_text,
};
use super::view;
use crate::error::ApiError;
use crate::extract::{Body, Owner};
use ferrochain_node::{Node, NodeError};

/// How many transactions made by `/client/generate/transaction` the node remembers, so that B's original front
/// end can submit one by its form fields and signature.
pub const GENERATED_KEPT: usize = 1024;

/// The transactions `/client/generate/transaction` made most recently (newest last).
#[derive(Debug, Default)]
pub(super) struct Generated {
    txs: Mutex<VecDeque<Transaction>>,
}

impl Generated {
    /// A new, empty memory shared by the routes of one application.
    pub fn shared() -> Arc<Generated> {
        Arc::new(Generated::default())
    }

    fn remember(&self, tx: Transaction) {
        let mut txs = self.txs.lock().unwrap_or_else(|p| p.into_inner());
        if txs.len() >= GENERATED_KEPT {
            txs.pop_front();
        }
        txs.push_back(tx);
    }

    fn find(&self, signature: &Signature) -> Option<Transaction> {
        let txs = self.txs.lock().unwrap_or_else(|p| p.into_inner());
        txs.iter()
            .rev()
            .find(|t| t.inputs().first().map(|i| &i.signature) == Some(signature))
            .cloned()
    }
}

/// The `index` (genesis = 1) of the block a transaction submitted now goes into.
fn next_index(node: &Node) -> u64 {
    node.state().tip().height.0 + 2
}

/// Mines one block with at most `max_txs` pending transactions, paying `reward_to`.
pub(super) async fn mine_to(
    node: &Node,
    reward_to: PubkeyHash,
    max_txs: usize,
) -> Result<Block, Failure> {
    let max_txs = (max_txs < usize::MAX).then_some(max_txs);
    let mut blocks = node
        .mine_blocks(1, Some(reward_to), max_txs)
        .await
        .map_err(|e| node_failure(node, e))?;
    blocks
        .pop()
        .ok_or_else(|| ApiError::internal("mining one block gave none").into())
}

/// A's answer to a mined block: the block's view with `"message": "New Block Forged"`.
async fn mined_json(node: &Node) -> Result<Response, Failure> {
    let block = mine_to(node, node.miner_address(), usize::MAX).await?;
    let mut v = view::block(&block, node.network());
    v["message"] = json!("New Block Forged");
    Ok(axum::Json(v).into_response())
}

/// `GET /mine`: A's JSON, or C's text when asked for text (module docs, "Decisions").
pub(super) async fn mine(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let as_text = wants_text(query.as_deref(), &headers);
    let style = if as_text { Style::Text } else { Style::Message };
    let result = async {
        require_owner_off_dev(&node, &owner)?;
        if !as_text {
            return mined_json(&node).await;
        }
        if node.state().mempool().is_empty() {
            return Ok(text(StatusCode::OK, "No transactions to mine"));
        }
        let block = mine_to(&node, node.miner_address(), usize::MAX).await?;
        Ok(text(
            StatusCode::OK,
            format!("Block #{} is mined.", block.header.height.0),
        ))
    }
    .await;
    answer(result, style)
}

/// `GET /blockchain/mine`: A's JSON (B's `block_number` and `nonce` are in every block view).
pub(super) async fn mine_json(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
) -> Response {
    let result = async {
        require_owner_off_dev(&node, &owner)?;
        mined_json(&node).await
    }
    .await;
    answer(result, Style::Message)
}

/// Reads `?from=&limit=` of `/chain`.
fn chain_range(query: Option<&str>) -> Result<(u64, u64), Failure> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| Failure::bad("Request", format!("query: {e}")))?;
    let mut from = 1;
    let mut limit = u64::MAX;
    for (k, v) in pairs {
        let number = || {
            v.trim().parse::<u64>().map_err(|_| {
                Failure::bad("Request", format!("{k} must be a whole number, not {v:?}"))
            })
        };
        match k.as_str() {
            "from" => from = number()?,
            "limit" => limit = number()?,
            _ => {}
        }
    }
    if from == 0 {
        return Err(Failure::bad(
            "Request",
            "from is the index of the first block to show; genesis is index 1",
        ));
    }
    Ok((from, limit))
}

/// `GET /chain`, `GET /blockchain/chain`.
pub(super) async fn chain(State(node): State<Node>, RawQuery(query): RawQuery) -> Response {
    let result = async {
        let (from, limit) = chain_range(query.as_deref())?;
        Ok(axum::Json(view::chain(&node, from, limit).await?).into_response())
    }
    .await;
    answer(result, Style::Message)
}

/// `GET /blockchain/transactions/get`.
pub(super) async fn pending(State(node): State<Node>) -> Response {
    axum::Json(json!({ "transactions": view::pool(&node) })).into_response()
}

/// The signed transaction a body carries: `{"transaction": {…}}` (or its JSON text, as a form field), or the
/// transaction itself. `None` when the body carries none.
fn signed_transaction(fields: &Fields) -> Result<Option<Transaction>, Failure> {
    let value = match fields.get("transaction") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .map_err(|e| Failure::bad("Transaction", format!("transaction is not JSON: {e}")))?,
        Some(v) => v.clone(),
        None if fields.has("version") && fields.has("kind") => fields.to_value(),
        None => return Ok(None),
    };
    serde_json::from_value::<Transaction>(value)
        .map(Some)
        .map_err(|e| {
            Failure::bad(
                "Transaction",
                format!(
                    "transaction is not a ferrochain transaction ({e}); post the \"transaction\" object that \
                     /client/generate/transaction answered"
                ),
            )
        })
}

/// Submits a signed transaction: 201 with the block it will be added to; a transaction that fails its checks
/// is B's 406 `Invalid Transaction!` with the reason; one already submitted or conflicting is a 409.
async fn submit_signed_tx(node: &Node, tx: Transaction) -> Result<Response, Failure> {
    let txid = node.accept_transaction(tx).await.map_err(|e| match e {
        NodeError::State(StateError::Mempool(MempoolError::Invalid(why))) => Failure::new(
            StatusCode::NOT_ACCEPTABLE,
            "Transaction",
            "Invalid Transaction!",
        )
        .with_reason(why.to_string()),
        other => node_failure(node, other),
    })?;
    Ok(added(node, txid))
}

fn added(node: &Node, txid: Txid) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "message": format!("Transaction will be added to Block {}", next_index(node)),
            "txid": txid.to_string(),
        })),
    )
        .into_response()
}

/// `POST /transactions/new`: a transfer from a node-held key (`{sender, recipient, amount[, fee]}`), or a
/// signed `transaction`.
pub(super) async fn new_transaction(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        if let Some(tx) = signed_transaction(&fields)? {
            return submit_signed_tx(&node, tx).await;
        }
        fields.require(&["sender", "recipient", "amount"])?;
        let sender = fields.required_text("sender")?;
        if sender == "0" {
            return Err(Failure::bad(
                "Address",
                "sender \"0\" would mint coins: new coins come only from mining (GET /mine)",
            ));
        }
        let from = parse_address(&node, "sender", &sender)?;
        let sender = node.network().address(&from);
        let to = parse_address(&node, "recipient", &fields.required_text("recipient")?)?;
        let decimals = node.network().spec().decimals;
        let amount = parse_amount("amount", fields.get("amount").unwrap_or(&Value::Null), decimals, false)?;
        let fee = parse_fee(&node, &fields)?;
        if !node.holds(&sender) {
            return Err(Failure::bad(
                "Wallet",
                format!(
                    "this node holds no key for {sender}, and transfers must be signed by the sender's key: \
                     send from an address this node holds (create one with POST /api/new_wallet), or sign the \
                     transfer yourself with POST /client/generate/transaction and post its \"transaction\" \
                     here or to /blockchain/transactions/new, or use the CLI wallet (`ferrochain wallet send`)"
                ),
            ));
        }
        require_owner(&owner)?;
        let tx = node
            .pay(sender, to, amount, fee, Vec::new())
            .await
            .map_err(|e| node_failure(&node, e))?;
        Ok(added(&node, tx.txid()))
    }
    .await;
    answer(result, Style::Message)
}

/// `POST /blockchain/transactions/new`: a signed transaction, or B's form fields of a transaction this node
/// generated.
pub(super) async fn submit_signed(
    State(node): State<Node>,
    Extension(generated): Extension<Arc<Generated>>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        if let Some(tx) = signed_transaction(&fields)? {
            return submit_signed_tx(&node, tx).await;
        }
        fields.require(&["sender_address", "recipient_address", "amount", "signature"])?;
        let invalid = |why: &str| {
            Failure::new(StatusCode::NOT_ACCEPTABLE, "Transaction", "Invalid Transaction!")
                .with_reason(why.to_string())
        };
        let signature: Signature = fields.required_text("signature")?.parse().map_err(|e| {
            invalid(&format!("signature: {e}"))
        })?;
        let tx = generated.find(&signature).ok_or_else(|| {
            invalid(
                "no transaction generated by this node has this signature: make it with POST \
                 /client/generate/transaction and post its \"transaction\" object",
            )
        })?;
        let sender = parse_address(&node, "sender_address", &fields.required_text("sender_address")?)?;
        let recipient =
            parse_address(&node, "recipient_address", &fields.required_text("recipient_address")?)?;
        let decimals = node.network().spec().decimals;
        let amount = parse_amount("amount", fields.get("amount").unwrap_or(&Value::Null), decimals, false)?;
        let first = tx.outputs.first();
        let matches = tx.inputs().first().map(|i| i.public_key.pubkey_hash()) == Some(sender)
            && first.map(|o| (o.address, o.amount)) == Some((recipient, amount));
        if !matches {
            return Err(invalid(
                "sender_address, recipient_address and amount do not match the transaction this signature signs",
            ));
        }
        submit_signed_tx(&node, tx).await
    }
    .await;
    answer(result, Style::Message)
}

/// `GET /client/wallet/new`: a new key pair and its address, stored nowhere.
pub(super) async fn client_wallet(State(node): State<Node>) -> Response {
    let key = SigningKey::generate(&mut rand::rng());
    let public = key.public_key();
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({
            "private_key": hex::encode(key.secret_bytes()),
            "public_key": public.to_string(),
            "address": node.network().address(&public.pubkey_hash()),
        })),
    )
        .into_response()
}

/// `POST /client/generate/transaction`: builds and signs a transfer with the sender's private key from the
/// sender's spendable outputs; nothing is submitted or stored except the transaction itself, kept so that B's
/// front end can submit it by its signature.
pub(super) async fn generate_transaction(
    State(node): State<Node>,
    Extension(generated): Extension<Arc<Generated>>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        fields.require(&[
            "sender_address",
            "sender_private_key",
            "recipient_address",
            "amount",
        ])?;
        let sender = parse_address(&node, "sender_address", &fields.required_text("sender_address")?)?;
        let secret = fields.required_text("sender_private_key")?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&secret, &mut bytes).map_err(|_| {
            Failure::bad(
                "Wallet",
                "sender_private_key must be 64 hex digits (the private_key of GET /client/wallet/new)",
            )
        })?;
        let key = SigningKey::from_secret_bytes(bytes);
        if key.public_key().pubkey_hash() != sender {
            return Err(Failure::bad(
                "Wallet",
                "sender_private_key is not the key of sender_address",
            ));
        }
        let recipient =
            parse_address(&node, "recipient_address", &fields.required_text("recipient_address")?)?;
        let decimals = node.network().spec().decimals;
        let amount = parse_amount("amount", fields.get("amount").unwrap_or(&Value::Null), decimals, false)?;
        let fee = parse_fee(&node, &fields)?;
        let tx = node
            .blocking(move |n| {
                let (candidates, options) = n.transfer_candidates(&sender)?;
                let request = TransferRequest::new(vec![(recipient, amount)], FeePolicy::Fixed(fee))
                    .with_change_address(sender)
                    .with_options(options);
                Ok::<_, NodeError>(build_transfer(&key, &candidates, &request, n.network())?)
            })
            .await
            .map_err(task_failure)?
            .map_err(|e| node_failure(&node, e))?;
        generated.remember(tx.clone());
        let signature = tx.inputs().first().map(|i| i.signature.to_string());
        Ok(axum::Json(json!({
            "transaction": tx,
            "signature": signature,
            "txid": tx.txid().to_string(),
            "summary": view::transaction(&tx, node.network()),
        }))
        .into_response())
    }
    .await;
    answer(result, Style::Message)
}
