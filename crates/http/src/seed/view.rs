//! The seed JSON views of blocks and transactions (the "Views" section of the [module docs](super)), and
//! reading ranges of the active chain for them.

use ferrochain_core::{
    Amount, Block, Encode, Height, Network, PubkeyHash, Transaction, TxKind, TxOut,
};
use ferrochain_state::MempoolEntry;
use ferrochain_wallet::Claim;

use crate::views::LegacyRsaCheck;
use serde_json::{Map, Value, json};

use axum::response::Response;
use tokio::sync::OwnedSemaphorePermit;

use crate::stream::{JsonWriter, StreamError};
use ferrochain_node::Node;

/// An amount in whole units as a JSON number: an integer when whole, else the decimal (`0.5`).
pub(super) fn units(amount: Amount, decimals: u8) -> Value {
    let text = amount.format_units(decimals);
    match text.parse::<u64>() {
        Ok(whole) => json!(whole),
        Err(_) => text.parse::<f64>().map(|f| json!(f)).unwrap_or(json!(text)),
    }
}

/// Milliseconds as Python's `time.time()` seconds.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The key hashes of a transaction's inputs (its owners), and the outputs that pay someone else.
fn owners_and_others(tx: &Transaction) -> (Vec<PubkeyHash>, Vec<&TxOut>) {
    let owners: Vec<PubkeyHash> = tx
        .inputs()
        .iter()
        .map(|i| i.public_key.pubkey_hash())
        .collect();
    let to_others = tx
        .outputs
        .iter()
        .filter(|o| !owners.contains(&o.address))
        .collect();
    (owners, to_others)
}

/// The seed view of a transaction not in a block (a summary, a pending transaction): its time is now.
pub(super) fn transaction(tx: &Transaction, network: &Network) -> Value {
    transaction_at(tx, network, ferrochain_node::now_ms())
}

