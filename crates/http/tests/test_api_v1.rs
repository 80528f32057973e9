//! The REST API `/api/v1` on real servers bound to `127.0.0.1:0`: a happy path through every route (mining,
//! node wallets, payments, records, Merkle and record proofs checked with the core and wallet crates, the
//! event stream), owner routes refused to remote callers and accepted with the token, a table of bad inputs
//! for every route (never a 5xx), and JSON snapshots of the public views on a deterministic chain.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use axum::http::{Request, StatusCode};
use ferrochain_core::merkle::MerkleProof;
use ferrochain_core::{
    Amount, Block, Encode, MerkleNode, OutPoint, PubkeyHash, SigningKey, Transaction, TxOut, Txid,
};
use ferrochain_http::testing::{TestNode, request};
use ferrochain_node::Config;
use ferrochain_wallet::proof::RecordProof;
use reqwest::Method;
use serde_json::{Value, json};

/// A node served on loopback for one test, the request helpers' paths under `/api/v1`.
async fn start(tweak: impl FnOnce(&mut Config) + Send + 'static) -> TestNode {
    TestNode::builder()
        .config(tweak)
        .base_path("/api/v1")
        .start()
        .await
}

fn key() -> SigningKey {
    SigningKey::from_secret_bytes([7; 32])
}

fn dev_address(hash: &PubkeyHash) -> String {
    hash.to_address("dev").unwrap()
}

fn lab_address() -> String {
    PubkeyHash::from_bytes([3; 20]).to_address("lab").unwrap()
}

fn txid(v: &Value) -> Txid {
    v["txid"].as_str().unwrap().parse().unwrap()
}

