//! Contract test of the records app (system C, "YourNet") and its supply-chain fork, written from what
//! their pages read (`SEED-ROUTES.md`, "What their own clients read"): the page posts `{author, content}`
//! with any name, links to `/mine`, then reads every transaction of every block of `/chain` — the genesis
//! block's and coinbases included — for `timestamp` (seconds), `author` (a non-empty string), `content`,
//! `senderPK`, `data` (split at the first `|`) and, for the other clients, `sender`, `recipient`, `amount`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use ferrochain_http::testing::TestNode;
use serde_json::{Value, json};

async fn post_record(node: &TestNode, body: Value) -> (StatusCode, String) {
    let resp = node
        .client
        .post(format!("{}/new_transaction", node.root()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    (status, resp.text().await.unwrap())
}

/// Every key the seed clients read, with the type they need.
fn assert_client_keys(tx: &Value) {
    let ts = tx["timestamp"]
        .as_f64()
        .unwrap_or_else(|| panic!("timestamp is not a number: {tx}"));
    assert!(
        (1.0e9..1.0e11).contains(&ts),
        "timestamp {ts} is not seconds since the epoch: {tx}"
    );
    let author = tx["author"]
        .as_str()
        .unwrap_or_else(|| panic!("no author: {tx}"));
    assert!(
        author.chars().next().is_some(),
        "the page shows author[0]: {tx}"
    );
    for key in ["content", "senderPK", "data", "sender", "recipient"] {
        assert!(tx[key].is_string(), "{key} is not a string: {tx}");
    }
    assert!(
        tx["data"].as_str().unwrap().contains('|'),
        "the fork splits data at '|': {tx}"
    );
    assert!(tx["amount"].is_number(), "amount is not a number: {tx}");
    // The real ferrochain data stays.
    assert!(tx["txid"].as_str().is_some_and(|t| t.len() == 64), "{tx}");
    assert!(tx["type"].is_string() && tx["payload"].is_string(), "{tx}");
}

#[tokio::test]
async fn a_name_posts_a_record_and_every_transaction_of_the_chain_has_the_keys_the_pages_read() {
    let node = TestNode::start(|_| {}).await;

    // A fresh chain (genesis only) already answers with the keys: the page's first load.
    let chain = node.get_root("/chain").await;
    for block in chain["chain"].as_array().unwrap() {
        for tx in block["transactions"].as_array().unwrap() {
            assert_client_keys(tx);
        }
    }

    // The page posts with a free name; the node signs it as that author's claim.
    let (status, text) =
        post_record(&node, json!({"author": "Alice", "content": "hello, chain"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    // A name that looks like an address but is not one is refused, not signed as a name.
    let (status, text) = post_record(&node, json!({"author": "dev1qqqqqq", "content": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("looks like an address"), "{text}");
    // An empty or multi-line name is refused with the reason.
    let (status, text) = post_record(&node, json!({"author": "A\nB", "content": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("control characters"), "{text}");

    // "Request to mine": a plain link to /mine.
    let resp = node
        .client
        .get(format!("{}/mine", node.root()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());

    let chain = node.get_root("/chain").await;
    let blocks = chain["chain"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    let mut posts = Vec::new();
    for block in blocks {
        assert!(block["index"].is_number() && block["previous_hash"].is_string());
        for tx in block["transactions"].as_array().unwrap() {
            assert_client_keys(tx);
            posts.push(tx.clone());
        }
    }
    // The page sorts by timestamp: every value compares.
    posts.sort_by(|a, b| {
        a["timestamp"]
            .as_f64()
            .unwrap()
            .total_cmp(&b["timestamp"].as_f64().unwrap())
    });
    let alice = posts
        .iter()
        .find(|t| t["author"] == "Alice")
        .unwrap_or_else(|| panic!("Alice's record is not in the chain: {posts:?}"));
    assert_eq!(alice["content"], "hello, chain");
    assert_eq!(alice["type"], "record");
    assert_eq!(alice["author_claimed"], true, "{alice}");
    // The record is signed by the node's own key, which vouches that it received it.
    assert_eq!(alice["signed_by"], node.miner().as_str(), "{alice}");
    assert_eq!(alice["data"], "hello, chain|");
    let coinbase = &blocks[1]["transactions"][0];
    assert_eq!(coinbase["author"], "coinbase");
    assert_eq!(coinbase["sender"], "0");
}

#[tokio::test]
async fn add_block_refuses_a_view_whose_fields_disagree_with_its_hex() {
    let node = TestNode::start(|_| {}).await;
    let (status, _) = post_record(
        &node,
        json!({"author": "Bob", "content": "pallet 7 shipped"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    node.mine(1).await;
    let chain = node.get_root("/chain").await;
    let block = chain["chain"][1].clone();
    let post = |body: Value| {
        let client = node.client.clone();
        let url = format!("{}/add_block", node.root());
        async move {
            let resp = client.post(url).json(&body).send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    // The untouched view is the block itself: already known.
    let (status, text) = post(block.clone()).await;
    assert_eq!((status, text.as_str()), (200, "Block already known"));
    // A changed content is named and refused.
    let mut tampered = block.clone();
    let i = tampered["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t["author"] == "Bob")
        .unwrap();
    tampered["transactions"][i]["content"] = json!("pallet 7 lost");
    let (status, text) = post(tampered).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains(&format!("transactions[{i}].content")),
        "{text}"
    );
    // So is a changed header field.
    let mut tampered = block.clone();
    tampered["nonce"] = json!(block["nonce"].as_u64().unwrap() + 1);
    let (status, text) = post(tampered).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("field nonce"), "{text}");
}

/// The supply-chain fork's RSA-signed record: made here with the `rsa` crate as the fork's `cryptoModule.sign`
/// makes it (PKCS#1 v1.5 over SHA-256 of the UTF-8 data, the signature sent as latin-1 text).
#[tokio::test]
async fn the_forks_rsa_signed_record_is_accepted_mined_and_readable_and_a_bad_signature_is_refused()
{
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::sha2::Sha256;
    // An RSA-1024 test key (the fork's wallets hold RSA-1024 keys).
    const PRIVATE: &str = ferrochain_wallet::testing::RSA_1024_PRIVATE_PEM;
    const PUBLIC: &str = ferrochain_wallet::testing::RSA_1024_PUBLIC_PEM;
    let key = rsa::PrivateKey::from_pkcs8_pem(PRIVATE).unwrap();
    let data = "crate of apples|-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSq\n-----END PUBLIC KEY-----";
    let signature = key.pkcs1v15_sign::<Sha256>(data.as_bytes()).unwrap();
    let latin1: String = signature.iter().map(|&b| char::from(b)).collect();

    let node = TestNode::start(|_| {}).await;
    let (status, text) = post_record(
        &node,
        json!({"senderPK": PUBLIC, "signature": latin1, "data": data}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    // A changed byte of the data: refused with the reason.
    let (status, text) = post_record(
        &node,
        json!({"senderPK": PUBLIC, "signature": latin1, "data": "crate of pears|x"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("does not verify"), "{text}");
    // Not a key at all.
    let (status, text) = post_record(
        &node,
        json!({"senderPK": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "signature": latin1, "data": data}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

    node.mine(1).await;
    let chain = node.get_root("/chain").await;
    let rec = chain["chain"][1]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["legacy_rsa"].is_object())
        .cloned()
        .unwrap_or_else(|| panic!("no RSA record in {chain}"));
    assert_client_keys(&rec);
    // What the fork's page reads: the PEM as senderPK, the signed text as data.
    assert_eq!(rec["senderPK"].as_str().unwrap().trim(), PUBLIC.trim());
    assert_eq!(rec["data"], data);
    assert_eq!(rec["content"], "crate of apples");
    assert_eq!(rec["legacy_rsa"]["verified"], true);
    assert_eq!(rec["legacy_rsa"]["bits"], 1024);
    // From the chain alone: the record's payload carries the envelope, and its RSA signature checks.
    let payload = hex::decode(rec["payload"].as_str().unwrap()).unwrap();
    let envelope = ferrochain_wallet::LegacyRsaRecord::from_payload(&payload).unwrap();
    assert_eq!(envelope.verify().unwrap().bits, 1024);
    // The fork itself is pointed at `<node>/supply-chain`: its chain holds only RSA records, which is all its
    // page can read (it names every receiver from its own address book).
    let fork = node.get_root("/supply-chain/chain").await;
    let blocks = fork["chain"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        blocks[0]["transactions"],
        json!([]),
        "genesis shows no transaction"
    );
    let txs = blocks[1]["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!(txs[0]["data"], data);
    let resp = node
        .client
        .post(format!("{}/supply-chain/new_transaction", node.root()))
        .json(&json!({"senderPK": PUBLIC, "signature": latin1, "data": "crate of pears|x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "the fork's route checks the signature too"
    );
    // The web UI labels it.
    let page = node
        .client
        .get(format!(
            "{}/ui/tx/{}",
            node.root(),
            rec["txid"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("legacy RSA") && page.contains("signature verified"),
        "{page}"
    );
}