/// The seed view of a transaction seen at `time_ms` (its block's time): ferrochain's own fields, and the keys
/// every seed client reads on every transaction, coinbases and genesis included (ADR 0017) — `timestamp`
/// (seconds), `author`, `content`, `senderPK`, `data`, `sender`, `recipient`, `amount`.
pub(super) fn transaction_at(tx: &Transaction, network: &Network, time_ms: u64) -> Value {
    let decimals = network.spec().decimals;
    let address = |h: &PubkeyHash| network.address(h);
    let (owners, to_others) = owners_and_others(tx);
    let paid: Vec<_> = if to_others.is_empty() {
        tx.outputs.iter().collect()
    } else {
        to_others
    };
    let amount = Amount::checked_sum(paid.iter().map(|o| o.amount)).unwrap_or(Amount::MAX);
    let recipient = paid.first().map(|o| address(&o.address));
    let mut v = Map::new();
    v.insert("txid".into(), json!(tx.txid().to_string()));
    let (kind, sender) = match &tx.kind {
        TxKind::Coinbase { .. } => ("coinbase", json!("0")),
        TxKind::Transfer { .. } => ("transfer", json!(owners.first().map(address))),
        TxKind::Record { author, .. } => ("record", json!(address(&author.pubkey_hash()))),
    };
    v.insert("type".into(), json!(kind));
    v.insert("sender".into(), sender);
    let record = matches!(tx.kind, TxKind::Record { .. });
    v.insert(
        "recipient".into(),
        if record {
            json!("")
        } else {
            json!(recipient.clone().unwrap_or_default())
        },
    );
    v.insert("amount".into(), units(amount, decimals));
    v.insert("amount_units".into(), json!(amount.to_units()));
    v.insert(
        "inputs".into(),
        tx.inputs()
            .iter()
            .map(|i| {
                json!({
                    "txid": i.prev_out.txid.to_string(),
                    "vout": i.prev_out.vout,
                    "address": address(&i.public_key.pubkey_hash()),
                })
            })
            .collect(),
    );
    v.insert(
        "outputs".into(),
        tx.outputs
            .iter()
            .map(|o| {
                json!({
                    "address": address(&o.address),
                    "amount": units(o.amount, decimals),
                    "amount_units": o.amount.to_units(),
                })
            })
            .collect(),
    );
    if let TxKind::Record {
        author,
        timestamp_ms,
        signature,
    } = &tx.kind
    {
        v.insert("author".into(), json!(address(&author.pubkey_hash())));
        v.insert("public_key".into(), json!(author.to_string()));
        v.insert("timestamp".into(), json!(seconds(*timestamp_ms)));
        v.insert("timestamp_ms".into(), json!(timestamp_ms));
        v.insert("signature".into(), json!(signature.to_string()));
    }
    v.insert("payload".into(), json!(hex::encode(&tx.payload)));
    // The seed clients' keys, on every transaction.
    let text = std::str::from_utf8(&tx.payload)
        .ok()
        .filter(|t| !t.is_empty());
    let shown_amount = amount.format_units(decimals);
    let to = recipient.clone().unwrap_or_default();
    let (author, content, sender_pk) = match &tx.kind {
        TxKind::Coinbase { .. } => (
            "coinbase".to_string(),
            text.map_or_else(
                || format!("block reward of {shown_amount} to {to}"),
                str::to_string,
            ),
            String::new(),
        ),
        TxKind::Transfer { .. } => (
            owners.first().map(address).unwrap_or_default(),
            text.map_or_else(|| format!("{shown_amount} to {to}"), str::to_string),
            tx.inputs()
                .first()
                .map(|i| i.public_key.to_string())
                .unwrap_or_default(),
        ),
        TxKind::Record { author, .. } => {
            let signer = address(&author.pubkey_hash());
            if let Some(legacy) = LegacyRsaCheck::of(&tx.payload) {
                // The fork's RSA-signed record, co-signed by a node (ADR 0018).
                v.insert("signed_by".into(), json!(signer));
                v.insert(
                    "legacy_rsa".into(),
                    json!({
                        "verified": legacy.verified,
                        "bits": legacy.bits,
                        "fingerprint": legacy.fingerprint,
                    }),
                );
                let short = legacy
                    .fingerprint
                    .as_ref()
                    .map_or_else(|| "unverified".to_string(), |f| f[..16].to_string());
                let item = legacy
                    .data
                    .split('|')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                v.insert("data".into(), json!(legacy.data));
                (format!("RSA key {short}"), item, legacy.sender_pem)
            } else if let Some(claim) = Claim::from_payload(&tx.payload) {
                v.insert("author_claimed".into(), json!(true));
                v.insert("signed_by".into(), json!(signer));
                (claim.author, claim.content, author.to_string())
            } else {
                (
                    signer,
                    text.map_or_else(|| hex::encode(&tx.payload), str::to_string),
                    author.to_string(),
                )
            }
        }
    };
    if !matches!(tx.kind, TxKind::Record { .. }) {
        v.insert("timestamp".into(), json!(seconds(time_ms)));
        v.insert("timestamp_ms".into(), json!(time_ms));
    }
    let receiver = if matches!(tx.kind, TxKind::Record { .. }) {
        String::new()
    } else {
        to
    };
    if !v.contains_key("data") {
        v.insert("data".into(), json!(format!("{content}|{receiver}")));
    }
    v.insert("author".into(), json!(author));
    v.insert("content".into(), json!(content));
    v.insert("senderPK".into(), json!(sender_pk));
    v.extend(client_b_fields(tx, network));
    Value::Object(v)
}

/// B's transaction fields (its pages show `sender_address`, `recipient_address` and `value`): the sender's
/// address (`"0"` for a coinbase, the author for a record), the first output paying someone other than the
/// sender — else, a payment to oneself, the first output — and what those outputs carry, in whole units. A
/// record pays no one: `recipient_address` is `null` and `value` 0. These are what
/// `/blockchain/transactions/new` matches a confirmation form against ([`client_b_parties`]).
pub(super) fn client_b_fields(tx: &Transaction, network: &Network) -> Map<String, Value> {
    let decimals = network.spec().decimals;
    let (sender, recipient, value) = client_b_parties(tx);
    let sender = match (&tx.kind, sender) {
        (TxKind::Coinbase { .. }, _) | (_, None) => json!("0"),
        (_, Some(h)) => json!(network.address(&h)),
    };
    let mut v = Map::new();
    v.insert("sender_address".into(), sender);
    v.insert(
        "recipient_address".into(),
        json!(recipient.map(|h| network.address(&h))),
    );
    v.insert("value".into(), units(value, decimals));
    v
}

