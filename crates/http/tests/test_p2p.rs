//! Peer-to-peer between real nodes served in-process on `127.0.0.1:0`: registration both ways, another
//! network refused, headers-first sync to a peer's tip, reorganisation to the chain with more work (and not to
//! one with less), a down peer, and fake peers that send headers without proof of work or a block that does not
//! match its header.
//!
//! These nodes serve the HTTP application only, without the network task (no relay, no poll), so that each
//! test drives registration and sync itself; `test_p2p_relay.rs` and `test_p2p_network.rs` test the whole
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::{Json, Router};
use ferrochain_core::check::check_header;
use ferrochain_core::{
    Block, BlockHash, ChainSpec, Encode, Header, Height, MerkleNode, Network, PubkeyHash,
    Transaction, Work,
};
use ferrochain_http::testing::TestNode;
use ferrochain_node::Node;
use ferrochain_node::p2p::wire::{BlocksResponse, Handshake, HeadersResponse, TipInfo};
use ferrochain_node::p2p::{self, PeerError};

/// A node serving the HTTP application only (no network task) on a free port, on `dev` or on the network
/// of the spec file `network`.
async fn start_with(network: Option<&Path>) -> TestNode {
    let network = network.map(|p| p.display().to_string());
    TestNode::builder()
        .app_only()
        .config(move |config| {
            if let Some(path) = network {
                config.network = path;
                // Node-held keys are a `dev` feature: another network needs a miner address.
                config.miner_address =
                    Some(Network::dev().address(&PubkeyHash::from_bytes([7; 20])));
            }
        })
        .start()
        .await
}

async fn start() -> TestNode {
    start_with(None).await
}

async fn mine(node: &Node, blocks: usize) {
    for _ in 0..blocks {
        node.blocking(|n| n.mine_one(n.miner_address(), 100))
            .await
            .unwrap()
            .unwrap();
    }
}

