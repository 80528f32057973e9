//! System C, the multi-node records app and its supply-chain fork: signed records (`/new_transaction`), the
//! pending list, blocks from other nodes (`/add_block`) and saving the chain (`/save`). Answers are plain text,
//! as theirs were (except the JSON lists).

use ferrochain_wallet::LegacyRsaRecord;
use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrochain_core::tx::TX_VERSION;
use ferrochain_core::{Block, Decode, PublicKey, Signature, Transaction, TxKind};
use ferrochain_state::{BlockOutcome, MempoolError, StateError};
use serde_json::Value;

use super::request::{
    Failure, Fields, Style, answer, node_failure, require_owner, task_failure, text,
};
use super::view;
use crate::error::ApiError;
use crate::extract::{Body, Owner};
use ferrochain_node::{Node, NodeError};

/// The file `/save` writes in the data directory (the `chain export` format of `ferrochain_state::ops`).
pub const SAVE_FILE: &str = "chain-export.fcblocks";

const INVALID: &str = "Invalid transaction data: ";

/// The record transaction of the signed form `{senderPK, signature, data[, timestamp_ms]}`.
fn signed_record(fields: &Fields) -> Result<Transaction, Failure> {
    let bad = |m: String| Failure::bad("Transaction", format!("{INVALID}{m}"));
    let author: PublicKey = fields.required_text("senderPK")?.parse().map_err(|e| {
        bad(format!(
            "senderPK must be the author's public key in hex: {e}"
        ))
    })?;
    let signature: Signature = fields
        .required_text("signature")?
        .parse()
        .map_err(|e| bad(format!("signature must be 128 hex digits: {e}")))?;
    let data = match fields.get("data") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(bad(format!(
                "data must be the exact text that was signed, not {}",
                super::request::type_name(other)
            )));
        }
        None => return Err(bad("data is missing".into())),
    };
    let timestamp_ms = match fields.get("timestamp_ms") {
        None => 0,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| {
                bad(format!(
                    "timestamp_ms must be a whole number of milliseconds, not {v}"
                ))
            })?,
    };
    Ok(Transaction {
        version: TX_VERSION,
        kind: TxKind::Record {
            author,
            timestamp_ms,
            signature,
        },
        outputs: Vec::new(),
        payload: data.into_bytes(),
    })
}

