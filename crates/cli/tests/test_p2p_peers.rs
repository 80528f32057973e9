//! The peer manager against dishonest, slow and dead peers, with an honest node served in-process (network
//! task included) on an easy chain spec and fake peers that are small axum servers:
//!
//! - every kind of invalid data — bad proof of work, bad Merkle root, bad signature, double spend, inflated
//!   coinbase, a long chain of headers without bodies, a claimed work that is false, oversized and malformed
//!   bodies, invalid transactions — is refused, scored and banned; the honest node's chain is unchanged, it
//!   refuses the banned peers' requests and keeps serving everyone else; a future timestamp is only early:
//!   not taken, and neither scored nor banned;
//! - a peer that never answers and a peer that is down hold up neither the API, nor the miner, nor relay to
//!   the other peers; the dead one is backed off;
//! - peers and bans survive a restart (`peers.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::check::check_header;
use ferrochain_core::testing::{chain_key as key, headers_after, seal, someone};
use ferrochain_core::{
    Amount, Block, BlockHash, Encode, Header, Height, Network, PubkeyHash, Transaction, Work,
};
use ferrochain_http::testing::TestNode;
use ferrochain_node::p2p::wire::{BlocksResponse, Handshake, HeadersResponse, TipInfo};
use ferrochain_node::p2p::{self, PeerError};
use serde_json::{Value, json};
use support::{easy_spec, wait_for, write_spec};
use tempfile::TempDir;

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// A node on the network of the spec file `network` with its data in `dir`, served in-process with its
/// network task on `listen` (default: a free port), until the test ends or [`TestNode::stop`].
async fn served(dir: &TempDir, network: &std::path::Path, listen: Option<SocketAddr>) -> TestNode {
    let network = network.display().to_string();
    let mut builder = TestNode::builder()
        .data_dir(dir.path().join("data"))
        .config(move |c| {
            c.network = network;
            c.miner_address = Some(Network::dev().address(&PubkeyHash::from_bytes([7; 20])));
        });
    if let Some(addr) = listen {
        builder = builder.listen(addr);
    }
    builder.start().await
}

/// An easy-chain node with five blocks (rewards to [`key`], a payment in each after the first), served
/// in-process; also the chain as a builder, to make blocks on its tip.
async fn honest(dir: &TempDir) -> (TestNode, ChainBuilder) {
    let spec = easy_spec();
    let path = write_spec(dir.path(), &spec);
    let network = Network::new(spec).unwrap();
    let mut chain = ChainBuilder::new(network);
    let owner = key().public_key().pubkey_hash();
    let start = ferrochain_node::now_ms() - 10_000;
    for i in 0..5u64 {
        let mut exclude = Vec::new();
        let txs = if i == 0 {
            Vec::new()
        } else {
            vec![
                chain
                    .transfer(
                        &key(),
                        someone(),
                        Amount::from_units(1000).unwrap(),
                        Amount::ZERO,
                        Vec::new(),
                        &mut exclude,
                    )
                    .unwrap(),
            ]
        };
        chain
            .mine_block(txs, owner, start + i * 1000, &mut rand::rng())
            .unwrap();
    }
    let served = served(dir, &path, None).await;
    for block in &chain.blocks()[1..] {
        served.node.submit_block(block.clone()).unwrap();
    }
    (served, chain)
}

/// How a fake peer answers `POST /p2p/v1/blocks/get`.
#[derive(Clone)]
enum Bodies {
    /// The bodies it has, by hash.
    Serve(HashMap<BlockHash, String>),
    /// None at all.
    Empty,
    /// An answer of 10 MB.
    Oversized,
    /// Hex that is not a block.
    Malformed,
}

struct Fake {
    hello: Handshake,
    headers: Vec<Header>,
    bodies: Bodies,
    body_requests: AtomicUsize,
}

