//! Each seed system's documented flow, replayed against real `ferrochain node` processes: (A) the tutorial
//! node with a second node and conflict resolution, (B) the client wallet's signed transactions, (C) signed
//! records, text mining, registration, `/add_block` and `/save`, (D) node-held wallets, sends and bounded
//! mining with exact balances. Run `cargo build -p ferrochain` first when testing only this package.
#![allow(clippy::unwrap_used)]

mod support;

use ferrochain_core::{Block, Decode, Network, SigningKey, Transaction, TxKind};
use serde_json::{Value, json};
use support::NodeProc;

fn hashes(chain: &Value) -> Vec<String> {
    chain
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["hash"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tutorial_flow_mine_pay_chain_register_resolve() {
    let a = NodeProc::start_temp(&[]).await;
    let genesis = Network::dev().genesis_hash().to_string();

    // Mined even with no pending transactions: the coinbase only, reward to the node's own address.
    let mined = a.get("/mine").await.expect(200).json();
    assert_eq!(mined["message"], "New Block Forged");
    assert_eq!(mined["index"], 2);
    assert_eq!(mined["previous_hash"], genesis);
    assert_eq!(mined["proof"], mined["nonce"]);
    assert_eq!(mined["transactions"].as_array().unwrap().len(), 1);
    let miner = a.miner_address().await;
    assert_eq!(mined["transactions"][0]["sender"], "0");
    assert_eq!(mined["transactions"][0]["recipient"], miner);
    assert_eq!(mined["transactions"][0]["amount"], 10);
    assert_eq!(a.balance(&miner).await, 10);

    // A transfer from the node-held miner key to someone else.
    let bob = a.get("/client/wallet/new").await.expect(200).json()["address"].clone();
    let r = a
        .post_json(
            "/transactions/new",
            &json!({"sender": miner, "recipient": bob, "amount": 3}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(r["message"], "Transaction will be added to Block 3");
    let mined = a.get("/mine").await.expect(200).json();
    assert_eq!(mined["index"], 3);
    let tx = &mined["transactions"][1];
    assert_eq!(tx["txid"], r["txid"]);
    assert_eq!(
        (&tx["sender"], &tx["recipient"], &tx["amount"]),
        (&json!(miner), &bob, &json!(3))
    );
    // 10 + 10 (second reward) - 3, with no fee on the dev chain.
    assert_eq!(a.balance(&miner).await, 17);

    // The chain: linked blocks, A's keys, the whole chain by default, pages on request.
    let chain = a.chain().await;
    assert_eq!(chain["length"], 3);
    let blocks = chain["chain"].as_array().unwrap();
    assert_eq!(blocks.len(), 3);
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b["index"], i + 1);
        for key in [
            "timestamp",
            "transactions",
            "proof",
            "previous_hash",
            "hash",
            "merkle_root",
        ] {
            assert!(!b[key].is_null(), "block {i} lacks {key}");
        }
        if i > 0 {
            assert_eq!(b["previous_hash"], blocks[i - 1]["hash"]);
        }
    }
    assert_eq!(chain["peers"], json!([]));
    let page = a.get("/chain?from=2&limit=1").await.expect(200).json();
    assert_eq!(page["length"], 3);
    assert_eq!(page["chain"].as_array().unwrap().len(), 1);
    assert_eq!(page["chain"][0]["hash"], blocks[1]["hash"]);

    // A second node mines a longer chain (more work); the first registers it and adopts its chain.
    let b = NodeProc::start_temp(&[]).await;
    for _ in 0..3 {
        b.get("/mine").await.expect(200);
    }
    let r = a
        .post_json("/nodes/register", &json!({"nodes": [b.url]}))
        .await
        .expect(201)
        .json();
    assert_eq!(r["message"], "New nodes have been added");
    assert!(r["total_nodes"].as_array().unwrap().contains(&json!(b.url)));
    let resolved = a.get("/nodes/resolve").await.expect(200).json();
    assert_eq!(resolved["message"], "Our chain was replaced", "{resolved}");
    let b_chain = b.chain().await;
    assert_eq!(hashes(&resolved["new_chain"]), hashes(&b_chain["chain"]));
    assert_eq!(a.chain().await["length"], 4);
    let again = a.get("/nodes/resolve").await.expect(200).json();
    assert_eq!(again["message"], "Our chain is authoritative");
    assert_eq!(hashes(&again["chain"]), hashes(&b_chain["chain"]));

    // A peer that is down is reported, not a 500.
    drop(b);
    let down = a.get("/nodes/resolve").await.expect(200).json();
    assert_eq!(down["message"], "Our chain is authoritative");
    assert_eq!(down["peers"][0]["synced"], false);
    assert!(down["peers"][0]["error"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn b_client_wallet_signs_and_the_same_transaction_cannot_spend_twice() {
    let n = NodeProc::start_temp(&[]).await;
    let wallet = n.get("/client/wallet/new").await.expect(200).json();
    assert_eq!(wallet["private_key"].as_str().unwrap().len(), 64);
    assert_eq!(wallet["public_key"].as_str().unwrap().len(), 64);
    let (alice, key) = (
        wallet["address"].as_str().unwrap().to_string(),
        wallet["private_key"].as_str().unwrap().to_string(),
    );
    // The key is stored nowhere: the node does not list it.
    let held = n.get("/api/get_wallets").await.expect(200).body;
    assert!(!held.contains(&alice) && !held.contains(&key));
    // Fund the client wallet with a block reward.
    n.post_json("/api/mine_block", &json!({"address": alice, "txAmount": 0}))
        .await
        .expect(200);
    let bob = n.get("/client/wallet/new").await.expect(200).json()["address"].clone();
    let bob = bob.as_str().unwrap();

    let generate = |amount: &'static str| {
        let (alice, key) = (alice.clone(), key.clone());
        let n = &n;
        async move {
            n.post_form(
                "/client/generate/transaction",
                &[
                    ("sender_address", &alice),
                    ("sender_private_key", &key),
                    ("recipient_address", bob),
                    ("amount", amount),
                ],
            )
            .await
            .expect(200)
            .json()
        }
    };
    let generated = generate("4").await;
    let signature = generated["signature"].as_str().unwrap();
    assert_eq!(signature.len(), 128);
    assert_eq!(generated["summary"]["sender"], alice);
    assert_eq!(generated["summary"]["recipient"], bob);
    assert_eq!(generated["summary"]["amount"], 4);
    // B's page copies these three into its confirmation form.
    assert_eq!(generated["transaction"]["sender_address"], alice);
    assert_eq!(generated["transaction"]["recipient_address"], bob);
    assert_eq!(generated["transaction"]["value"], 4);
    // Generating submits nothing.
    let pool = n
        .get("/blockchain/transactions/get")
        .await
        .expect(200)
        .json();
    assert_eq!(pool["transactions"], json!([]));

    let submit = json!({"transaction": generated["transaction"]});
    let r = n
        .post_json("/blockchain/transactions/new", &submit)
        .await
        .expect(201)
        .json();
    assert_eq!(r["message"], "Transaction will be added to Block 3");
    assert_eq!(r["txid"], generated["txid"]);
    let pool = n
        .get("/blockchain/transactions/get")
        .await
        .expect(200)
        .json();
    assert_eq!(pool["transactions"][0]["txid"], generated["txid"]);
    assert_eq!(pool["transactions"][0]["sender_address"], alice);
    assert_eq!(pool["transactions"][0]["recipient_address"], bob);
    assert_eq!(pool["transactions"][0]["value"], 4);
    // Submitted again while pending: refused, not spent twice.
    let again = n.post_json("/blockchain/transactions/new", &submit).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.json()["message"]
            .as_str()
            .unwrap()
            .contains("already")
    );

    let mined = n.get("/blockchain/mine").await.expect(200).json();
    assert_eq!(mined["block_number"], 3);
    assert_eq!(mined["nonce"], mined["proof"]);
    assert_eq!(mined["transactions"][1]["txid"], generated["txid"]);
    let pool = n
        .get("/blockchain/transactions/get")
        .await
        .expect(200)
        .json();
    assert_eq!(pool["transactions"], json!([]));
    let chain = n.get("/blockchain/chain").await.expect(200).json();
    assert_eq!(
        chain["chain"][2]["transactions"][1]["txid"],
        generated["txid"]
    );
    // Submitted again once confirmed: still refused.
    let again = n.post_json("/blockchain/transactions/new", &submit).await;
    assert_eq!(again.status, 409, "{}", again.body);

    // A signature that does not verify: B's 406.
    let mut forged = generate("1").await["transaction"].clone();
    let sig = forged["kind"]["inputs"][0]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    forged["kind"]["inputs"][0]["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    let r = n
        .post_json(
            "/blockchain/transactions/new",
            &json!({"transaction": forged}),
        )
        .await
        .expect(406)
        .json();
    assert_eq!(r["message"], "Invalid Transaction!");
    assert!(r["reason"].as_str().unwrap().contains("signature"));

    // B's own front end posts the form fields and the signature of a generated transaction (a public key
    // stands for its address).
    let generated = generate("2.5").await;
    let r = n
        .post_form(
            "/blockchain/transactions/new",
            &[
                ("sender_address", wallet["public_key"].as_str().unwrap()),
                ("recipient_address", bob),
                ("amount", "2.5"),
                ("signature", generated["signature"].as_str().unwrap()),
            ],
        )
        .await
        .expect(201)
        .json();
    assert_eq!(r["txid"], generated["txid"]);
    n.get("/blockchain/mine").await.expect(200);
    // Alice: 10 - 4 - 2.5, exactly, in the chain state.
    let state = n.get("/api/get_chainstate").await.expect(200).json();
    let alice_total: f64 = unspent_outputs(&state)
        .iter()
        .filter(|(_, o)| o["publicKeyHash"] == alice)
        .map(|(_, o)| o["val"].as_f64().unwrap())
        .sum();
    assert_eq!(alice_total, 3.5);
}

#[tokio::test(flavor = "multi_thread")]
async fn c_records_text_mining_registration_add_block_and_save() {
    let c1 = NodeProc::start_temp(&[]).await;
    let author = c1.miner_address().await;

    // A record signed by a node-held key, and one signed by its author elsewhere.
    c1.post_json(
        "/new_transaction",
        &json!({"author": author, "content": "batch 42 left the farm"}),
    )
    .await
    .expect(201);
    let key = SigningKey::from_secret_bytes([42; 32]);
    let genesis = Network::dev().genesis_hash();
    let record = Transaction::signed_record(
        &key,
        b"batch 42 reached the mill".to_vec(),
        1_700_000_000_000,
        &genesis,
    );
    let TxKind::Record { signature, .. } = &record.kind else {
        unreachable!("a record")
    };
    let signed = json!({
        "senderPK": key.public_key().to_string(),
        "signature": signature.to_string(),
        "data": "batch 42 reached the mill",
        "timestamp_ms": 1_700_000_000_000u64,
    });
    let r = c1.post_json("/new_transaction", &signed).await.expect(201);
    assert_eq!(r.body, "Success");
    assert!(r.content_type.starts_with("text/plain"));
    // The same signature over other data: refused with C's message.
    let mut tampered = signed.clone();
    tampered["data"] = json!("batch 43 reached the mill");
    let r = c1
        .post_json("/new_transaction", &tampered)
        .await
        .expect(400);
    assert!(r.body.starts_with("Invalid transaction data"), "{}", r.body);

    let pending = c1.get("/pending_tx").await.expect(200).json();
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0]["author"], author);
    assert_eq!(pending[0]["content"], "batch 42 left the farm");
    assert_eq!(pending[1]["txid"], record.txid().to_string());
    assert_eq!(pending[1]["timestamp"], 1_700_000_000.0);

    // C's text answers from GET /mine.
    let r = c1
        .get_with("/mine", "accept", "text/plain")
        .await
        .expect(200);
    assert_eq!(r.body, "Block #1 is mined.");
    let r = c1.get("/mine?format=text").await.expect(200);
    assert_eq!(r.body, "No transactions to mine");
    let chain = c1.chain().await;
    assert_eq!(chain["length"], 2);
    let contents: Vec<&Value> = chain["chain"][1]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["content"])
        .collect();
    assert!(contents.contains(&&json!("batch 42 reached the mill")));

    // A second node registers with the first and takes its chain.
    let c2 = NodeProc::start_temp(&[]).await;
    let r = c2
        .post_json("/register_with", &json!({"node_address": c1.url}))
        .await
        .expect(200);
    assert_eq!(r.body, "Registration successful");
    let c2_chain = c2.chain().await;
    assert_eq!(hashes(&c2_chain["chain"]), hashes(&chain["chain"]));
    assert!(
        c2_chain["peers"]
            .as_array()
            .unwrap()
            .contains(&json!(c1.url))
    );
    // /register_node answers the chain.
    let r = c1
        .post_json("/register_node", &json!({"node_address": c2.url}))
        .await
        .expect(200)
        .json();
    assert_eq!(r["length"], 2);

    // A block mined elsewhere is validated and added; a tampered one is discarded.
    let c3 = NodeProc::start_temp(&[]).await;
    let block = &chain["chain"][1];
    let mut tampered = block["hex"].as_str().unwrap().to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let r = c3
        .post_json("/add_block", &json!({"hex": tampered}))
        .await
        .expect(400);
    assert!(
        r.body.starts_with("The block was discarded by the node"),
        "{}",
        r.body
    );
    // ferrochain's own block JSON is taken too; the seed view (with its `hex`) of the same block is then known.
    let decoded =
        <Block as Decode>::from_bytes(&hex::decode(block["hex"].as_str().unwrap()).unwrap())
            .unwrap();
    let r = c3
        .post_json("/add_block", &serde_json::to_value(&decoded).unwrap())
        .await
        .expect(201);
    assert_eq!(r.body, "Block added to the chain");
    assert_eq!(hashes(&c3.chain().await["chain"]), hashes(&chain["chain"]));
    let r = c3.post_json("/add_block", block).await.expect(200);
    assert_eq!(r.body, "Block already known");

    // /save writes a chain export into the data dir and says where.
    let r = c1.get("/save").await.expect(201);
    assert!(r.body.starts_with("Success"), "{}", r.body);
    let path = c1.data_dir().join(ferrochain_http::SAVE_FILE);
    assert!(r.body.contains("saved 2 blocks"), "{}", r.body);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"FCBLOCKS");
}