/// `POST /new_transaction`: `{author, content}` signed by the node-held key of `author`, or a record signed by
/// its author `{senderPK, signature, data[, timestamp_ms]}` (module docs, "Decisions").
pub(super) async fn new_transaction(
    State(node): State<Node>,
    owner: Result<Owner, ApiError>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        let refused = |e: NodeError| match e {
            NodeError::State(StateError::Mempool(MempoolError::Invalid(why))) => {
                Failure::bad("Transaction", format!("{INVALID}{why}"))
            }
            other @ NodeError::State(_) => node_failure(&node, other),
            // Building the record failed (empty or too large content, no key).
            other => node_failure(&node, other).prefixed(INVALID),
        };
        let pem = fields
            .get("senderPK")
            .and_then(Value::as_str)
            .filter(|k| k.contains("-----BEGIN"));
        if let Some(pem) = pem {
            // The supply-chain fork's RSA-signed record (ADR 0018): the node keeps it, co-signed.
            let (Some(Value::String(signature)), Some(Value::String(data))) =
                (fields.get("signature"), fields.get("data"))
            else {
                return Err(Failure::bad(
                    "Transaction",
                    format!(
                        "{INVALID}an RSA record needs \"signature\" and \"data\" strings beside \"senderPK\""
                    ),
                ));
            };
            let record = LegacyRsaRecord::from_fork(pem, signature, data)
                .map_err(|e| Failure::bad("Transaction", format!("{INVALID}{e}")))?;
            require_owner(&owner)?;
            node.sign_legacy_record(record).await.map_err(refused)?;
        } else if fields.has("senderPK") || fields.has("signature") {
            let tx = signed_record(&fields)?;
            node.accept_transaction(tx).await.map_err(refused)?;
        } else {
            let missing = fields.missing(&["author", "content"]);
            if !missing.is_empty() {
                return Err(Failure::bad(
                    "Transaction",
                    format!(
                        "{INVALID}missing {}: send {{\"author\": <an address this node holds>, \"content\": \
                         <text>}}, or a record you signed: {{\"senderPK\", \"signature\", \"data\", \
                         \"timestamp_ms\"}}",
                        missing.join(", ")
                    ),
                ));
            }
            let author = fields.required_text("author")?;
            let content = match fields.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let network = node.network();
            let address_like = author
                .trim()
                .to_ascii_lowercase()
                .starts_with(&format!("{}1", network.spec().address_prefix));
            match network.parse_address(author.trim()) {
                // An address: the node signs only with that address's own key.
                Ok(hash) => {
                    let address = network.address(&hash);
                    // The owner check first: others learn nothing about which addresses the node holds.
                    require_owner(&owner)?;
                    if !node.holds(&address) {
                        return Err(Failure::bad(
                            "Wallet",
                            format!(
                                "{INVALID}author {address} is an address whose key this node does not hold: \
                                 sign the record yourself and send {{\"senderPK\", \"signature\", \"data\", \
                                 \"timestamp_ms\"}}, use an address of /api/get_wallets, or give a plain name \
                                 as author (the node then signs it as that author's claim)"
                            ),
                        ));
                    }
                    node.sign_record(address, content.into_bytes())
                        .await
                        .map_err(refused)?;
                }
                Err(e) if address_like => {
                    return Err(Failure::bad(
                        "Address",
                        format!(
                            "{INVALID}author {author:?} looks like an address but is not one: {e}"
                        ),
                    ));
                }
                // A plain name (C's "YourNet" users type one): the node signs, the name is a claim.
                Err(_) => {
                    require_owner(&owner)?;
                    node.sign_claimed_record(&author, &content)
                        .await
                        .map_err(refused)?;
                }
            }
        }
        Ok(text(StatusCode::CREATED, "Success"))
    };
    answer(result.await, Style::Text)
}

/// `GET /supply-chain/chain`: `/chain` with only the supply-chain fork's RSA records in each block (ADR 0018).
/// The fork's page turns the receiver part of every transaction's `data` into a name from its own address book
/// and fails on anything else (coinbases, genesis, ferrochain's own records), so the fork is pointed at the
/// node URL `http://host:port/supply-chain` and reads this view.
pub(super) async fn supply_chain(
    State(node): State<Node>,
    axum::Extension(heavy): axum::Extension<crate::limits::Heavy>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    fn only_fork_records(block: &mut Value) {
        if let Some(txs) = block["transactions"].as_array_mut() {
            txs.retain(|t| t["legacy_rsa"].is_object());
        }
    }
    let result = (|| {
        let (from, limit) = super::tutorial::chain_range(query.as_deref())?;
        let permit = heavy.enter()?;
        Ok(view::chain(
            &node,
            permit,
            from,
            limit,
            view::ChainAnswer::Chain,
            only_fork_records,
        ))
    })();
    answer(result, Style::Message)
}

/// `GET /pending_tx`: the mempool's transactions in block order.
pub(super) async fn pending(State(node): State<Node>) -> Response {
    axum::Json(view::pool(&node)).into_response()
}

const DISCARDED: &str = "The block was discarded by the node: ";

/// The block a `/add_block` body carries: `{"hex": …}` (every seed block view has it) or ferrochain's block
/// JSON.
fn posted_block(fields: &Fields) -> Result<Block, Failure> {
    let bad = |m: String| Failure::bad("Block", format!("{DISCARDED}{m}"));
    if let Some(hex_value) = fields.get("hex") {
        let text = hex_value
            .as_str()
            .ok_or_else(|| bad("hex must be a string".into()))?;
        let bytes =
            hex::decode(text.trim()).map_err(|e| bad(format!("hex is not hexadecimal: {e}")))?;
        return Block::from_bytes(&bytes).map_err(|e| bad(format!("hex does not decode: {e}")));
    }
    if fields.has("header") {
        return serde_json::from_value(fields.to_value())
            .map_err(|e| bad(format!("not a ferrochain block: {e}")));
    }
    Err(bad(
        "send {\"hex\": <the block's canonical encoding in hex>} (the `hex` of a block from /chain) or \
         ferrochain's block JSON {\"header\", \"transactions\"}"
            .into(),
    ))
}

