//! Systems A (the tutorial node: `/mine`, `/transactions/new`, `/chain`) and B (`/blockchain/*` and the
//! client wallet `/client/*`). Answers are JSON `{"message": …}` objects, as theirs were; `Missing values` is
//! plain text, as theirs was.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrochain_core::crypto::AddressError;
use ferrochain_core::{Block, PubkeyHash, Signature, SigningKey, Transaction, Txid};
use ferrochain_state::{MempoolError, StateError};
use ferrochain_wallet::build::{TransferRequest, build_transfer};
use ferrochain_wallet::coin_select::FeePolicy;
use serde_json::{Value, json};

use super::request::{
    Failure, Fields, Style, answer, is_private_key, node_failure, parse_address,
    parse_address_or_key, parse_amount, parse_fee, require_owner, require_owner_off_dev,
    task_failure, text, wants_text,
};
use super::view;
use crate::error::ApiError;
use crate::extract::{Body, Owner};
use crate::limits::Heavy;
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
pub(super) fn chain_range(query: Option<&str>) -> Result<(u64, u64), Failure> {
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
pub(super) async fn chain(
    State(node): State<Node>,
    Extension(heavy): Extension<Heavy>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = (|| {
        let (from, limit) = chain_range(query.as_deref())?;
        let permit = heavy.enter()?;
        Ok(view::chain(
            &node,
            permit,
            from,
            limit,
            view::ChainAnswer::Chain,
            view::unedited,
        ))
    })();
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

/// How to make a transfer that is signed by the sender's key: the end of A's refusals of unsigned transfers.
const HOW_TO_SIGN: &str = "transfers must be signed by the sender's key: send from an address this node holds \
     (create one with POST /api/new_wallet), or sign the transfer yourself with POST \
     /client/generate/transaction and post its \"transaction\" here or to /blockchain/transactions/new, or use \
     the CLI wallet (`ferrochain wallet send`)";

/// Reads A's `sender`. Text that is not an address at all (a name such as `alice`, as the tutorial allowed) is
/// refused with how to sign a transfer; text that looks like an address of this network (`dev1…`) but does
/// not decode keeps the precise address error (a typo).
fn parse_sender(node: &Node, sender: &str) -> Result<PubkeyHash, Failure> {
    let prefix = format!("{}1", node.network().spec().address_prefix);
    match node.network().parse_address(sender) {
        Ok(hash) => Ok(hash),
        Err(AddressError::Invalid(_))
            if !sender
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()) =>
        {
            Err(Failure::bad(
                "Address",
                format!("sender {sender:?} is not an address ({prefix}…), and {HOW_TO_SIGN}"),
            ))
        }
        Err(e) => Err(Failure::bad("Address", format!("sender: {e}"))),
    }
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
        let from = parse_sender(&node, &sender)?;
        let sender = node.network().address(&from);
        let to = parse_address(&node, "recipient", &fields.required_text("recipient")?)?;
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
            f.prefixed(&format!(
                "a transfer from a node-held key is an owner operation ({HOW_TO_SIGN}): "
            ))
        })?;
        if !node.holds(&sender) {
            return Err(Failure::bad(
                "Wallet",
                format!("this node holds no key for {sender}, and {HOW_TO_SIGN}"),
            ));
        }
        let tx = node
            .pay(sender, to, amount, fee, Vec::new())
            .await
            .map_err(|e| node_failure(&node, e))?;
        Ok(added(&node, tx.txid()))
    }
    .await;
    answer(result, Style::Message)
}