/// A fake peer on the test chain that claims `claimed_work`, serves `headers` after whatever locator it gets
/// and answers for bodies as `bodies` says.
async fn fake(
    network: &Network,
    headers: Vec<Header>,
    bodies: Bodies,
    claimed_work: &str,
) -> (String, Arc<Fake>) {
    let l = listener().await;
    let url = format!("http://{}", l.local_addr().unwrap());
    let tip = headers.last().map_or(
        TipInfo {
            hash: BlockHash::hash(b"claimed"),
            height: 999_999,
            chain_work: Work::ZERO,
        },
        |h| TipInfo {
            hash: h.hash(),
            height: h.height.0,
            chain_work: Work::ZERO,
        },
    );
    let fake = Arc::new(Fake {
        hello: Handshake {
            network_id: network.genesis_hash(),
            network: Some(network.spec().name.clone()),
            protocol_version: p2p::PROTOCOL_VERSION,
            tip: TipInfo {
                chain_work: claimed_work.parse().unwrap(),
                ..tip
            },
            url: Some(url.clone()),
            agent: "fake/0".into(),
            nonce: None,
        },
        headers,
        bodies,
        body_requests: AtomicUsize::new(0),
    });
    async fn fake_hello(State(f): State<Arc<Fake>>) -> Json<Handshake> {
        Json(f.hello.clone())
    }
    async fn fake_headers(
        State(f): State<Arc<Fake>>,
        RawQuery(q): RawQuery,
    ) -> Json<HeadersResponse> {
        let q: HashMap<String, String> =
            serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap();
        let locator: Vec<BlockHash> = q
            .get("locator")
            .map(|l| l.split(',').filter_map(|h| h.parse().ok()).collect())
            .unwrap_or_default();
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(2000);
        let start = f
            .headers
            .iter()
            .rposition(|h| locator.contains(&h.hash()))
            .map_or(0, |i| i + 1);
        Json(HeadersResponse {
            headers: f.headers[start..]
                .iter()
                .take(limit)
                .map(|h| hex::encode(h.to_bytes()))
                .collect(),
            tip: f.hello.tip,
        })
    }
    async fn fake_bodies(
        State(f): State<Arc<Fake>>,
        Json(req): Json<Value>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        f.body_requests.fetch_add(1, Ordering::SeqCst);
        let hashes: Vec<BlockHash> = req["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().parse().unwrap())
            .collect();
        match &f.bodies {
            Bodies::Serve(map) => Json(BlocksResponse {
                blocks: hashes.iter().filter_map(|h| map.get(h).cloned()).collect(),
                missing: Vec::new(),
            })
            .into_response(),
            Bodies::Empty => Json(BlocksResponse::default()).into_response(),
            Bodies::Oversized => (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                format!("{{\"blocks\": [\"{}\"]}}", "00".repeat(5 * 1024 * 1024)),
            )
                .into_response(),
            Bodies::Malformed => Json(json!({"blocks": ["this is not hex"]})).into_response(),
        }
    }
    let app = Router::new()
        .route("/p2p/v1/handshake", get(fake_hello).post(fake_hello))
        .route("/p2p/v1/headers", get(fake_headers))
        .route("/p2p/v1/blocks/get", post(fake_bodies))
        .route(
            "/p2p/v1/peers",
            get(|| async { Json(json!({"peers": []})) }),
        )
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, fake)
}

/// Work far beyond any test chain.
const HUGE: &str = "999999999999999999999999";