/// The parties of [`client_b_fields`] as key hashes: sender (`None` for a coinbase), recipient (`None` for a
/// record or an output-less coinbase) and the value paid to the recipient's side.
pub(super) fn client_b_parties(
    tx: &Transaction,
) -> (Option<PubkeyHash>, Option<PubkeyHash>, Amount) {
    let sender = match &tx.kind {
        TxKind::Coinbase { .. } => None,
        TxKind::Transfer { inputs } => inputs.first().map(|i| i.public_key.pubkey_hash()),
        TxKind::Record { author, .. } => Some(author.pubkey_hash()),
    };
    if matches!(tx.kind, TxKind::Record { .. }) {
        return (sender, None, Amount::ZERO);
    }
    let (_, to_others) = owners_and_others(tx);
    let paid: Vec<_> = if to_others.is_empty() {
        tx.outputs.first().into_iter().collect()
    } else {
        to_others
    };
    let value = Amount::checked_sum(paid.iter().map(|o| o.amount)).unwrap_or(Amount::MAX);
    (sender, paid.first().map(|o| o.address), value)
}

/// The seed view of a pending transaction: the transaction's view with its fee.
pub(super) fn pending(entry: &MempoolEntry, network: &Network) -> Value {
    let mut v = transaction(&entry.tx, network);
    if let Value::Object(map) = &mut v {
        map.insert("fee".into(), units(entry.fee, network.spec().decimals));
    }
    v
}

/// The seed view of every mempool transaction, in block order.
pub(super) fn pool(node: &Node) -> Vec<Value> {
    node.state()
        .mempool()
        .iter()
        .map(|e| pending(e, node.network()))
        .collect()
}

/// The seed view of a block.
pub(super) fn block(block: &Block, network: &Network) -> Value {
    let h = &block.header;
    let difficulty = h.bits.to_target().map(|t| t.leading_zero_bits()).ok();
    json!({
        "index": h.height.0 + 1,
        "block_number": h.height.0 + 1,
        "height": h.height.0,
        "timestamp": seconds(h.time_ms),
        "timestamp_ms": h.time_ms,
        "transactions": block.transactions.iter().map(|t| transaction_at(t, network, h.time_ms)).collect::<Vec<_>>(),
        "proof": h.nonce,
        "nonce": h.nonce,
        "previous_hash": h.prev_hash.to_string(),
        "hash": block.hash().to_string(),
        "merkle_root": h.merkle_root.to_string(),
        "bits": h.bits.to_string(),
        "difficulty": difficulty,
        "hex": hex::encode(block.to_bytes()),
    })
}

/// What a streamed chain answer carries besides the blocks (keys in the sorted order `axum::Json` wrote).
pub(super) enum ChainAnswer {
    /// `/chain`'s `{"chain", "length", "peers"}`: `length` is always the whole chain's.
    Chain,
    /// `/nodes/resolve`'s `{"chain" | "new_chain", "message", "peers"}`.
    Resolved {
        /// Whether the active tip changed (`new_chain`, "Our chain was replaced").
        replaced: bool,
        /// Each peer's result.
        peers: Vec<Value>,
    },
}

/// Writes the seed views of the active blocks at heights `heights` as array elements, one block read at a
/// time; `edit` may change each view (the supply-chain fork keeps only its records). A block missing at its
/// height (a reorg or reset shortened the chain meanwhile) is left out.
fn write_blocks(
    node: &Node,
    w: &mut JsonWriter,
    heights: std::ops::Range<u64>,
    edit: fn(&mut Value),
) -> Result<(), StreamError> {
    w.elements(heights, |h| {
        let stored = node
            .state()
            .block_at(Height(h))
            .map_err(|e| StreamError::Failed(format!("reading block {h}: {e}")))?;
        Ok(stored.map(|b| {
            let mut v = block(&b, node.network());
            edit(&mut v);
            v
        }))
    })
}

