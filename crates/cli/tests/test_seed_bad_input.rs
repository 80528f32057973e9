//! Bad input on every seed route, against a real `ferrochain node` process: malformed JSON, wrong types,
//! missing fields, negative/zero/overflowing/non-numeric amounts, invalid and wrong-network addresses, unknown
//! hashes, unreachable peers, huge bodies — each answered with the right 4xx, a message, in the route's own
//! seed shape, and never a 5xx. Then the owner rules, in process, for a client that is not on loopback.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use ferrochain_core::{Network, OutPoint, PubkeyHash, SigningKey, Transaction, TxOut, Txid};
use ferrochain_node::{Config, Node};
use serde_json::{Value, json};
use support::{NodeProc, Reply};
use tower::ServiceExt;

/// The error shape a seed route answers in.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// A and B: `{"message": …}` (or their plain-text `Missing values`).
    Message,
    /// C: plain text.
    Text,
    /// D: `{"data": null, "error": "Type: message"}`.
    Envelope,
}

/// The message of an error answer in `shape`, or why the answer is not in that shape.
fn message(reply: &Reply, shape: Shape) -> Result<String, String> {
    let json = serde_json::from_str::<Value>(&reply.body);
    match shape {
        Shape::Message if reply.content_type.starts_with("text/plain") => Ok(reply.body.clone()),
        Shape::Message => json
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .ok_or_else(|| "no {\"message\"}".into()),
        Shape::Text if reply.content_type.starts_with("text/plain") => Ok(reply.body.clone()),
        Shape::Text => Err(format!("not text/plain but {:?}", reply.content_type)),
        Shape::Envelope => json
            .ok()
            .filter(|v| v["data"].is_null())
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .ok_or_else(|| "no {\"data\": null, \"error\"}".into()),
    }
}

/// One bad request: what is sent and what must come back.
struct Case {
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    shape: Shape,
    says: &'static str,
}

fn json_case(
    path: &'static str,
    body: Value,
    status: u16,
    shape: Shape,
    says: &'static str,
) -> Case {
    Case {
        path,
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        status,
        shape,
        says,
    }
}

fn raw_case(
    path: &'static str,
    content_type: &'static str,
    body: &str,
    status: u16,
    shape: Shape,
    says: &'static str,
) -> Case {
    Case {
        path,
        content_type: Some(content_type),
        body: body.as_bytes().to_vec(),
        status,
        shape,
        says,
    }
}

const POST_ROUTES: [(&str, Shape); 11] = [
    ("/transactions/new", Shape::Message),
    ("/nodes/register", Shape::Message),
    ("/blockchain/transactions/new", Shape::Message),
    ("/blockchain/nodes/register", Shape::Message),
    ("/client/generate/transaction", Shape::Message),
    ("/new_transaction", Shape::Text),
    ("/register_node", Shape::Text),
    ("/register_with", Shape::Text),
    ("/add_block", Shape::Text),
    ("/api/send", Shape::Envelope),
    ("/api/mine_block", Shape::Envelope),
];

/// What the table of bad requests refers to: addresses and keys of the running node.
struct Names {
    miner: String,
    stranger: String,
    stranger_key: String,
    lab_address: String,
    typo: String,
    key: SigningKey,
    unknown_input: Transaction,
}

impl Names {
    async fn of(node: &NodeProc) -> Names {
        let miner = node.miner_address().await;
        let other = node.get("/client/wallet/new").await.expect(200).json();
        let typo = {
            let mut a = miner.clone();
            let last = a.pop().unwrap();
            a.push(if last == 'q' { 'p' } else { 'q' });
            a
        };
        // A transfer spending an output that never existed.
        let key = SigningKey::from_secret_bytes([9; 32]);
        let nowhere = OutPoint {
            txid: Txid::hash(b"nothing"),
            vout: 0,
        };
        let output = TxOut {
            amount: ferrochain_core::Amount::from_units(5).unwrap(),
            address: key.public_key().pubkey_hash(),
        };
        let unknown_input = Transaction::signed_transfer(
            &[(nowhere, &key)],
            vec![output],
            Vec::new(),
            &Network::dev().genesis_hash(),
        );
        Names {
            miner,
            stranger: other["address"].as_str().unwrap().to_string(),
            stranger_key: other["private_key"].as_str().unwrap().to_string(),
            lab_address: Network::lab().address(&PubkeyHash::from_bytes([7; 20])),
            typo,
            key,
            unknown_input,
        }
    }
}