async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts that `url` is banned by `node` for a reason containing `why`, that its announcements and
/// handshakes are refused with 403, and that it is no longer a peer.
async fn assert_banned(h: &TestNode, url: &str, why: &str) {
    let ban = h
        .node
        .peers()
        .banned(url)
        .unwrap_or_else(|| panic!("{url} is not banned (expected: {why})"));
    assert!(
        ban.reason.contains(why),
        "{url} banned for {:?}, expected {why:?}",
        ban.reason
    );
    assert!(!h.node.peers().contains(url));
    let (status, answer) = post_json(
        &format!("{}/p2p/v1/blocks", h.root()),
        &json!({"hex": "00", "from": url}),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (403, &json!("peer_banned"))
    );
    let mut hello = Handshake::of(&h.node, Some(url.to_string()));
    hello.agent = "fake/0".into();
    let (status, _) = post_json(
        &format!("{}/p2p/v1/handshake", h.root()),
        &serde_json::to_value(&hello).unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(matches!(
        p2p::sync_with(&h.node, url).await,
        Err(PeerError::Banned { .. })
    ));
}

/// Registers a fake peer, syncs from it and expects the sync to fail with invalid data.
async fn sync_refused(h: &TestNode, url: &str) -> PeerError {
    p2p::register_peer(&h.node, url).await.unwrap();
    let err = p2p::sync_with(&h.node, url).await.unwrap_err();
    assert!(err.is_misbehaviour(), "{err:?}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kind_of_invalid_data_is_refused_scored_and_banned() {
    let dir = tempfile::tempdir().unwrap();
    let (h, chain) = honest(&dir).await;
    let network = chain.network().clone();
    let tip = TipInfo::of(&h.node);
    assert_eq!(tip.height, 5);
    let tip_header = chain.tip().header;
    let now = ferrochain_node::now_ms();
    let owner = key().public_key().pubkey_hash();

    // Bad proof of work: the second header's hash is above its target.
    let mut bad = headers_after(&tip_header, tip.hash, 2, now);
    while check_header(&bad[1]).is_ok() {
        bad[1].nonce += 1;
    }
    let (url, f) = fake(&network, bad, Bodies::Empty, HUGE).await;
    let err = sync_refused(&h, &url).await;
    assert!(err.to_string().contains("proof of work"), "{err}");
    assert_eq!(f.body_requests.load(Ordering::SeqCst), 0);
    assert_banned(&h, &url, "proof of work").await;

    // A time too far in the future is not invalid, only early (a skewed clock, ADR 0023): the sync stops before
    // it, fetches nothing, and the peer is neither scored nor banned.
    let future = headers_after(&tip_header, tip.hash, 1, now + 3 * 60 * 60 * 1000);
    let (early, f) = fake(&network, future, Bodies::Empty, HUGE).await;
    p2p::register_peer(&h.node, &early).await.unwrap();
    let report = p2p::sync_with(&h.node, &early).await.unwrap();
    assert_eq!((report.headers_received, report.connected), (0, 0));
    assert_eq!(f.body_requests.load(Ordering::SeqCst), 0);
    assert!(h.node.peers().banned(&early).is_none());
    assert_eq!(h.node.peers().get(&early).unwrap().score, 0);

    // A body whose transactions do not match its header's Merkle root.
    let header = headers_after(&tip_header, tip.hash, 1, now);
    let body = Block {
        header: header[0],
        transactions: vec![Transaction::coinbase(Height(6), Vec::new(), Vec::new())],
    };
    let map = HashMap::from([(header[0].hash(), hex::encode(body.to_bytes()))]);
    let (url, _) = fake(&network, header.clone(), Bodies::Serve(map), HUGE).await;
    sync_refused(&h, &url).await;
    assert_banned(&h, &url, "Merkle").await;

    // A long chain of headers with proof of work and no bodies behind them.
    let long = headers_after(&tip_header, tip.hash, 2500, now - 5000);
    let (url, f) = fake(&network, long, Bodies::Empty, HUGE).await;
    sync_refused(&h, &url).await;
    assert_eq!(f.body_requests.load(Ordering::SeqCst), 1);
    assert_banned(&h, &url, "not its body").await;

    // Oversized and malformed bodies.
    let (url, _) = fake(&network, header.clone(), Bodies::Oversized, HUGE).await;
    let err = sync_refused(&h, &url).await;
    assert!(matches!(err, PeerError::TooLarge { .. }), "{err:?}");
    assert_banned(&h, &url, "larger than the limit").await;
    let (url, _) = fake(&network, header.clone(), Bodies::Malformed, HUGE).await;
    sync_refused(&h, &url).await;
    assert_banned(&h, &url, "block hex").await;

    // A claimed height and work that its headers do not show: scored twice, then banned.
    let (url, _) = fake(&network, Vec::new(), Bodies::Empty, HUGE).await;
    p2p::register_peer(&h.node, &url).await.unwrap();
    let report = p2p::sync_with(&h.node, &url).await.unwrap();
    assert_eq!((report.headers_received, report.connected), (0, 0));
    assert_eq!(h.node.peers().get(&url).unwrap().score, 50);
    p2p::sync_with(&h.node, &url).await.unwrap();
    assert_banned(&h, &url, "claimed chain work").await;

    // Blocks announced on the tip with a bad signature, a double spend, an inflated coinbase; and garbage.
    let mut ex = Vec::new();
    let mut forged = chain
        .transfer(
            &key(),
            someone(),
            Amount::from_units(1000).unwrap(),
            Amount::ZERO,
            Vec::new(),
            &mut ex,
        )
        .unwrap();
    forged.outputs[0].amount = Amount::from_units(999).unwrap();
    let bad_signature = seal(chain.template(vec![forged], owner, now));
    let spend = |units| {
        chain
            .transfer(
                &key(),
                someone(),
                Amount::from_units(units).unwrap(),
                Amount::ZERO,
                Vec::new(),
                &mut Vec::new(),
            )
            .unwrap()
    };
    let double_spend = seal(chain.template(vec![spend(1000), spend(2000)], owner, now));
    let mut inflated = chain.template(Vec::new(), owner, now);
    inflated.transactions[0].outputs[0].amount = inflated.transactions[0].outputs[0]
        .amount
        .checked_add(Amount::from_units(1).unwrap())
        .unwrap();
    let inflated = seal(inflated);
    for (block, why) in [
        (hex::encode(bad_signature.to_bytes()), "signature"),
        (hex::encode(double_spend.to_bytes()), "already spends"),
        (hex::encode(inflated.to_bytes()), "coinbase claims"),
        ("c0ffee".to_string(), "malformed block"),
    ] {
        let (url, _) = fake(&network, Vec::new(), Bodies::Empty, "1").await;
        p2p::register_peer(&h.node, &url).await.unwrap();
        let (status, answer) = post_json(
            &format!("{}/p2p/v1/blocks", h.root()),
            &json!({"hex": block, "from": url}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        // Bytes that are no block get the REST API's code; a decoded block that breaks a rule, invalid_block.
        let code = if why == "malformed block" {
            "invalid_encoding"
        } else {
            "invalid_block"
        };
        assert_eq!(answer["error"]["code"], code, "{answer}");
        let ban = h.node.peers().banned(&url).unwrap();
        assert!(
            ban.reason.contains(why) || answer["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {} / {answer}",
            ban.reason
        );
        assert_banned(&h, &url, "").await;
    }

    // A transaction with a bad signature relayed by a peer.
    let mut ex = Vec::new();
    let mut forged = chain
        .transfer(
            &key(),
            someone(),
            Amount::from_units(1000).unwrap(),
            Amount::ZERO,
            Vec::new(),
            &mut ex,
        )
        .unwrap();
    forged.outputs[0].amount = Amount::from_units(999).unwrap();
    let (url, _) = fake(&network, Vec::new(), Bodies::Empty, "1").await;
    p2p::register_peer(&h.node, &url).await.unwrap();
    let (status, answer) = post_json(
        &format!("{}/p2p/v1/txs", h.root()),
        &json!({"hex": hex::encode(forged.to_bytes()), "from": url}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["outcome"], "rejected");
    assert_banned(&h, &url, "invalid or malformed transactions").await;

    // An announced block with an unknown parent makes the node sync from its sender in the background,
    // which then serves a header without proof of work: banned without anyone asking.
    let mut bad = headers_after(&tip_header, tip.hash, 2, now);
    while check_header(&bad[1]).is_ok() {
        bad[1].nonce += 1;
    }
    let (url, _) = fake(&network, bad, Bodies::Empty, HUGE).await;
    p2p::register_peer(&h.node, &url).await.unwrap();
    let mut orphan = chain.template(Vec::new(), owner, now);
    orphan.header.prev_hash = BlockHash::hash(b"somewhere else");
    let orphan = seal(orphan);
    let (status, answer) = post_json(
        &format!("{}/p2p/v1/blocks", h.root()),
        &json!({"hex": hex::encode(orphan.to_bytes()), "from": url}),
    )
    .await;
    assert_eq!(
        (status, &answer["outcome"], &answer["syncing"]),
        (200, &json!("orphan"), &json!(true))
    );
    wait_for(
        Duration::from_secs(10),
        "the background sync bans the sender",
        || async { h.node.peers().banned(&url).map(|_| ()) },
    )
    .await;

    // The honest node's chain is unchanged, every fake but the early one is listed as banned, and it keeps
    // serving.
    assert_eq!(TipInfo::of(&h.node), tip);
    let listed: Value = reqwest::get(format!("{}/p2p/v1/peers", h.root()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["banned"].as_array().unwrap().len(), 12, "{listed}");
    for b in listed["banned"].as_array().unwrap() {
        eprintln!("banned {}: {}", b["url"], b["reason"]);
    }
    let peers: Vec<&str> = listed["peers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["url"].as_str())
        .collect();
    assert_eq!(peers, vec![early.as_str()], "{listed}");
    let status: Value = reqwest::get(format!("{}/api/v1/status", h.root()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["height"], 5);
    let valid = h
        .node
        .blocking(|n| n.mine_one(n.miner_address(), 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(TipInfo::of(&h.node).hash, valid.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_peer_and_a_dead_peer_hold_up_neither_the_api_nor_the_miner_nor_relay() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let spec = write_spec(dir_a.path(), &easy_spec());
    let a = served(&dir_a, &spec, None).await;
    let b = served(&dir_b, &spec, None).await;
    p2p::register_peer(&a.node, b.root()).await.unwrap();
    // A peer that accepts connections and never answers, and one that is down.
    let silent = listener().await;
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let dead_url = {
        let l = listener().await;
        format!("http://{}", l.local_addr().unwrap())
    };
    assert!(a.node.peers().add(silent_url.clone()));
    assert!(a.node.peers().add(dead_url.clone()));
    // The network task polls both at once; mining and the API go on meanwhile, and relay reaches B.
    let client = reqwest::Client::new();
    for i in 0..5 {
        let started = Instant::now();
        let mined: Value = client
            .post(format!("{}/api/v1/mine", a.root()))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hash = mined["blocks"][0]["hash"].as_str().unwrap().to_string();
        let status: Value = client
            .get(format!("{}/api/v1/status", a.root()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["height"], i + 1);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        wait_for(Duration::from_secs(2), "B gets the block", || async {
            (TipInfo::of(&b.node).hash.to_string() == hash).then_some(())
        })
        .await;
    }
    // The dead peer is backed off; the silent one is still being waited for (30 s limit), alone.
    let dead = wait_for(Duration::from_secs(5), "the dead peer fails", || async {
        a.node.peers().get(&dead_url).filter(|p| p.failures > 0)
    })
    .await;
    assert!(dead.retry_at_ms.unwrap() > dead.last_seen_ms.unwrap_or(0));
    assert!(!a.node.peers().ready(&dead_url));
    assert_eq!(a.node.peers().get(&silent_url).unwrap().last_seen_ms, None);
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peers_and_bans_survive_a_restart() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let spec = write_spec(dir_a.path(), &easy_spec());
    let a = served(&dir_a, &spec, None).await;
    let addr = a.addr();
    let b = served(&dir_b, &spec, None).await;
    p2p::register_peer(&a.node, b.root()).await.unwrap();
    // The owner bans a URL through the API (loopback is the owner).
    let (status, ban) = post_json(
        &format!("{}/p2p/v1/peers/ban", a.root()),
        &json!({"url": "127.0.0.1:1", "seconds": 600, "reason": "testing bans"}),
    )
    .await;
    assert_eq!(status, 200, "{ban}");
    assert_eq!(ban["url"], "http://127.0.0.1:1");
    a.stop().await;
    let file = dir_a.path().join("data").join(ferrochain_node::PEERS_FILE);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["peers"], json!([b.root()]));

    // Restarted on the same data directory (without --peer), it knows B and the ban, and introduces itself
    // to B at start.
    let a = served(&dir_a, &spec, Some(addr)).await;
    assert_eq!(a.node.peers().list(), vec![b.root().to_string()]);
    assert_eq!(a.node.peers().bans()[0].reason, "testing bans");
    wait_for(
        Duration::from_secs(5),
        "A's handshake with B at start",
        || async { a.node.peers().get(b.root())?.handshake_ms.map(|_| ()) },
    )
    .await;
    // Lifting the ban through the API.
    let (status, answer) = post_json(
        &format!("{}/p2p/v1/peers/unban", a.root()),
        &json!({"url": "http://127.0.0.1:1", "reconnect": false}),
    )
    .await;
    assert_eq!((status, &answer["was_banned"]), (200, &json!(true)));
    assert!(a.node.peers().bans().is_empty());
}