/// `/chain`'s answer (or `/nodes/resolve`'s, after `answer`), streamed block by block from the store
/// ([`crate::stream`]): the blocks from index `from` (1 = genesis), at most `limit` of them, each edited by
/// `edit`.
pub(super) fn chain(
    node: &Node,
    permit: OwnedSemaphorePermit,
    from: u64,
    limit: u64,
    answer: ChainAnswer,
    edit: fn(&mut Value),
) -> Response {
    let peers = node.peers().list();
    crate::stream::json_response(node, permit, move |n, w| {
        let tip = n.state().tip().height.0;
        let start = from.saturating_sub(1);
        let heights = start..start.saturating_add(limit).min(tip.saturating_add(1));
        match answer {
            ChainAnswer::Chain => {
                w.raw("{\"chain\":[")?;
                write_blocks(n, w, heights, edit)?;
                w.raw("],\"length\":")?;
                w.value(&(tip + 1))?;
                w.raw(",\"peers\":")?;
                w.value(&peers)?;
                w.raw("}")
            }
            ChainAnswer::Resolved { replaced, peers } => {
                if replaced {
                    w.raw("{\"message\":\"Our chain was replaced\",\"new_chain\":[")?;
                    write_blocks(n, w, heights, edit)?;
                    w.raw("],\"peers\":")?;
                } else {
                    w.raw("{\"chain\":[")?;
                    write_blocks(n, w, heights, edit)?;
                    w.raw("],\"message\":\"Our chain is authoritative\",\"peers\":")?;
                }
                w.value(&peers)?;
                w.raw("}")
            }
        }
    })
}

/// Leaves a block view as it is.
pub(super) fn unedited(_: &mut Value) {}

// ---------------------------------------------------------------------------------------------------------
// D's pocket-blockchain views (docs/adr/0015-seed-compat-views-pocket.md): blocks, transactions and unspent
// outputs as the JSON *strings* its test stand parses, in its field names, beside ferrochain's own data.
// ---------------------------------------------------------------------------------------------------------

/// A time in ms since the Unix epoch as ISO 8601 in UTC with milliseconds (`2024-05-01T12:34:56.789Z`), the
/// shape of the `created` / `timeStamp` strings D's Python wrote with `datetime.isoformat()`.
pub(super) fn iso_time_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => format!("{ms} ms after 1970"),
    }
}