/// Every bad request with the status, shape and words of its answer. The miner holds nothing yet, so every
/// transfer it could make fails for lack of funds.
#[rustfmt::skip]
fn cases(n: &Names) -> Vec<Case> {
    use Shape::*;
    let Names { miner, stranger, stranger_key, lab_address, typo, key, unknown_input } = n;
    let pk = key.public_key().to_string();
    let zeros = "00".repeat(64);
    let pay = |amount: Value| json!({"sender": miner, "recipient": stranger, "amount": amount});
    let send = |amount: Value| json!({"from": miner, "to": stranger, "amount": amount});
    let generate = |amount: Value| json!({
        "sender_address": stranger, "sender_private_key": stranger_key, "recipient_address": miner, "amount": amount,
    });
    vec![
        // A: /transactions/new
        raw_case("/transactions/new", "application/json", "{\"sender\":", 400, Message, "EOF"),
        raw_case("/transactions/new", "text/plain", "sender=a", 415, Message, "JSON"),
        json_case("/transactions/new", json!([1, 2]), 400, Message, "JSON object"),
        json_case("/transactions/new", json!({"sender": miner}), 400, Message, "Missing values: recipient, amount"),
        json_case("/transactions/new", json!({"sender": [1], "recipient": stranger, "amount": 1}), 400, Message, "sender must be a string"),
        json_case("/transactions/new", pay(json!("-7abc")), 400, Message, "negative"),
        json_case("/transactions/new", pay(json!(-7)), 400, Message, "negative"),
        json_case("/transactions/new", pay(json!(0)), 400, Message, "zero"),
        json_case("/transactions/new", pay(json!("7abc")), 400, Message, "not an amount"),
        json_case("/transactions/new", pay(json!("NaN")), 400, Message, "not an amount"),
        json_case("/transactions/new", pay(json!("0.000000001")), 400, Message, "decimal places"),
        json_case("/transactions/new", pay(json!(1e300)), 400, Message, "larger"),
        json_case("/transactions/new", pay(json!("123456789012345678901234567890")), 400, Message, "larger"),
        json_case("/transactions/new", pay(json!(true)), 400, Message, "a boolean"),
        json_case("/transactions/new", json!({"sender": typo, "recipient": stranger, "amount": 1}), 400, Message, "not a valid address"),
        json_case("/transactions/new", json!({"sender": "alice", "recipient": stranger, "amount": 1}), 400, Message, "transfers must be signed by the sender's key"),
        json_case("/transactions/new", json!({"sender": miner, "recipient": lab_address, "amount": 1}), 400, Message, "another network"),
        json_case("/transactions/new", json!({"sender": "0", "recipient": stranger, "amount": 1}), 400, Message, "mining"),
        json_case("/transactions/new", json!({"sender": stranger, "recipient": miner, "amount": 1}), 400, Message, "/client/generate/transaction"),
        json_case("/transactions/new", pay(json!(1)), 400, Message, "Not enough units"),
        // A: /nodes/register
        json_case("/nodes/register", json!({}), 400, Message, "Error: Please supply a valid list of nodes"),
        json_case("/nodes/register", json!({"nodes": 5}), 400, Message, "Please supply a valid list of nodes"),
        json_case("/nodes/register", json!({"nodes": [5]}), 400, Message, "Please supply a valid list of nodes"),
        json_case("/nodes/register", json!({"nodes": []}), 400, Message, "Please supply a valid list of nodes"),
        json_case("/nodes/register", json!({"nodes": ["not a url"]}), 400, Message, "No nodes were added"),
        json_case("/nodes/register", json!({"nodes": ["http://127.0.0.1:1"]}), 400, Message, "No nodes were added"),
        // B
        raw_case("/blockchain/nodes/register", "application/x-www-form-urlencoded", "nodes=", 400, Message, "valid list of nodes"),
        raw_case("/blockchain/transactions/new", "application/x-www-form-urlencoded", "sender_address=x", 400, Message, "Missing values: recipient_address, amount, signature"),
        json_case("/blockchain/transactions/new", json!({"transaction": "not json"}), 400, Message, "not JSON"),
        json_case("/blockchain/transactions/new", json!({"transaction": {"version": 1}}), 400, Message, "not a ferrochain transaction"),
        json_case("/blockchain/transactions/new", json!({"transaction": 5}), 400, Message, "not a ferrochain transaction"),
        json_case("/blockchain/transactions/new", json!({"transaction": unknown_input}), 406, Message, "Invalid Transaction!"),
        json_case("/blockchain/transactions/new", json!({"sender_address": miner, "recipient_address": stranger, "amount": 1, "signature": zeros}), 400, Message, "generate the transaction first"),
        json_case("/blockchain/transactions/new", json!({"sender_address": miner, "recipient_address": stranger, "amount": 1, "signature": "xyz"}), 400, Message, "signature: expected 128 hex digits"),
        json_case("/client/generate/transaction", json!({"sender_address": stranger}), 400, Message, "Missing values"),
        json_case("/client/generate/transaction", json!({"sender_address": stranger, "sender_private_key": "zz", "recipient_address": miner, "amount": 1}), 400, Message, "64 hex digits"),
        json_case("/client/generate/transaction", json!({"sender_address": stranger_key, "sender_private_key": stranger_key, "recipient_address": miner, "amount": 1}), 400, Message, "private key"),
        json_case("/client/generate/transaction", json!({"sender_address": "abcd", "sender_private_key": stranger_key, "recipient_address": miner, "amount": 1}), 400, Message, "public key (64 hex digits)"),
        json_case("/client/generate/transaction", json!({"sender_address": miner, "sender_private_key": stranger_key, "recipient_address": stranger, "amount": 1}), 400, Message, "not the key of sender_address"),
        json_case("/client/generate/transaction", generate(json!("-7abc")), 400, Message, "negative"),
        json_case("/client/generate/transaction", generate(json!(1)), 400, Message, "Not enough units"),
        json_case("/client/generate/transaction", json!({"sender_address": stranger, "sender_private_key": stranger_key, "recipient_address": lab_address, "amount": 1}), 400, Message, "another network"),
        // C
        raw_case("/new_transaction", "application/json", "{{", 400, Text, "key must be a string"),
        json_case("/new_transaction", json!({}), 400, Text, "Invalid transaction data: missing author, content"),
        json_case("/new_transaction", json!({"author": "Al\nice", "content": "x"}), 400, Text, "control characters"),
        json_case("/new_transaction", json!({"author": "dev1qqqqqqqq", "content": "x"}), 400, Text, "looks like an address but is not one"),
        json_case("/new_transaction", json!({"senderPK": "zz", "signature": "00", "data": "x"}), 400, Text, "senderPK"),
        json_case("/new_transaction", json!({"senderPK": pk, "signature": "00", "data": "x"}), 400, Text, "128 hex digits"),
        json_case("/new_transaction", json!({"senderPK": pk, "signature": zeros, "data": 5}), 400, Text, "exact text"),
        json_case("/new_transaction", json!({"senderPK": pk, "signature": zeros, "data": "x", "timestamp_ms": -1}), 400, Text, "timestamp_ms"),
        json_case("/new_transaction", json!({"senderPK": pk, "signature": zeros, "data": "x"}), 400, Text, "Invalid transaction data: signature 0 does not verify"),
        json_case("/register_node", json!({}), 400, Text, "node_address is required"),
        json_case("/register_node", json!({"node_address": "not a url"}), 400, Text, "Registration failed: \"not a url\" is not a peer address: it holds spaces"),
        json_case("/register_node", json!({"node_address": "http://127.0.0.1:1"}), 400, Text, "Registration failed"),
        json_case("/register_with", json!({"node_address": 5}), 400, Text, "node_address must be a string"),
        json_case("/register_with", json!({"node_address": "http://127.0.0.1:1"}), 400, Text, "Registration failed"),
        json_case("/add_block", json!({}), 400, Text, "The block was discarded by the node"),
        json_case("/add_block", json!({"hex": "zz"}), 400, Text, "not hexadecimal"),
        json_case("/add_block", json!({"hex": 5}), 400, Text, "hex must be a string"),
        json_case("/add_block", json!({"hex": "00ff"}), 400, Text, "does not decode"),
        json_case("/add_block", json!({"header": 1, "transactions": []}), 400, Text, "not a ferrochain block"),
        // D
        raw_case("/api/send", "application/json", "nope", 400, Envelope, "Request:"),
        json_case("/api/send", json!({"from": miner}), 400, Envelope, "Request: Missing values: to, amount"),
        json_case("/api/send", send(json!("-7abc")), 400, Envelope, "Amount: amount"),
        json_case("/api/send", send(json!({})), 400, Envelope, "Amount: amount"),
        json_case("/api/send", send(json!(1)), 400, Envelope, "Units: Not enough units"),
        json_case("/api/send", json!({"from": stranger, "to": miner, "amount": 1}), 400, Envelope, "Wallet: this node holds no key"),
        json_case("/api/send", json!({"from": miner, "to": lab_address, "amount": 1}), 400, Envelope, "Address: to"),
        json_case("/api/mine_block", json!({}), 400, Envelope, "Request: Missing values: address"),
        json_case("/api/mine_block", json!({"address": typo}), 400, Envelope, "Address: address"),
        json_case("/api/mine_block", json!({"address": miner, "txAmount": -1}), 400, Envelope, "txAmount"),
        json_case("/api/mine_block", json!({"address": miner, "txAmount": "many"}), 400, Envelope, "txAmount"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_seed_route_answers_bad_input_with_a_4xx_and_a_message() {
    let node = NodeProc::start_temp(&[]).await;
    let cases = cases(&Names::of(&node).await);
    let mut failures = Vec::new();
    for case in &cases {
        let reply = node
            .post_raw(case.path, case.content_type, case.body.clone())
            .await;
        let what = format!(
            "POST {} {}",
            case.path,
            String::from_utf8_lossy(&case.body[..case.body.len().min(120)])
        );
        if reply.status >= 500 || reply.status != case.status {
            failures.push(format!(
                "{what}: status {} (want {}): {}",
                reply.status, case.status, reply.body
            ));
            continue;
        }
        match message(&reply, case.shape) {
            Ok(m) if m.contains(case.says) && !m.trim().is_empty() => {}
            Ok(m) => failures.push(format!(
                "{what}: message {m:?} does not say {:?}",
                case.says
            )),
            Err(why) => failures.push(format!("{what}: {why}: {}", reply.body)),
        }
    }

    // Bodies over the node's limit (8 MiB by default), on every route that reads one.
    for (path, shape) in POST_ROUTES {
        let reply = node
            .post_oversized(path, "application/json", 9 * 1024 * 1024)
            .await;
        if reply.status != 413 {
            failures.push(format!(
                "POST {path} with 9 MiB: {} {}",
                reply.status, reply.body
            ));
        } else if let Err(why) = message(&reply, shape) {
            failures.push(format!("POST {path} with 9 MiB: {why}: {}", reply.body));
        }
    }

    // Queries.
    for (path, status, says) in [
        ("/chain?from=abc", 400, "from must be a whole number"),
        ("/chain?from=0", 400, "genesis is index 1"),
        ("/chain?limit=-1", 400, "limit must be a whole number"),
    ] {
        let reply = node.get(path).await;
        let m = message(&reply, Shape::Message).unwrap_or_default();
        if reply.status != status || !m.contains(says) {
            failures.push(format!("GET {path}: {} {}", reply.status, reply.body));
        }
    }
    let beyond = node.get("/chain?from=999").await.expect(200).json();
    assert_eq!(
        (beyond["chain"].clone(), beyond["length"].clone()),
        (json!([]), json!(1))
    );
    assert!(
        failures.is_empty(),
        "{} bad answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing of all that reached the pool or the chain.
    assert_eq!(node.get("/pending_tx").await.expect(200).json(), json!([]));
    assert_eq!(node.chain().await["length"], 1);
}

/// Sends `request` to `app` as if from `from`.
async fn call(app: &axum::Router, from: &str, request: Request<Body>) -> (u16, String) {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_operations_need_loopback_or_the_token_and_mining_is_open_only_on_dev() {
    let dir = tempfile::tempdir().unwrap();
    let node = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            Node::open(Config {
                data_dir: dir,
                mine_threads: 1,
                api_token: Some("s3cret".into()),
                ..Config::default()
            })
        }
    })
    .await
    .unwrap()
    .unwrap();
    let miner = node.network().address(&node.miner_address());
    let app = ferrochain_http::app(node.clone());
    let remote = "203.0.113.5:40000";

    let owner_only = [
        (
            post(
                "/transactions/new",
                json!({"sender": miner, "recipient": miner, "amount": 1}),
            ),
            "message",
        ),
        (
            post("/nodes/register", json!({"nodes": ["http://127.0.0.1:1"]})),
            "message",
        ),
        (
            post(
                "/blockchain/nodes/register",
                json!({"nodes": "http://127.0.0.1:1"}),
            ),
            "message",
        ),
        (
            post("/new_transaction", json!({"author": miner, "content": "x"})),
            "text",
        ),
        (
            post(
                "/register_with",
                json!({"node_address": "http://127.0.0.1:1"}),
            ),
            "text",
        ),
        (get("/save"), "text"),
        (post("/api/new_wallet", json!({})), "envelope"),
        (
            post(
                "/api/send",
                json!({"from": miner, "to": miner, "amount": 1}),
            ),
            "envelope",
        ),
        (post("/api/reset_system", json!({})), "envelope"),
    ];
    for (request, shape) in owner_only {
        let path = request.uri().to_string();
        let (status, body) = call(&app, remote, request).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("loopback"), "{path}: {body}");
        match shape {
            "message" => {
                assert!(serde_json::from_str::<Value>(&body).unwrap()["message"].is_string())
            }
            "envelope" => {
                let v: Value = serde_json::from_str(&body).unwrap();
                assert!(
                    v["data"].is_null() && v["error"].as_str().unwrap().starts_with("Permission: ")
                );
            }
            _ => assert!(
                serde_json::from_str::<Value>(&body).is_err(),
                "{path}: {body}"
            ),
        }
    }
    // With the token, from anywhere.
    let mut request = post("/api/new_wallet", json!({}));
    request
        .headers_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    let (status, body) = call(&app, remote, request).await;
    assert_eq!(status, 200, "{body}");
    // Reads, signed submissions and mining on a dev chain are open to anyone.
    assert_eq!(call(&app, remote, get("/chain")).await.0, 200);
    assert_eq!(call(&app, remote, get("/api/get_wallets")).await.0, 200);
    let (status, body) = call(&app, remote, get("/mine")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(node.state().tip().height.0, 1);

    // On another network, mining and resolving through the seed routes are owner operations.
    let lab_dir = tempfile::tempdir().unwrap();
    let lab = tokio::task::spawn_blocking({
        let dir = lab_dir.path().to_path_buf();
        move || {
            Node::open(Config {
                data_dir: dir,
                network: "lab".into(),
                miner_address: Some(Network::lab().address(&PubkeyHash::from_bytes([1; 20]))),
                ..Config::default()
            })
        }
    })
    .await
    .unwrap()
    .unwrap();
    let lab_app = ferrochain_http::app(lab);
    for request in [
        get("/mine"),
        get("/blockchain/mine"),
        get("/nodes/resolve"),
        post(
            "/api/mine_block",
            json!({"address": Network::lab().address(&PubkeyHash::from_bytes([1; 20]))}),
        ),
    ] {
        let path = request.uri().to_string();
        let (status, body) = call(&lab_app, remote, request).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("not a dev chain"), "{path}: {body}");
    }
    let (status, body) = call(
        &lab_app,
        "127.0.0.1:40000",
        post("/api/reset_system", json!({})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("only available on dev chains"), "{body}");
}