fn tip(node: &Node) -> TipInfo {
    TipInfo::of(node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn register_makes_each_node_list_the_other() {
    let a = start().await;
    let b = start().await;
    // Typed without a scheme and with a trailing slash, as people do.
    let typed = format!("{}/", b.root().trim_start_matches("http://"));
    let info = p2p::register_peer(&a.node, &typed).await.unwrap();
    assert_eq!(info.url, b.root());
    assert_eq!(info.network_id, Some(b.node.network().genesis_hash()));
    assert_eq!(info.tip_height, Some(0));
    assert_eq!(a.node.peers().list(), vec![b.root().to_string()]);
    assert_eq!(b.node.peers().list(), vec![a.root().to_string()]);
    // The peer list route shows it too.
    let listed: serde_json::Value = reqwest::get(format!("{}/p2p/v1/peers", b.root()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["peers"][0]["url"], a.root());
    // Registering again is harmless; registering itself or nonsense is refused precisely.
    p2p::register_peer(&a.node, b.root()).await.unwrap();
    assert_eq!(a.node.peers().list().len(), 1);
    assert!(matches!(
        p2p::register_peer(&a.node, a.root()).await,
        Err(PeerError::Itself(_))
    ));
    assert!(matches!(
        p2p::register_peer(&a.node, "not a url").await,
        Err(PeerError::BadUrl { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_of_another_network_is_refused() {
    let spec_dir = tempfile::tempdir().unwrap();
    let spec_path = spec_dir.path().join("other.toml");
    let spec = ChainSpec {
        name: "other".into(),
        ..ChainSpec::dev()
    };
    std::fs::write(&spec_path, spec.to_toml().unwrap()).unwrap();
    let a = start().await;
    let other = start_with(Some(&spec_path)).await;
    assert_ne!(
        a.node.network().genesis_hash(),
        other.node.network().genesis_hash()
    );
    let err = p2p::register_peer(&a.node, other.root()).await.unwrap_err();
    assert!(matches!(err, PeerError::WrongNetwork { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("peer is on network \"other\"")
            && message.contains("this node is on \"dev\""),
        "{message}"
    );
    assert!(matches!(
        p2p::sync_with(&a.node, other.root()).await,
        Err(PeerError::WrongNetwork { .. })
    ));
    // The other side refuses a handshake from this network with a 400 that names both networks.
    let response = reqwest::Client::new()
        .post(format!("{}/p2p/v1/handshake", other.root()))
        .json(&Handshake::of(&a.node, Some(a.root().to_string())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "wrong_network");
    let text = body["error"]["message"].as_str().unwrap();
    assert!(
        text.contains("peer is on network \"dev\"") && text.contains("this node is on \"other\""),
        "{text}"
    );
    assert!(a.node.peers().is_empty());
    assert!(other.node.peers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_syncs_to_its_peers_tip() {
    let a = start().await;
    let b = start().await;
    mine(&b.node, 5).await;
    let genesis = b.node.network().genesis_hash();
    // The routes: headers after the locator, bounded by the limit; blocks from a hash.
    let headers: HeadersResponse = reqwest::get(format!(
        "{}/p2p/v1/headers?locator={genesis}&limit=3",
        b.root()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(headers.headers.len(), 3);
    assert!(headers.headers.iter().all(|h| h.len() == 192));
    assert_eq!(headers.tip, tip(&b.node));
    let unknown = BlockHash::hash(b"not a block");
    let all: HeadersResponse = reqwest::get(format!(
        "{}/p2p/v1/headers?locator={unknown},{}&limit=99999",
        b.root(),
        b.node.hash_at(2).unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(all.headers.len(), 3, "headers 3, 4 and 5 follow block 2");
    let blocks: BlocksResponse = reqwest::get(format!(
        "{}/p2p/v1/blocks?from_hash={}&limit=2",
        b.root(),
        b.node.hash_at(1).unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(blocks.blocks.len(), 2);
    let bad = reqwest::get(format!("{}/p2p/v1/headers?locator=xyz", b.root()))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let started = Instant::now();
    let report = p2p::sync_with(&a.node, b.root()).await.unwrap();
    eprintln!("sync of 5 blocks: {:?}", started.elapsed());
    assert_eq!(report.peer, b.root());
    assert_eq!(report.headers_received, 5);
    assert_eq!(report.blocks_received, 5);
    assert_eq!(report.connected, 5);
    assert!(!report.reorged);
    assert_eq!(report.tip_before.height, 0);
    assert_eq!(report.tip_after, tip(&b.node));
    assert_eq!(tip(&a.node), tip(&b.node));
    // Nothing new: nothing fetched.
    let again = p2p::sync_with(&a.node, b.root()).await.unwrap();
    assert_eq!((again.headers_received, again.blocks_received), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resolve_adopts_the_chain_with_more_work_and_keeps_its_own_otherwise() {
    let a = start().await;
    let b = start().await;
    p2p::register_peer(&a.node, b.root()).await.unwrap();
    mine(&a.node, 3).await;
    mine(&b.node, 6).await;
    let a_chain = tip(&a.node);
    let b_chain = tip(&b.node);
    assert_ne!(a_chain.hash, b_chain.hash);

    // B resolves first: A's three headers are checked, their work is less, B keeps its own chain.
    let results = p2p::resolve(&b.node).await;
    assert_eq!(results.len(), 1);
    let report = results[0].1.as_ref().unwrap();
    assert_eq!(report.headers_received, 3);
    assert_eq!((report.blocks_received, report.connected), (0, 0));
    assert!(!report.reorged);
    assert_eq!(tip(&b.node), b_chain);

    // A resolves: B's branch has more work, A reorganises onto it.
    let results = p2p::resolve(&a.node).await;
    assert_eq!(results.len(), 1);
    let (peer, result) = &results[0];
    assert_eq!(peer, b.root());
    let report = result.as_ref().unwrap();
    assert!(report.reorged);
    assert_eq!(report.connected, 6);
    assert_eq!(report.tip_before, a_chain);
    assert_eq!(tip(&a.node), b_chain);

    // B resolves again: A now has B's own chain, nothing to do.
    let results = p2p::resolve(&b.node).await;
    let report = results[0].1.as_ref().unwrap();
    assert_eq!((report.connected, report.reorged), (0, false));
    assert_eq!(tip(&b.node), b_chain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_with_less_work_does_not_move_this_node() {
    let a = start().await;
    let b = start().await;
    mine(&a.node, 2).await;
    mine(&b.node, 4).await;
    p2p::register_peer(&b.node, a.root()).await.unwrap();
    let before = tip(&b.node);
    let results = p2p::resolve(&b.node).await;
    let report = results[0].1.as_ref().unwrap();
    // A's headers (at most its two; fewer if A already began taking B's chain after the handshake) were
    // received and checked, but their work is less: no body was fetched.
    assert!(report.headers_received <= 2, "{report:?}");
    assert_eq!((report.blocks_received, report.connected), (0, 0));
    assert!(!report.reorged);
    assert_eq!(tip(&b.node), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_down_peer_is_reported_unreachable_quickly() {
    let a = start().await;
    let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    a.node.peers().add(url.clone());
    let started = Instant::now();
    let results = p2p::resolve(&a.node).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(results.len(), 1);
    assert!(
        matches!(&results[0].1, Err(PeerError::Unreachable { url: u, .. }) if *u == url),
        "{:?}",
        results[0].1
    );
    let info = a.node.peers().get(&url).unwrap();
    assert_eq!(info.failures, 1);
    assert!(info.last_error.is_some());
    assert!(matches!(
        p2p::register_peer(&a.node, &url).await,
        Err(PeerError::Unreachable { .. })
    ));
    assert_eq!(tip(&a.node).height, 0);
}

/// A fake peer on the `dev` network that claims a huge chain and serves `headers` and, for any block asked,
/// `block` (if any); counts the block requests.
async fn fake_peer(headers: Vec<String>, block: Option<String>) -> (String, Arc<AtomicUsize>) {
    let network = Network::dev();
    let hello = Handshake {
        network_id: network.genesis_hash(),
        network: Some("dev".into()),
        protocol_version: p2p::PROTOCOL_VERSION,
        tip: TipInfo {
            hash: BlockHash::hash(b"claimed"),
            height: 999_999,
            chain_work: "999999999999999999999999".parse::<Work>().unwrap(),
        },
        url: None,
        agent: "fake/0".into(),
        nonce: None,
    };
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let tip = hello.tip;
    let app = Router::new()
        .route(
            "/p2p/v1/handshake",
            get(move || {
                let hello = hello.clone();
                async move { Json(hello) }
            }),
        )
        .route(
            "/p2p/v1/headers",
            get(move || {
                let headers = headers.clone();
                async move { Json(HeadersResponse { headers, tip }) }
            }),
        )
        .route(
            "/p2p/v1/blocks/get",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let blocks = block.clone().into_iter().collect();
                async move {
                    Json(BlocksResponse {
                        blocks,
                        missing: Vec::new(),
                    })
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

/// A header on top of genesis at height 1 with the `dev` target, with or without its proof of work.
fn header_after_genesis(with_pow: bool) -> Header {
    let network = Network::dev();
    let mut header = Header {
        version: 1,
        height: Height(1),
        prev_hash: network.genesis_hash(),
        merkle_root: MerkleNode::ZERO,
        time_ms: ferrochain_node::now_ms(),
        bits: network.spec().initial_bits,
        nonce: 0,
    };
    while check_header(&header).is_ok() != with_pow {
        header.nonce += 1;
    }
    header
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headers_without_proof_of_work_are_refused_before_any_body() {
    let a = start().await;
    let header = header_after_genesis(false);
    let (url, asked) = fake_peer(vec![hex::encode(header.to_bytes())], None).await;
    let err = p2p::sync_with(&a.node, &url).await.unwrap_err();
    match &err {
        PeerError::InvalidData { reason } => {
            assert!(reason.contains("proof of work"), "{reason}")
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0, "no body was asked for");
    assert_eq!(tip(&a.node).height, 0);
    // A peer that only *claims* a long chain, with no headers to show, changes nothing.
    let (url, asked) = fake_peer(Vec::new(), None).await;
    let report = p2p::sync_with(&a.node, &url).await.unwrap();
    assert_eq!((report.headers_received, report.connected), (0, 0));
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    assert_eq!(tip(&a.node).height, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_block_that_fails_validation_stops_the_sync() {
    let a = start().await;
    // A header with real proof of work whose block's transactions do not match its Merkle root.
    let header = header_after_genesis(true);
    let block = Block {
        header,
        transactions: vec![Transaction::coinbase(Height(1), Vec::new(), Vec::new())],
    };
    let (url, asked) = fake_peer(
        vec![hex::encode(header.to_bytes())],
        Some(hex::encode(block.to_bytes())),
    )
    .await;
    let err = p2p::sync_with(&a.node, &url).await.unwrap_err();
    match &err {
        PeerError::InvalidData { reason } => assert!(reason.contains("Merkle"), "{reason}"),
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(tip(&a.node).height, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_announced_block_with_an_unknown_parent_starts_a_sync_from_its_sender() {
    let a = start().await;
    let b = start().await;
    p2p::register_peer(&a.node, b.root()).await.unwrap();
    mine(&b.node, 3).await;
    let block = b.node.state().block_at(Height(3)).unwrap().unwrap();
    let client = reqwest::Client::new();
    let answer: serde_json::Value = client
        .post(format!("{}/p2p/v1/blocks", a.root()))
        .json(&serde_json::json!({ "hex": hex::encode(block.to_bytes()), "from": b.root() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "orphan", "{answer}");
    assert_eq!(answer["syncing"], true);
    let started = Instant::now();
    while tip(&a.node) != tip(&b.node) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "A did not sync"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Announcing a known block is harmless; garbage is a 400.
    let answer: serde_json::Value = client
        .post(format!("{}/p2p/v1/blocks", a.root()))
        .json(&serde_json::json!({ "hex": hex::encode(block.to_bytes()) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "already_known");
    let bad = client
        .post(format!("{}/p2p/v1/blocks", a.root()))
        .json(&serde_json::json!({ "hex": "zz" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn small_batches_carry_a_branch_across_requests_until_it_has_more_work() {
    let a = start().await;
    let b = start().await;
    mine(&a.node, 3).await;
    mine(&b.node, 7).await;
    let small = p2p::SyncOptions {
        headers_per_request: 2,
        blocks_per_request: 3,
    };
    // Headers 1-2 of B's branch have less work than A's three blocks: held, then 3-4 tip the balance and
    // the bodies are fetched in batches of three; the rest follows two headers at a time.
    let report = p2p::sync_with_options(&a.node, b.root(), small)
        .await
        .unwrap();
    assert_eq!(report.headers_received, 7);
    assert_eq!(report.blocks_received, 7);
    assert_eq!(report.connected, 7);
    assert!(report.reorged);
    assert_eq!(tip(&a.node), tip(&b.node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_that_keeps_restarting_its_headers_is_given_up_on() {
    let a = start().await;
    mine(&a.node, 2).await;
    let before = tip(&a.node);
    // The fake answers every request with the same full batch (one header after genesis, less work than A's
    // chain), so the sync never advances.
    let header = header_after_genesis(true);
    let (url, asked) = fake_peer(vec![hex::encode(header.to_bytes())], None).await;
    let one = p2p::SyncOptions {
        headers_per_request: 1,
        ..p2p::SyncOptions::default()
    };
    let err = p2p::sync_with_options(&a.node, &url, one)
        .await
        .unwrap_err();
    match &err {
        PeerError::InvalidData { reason } => assert!(reason.contains("again"), "{reason}"),
        other => panic!("expected InvalidData, got {other:?}"),
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    assert_eq!(tip(&a.node), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_whose_clock_is_ahead_is_not_banned_and_its_block_is_taken_once_the_clock_catches_up()
 {
    // The receiver's clock is behind the sender's by more than the network allows a block to be ahead.
    let sender = start().await;
    let drift = Network::dev().spec().max_future_drift_ms;
    let behind = Arc::new(AtomicU64::new(drift + 10 * 60 * 1000));
    let lag = behind.clone();
    let clock: ferrochain_state::chain::Clock =
        Arc::new(move || ferrochain_node::now_ms().saturating_sub(lag.load(Ordering::SeqCst)));
    let receiver = TestNode::builder().app_only().clock(clock).start().await;
    p2p::register_peer(&receiver.node, sender.root())
        .await
        .unwrap();
    let peer = sender.root().to_string();
    mine(&sender.node, 1).await;
    let block = sender.node.state().block_at(Height(1)).unwrap().unwrap();
    let client = reqwest::Client::new();
    // Announced three times (one strike for invalid data is a ban): refused as "not yet", never scored.
    for _ in 0..3 {
        let answer = client
            .post(format!("{}/p2p/v1/blocks", receiver.root()))
            .json(&serde_json::json!({ "hex": hex::encode(block.to_bytes()), "from": peer }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "block_not_yet", "{body}");
    }
    assert!(receiver.node.peers().banned(&peer).is_none());
    assert_eq!(receiver.node.peers().get(&peer).unwrap().score, 0);
    // Not remembered as invalid: nothing of it is kept.
    assert!(receiver.node.state().header(&block.hash()).is_none());
    // A sync from the sender stops before the early block, without blame either.
    let report = p2p::sync_with(&receiver.node, &peer).await.unwrap();
    assert_eq!((report.headers_received, report.connected), (0, 0));
    assert_eq!(receiver.node.state().tip().height, Height(0));
    assert!(receiver.node.peers().banned(&peer).is_none());
    assert_eq!(receiver.node.peers().get(&peer).unwrap().score, 0);
    // The receiver's clock catches up: the same sync takes the block.
    behind.store(0, Ordering::SeqCst);
    let report = p2p::sync_with(&receiver.node, &peer).await.unwrap();
    assert_eq!(report.connected, 1);
    assert_eq!(tip(&receiver.node), tip(&sender.node));
    assert!(receiver.node.peers().banned(&peer).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_side_block_whose_branch_cannot_win_keeps_only_its_header() {
    // A valid block off genesis while the tip is five blocks ahead: its branch has far less work.
    let a = start().await;
    let b = start().await;
    mine(&a.node, 5).await;
    let genesis = a.node.network().genesis().clone();
    let side = ferrochain_core::testing::side_block(
        a.node.network(),
        PubkeyHash::from_bytes([3; 20]),
        &genesis,
        b"low work",
    );
    let hash = side.hash();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/p2p/v1/blocks", a.root()))
        .json(&serde_json::json!({ "hex": hex::encode(side.to_bytes()), "from": b.root() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["outcome"], "header_only", "{answer}");
    // Its body is not stored: the block is not served, only its header is indexed.
    let (status, _) = a
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/blocks/{hash}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(a.node.state().block(&hash).unwrap().is_none());
    assert!(!a.node.state().header(&hash).unwrap().has_body);
    // A valid block is no misbehaviour: the sender is not scored.
    assert!(a.node.peers().banned(b.root()).is_none());
    assert_eq!(tip(&a.node).height, 5);
}