/// D's bare chain state (`{"<txid>": {"serializedUnspentOutputs": "<JSON string>"}}`) as (txid, output) pairs.
fn unspent_outputs(state: &Value) -> Vec<(String, Value)> {
    state
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(txid, entry)| {
            let text = entry["serializedUnspentOutputs"].as_str().unwrap();
            let outputs: Vec<Value> = serde_json::from_str(text).unwrap();
            outputs.into_iter().map(move |o| (txid.clone(), o))
        })
        .collect()
}

/// D's serialized transaction of a pool item.
fn pooled(item: &Value) -> Value {
    serde_json::from_str(item["serializedTransaction"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn d_wallets_send_and_mine_block_take_pending_transactions_first_in_first_out() {
    let d = NodeProc::start_temp(&[]).await;
    let new_wallet = || async {
        let r = d.post_empty("/api/new_wallet").await.expect(200).json();
        assert_eq!(r["error"], Value::Null);
        r["data"].as_str().unwrap().to_string()
    };
    let (w1, w2, w3) = (new_wallet().await, new_wallet().await, new_wallet().await);
    let wallets = d.get("/api/get_wallets").await.expect(200).json();
    assert_eq!(wallets["data"].as_array().unwrap().len(), 4);
    // Each wallet shows its public key and, for a private key, a text saying that the node keeps it.
    for w in wallets["data"].as_array().unwrap() {
        assert_eq!(w["wallet"]["publicKey"].as_str().unwrap().len(), 64, "{w}");
        assert!(
            w["wallet"]["privateKey"]
                .as_str()
                .unwrap()
                .starts_with("kept by the node"),
            "{w}"
        );
    }

    let mined = d
        .post_json("/api/mine_block", &json!({"address": w1}))
        .await
        .expect(200)
        .json();
    assert_eq!(mined["data"]["index"], 2);
    assert_eq!(d.balance(&w1).await, 10);

    for amount in [json!(3), json!("2"), json!(1)] {
        let r = d
            .post_json(
                "/api/send",
                &json!({"from": w1, "to": w2, "amount": amount}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(
            r,
            json!({"data": "Transaction is added to pool", "error": null})
        );
    }
    // A wallet may spend its unconfirmed change; too much is refused as D said it.
    let r = d
        .post_json("/api/send", &json!({"from": w1, "to": w2, "amount": 5}))
        .await
        .expect(400)
        .json();
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .starts_with("Units: Not enough units"),
        "{r}"
    );

    let pool = d.get("/api/get_pool").await.expect(200).json();
    let pool = json!({"data": pool});
    let amounts: Vec<&Value> = pool["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["amount"])
        .collect();
    assert_eq!(amounts, [&json!(3), &json!(2), &json!(1)]);
    assert!(
        pool["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["fee"] == 0)
    );

    // Two pending transactions, the first two in arrival order, reward to a third wallet.
    let mined = d
        .post_json("/api/mine_block", &json!({"address": w3, "txAmount": 2}))
        .await
        .expect(200)
        .json();
    let txs = mined["data"]["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 3);
    assert_eq!(txs[1]["txid"], pool["data"][0]["txID"]);
    assert_eq!(txs[2]["txid"], pool["data"][1]["txID"]);
    assert_eq!(d.balance(&w1).await, 5);
    assert_eq!(d.balance(&w2).await, 5);
    assert_eq!(d.balance(&w3).await, 10);
    let pool_after = d.get("/api/get_pool").await.expect(200).json();
    assert_eq!(pool_after.as_array().unwrap().len(), 1);
    assert_eq!(pool_after[0]["txID"], pool["data"][2]["txID"]);

    // The chain state agrees with the balances, and the pending transaction spends an output it lists.
    let state = d.get("/api/get_chainstate").await.expect(200).json();
    let outputs = unspent_outputs(&state);
    let total = |address: &str| -> f64 {
        outputs
            .iter()
            .filter(|(_, o)| o["publicKeyHash"] == address)
            .map(|(_, o)| o["val"].as_f64().unwrap())
            .sum()
    };
    assert_eq!((total(&w1), total(&w2), total(&w3)), (5.0, 5.0, 10.0));
    let input: Value =
        serde_json::from_str(pooled(&pool_after[0])["inputs"][0].as_str().unwrap()).unwrap();
    assert!(
        outputs
            .iter()
            .any(|(txid, o)| *txid == input["id"] && o["outputID"] == input["output"]),
        "{state}"
    );

    // The default txAmount (5) takes the rest.
    d.post_json("/api/mine_block", &json!({"address": w3}))
        .await
        .expect(200);
    assert_eq!(d.balance(&w1).await, 4);
    assert_eq!(d.balance(&w2).await, 6);
    assert_eq!(d.get("/api/get_pool").await.expect(200).json(), json!([]));
    let blocks = d.get("/api/get_blocks").await.expect(200).json();
    assert_eq!(blocks.as_array().unwrap().len(), 4);

    // Reset on a dev chain: back to genesis, then funded sample wallets; the old wallets hold nothing now.
    let reset = d.post_empty("/api/reset_system").await.expect(200).json();
    assert_eq!(reset["data"]["wiped"], true);
    let samples = reset["data"]["wallets"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|w| w["balance"] == 10));
    assert_eq!(reset["data"]["height"], 3);
    assert!(
        reset["data"]["message"]
            .as_str()
            .unwrap()
            .contains("genesis")
    );
    assert_eq!(d.balance(&w1).await, 0);
    assert_eq!(d.balance(&w3).await, 0);
    let blocks = d.get("/api/get_blocks").await.expect(200).json();
    assert_eq!(blocks.as_array().unwrap().len(), 4);
}