/// The first field of `posted` (a path such as `transactions[1].content`) whose value differs from the same field
/// of `ours`; fields that `ours` does not have are not compared.
fn first_difference(posted: &Value, ours: &Value, path: String) -> Option<String> {
    match (posted, ours) {
        (Value::Object(p), Value::Object(o)) => p.iter().find_map(|(key, value)| {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            o.get(key)
                .and_then(|theirs| first_difference(value, theirs, at))
        }),
        (Value::Array(p), Value::Array(o)) if p.len() == o.len() => p
            .iter()
            .zip(o)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, format!("{path}[{i}]"))),
        (Value::Number(a), Value::Number(b)) => (a.as_f64() != b.as_f64()).then_some(path),
        (a, b) => (a != b).then_some(path),
    }
}

/// `POST /add_block`: a block from another node, validated in full like any block from a peer.
pub(super) async fn add_block(
    State(node): State<Node>,
    body: Result<Body<Value>, ApiError>,
) -> Response {
    let result = async {
        let fields = Fields::from_body(body)?;
        let block = posted_block(&fields)?;
        if fields.has("hex") {
            // The view fields beside `hex` must describe the same block: a tampered view is refused.
            let ours = view::block(&block, node.network());
            if let Some(field) = first_difference(&fields.to_value(), &ours, String::new()) {
                return Err(Failure::bad(
                    "Block",
                    format!(
                        "{DISCARDED}field {field} does not match the block that `hex` encodes (the hash covers \
                         `hex`; a changed view field would not be what was mined)"
                    ),
                ));
            }
        }
        let outcome = node.accept_block(block).await.map_err(|e| match e {
            NodeError::State(
                e @ (StateError::InvalidBlock { .. } | StateError::KnownInvalid(_)),
            ) => Failure::bad("Block", format!("{DISCARDED}{e}")),
            other => node_failure(&node, other),
        })?;
        Ok(match outcome {
            BlockOutcome::Connected(_) => text(StatusCode::CREATED, "Block added to the chain"),
            BlockOutcome::AlreadyKnown => text(StatusCode::OK, "Block already known"),
            BlockOutcome::SideChain => text(
                StatusCode::ACCEPTED,
                "Block stored on a side chain: its chain has no more work than the active one",
            ),
            BlockOutcome::HeaderOnly => text(
                StatusCode::ACCEPTED,
                "Block header kept, body not stored: its chain has less work than the active one",
            ),
            BlockOutcome::Orphan { missing_parent } => text(
                StatusCode::ACCEPTED,
                format!(
                    "Block held: its parent {missing_parent} is unknown here; sync with the node that mined it \
                     (POST /register_with)"
                ),
            ),
        })
    };
    answer(result.await, Style::Text)
}

/// Writes the active chain of `node` as a `chain export` file into `dir`: to a temporary file first, synced,
/// then renamed over [`SAVE_FILE`], so a crash leaves the previous file or the new one. Returns the number of
/// blocks and the file's path.
fn write_export(node: &Node, dir: &Path) -> std::io::Result<(u64, PathBuf)> {
    let path = dir.join(SAVE_FILE);
    let tmp = dir.join(format!("{SAVE_FILE}.tmp"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let count =
        ferrochain_state::ops::export(node.state(), &mut file).map_err(std::io::Error::other)?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok((count, std::fs::canonicalize(&path).unwrap_or(path)))
}

/// `GET /save`: writes the active chain as a `chain export` file into the data directory and says where.
pub(super) async fn save(State(node): State<Node>, owner: Result<Owner, ApiError>) -> Response {
    let result = async {
        require_owner(&owner)?;
        let dir = node.config().data_dir.clone();
        let (count, path) = node
            .blocking(move |n| write_export(&n, &dir))
            .await
            .map_err(task_failure)?
            .map_err(|e| Failure::from(ApiError::internal(format!("saving the chain: {e}"))))?;
        Ok(text(
            StatusCode::CREATED,
            format!("Success: saved {count} blocks to {}", path.display()),
        ))
    };
    answer(result.await, Style::Text)
}