/// A JSON value as the JSON text D's views nest (serialising a `Value` cannot fail; `null` if it did).
fn json_string(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// When a transaction was made, as far as the chain knows: a record's own timestamp, else the time of the
/// block that holds it (`block_ms`; for a pending transaction, the time of the answer); `None` when neither is
/// known (ferrochain transfers carry no time).
fn created_ms(tx: &Transaction, block_ms: Option<u64>) -> Option<u64> {
    match &tx.kind {
        TxKind::Record { timestamp_ms, .. } => Some(*timestamp_ms),
        _ => block_ms,
    }
}

/// D's transaction object (before it is serialised): `id`, `inputs` (JSON strings `{id, output, sig,
/// publicKey}`: the spent txid and output index, the signature and public key in hex), `outputs` (JSON strings
/// `{val, publicKeyHash}`: whole units and the address), `created` (ISO 8601, or `null` when not known) and,
/// for a confirmed one, `included_in_block` (its block's time) — plus ferrochain's `txid`, `type`,
/// `created_ms`, exact `amount_units` per output, `payload` (hex) and a record's `author`.
pub(super) fn pocket_transaction(
    tx: &Transaction,
    network: &Network,
    block_ms: Option<u64>,
) -> Value {
    let decimals = network.spec().decimals;
    let inputs: Vec<String> = tx
        .inputs()
        .iter()
        .map(|i| {
            json_string(&json!({
                "id": i.prev_out.txid.to_string(),
                "output": i.prev_out.vout,
                "sig": i.signature.to_string(),
                "publicKey": i.public_key.to_string(),
                "address": network.address(&i.public_key.pubkey_hash()),
            }))
        })
        .collect();
    let outputs: Vec<String> = tx
        .outputs
        .iter()
        .map(|o| {
            json_string(&json!({
                "val": units(o.amount, decimals),
                "publicKeyHash": network.address(&o.address),
                "amount_units": o.amount.to_units(),
            }))
        })
        .collect();
    let created = created_ms(tx, block_ms);
    let kind = match &tx.kind {
        TxKind::Coinbase { .. } => "coinbase",
        TxKind::Transfer { .. } => "transfer",
        TxKind::Record { .. } => "record",
    };
    let mut v = json!({
        "id": tx.txid().to_string(),
        "txid": tx.txid().to_string(),
        "type": kind,
        "inputs": inputs,
        "outputs": outputs,
        "created": created.map(iso_time_ms),
        "created_ms": created,
        "payload": hex::encode(&tx.payload),
    });
    if let Some(ms) = block_ms {
        v["included_in_block"] = json!(iso_time_ms(ms));
    }
    if let TxKind::Record {
        author, signature, ..
    } = &tx.kind
    {
        v["author"] = json!(network.address(&author.pubkey_hash()));
        v["publicKey"] = json!(author.to_string());
        v["sig"] = json!(signature.to_string());
    }
    v
}

/// One item of D's `/api/get_blocks`: `{hash, serializedBlock, txsRootNode}` where `serializedBlock` is the
/// JSON string of `{timeStamp, transactions: [JSON strings of pocket_transaction], txsRootNode, prevHash ("" for
/// genesis), hash, nonce}` — plus ferrochain's `height`, `bits` and `hex` (the canonical encoding) outside.
pub(super) fn pocket_block(block: &Block, network: &Network) -> Value {
    let h = &block.header;
    let hash = block.hash().to_string();
    let transactions: Vec<String> = block
        .transactions
        .iter()
        .map(|t| json_string(&pocket_transaction(t, network, Some(h.time_ms))))
        .collect();
    let prev_hash = if h.height.0 == 0 {
        String::new()
    } else {
        h.prev_hash.to_string()
    };
    let serialized = json!({
        "timeStamp": iso_time_ms(h.time_ms),
        "timestamp_ms": h.time_ms,
        "transactions": transactions,
        "txsRootNode": h.merkle_root.to_string(),
        "prevHash": prev_hash,
        "hash": hash,
        "nonce": h.nonce,
        "height": h.height.0,
    });
    json!({
        "hash": hash,
        "serializedBlock": json_string(&serialized),
        "txsRootNode": h.merkle_root.to_string(),
        "height": h.height.0,
        "bits": h.bits.to_string(),
        "hex": hex::encode(block.to_bytes()),
    })
}

/// One item of D's `/api/get_pool`: `{txID, fromAddr, toAddr, amount, serializedTransaction, error: false,
/// errorText: null}` (sender, recipient and amount as in the seed transaction view; D kept failed sends in its
/// pool with `error: true` — ferrochain refuses them instead, so every item is a valid pending transaction),
/// plus its `fee`.
pub(super) fn pocket_pending(entry: &MempoolEntry, network: &Network) -> Value {
    let seed = transaction(&entry.tx, network);
    json!({
        "txID": entry.txid.to_string(),
        "fromAddr": seed["sender"],
        "toAddr": seed["recipient"],
        "amount": seed["amount"],
        "fee": units(entry.fee, network.spec().decimals),
        // A pending transfer carries no time of its own: the pool shows when the node reports it (the pocket
        // client's TX pool would show an empty "Created" cell for `null`).
        "serializedTransaction": json_string(&pocket_transaction(&entry.tx, network, Some(ferrochain_node::now_ms()))),
        "error": false,
        "errorText": null,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ferrochain_core::{OutPoint, SigningKey, TxOut, Txid};

    use super::*;

    #[test]
    fn a_transfer_shows_sender_recipient_and_what_went_to_others() {
        let net = Network::dev();
        let alice = SigningKey::from_secret_bytes([1; 32]);
        let bob = SigningKey::from_secret_bytes([2; 32])
            .public_key()
            .pubkey_hash();
        let out = OutPoint {
            txid: Txid::hash(b"x"),
            vout: 0,
        };
        let tx = Transaction::signed_transfer(
            &[(out, &alice)],
            vec![
                TxOut {
                    amount: Amount::parse_units("2.5", 8).unwrap(),
                    address: bob,
                },
                TxOut {
                    amount: Amount::parse_units("7", 8).unwrap(),
                    address: alice.public_key().pubkey_hash(),
                },
            ],
            b"hi".to_vec(),
            &net.genesis_hash(),
        );
        let v = transaction(&tx, &net);
        assert_eq!(v["type"], "transfer");
        assert_eq!(v["sender"], net.address(&alice.public_key().pubkey_hash()));
        assert_eq!(v["recipient"], net.address(&bob));
        assert_eq!(v["amount"], json!(2.5));
        assert_eq!(v["amount_units"], 250_000_000);
        assert_eq!(v["outputs"][1]["amount"], json!(7));
        assert_eq!(v["content"], "hi");
        assert_eq!(v["txid"], tx.txid().to_string());
    }

    #[test]
    fn client_b_fields_show_who_paid_whom_how_much() {
        let net = Network::dev();
        let alice = SigningKey::from_secret_bytes([1; 32]);
        let a = alice.public_key().pubkey_hash();
        let b = SigningKey::from_secret_bytes([2; 32])
            .public_key()
            .pubkey_hash();
        let out = OutPoint {
            txid: Txid::hash(b"x"),
            vout: 0,
        };
        let pay = |outputs: Vec<(&str, PubkeyHash)>| {
            let outputs = outputs
                .into_iter()
                .map(|(amount, address)| TxOut {
                    amount: Amount::parse_units(amount, 8).unwrap(),
                    address,
                })
                .collect();
            Transaction::signed_transfer(&[(out, &alice)], outputs, Vec::new(), &net.genesis_hash())
        };
        // A payment with change: the recipient and what went to them.
        let v = client_b_fields(&pay(vec![("0.5", b), ("9", a)]), &net);
        assert_eq!(v["sender_address"], net.address(&a));
        assert_eq!(v["recipient_address"], net.address(&b));
        assert_eq!(v["value"], json!(0.5));
        // A payment to oneself: the first output, not the change.
        let v = client_b_fields(&pay(vec![("2", a), ("7", a)]), &net);
        assert_eq!(v["recipient_address"], net.address(&a));
        assert_eq!(v["value"], 2);
        // The genesis coinbase pays no one; a record names its author and pays no one.
        let v = client_b_fields(&net.genesis().transactions[0], &net);
        assert_eq!(
            (&v["sender_address"], &v["recipient_address"], &v["value"]),
            (&json!("0"), &Value::Null, &json!(0))
        );
        let record = Transaction::signed_record(&alice, b"hi".to_vec(), 5, &net.genesis_hash());
        let v = client_b_fields(&record, &net);
        assert_eq!(v["sender_address"], net.address(&a));
        assert_eq!(v["recipient_address"], Value::Null);
        assert_eq!(v["value"], 0);
    }

    #[test]
    fn blocks_count_genesis_as_index_one_and_carry_their_encoding() {
        let net = Network::dev();
        let v = block(net.genesis(), &net);
        assert_eq!(v["index"], 1);
        assert_eq!(v["block_number"], 1);
        assert_eq!(v["height"], 0);
        assert_eq!(v["hash"], net.genesis_hash().to_string());
        assert_eq!(v["transactions"][0]["sender"], "0");
        assert_eq!(v["difficulty"], 16);
        let bytes = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            <Block as ferrochain_core::Decode>::from_bytes(&bytes).unwrap(),
            *net.genesis()
        );
    }
}