/// B's confirmation form (`sender_address, recipient_address, amount, signature`, as its page posts it): the
/// transaction `/client/generate/transaction` made with that signature, when the other three fields are that
/// transaction's `sender_address`, `recipient_address` and `value`. Each field that disagrees is named.
fn confirmed_transaction(
    node: &Node,
    generated: &Generated,
    fields: &Fields,
) -> Result<Transaction, Failure> {
    let signature: Signature = fields.required_text("signature")?.parse().map_err(|e| {
        Failure::bad(
            "Transaction",
            format!(
                "signature: {e}; post the signature that /client/generate/transaction answered"
            ),
        )
    })?;
    let tx = generated.find(&signature).ok_or_else(|| {
        Failure::bad(
            "Transaction",
            "this node generated no transaction with this signature: generate the transaction first with \
             POST /client/generate/transaction (it may have been forgotten if the node restarted), then post \
             its transaction.sender_address, transaction.recipient_address, transaction.value (as amount) \
             and signature here, or post its \"transaction\" object as JSON",
        )
    })?;
    let network = node.network();
    let (sender, recipient, value) = view::client_b_parties(&tx);
    let shown =
        |h: Option<PubkeyHash>| h.map_or_else(|| "nobody".to_string(), |h| network.address(&h));
    let mismatch = |field: &str, posted: &str, signed: String| {
        Failure::bad(
            "Transaction",
            format!(
                "{field} {posted:?} does not match the transaction this signature signs, whose {field} is \
                 {signed}: post the fields /client/generate/transaction answered, unchanged"
            ),
        )
    };
    let posted_sender = fields.required_text("sender_address")?;
    let sender_key = sender.and_then(|_| tx.inputs().first().map(|i| i.public_key));
    if let Ok(secret) = hex::decode(posted_sender.trim())
        && let Ok(secret) = <[u8; 32]>::try_from(secret.as_slice())
        && Some(SigningKey::from_secret_bytes(secret).public_key()) == sender_key
    {
        return Err(Failure::bad(
            "Wallet",
            "sender_address is the sender's private key: never post it; the sender_address is the public_key \
             or the address of the wallet",
        ));
    }
    if Some(parse_address_or_key(
        node,
        "sender_address",
        &posted_sender,
    )?) != sender
    {
        return Err(mismatch("sender_address", &posted_sender, shown(sender)));
    }
    let posted_recipient = fields.required_text("recipient_address")?;
    if Some(parse_address_or_key(
        node,
        "recipient_address",
        &posted_recipient,
    )?) != recipient
    {
        return Err(mismatch(
            "recipient_address",
            &posted_recipient,
            shown(recipient),
        ));
    }
    let decimals = network.spec().decimals;
    let posted_amount = fields.get("amount").unwrap_or(&Value::Null);
    if parse_amount("amount", posted_amount, decimals, false)? != value {
        return Err(mismatch(
            "amount",
            &fields.text("amount")?.unwrap_or_default(),
            format!("{} (the transaction's value)", value.format_units(decimals)),
        ));
    }
    Ok(tx)
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
        let tx = confirmed_transaction(&node, &generated, &fields)?;
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
        let secret = fields.required_text("sender_private_key")?;
        let sender_text = fields.required_text("sender_address")?;
        let recipient_text = fields.required_text("recipient_address")?;
        for (field, text) in [("sender_address", &sender_text), ("recipient_address", &recipient_text)] {
            if is_private_key(text, &secret) {
                return Err(Failure::bad(
                    "Wallet",
                    format!(
                        "{field} is the sender's private key: put the public_key (or the address) of the wallet \
                         there; the private key belongs in sender_private_key only"
                    ),
                ));
            }
        }
        let sender = parse_address_or_key(&node, "sender_address", &sender_text)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&secret, &mut bytes).map_err(|_| {
            Failure::bad(
                "Wallet",
                "sender_private_key must be 64 hex digits (the private_key of GET /client/wallet/new)",
            )
        })?;
        let key = SigningKey::from_secret_bytes(bytes);
        bytes.fill(0);
        if key.public_key().pubkey_hash() != sender {
            return Err(Failure::bad(
                "Wallet",
                "sender_private_key is not the key of sender_address (the public_key or address of the same \
                 GET /client/wallet/new answer)",
            ));
        }
        let recipient = parse_address_or_key(&node, "recipient_address", &recipient_text)?;
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
        // The real transaction, plus the three fields B's page copies into its confirmation form.
        let mut shown = serde_json::to_value(&tx)
            .map_err(|e| Failure::from(ApiError::internal(e)))?;
        if let Value::Object(map) = &mut shown {
            map.extend(view::client_b_fields(&tx, node.network()));
        }
        Ok(axum::Json(json!({
            "transaction": shown,
            "signature": signature,
            "txid": tx.txid().to_string(),
            "summary": view::transaction(&tx, node.network()),
        }))
        .into_response())
    }
    .await;
    answer(result, Style::Message)
}