/// Reads the event stream until `needle` appears (or fails after a while).
async fn read_until(resp: &mut reqwest::Response, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in the event stream; got {seen:?}"))
            .unwrap()
            .expect("the stream is open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn happy_path_through_every_route() {
    let t = start(|_| {}).await;
    let network_id = t.node.network().genesis_hash();

    let status = t.get("/status").await;
    assert_eq!(status["network"], "dev");
    assert_eq!(status["height"], 0);
    assert_eq!(status["leading_zero_bits"], 16);
    assert_eq!(status["miner_threads"], 1);
    let network = t.get("/network").await;
    assert_eq!(network["network_id"], network_id.to_string());
    assert_eq!(network["decimals"], 8);
    assert_eq!(
        network["subsidy"],
        json!({"units": 1_000_000_000u64, "display": "10"})
    );

    // The event stream is open before anything happens.
    let mut events = t
        .client
        .get(format!("{}/events", t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();

    // Mine two blocks to the node's own address.
    let mined = t.post("/mine", json!({"blocks": 2}), StatusCode::OK).await;
    let mined = mined["blocks"].as_array().unwrap();
    assert_eq!(mined.len(), 2);
    assert_eq!(mined[1]["height"], 2);
    read_until(&mut events, &mut seen, "event: block").await;
    read_until(&mut events, &mut seen, "\"height\":2").await;

    // Blocks: newest first, a page ascending, by height and by hash.
    let list = t.get("/blocks").await;
    assert_eq!(list["tip_height"], 2);
    let heights: Vec<u64> = list["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![2, 1, 0]);
    let asc = t.get("/blocks?order=asc&from=1&limit=1").await;
    assert_eq!(asc["blocks"][0]["height"], 1);
    let b1 = t.get("/blocks/1").await;
    assert_eq!(b1["confirmations"], 2);
    assert_eq!(b1["active"], true);
    assert_eq!(b1["next"], mined[1]["hash"]);
    assert_eq!(b1["prev_hash"], network_id.to_string());
    assert_eq!(b1["transactions"][0]["kind"], "coinbase");
    let by_hash = t
        .get(&format!("/blocks/{}", mined[1]["hash"].as_str().unwrap()))
        .await;
    assert_eq!(by_hash["height"], 2);
    assert_eq!(by_hash["next"], Value::Null);

    // Node wallets: the miner's address is held; a new one is created.
    let miner = t.get("/miner").await["default_address"]
        .as_str()
        .unwrap()
        .to_string();
    let created = t.post("/wallets", json!({}), StatusCode::CREATED).await;
    let w = created["address"].as_str().unwrap().to_string();
    let wallets = t.get("/wallets").await;
    let held: Vec<&str> = wallets
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["address"].as_str().unwrap())
        .collect();
    assert!(held.contains(&miner.as_str()) && held.contains(&w.as_str()));
    assert!(!wallets.to_string().contains("secret"));

    // Pay 1.5 coins with a fee and a memo; it waits in the mempool.
    let sent = t
        .post(
            &format!("/wallets/{miner}/send"),
            json!({"to": w, "amount": "1.5", "fee": "0.001", "payload": "hello"}),
            StatusCode::CREATED,
        )
        .await;
    let pay = txid(&sent);
    assert_eq!(sent["amount"]["units"], 150_000_000);
    read_until(&mut events, &mut seen, "event: transaction").await;
    let mempool = t.get("/mempool").await;
    assert_eq!(mempool["count"], 1);
    assert_eq!(mempool["entries"][0]["txid"], pay.to_string());
    assert_eq!(mempool["entries"][0]["fee"]["display"], "0.001");
    let pending = t.get(&format!("/txs/{pay}")).await;
    assert_eq!(pending["status"]["state"], "pending");
    assert_eq!(pending["status"]["fee"]["units"], 100_000);
    assert_eq!(pending["payload_text"], "hello");
    assert_eq!(pending["payload_hex"], hex::encode("hello"));
    assert_eq!(pending["inputs"][0]["spends"]["address"], miner.as_str());
    let (s, _) = t
        .call(Method::GET, &format!("/txs/{pay}/merkle-proof"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A record signed by the new wallet (no coins needed).
    let rec = t
        .post(
            &format!("/wallets/{w}/records"),
            json!({"content": "batch 42 shipped"}),
            StatusCode::CREATED,
        )
        .await;
    let record = txid(&rec);
    assert_eq!(rec["author"], w.as_str());

    // Mine them; then one more block for two confirmations.
    t.post("/mine", json!({}), StatusCode::OK).await;
    let (s, _) = t.call(Method::POST, "/mine", None).await; // no body at all: one block
    assert_eq!(s, StatusCode::OK);
    let confirmed = t.get(&format!("/txs/{pay}")).await;
    assert_eq!(confirmed["status"]["state"], "confirmed");
    assert_eq!(confirmed["status"]["height"], 3);
    assert_eq!(confirmed["status"]["confirmations"], 2);
    assert_eq!(confirmed["fee"]["units"], 100_000);
    assert_eq!(confirmed["input_total"]["display"], "10");
    assert!(
        t.get("/mempool").await["entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The Merkle proof verifies with the core against the block's Merkle root.
    let mp = t.get(&format!("/txs/{pay}/merkle-proof")).await;
    let proof: MerkleProof = serde_json::from_value(mp["proof"].clone()).unwrap();
    let block3 = t.get("/blocks/3").await;
    let root: MerkleNode = block3["merkle_root"].as_str().unwrap().parse().unwrap();
    assert!(proof.verify(&pay, &root));
    assert_eq!(mp["verified"], true);
    assert_eq!(mp["steps"].as_array().unwrap().len(), proof.path.len());
    assert_eq!(
        mp["steps"].as_array().unwrap().last().unwrap()["result"],
        root.to_string()
    );

    // The record proof verifies offline with the wallet crate.
    let resp = t
        .client
        .get(format!("{}/txs/{record}/proof", t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bundle = RecordProof::from_json_bytes(&resp.bytes().await.unwrap()).unwrap();
    let verified = bundle.verify(Some(&network_id)).unwrap();
    assert_eq!(verified.payload, b"batch 42 shipped");
    assert_eq!(verified.confirmations, 2);
    assert_eq!(t.node.network().address(&verified.author_address_hash), w);
    let (s, v) = t
        .call(Method::GET, &format!("/txs/{pay}/proof"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_a_record"))
    );

    // The wallet's address: balance, outputs, history.
    let addr = t.get(&format!("/addresses/{w}")).await;
    assert_eq!(addr["balance"]["confirmed"]["display"], "1.5");
    assert_eq!(addr["utxo_count"], 1);
    let utxos = t.get(&format!("/addresses/{w}/utxos")).await;
    assert_eq!(utxos["utxos"][0]["txid"], pay.to_string());
    assert_eq!(utxos["utxos"][0]["confirmations"], 2);
    let history = t.get(&format!("/addresses/{w}/history?limit=10")).await;
    let item = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["txid"] == pay.to_string())
        .unwrap();
    assert_eq!(item["received"]["display"], "1.5");
    assert_eq!(item["kind"], "transfer");
    assert_eq!(item["block"], block3["hash"]);
    let miner_history = t.get(&format!("/addresses/{miner}/history?limit=2")).await;
    assert_eq!(miner_history["items"].as_array().unwrap().len(), 2);
    assert_eq!(miner_history["items"][0]["height"], 4);

    // A transaction signed outside the node, submitted as JSON; another as hex; a repeat conflicts.
    let k = key();
    let kaddr = dev_address(&k.public_key().pubkey_hash());
    let funded = t
        .post(
            &format!("/wallets/{miner}/send"),
            json!({"to": kaddr, "amount": 2}),
            StatusCode::CREATED,
        )
        .await;
    let funding = txid(&funded);
    let spend = |vout: u32, amount: u64, to: u8| {
        Transaction::signed_transfer(
            &[(
                OutPoint {
                    txid: funding,
                    vout,
                },
                &k,
            )],
            vec![TxOut {
                amount: Amount::from_units(amount).unwrap(),
                address: PubkeyHash::from_bytes([to; 20]),
            }],
            Vec::new(),
            &network_id,
        )
    };
    let out_index = t.get(&format!("/txs/{funding}")).await["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .position(|o| o["address"] == kaddr.as_str())
        .unwrap() as u32;
    let tx1 = spend(out_index, 100_000_000, 9);
    let accepted = t
        .post(
            "/txs",
            serde_json::to_value(&tx1).unwrap(),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(txid(&accepted), tx1.txid());
    let (s, v) = t
        .call(
            Method::POST,
            "/txs",
            Some(&serde_json::to_string(&tx1).unwrap()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let tx2 = spend(out_index, 50_000_000, 8); // double spend of the same output
    let (s, v) = t
        .call(
            Method::POST,
            "/txs",
            Some(&json!({"hex": hex::encode(tx2.to_bytes())}).to_string()),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    let record2 = Transaction::signed_record(&k, b"signed offline".to_vec(), 1, &network_id);
    let accepted = t
        .post(
            "/txs",
            json!({"hex": hex::encode(record2.to_bytes())}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(txid(&accepted), record2.txid());

    // A block mined here but submitted through the API connects; the same again is already known.
    let node = t.node.clone();
    let to = node.miner_address();
    let block: Block = tokio::task::spawn_blocking(move || {
        node.find_block(to, 100, &std::sync::atomic::AtomicBool::new(false))
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap();
    let body = json!({"hex": hex::encode(block.to_bytes())});
    let outcome = t.post("/blocks", body.clone(), StatusCode::OK).await;
    assert_eq!(outcome["outcome"], "connected");
    assert_eq!(outcome["connected"][0], block.hash().to_string());
    read_until(&mut events, &mut seen, &block.hash().to_string()).await;
    assert_eq!(
        t.post("/blocks", body, StatusCode::OK).await["outcome"],
        "already_known"
    );
    assert_eq!(t.get("/mempool").await["count"], 0);

    // Peers.
    assert_eq!(t.get("/peers").await["peers"], json!([]));
    let added = t
        .post(
            "/peers",
            json!({"url": "127.0.0.1:5999"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(added["url"], "http://127.0.0.1:5999");
    t.post(
        "/peers",
        json!({"url": "http://127.0.0.1:5999/"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        t.get("/peers").await["peers"],
        json!(["http://127.0.0.1:5999"])
    );

    // The miner: start (one block an hour), stop.
    let started = t
        .post(
            "/miner/start",
            json!({"interval_secs": 3600}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (started["running"].clone(), started["interval_secs"].clone()),
        (json!(true), json!(3600))
    );
    assert_eq!(t.get("/status").await["mining"], true);
    let stopped = t.post("/miner/stop", json!(null), StatusCode::OK).await;
    assert_eq!(stopped["running"], false);

    // The OpenAPI document describes exactly the registered routes.
    let doc = t.get("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut registered = ferrochain_http::rest_routes();
    documented.sort();
    registered.sort();
    assert_eq!(documented, registered);

    // Shutting down ends the open event stream.
    t.stop().await;
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = events.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream ended with the node");
}

async fn oneshot(t: &TestNode, from: [u8; 4], req: Request<AxumBody>) -> (StatusCode, Value) {
    let answer = t.oneshot(from, req).await;
    (answer.status, answer.json())
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_routes_need_loopback_or_the_token() {
    let t = TestNode::open(|c| c.api_token = Some("s3cret".into())).await;
    let node = t.node.clone();
    let miner = node.network().address(&node.miner_address());
    let to = dev_address(&PubkeyHash::from_bytes([5; 20]));
    let send = json!({"to": to, "amount": "1"}).to_string();
    let owner_routes: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        (
            "POST",
            "/api/v1/mine".into(),
            Some("{}".into()),
            StatusCode::OK,
        ),
        (
            "POST",
            "/api/v1/miner/start".into(),
            Some(r#"{"interval_secs": 3600}"#.into()),
            StatusCode::OK,
        ),
        ("POST", "/api/v1/miner/stop".into(), None, StatusCode::OK),
        (
            "POST",
            "/api/v1/peers".into(),
            Some(r#"{"url": "10.9.9.9:5000"}"#.into()),
            StatusCode::CREATED,
        ),
        ("GET", "/api/v1/wallets".into(), None, StatusCode::OK),
        ("POST", "/api/v1/wallets".into(), None, StatusCode::CREATED),
        (
            "POST",
            format!("/api/v1/wallets/{miner}/send"),
            Some(send),
            StatusCode::CREATED,
        ),
        (
            "POST",
            format!("/api/v1/wallets/{miner}/records"),
            Some(r#"{"content": "owner says hi"}"#.into()),
            StatusCode::CREATED,
        ),
    ];
    let remote = [10, 1, 2, 3];
    for (method, uri, body, ok) in &owner_routes {
        let (s, v) = oneshot(&t, remote, request(method, uri, body.as_deref(), None)).await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{method} {uri} without a token: {v}"
        );
        assert_eq!(v["error"]["code"], "owner_only");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--api-token")
        );
        // A wrong token is a 401 wherever it comes from, loopback included.
        for from in [remote, [127, 0, 0, 1]] {
            for token in ["wrong", "s3cre", "s3cret-and-more"] {
                let (s, v) =
                    oneshot(&t, from, request(method, uri, body.as_deref(), Some(token))).await;
                assert_eq!(
                    s,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} from {from:?} token {token:?}: {v}"
                );
                assert_eq!(v["error"]["code"], "bad_token");
            }
        }
        let (s, v) = oneshot(
            &t,
            remote,
            request(method, uri, body.as_deref(), Some("s3cret")),
        )
        .await;
        assert_eq!(s, *ok, "{method} {uri} with the token: {v}");
    }
    // Nothing was changed by the refused calls: one block (the token's /mine), one added peer.
    assert_eq!(node.state().tip().height.0, 1);
    assert_eq!(
        node.peers().list(),
        vec!["http://10.9.9.9:5000".to_string()]
    );
    // Loopback needs no token; public routes need neither.
    let (s, _) = oneshot(
        &t,
        [127, 0, 0, 1],
        request("GET", "/api/v1/wallets", None, None),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for uri in [
        "/api/v1/status",
        "/api/v1/miner",
        "/api/v1/peers",
        "/api/v1/blocks/0",
    ] {
        let (s, v) = oneshot(&t, remote, request("GET", uri, None, None)).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    }
}

/// One bad request and the error it must get.
struct Row {
    /// The route template it exercises (for the coverage check).
    route: &'static str,
    method: &'static str,
    path: String,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn row(
    route: &'static str,
    method: &'static str,
    path: impl Into<String>,
    body: Option<&str>,
    status: u16,
    code: &'static str,
) -> Row {
    Row {
        route,
        method,
        path: path.into(),
        body: body.map(str::to_string),
        status,
        code,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_get_the_right_4xx_and_a_message() {
    let k = key();
    let kaddr = dev_address(&k.public_key().pubkey_hash());
    let miner_addr = kaddr.clone();
    let t = start(move |c| {
        c.max_body_bytes = 4096;
        c.miner_address = Some(miner_addr);
    })
    .await;
    let network_id = t.node.network().genesis_hash();
    // A held wallet with coins, and a chain with a coinbase paying the test key.
    let held = t.post("/wallets", json!({}), StatusCode::CREATED).await["address"]
        .as_str()
        .unwrap()
        .to_string();
    t.post(
        "/mine",
        json!({"blocks": 1, "address": held}),
        StatusCode::OK,
    )
    .await;
    let b2 = t.post("/mine", json!({}), StatusCode::OK).await;
    let block2 = t
        .get(&format!(
            "/blocks/{}",
            b2["blocks"][0]["hash"].as_str().unwrap()
        ))
        .await;
    let coinbase: Txid = block2["transactions"][0]["txid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let lab = lab_address();
    let dev_unheld = dev_address(&PubkeyHash::from_bytes([4; 20]));
    let mut typo = dev_unheld.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    let zeros = "0".repeat(64);
    let huge = format!("{{\"hex\": \"{}\"}}", "ab".repeat(4000));
    let send_path = format!("/wallets/{held}/send");
    let records_path = format!("/wallets/{held}/records");
    let send = |body: Value| Some(body.to_string());

    // A transfer signed for another network: a valid shape, an invalid signature here.
    let foreign = Transaction::signed_transfer(
        &[(
            OutPoint {
                txid: coinbase,
                vout: 0,
            },
            &k,
        )],
        vec![TxOut {
            amount: Amount::from_units(1).unwrap(),
            address: PubkeyHash::from_bytes([1; 20]),
        }],
        Vec::new(),
        &ferrochain_core::Network::lab().genesis_hash(),
    );
    let mut overflowing = serde_json::to_value(&foreign).unwrap();
    overflowing["outputs"][0]["amount"] = json!(9_007_199_254_740_992u64);
    let mut negative = serde_json::to_value(&foreign).unwrap();
    negative["outputs"][0]["amount"] = json!(-5);
    let mut bad_block = t
        .node
        .state()
        .block_at(ferrochain_core::Height(2))
        .unwrap()
        .unwrap();
    bad_block.header.merkle_root = MerkleNode::from_byte_array([0; 32]);
    let bad_block = json!({"hex": hex::encode(bad_block.to_bytes())}).to_string();
    let _ = network_id;

    let rows: Vec<Row> = vec![
        // Read routes: queries, ids, hashes, addresses.
        row("/status", "GET", "/status?verbose=%ZZ", None, 200, ""),
        row("/network", "GET", "/network?x=1", None, 200, ""),
        row(
            "/blocks",
            "GET",
            "/blocks?limit=0",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            "/blocks?limit=101",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            "/blocks?limit=ten",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            "/blocks?from=-1",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            "/blocks?from=99999999999999999999999",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            "/blocks?order=sideways",
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks/{id}",
            "GET",
            "/blocks/999999",
            None,
            404,
            "not_found",
        ),
        row(
            "/blocks/{id}",
            "GET",
            "/blocks/-1",
            None,
            400,
            "invalid_block_id",
        ),
        row(
            "/blocks/{id}",
            "GET",
            "/blocks/tip",
            None,
            400,
            "invalid_block_id",
        ),
        row(
            "/blocks/{id}",
            "GET",
            "/blocks/99999999999999999999999",
            None,
            400,
            "invalid_block_id",
        ),
        row(
            "/blocks/{id}",
            "GET",
            format!("/blocks/{zeros}"),
            None,
            404,
            "not_found",
        ),
        row(
            "/blocks/{id}",
            "GET",
            format!("/blocks/{}", "g".repeat(64)),
            None,
            400,
            "invalid_block_id",
        ),
        row("/txs/{txid}", "GET", "/txs/xyz", None, 400, "invalid_txid"),
        row(
            "/txs/{txid}",
            "GET",
            "/txs/%FF%FE",
            None,
            400,
            "invalid_path",
        ),
        row(
            "/txs/{txid}",
            "GET",
            format!("/txs/{}", "g".repeat(64)),
            None,
            400,
            "invalid_txid",
        ),
        row(
            "/txs/{txid}",
            "GET",
            format!("/txs/{zeros}"),
            None,
            404,
            "not_found",
        ),
        row(
            "/txs/{txid}/merkle-proof",
            "GET",
            "/txs/12/merkle-proof",
            None,
            400,
            "invalid_txid",
        ),
        row(
            "/txs/{txid}/merkle-proof",
            "GET",
            format!("/txs/{zeros}/merkle-proof"),
            None,
            404,
            "not_found",
        ),
        row(
            "/txs/{txid}/proof",
            "GET",
            "/txs/nope/proof",
            None,
            400,
            "invalid_txid",
        ),
        row(
            "/txs/{txid}/proof",
            "GET",
            format!("/txs/{zeros}/proof"),
            None,
            404,
            "not_found",
        ),
        row(
            "/txs/{txid}/proof",
            "GET",
            format!("/txs/{coinbase}/proof"),
            None,
            400,
            "not_a_record",
        ),
        row(
            "/addresses/{address}",
            "GET",
            "/addresses/not-an-address",
            None,
            400,
            "invalid_address",
        ),
        row(
            "/addresses/{address}",
            "GET",
            format!("/addresses/{typo}"),
            None,
            400,
            "invalid_address",
        ),
        row(
            "/addresses/{address}",
            "GET",
            format!("/addresses/{lab}"),
            None,
            400,
            "wrong_network",
        ),
        row(
            "/addresses/{address}/utxos",
            "GET",
            format!("/addresses/{lab}/utxos"),
            None,
            400,
            "wrong_network",
        ),
        row(
            "/addresses/{address}/utxos",
            "GET",
            "/addresses/dev1xyz/utxos",
            None,
            400,
            "invalid_address",
        ),
        row(
            "/addresses/{address}/history",
            "GET",
            format!("/addresses/{lab}/history"),
            None,
            400,
            "wrong_network",
        ),
        row(
            "/addresses/{address}/history",
            "GET",
            format!("/addresses/{kaddr}/history?limit=0"),
            None,
            400,
            "invalid_query",
        ),
        row(
            "/addresses/{address}/history",
            "GET",
            format!("/addresses/{kaddr}/history?offset=-3"),
            None,
            400,
            "invalid_query",
        ),
        // Extreme but valid numbers: empty pages, not errors.
        row(
            "/addresses/{address}/history",
            "GET",
            format!("/addresses/{kaddr}/history?offset={}", i64::MAX),
            None,
            200,
            "",
        ),
        row(
            "/addresses/{address}/history",
            "GET",
            format!("/addresses/{kaddr}/history?offset={}", u64::MAX),
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            format!("/blocks?order=asc&from={}", i64::MAX),
            None,
            200,
            "",
        ),
        row(
            "/blocks",
            "GET",
            format!("/blocks?order=asc&from={}", u64::MAX),
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks",
            "GET",
            format!("/blocks?from={}", i64::MAX),
            None,
            200,
            "",
        ),
        row(
            "/blocks",
            "GET",
            format!("/blocks?from={}", u64::MAX),
            None,
            400,
            "invalid_query",
        ),
        row(
            "/blocks/{id}",
            "GET",
            "/blocks/9999999999999999999",
            None,
            404,
            "not_found",
        ),
        row("/mempool", "GET", "/mempool?limit=-1", None, 200, ""),
        row("/miner", "GET", "/miner?x", None, 200, ""),
        row("/peers", "GET", "/peers?x", None, 200, ""),
        row("/openapi.json", "GET", "/openapi.json?x", None, 200, ""),
        row("/wallets", "GET", "/wallets?x", None, 200, ""),
        // Submitting transactions.
        row("/txs", "POST", "/txs", Some("{"), 400, "invalid_json"),
        row("/txs", "POST", "/txs", Some("[]"), 400, "invalid_json"),
        row("/txs", "POST", "/txs", Some("{}"), 400, "invalid_json"),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(r#"{"hex": 5}"#),
            400,
            "invalid_json",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(r#"{"hex": "zz"}"#),
            400,
            "invalid_hex",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(r#"{"hex": "00"}"#),
            400,
            "invalid_encoding",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(r#"{"hex": "", "extra": 1}"#),
            400,
            "invalid_json",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(&serde_json::to_string(&foreign).unwrap()),
            400,
            "invalid_transaction",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(&overflowing.to_string()),
            400,
            "invalid_json",
        ),
        row(
            "/txs",
            "POST",
            "/txs",
            Some(&negative.to_string()),
            400,
            "invalid_json",
        ),
        row("/txs", "POST", "/txs", Some(&huge), 413, "body_too_large"),
        // Submitting blocks.
        row("/blocks", "POST", "/blocks", Some("{"), 400, "invalid_json"),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(r#"{"block": "00"}"#),
            400,
            "invalid_json",
        ),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(r#"{"hex": 1}"#),
            400,
            "invalid_json",
        ),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(r#"{"hex": "xyz"}"#),
            400,
            "invalid_hex",
        ),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(r#"{"hex": "0000"}"#),
            400,
            "invalid_encoding",
        ),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(&bad_block),
            400,
            "invalid_block",
        ),
        row(
            "/blocks",
            "POST",
            "/blocks",
            Some(&huge),
            413,
            "body_too_large",
        ),
        // Mining.
        row("/mine", "POST", "/mine", Some("{"), 400, "invalid_json"),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": 0}"#),
            400,
            "invalid_request",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": 101}"#),
            400,
            "invalid_request",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": -1}"#),
            400,
            "invalid_json",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": 99999999999}"#),
            400,
            "invalid_json",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": "two"}"#),
            400,
            "invalid_json",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"blocks": 1, "colour": 1}"#),
            400,
            "invalid_json",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            Some(r#"{"address": "bad"}"#),
            400,
            "invalid_address",
        ),
        row(
            "/mine",
            "POST",
            "/mine",
            send(json!({"address": lab})).as_deref(),
            400,
            "wrong_network",
        ),
        row("/mine", "POST", "/mine", Some(&huge), 413, "body_too_large"),
        row(
            "/miner/start",
            "POST",
            "/miner/start",
            Some(r#"{"interval_secs": -5}"#),
            400,
            "invalid_json",
        ),
        row(
            "/miner/start",
            "POST",
            "/miner/start",
            send(json!({"address": lab})).as_deref(),
            400,
            "wrong_network",
        ),
        row(
            "/miner/start",
            "POST",
            "/miner/start",
            Some("nonsense"),
            400,
            "invalid_json",
        ),
        row(
            "/miner/stop",
            "POST",
            "/miner/stop",
            Some("ignored"),
            200,
            "",
        ),
        // Peers.
        row("/peers", "POST", "/peers", Some("{}"), 400, "invalid_json"),
        row(
            "/peers",
            "POST",
            "/peers",
            Some(r#"{"url": 5}"#),
            400,
            "invalid_json",
        ),
        row(
            "/peers",
            "POST",
            "/peers",
            Some(r#"{"url": "not a url"}"#),
            400,
            "invalid_url",
        ),
        row(
            "/peers",
            "POST",
            "/peers",
            Some(r#"{"url": ""}"#),
            400,
            "invalid_url",
        ),
        row(
            "/peers",
            "POST",
            "/peers",
            Some(&huge),
            413,
            "body_too_large",
        ),
        // Node wallets.
        row("/wallets", "POST", "/wallets", Some("ignored"), 201, ""),
        row(
            "/wallets/{address}/send",
            "POST",
            "/wallets/nope/send",
            send(json!({"to": kaddr, "amount": 1})).as_deref(),
            400,
            "invalid_address",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            format!("/wallets/{lab}/send"),
            send(json!({"to": kaddr, "amount": 1})).as_deref(),
            400,
            "wrong_network",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            format!("/wallets/{dev_unheld}/send"),
            send(json!({"to": kaddr, "amount": 1})).as_deref(),
            404,
            "key_not_held",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            Some("{"),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"amount": 1})).as_deref(),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr})).as_deref(),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": 7, "amount": 1})).as_deref(),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": "dev1nothing", "amount": 1})).as_deref(),
            400,
            "invalid_address",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": lab, "amount": 1})).as_deref(),
            400,
            "wrong_network",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": -1})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "-1"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": 0})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "0.0"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "1.000000001"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "100000000000"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": u64::MAX})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            Some(&format!(r#"{{"to": "{kaddr}", "amount": 1e400}}"#)),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": 1.5})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": true})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "1", "fee": "-0.1"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "1", "fee": "abc"})).as_deref(),
            400,
            "invalid_amount",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            send(json!({"to": kaddr, "amount": "1000000"})).as_deref(),
            400,
            "insufficient_funds",
        ),
        row(
            "/wallets/{address}/send",
            "POST",
            send_path.clone(),
            Some(&huge),
            413,
            "body_too_large",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            records_path.clone(),
            Some("{}"),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            records_path.clone(),
            Some(r#"{"content": 5}"#),
            400,
            "invalid_json",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            records_path.clone(),
            Some(r#"{"content": ""}"#),
            400,
            "invalid_transaction",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            format!("/wallets/{dev_unheld}/records"),
            Some(r#"{"content": "x"}"#),
            404,
            "key_not_held",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            format!("/wallets/{lab}/records"),
            Some(r#"{"content": "x"}"#),
            400,
            "wrong_network",
        ),
        row(
            "/wallets/{address}/records",
            "POST",
            records_path.clone(),
            Some(&huge),
            413,
            "body_too_large",
        ),
        // Wrong method, unknown route, wrong media type.
        row(
            "/status",
            "DELETE",
            "/status",
            None,
            405,
            "method_not_allowed",
        ),
        row("", "GET", "/no-such-route", None, 404, "not_found"),
        row("/events", "GET", "/events?x", None, 200, ""),
    ];

    for r in &rows {
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        if r.route == "/events" {
            // An endless stream: check the status only.
            let resp = t
                .client
                .request(method, format!("{}{}", t.url(), r.path))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), r.status);
            continue;
        }
        let (status, v) = t.call(method, &r.path, r.body.as_deref()).await;
        let what = format!(
            "{} {} {:?}",
            r.method,
            r.path,
            r.body.as_deref().map(|b| &b[..b.len().min(120)])
        );
        assert!(status.as_u16() < 500, "{what}: a 5xx: {v}");
        assert_eq!(status.as_u16(), r.status, "{what}: {v}");
        if !r.code.is_empty() {
            assert_eq!(v["error"]["code"], r.code, "{what}: {v}");
            let message = v["error"]["message"].as_str().unwrap_or("");
            assert!(!message.is_empty(), "{what}: no message");
        }
    }
    // A text body where JSON is expected.
    let resp = t
        .client
        .post(format!("{}/txs", t.url()))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unsupported_media_type");

    // Every route is in the table.
    for (method, route) in ferrochain_http::rest_routes() {
        assert!(
            rows.iter().any(|r| r.route == route && r.method == method),
            "no bad-input row for {method} {route}"
        );
    }
    t.stop().await;
}

/// Replaces values that differ between runs: block hashes by `[block N]`, and the values of timing keys.
fn redact(value: &mut Value, hashes: &[(String, String)]) {
    redact_keys(value, hashes, &[])
}

/// [`redact`], also replacing the values of the `extra` keys.
fn redact_keys(value: &mut Value, hashes: &[(String, String)], extra: &[&str]) {
    const VARYING: &[&str] = &[
        "time_ms",
        "tip_time_ms",
        "nonce",
        "started_ms",
        "hash_rate",
        "total_hashes",
    ];
    match value {
        Value::String(s) => {
            if let Some((_, name)) = hashes.iter().find(|(h, _)| h == s) {
                *s = name.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_keys(v, hashes, extra)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if (VARYING.contains(&k.as_str()) || extra.contains(&k.as_str())) && !v.is_null() {
                    *v = Value::String(format!("[{k}]"));
                } else {
                    redact_keys(v, hashes, extra);
                }
            }
        }
        _ => {}
    }
}

/// Replaces every string that holds a JSON object or array (D's `serializedBlock`, its transactions, inputs
/// and outputs, `serializedTransaction`, `serializedUnspentOutputs`) by the value it parses to, recursively.
fn unnest_json_strings(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            let mut inner: Value = serde_json::from_str(s).expect("a nested JSON string parses");
            unnest_json_strings(&mut inner);
            *value = inner;
        }
        Value::Array(items) => items.iter_mut().for_each(unnest_json_strings),
        Value::Object(map) => map.values_mut().for_each(unnest_json_strings),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn public_views_match_their_snapshots() {
    // A deterministic chain: the miner pays a fixed key, which signs a transfer and a record; only times,
    // nonces and so block hashes vary, and those are redacted.
    let k = key();
    let kaddr = dev_address(&k.public_key().pubkey_hash());
    let miner_addr = kaddr.clone();
    let t = start(move |c| c.miner_address = Some(miner_addr)).await;
    let network_id = t.node.network().genesis_hash();
    t.post("/mine", json!({"blocks": 2}), StatusCode::OK).await;
    let coinbase1 = t
        .node
        .state()
        .block_at(ferrochain_core::Height(1))
        .unwrap()
        .unwrap()
        .transactions[0]
        .txid();
    let pay = Transaction::signed_transfer(
        &[(
            OutPoint {
                txid: coinbase1,
                vout: 0,
            },
            &k,
        )],
        vec![
            TxOut {
                amount: Amount::parse_units("1.5", 8).unwrap(),
                address: PubkeyHash::from_bytes([0x22; 20]),
            },
            TxOut {
                amount: Amount::parse_units("8.499", 8).unwrap(),
                address: k.public_key().pubkey_hash(),
            },
        ],
        b"for the coffee".to_vec(),
        &network_id,
    );
    let record = Transaction::signed_record(
        &k,
        b"lot 7: 20 kg, 4 C".to_vec(),
        1_767_225_600_000,
        &network_id,
    );
    t.post(
        "/txs",
        serde_json::to_value(&pay).unwrap(),
        StatusCode::CREATED,
    )
    .await;
    t.post(
        "/txs",
        json!({"hex": hex::encode(record.to_bytes())}),
        StatusCode::CREATED,
    )
    .await;

    let hashes = |t: &TestNode| -> Vec<(String, String)> {
        (1..=t.node.state().tip().height.0)
            .map(|h| {
                (
                    t.node.hash_at(h).unwrap().to_string(),
                    format!("[block {h}]"),
                )
            })
            .collect()
    };
    let snap = |mut v: Value, hashes: &[(String, String)]| {
        redact(&mut v, hashes);
        v
    };

    let h = hashes(&t);
    insta::assert_json_snapshot!("network", t.get("/network").await);
    insta::assert_json_snapshot!("status_with_mempool", snap(t.get("/status").await, &h));
    insta::assert_json_snapshot!("mempool", snap(t.get("/mempool").await, &h));
    insta::assert_json_snapshot!(
        "tx_pending",
        snap(t.get(&format!("/txs/{}", pay.txid())).await, &h)
    );

    t.post("/mine", json!({}), StatusCode::OK).await;
    let h = hashes(&t);
    insta::assert_json_snapshot!("blocks", snap(t.get("/blocks").await, &h));
    insta::assert_json_snapshot!("block_3", snap(t.get("/blocks/3").await, &h));
    insta::assert_json_snapshot!(
        "tx_confirmed",
        snap(t.get(&format!("/txs/{}", pay.txid())).await, &h)
    );
    insta::assert_json_snapshot!(
        "tx_record",
        snap(t.get(&format!("/txs/{}", record.txid())).await, &h)
    );
    insta::assert_json_snapshot!(
        "merkle_proof",
        snap(
            t.get(&format!("/txs/{}/merkle-proof", pay.txid())).await,
            &h
        )
    );
    insta::assert_json_snapshot!(
        "address",
        snap(t.get(&format!("/addresses/{kaddr}")).await, &h)
    );
    insta::assert_json_snapshot!(
        "address_utxos",
        snap(t.get(&format!("/addresses/{kaddr}/utxos")).await, &h)
    );
    insta::assert_json_snapshot!(
        "address_history",
        snap(t.get(&format!("/addresses/{kaddr}/history")).await, &h)
    );
    // The seed-compatible routes are public too: their shapes are a contract with the tutorials' clients.
    // Seed blocks carry float-second timestamps, the nonce as `proof` and the canonical `hex`: redacted.
    // D's pocket views nest JSON strings (blocks, transactions, inputs, outputs, unspent outputs): they are
    // parsed in place first (asserting they parse), so that the snapshot shows and redacts what is inside.
    let seed = |mut v: Value| {
        unnest_json_strings(&mut v);
        redact_keys(
            &mut v,
            &h,
            &[
                "timestamp",
                "timestamp_ms",
                "proof",
                "hex",
                "timeStamp",
                "created",
                "created_ms",
                "included_in_block",
            ],
        );
        v
    };
    for (name, path) in [
        ("seed_chain", "/chain"),
        ("seed_pending_tx", "/pending_tx"),
        ("seed_transactions_get", "/blockchain/transactions/get"),
        ("seed_get_pool", "/api/get_pool"),
        ("seed_get_chainstate", "/api/get_chainstate"),
        ("seed_get_blocks", "/api/get_blocks"),
    ] {
        insta::assert_json_snapshot!(name, seed(t.get_root(path).await));
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_time_limit_gets_a_json_408_and_its_mining_stops() {
    // The lab network needs about a million hashes a block: a hundred blocks take far longer than a second.
    let miner = PubkeyHash::from_bytes([6; 20]).to_address("lab").unwrap();
    let t = start(move |c| {
        c.network = "lab".into();
        c.miner_address = Some(miner);
        c.request_timeout_secs = 1;
    })
    .await;
    let started = Instant::now();
    let (s, v) = t
        .call(Method::POST, "/mine", Some(r#"{"blocks": 100}"#))
        .await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT, "{v}");
    assert_eq!(v["error"]["code"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The abandoned request's mining stops: no more hashes, no new blocks.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (h1, hashes) = (t.node.state().tip().height, t.node.miner().total_hashes());
    assert!(hashes > 0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(t.node.state().tip().height, h1);
    assert_eq!(t.node.miner().total_hashes(), hashes);
    t.stop().await;
}
