//! Contract test of system D's own client, J4stEu/pocket-blockchain's Vue test stand, written from the facts of
//! `SEED-ROUTES.md` ("What their own clients read" → D): its whole journey on a `dev` node — two wallets, a
//! block mined to one, a send with numbers, then every view the stand shows, read the way it reads them
//! (`get_wallets` in the envelope with a `wallet` object; `get_blocks`, `get_pool` and `get_chainstate`
//! bare, with nested JSON strings that must parse), a refused send to oneself, and `reset_system` back to
//! genesis plus funded sample wallets. No answer may carry a private key.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use axum::http::StatusCode;
use ferrochain_core::PubkeyHash;
use ferrochain_http::testing::TestNode;
use serde_json::{Value, json};

/// Parses a JSON string field the way the stand does (`JSON.parse(x)`), failing the test if it is not one.
fn parse(v: &Value, what: &str) -> Value {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is a JSON string, got {v}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} parses ({e}): {text}"))
}

/// A transaction as the stand's TxTable reads it: `id`, `created`, and inputs / outputs that are JSON strings
/// with `{id, output, sig, publicKey}` and `{val, publicKeyHash}`.
fn check_transaction(tx: &Value, what: &str) {
    assert!(tx["id"].is_string(), "{what}: id in {tx}");
    assert!(tx.get("created").is_some(), "{what}: created in {tx}");
    for (i, input) in tx["inputs"].as_array().unwrap().iter().enumerate() {
        let input = parse(input, &format!("{what} input {i}"));
        assert!(input["id"].is_string(), "{what} input {i}: {input}");
        assert!(input["output"].is_u64(), "{what} input {i}: {input}");
        assert!(input["sig"].is_string(), "{what} input {i}: {input}");
        assert!(input["publicKey"].is_string(), "{what} input {i}: {input}");
    }
    for (i, output) in tx["outputs"].as_array().unwrap().iter().enumerate() {
        let output = parse(output, &format!("{what} output {i}"));
        assert!(output["val"].is_number(), "{what} output {i}: {output}");
        assert!(
            output["publicKeyHash"].is_string(),
            "{what} output {i}: {output}"
        );
    }
}

/// `/api/get_blocks` as the stand reads it: a bare array of `{hash, serializedBlock}`, each block parsed with
/// `nonce`, `prevHash` ("" for genesis, else the previous block's hash) and transactions as JSON strings.
/// Answers the parsed blocks, each with its transactions parsed.
async fn blocks(n: &TestNode) -> Vec<(Value, Vec<Value>)> {
    let answer = n.get("/api/get_blocks").await;
    let items = answer.as_array().expect("get_blocks is a bare array");
    let mut out = Vec::new();
    let mut prev = String::new();
    for (h, item) in items.iter().enumerate() {
        let hash = item["hash"].as_str().unwrap().to_string();
        let block = parse(&item["serializedBlock"], &format!("block {h}"));
        assert!(block["nonce"].is_u64(), "block {h}: {block}");
        assert_eq!(block["prevHash"], json!(prev), "block {h}");
        assert_eq!(item["height"], json!(h), "block {h}");
        let txs: Vec<Value> = block["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let tx = parse(t, &format!("block {h} transaction {i}"));
                check_transaction(&tx, &format!("block {h} transaction {i}"));
                assert!(tx["created"].is_string(), "block {h} transaction {i}");
                tx
            })
            .collect();
        out.push((block, txs));
        prev = hash;
    }
    out
}

/// `/api/get_chainstate` as the stand reads it: a bare object txid → `{serializedUnspentOutputs}`, each a JSON
/// string of `[{outputID, val, publicKeyHash}]`. Answers the balance of every address.
async fn chainstate(n: &TestNode) -> BTreeMap<String, f64> {
    let answer = n.get("/api/get_chainstate").await;
    let map = answer.as_object().expect("get_chainstate is a bare object");
    let mut balances = BTreeMap::new();
    for (txid, entry) in map {
        assert_eq!(txid.len(), 64, "{txid}");
        let outputs = parse(&entry["serializedUnspentOutputs"], txid);
        for output in outputs.as_array().unwrap() {
            assert!(output["outputID"].is_u64(), "{output}");
            let address = output["publicKeyHash"].as_str().unwrap().to_string();
            *balances.entry(address).or_default() += output["val"].as_f64().unwrap();
        }
    }
    balances
}

/// `/api/get_wallets` as the stand reads it: `data.data[]` with `address`, `balance` and a `wallet` object
/// whose `publicKey` is the held key's and whose `privateKey` is a text, never key material.
async fn wallets(n: &TestNode) -> BTreeMap<String, f64> {
    let answer = n.get("/api/get_wallets").await;
    assert_eq!(answer["error"], Value::Null);
    let keystore: Value =
        serde_json::from_slice(&std::fs::read(n.data_dir().join("keystore-dev.json")).unwrap())
            .unwrap();
    let keys = keystore["keys"].as_array().unwrap();
    let text = answer.to_string();
    for key in keys {
        let secret = key["dev_secret"].as_str().unwrap();
        assert!(secret.len() >= 64, "{key}");
        assert!(
            !text.contains(secret),
            "a secret key in get_wallets: {text}"
        );
    }
    let mut balances = BTreeMap::new();
    for item in answer["data"].as_array().unwrap() {
        let address = item["address"].as_str().unwrap();
        let held = keys.iter().find(|k| k["address"] == address).unwrap();
        assert_eq!(item["wallet"]["publicKey"], held["public_key"], "{item}");
        let private = item["wallet"]["privateKey"].as_str().unwrap();
        assert!(private.contains("kept by the node"), "{private}");
        balances.insert(address.to_string(), item["balance"].as_f64().unwrap());
    }
    balances
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pocket_test_stand_journey() {
    let n = TestNode::start(|_| {}).await;
    let genesis = n.node.network().genesis_hash().to_string();

    // Wallets: two new ones, from the "New wallet" button (JSON, no body).
    let w1 = n.post("/api/new_wallet", json!({}), StatusCode::OK).await["data"]
        .as_str()
        .unwrap()
        .to_string();
    let w2 = n.post("/api/new_wallet", json!({}), StatusCode::OK).await["data"]
        .as_str()
        .unwrap()
        .to_string();
    let balances = wallets(&n).await;
    assert_eq!(balances[&w1], 0.0);
    assert_eq!(balances[&w2], 0.0);

    // Mine to w1, send 3 to w2 (numbers, as the dialogs send them).
    let mined = n
        .post(
            "/api/mine_block",
            json!({"address": w1, "txAmount": 1}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(mined["error"], Value::Null);
    let sent = n
        .post(
            "/api/send",
            json!({"from": w1, "to": w2, "amount": 3}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        sent,
        json!({"data": "Transaction is added to pool", "error": null})
    );

    // TX pool: bare, the pending transfer with its serialized transaction.
    let pool = n.get("/api/get_pool").await;
    let pool = pool.as_array().expect("get_pool is a bare array");
    assert_eq!(pool.len(), 1);
    let item = &pool[0];
    assert_eq!(item["fromAddr"], json!(w1));
    assert_eq!(item["toAddr"], json!(w2));
    assert_eq!(item["amount"], json!(3));
    assert_eq!(item["error"], json!(false));
    assert_eq!(item["errorText"], Value::Null);
    let pending = parse(&item["serializedTransaction"], "serializedTransaction");
    check_transaction(&pending, "pending");
    assert_eq!(pending["id"], item["txID"]);
    assert_eq!(pending["outputs"].as_array().unwrap().len(), 2);

    // Sending to oneself is refused, as the original did.
    let refused = n
        .post(
            "/api/send",
            json!({"from": w1, "to": w1, "amount": 1}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_eq!(refused["data"], Value::Null);
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.starts_with("Request: invalid request parameters"),
        "{error}"
    );
    assert_eq!(n.get("/api/get_pool").await.as_array().unwrap().len(), 1);

    // Mine the transfer into a block paying w2.
    n.post(
        "/api/mine_block",
        json!({"address": w2, "txAmount": 5}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(n.get("/api/get_pool").await, json!([]));
    let balances = wallets(&n).await;
    assert_eq!((balances[&w1], balances[&w2]), (7.0, 13.0));
    let utxo = chainstate(&n).await;
    assert_eq!((utxo[&w1], utxo[&w2]), (7.0, 13.0));

    // Blocks: genesis, w1's block, then w2's with the transfer spending w1's reward.
    let chain = blocks(&n).await;
    assert_eq!(chain.len(), 3);
    assert_eq!(chain[0].0["hash"], json!(genesis));
    let reward_to_w1 = &chain[1].1[0];
    let transfer = chain[2]
        .1
        .iter()
        .find(|t| !t["inputs"].as_array().unwrap().is_empty())
        .expect("the transfer is in block 2");
    assert_eq!(transfer["id"], pending["id"]);
    let input = parse(&transfer["inputs"][0], "the transfer's input");
    assert_eq!(input["id"], reward_to_w1["id"]);
    assert_eq!(input["output"], json!(0));
    let paid = parse(&transfer["outputs"][0], "the transfer's output");
    assert_eq!(
        paid,
        json!({"val": 3, "publicKeyHash": w2, "amount_units": 300_000_000})
    );

    // Reset: back to genesis, then funded sample wallets; w1 and w2 start again from nothing.
    let reset = n.post("/api/reset_system", json!({}), StatusCode::OK).await;
    assert_eq!(reset["error"], Value::Null);
    assert_eq!(reset["data"]["wiped"], json!(true));
    let samples: Vec<String> = reset["data"]["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(samples.len(), 3);
    assert_eq!(reset["data"]["height"], json!(samples.len()));
    assert_eq!(n.node.state().tip().height.0, samples.len() as u64);
    let chain = blocks(&n).await;
    assert_eq!(chain.len(), samples.len() + 1);
    assert_eq!(chain[0].0["hash"], json!(genesis));
    assert!(
        chain
            .iter()
            .all(|(_, txs)| txs.iter().all(|t| t["id"] != pending["id"]))
    );
    assert_eq!(n.get("/api/get_pool").await, json!([]));
    let balances = wallets(&n).await;
    assert_eq!((balances[&w1], balances[&w2]), (0.0, 0.0));
    for sample in &samples {
        assert_eq!(balances[sample], 10.0, "{sample}");
    }
    let utxo = chainstate(&n).await;
    assert!(
        !utxo.contains_key(&w1) && !utxo.contains_key(&w2),
        "{utxo:?}"
    );
    // The transfer is gone from the indexes too.
    let txid = pending["id"].as_str().unwrap();
    let (status, _) = n
        .call(reqwest::Method::GET, &format!("/api/v1/txs/{txid}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_system_is_refused_off_dev_and_leaves_the_chain() {
    let miner = PubkeyHash::from_bytes([3; 20]).to_address("lab").unwrap();
    let n = TestNode::start(|c| {
        c.network = "lab".into();
        c.miner_address = Some(miner);
    })
    .await;
    let refused = n
        .post("/api/reset_system", json!({}), StatusCode::FORBIDDEN)
        .await;
    assert!(
        refused["error"].as_str().unwrap().contains("dev"),
        "{refused}"
    );
    assert_eq!(n.node.state().tip().height.0, 0);
    assert!(
        n.node.held_addresses().is_empty(),
        "no sample wallets were made"
    );
    n.stop().await;
}
