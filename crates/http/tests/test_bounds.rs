//! Resource bounds of the HTTP server (issue 14, ADR 0022): whole-chain answers are streamed with bounded
//! memory and a limit on how many run at once, clients that do not read or say nothing are dropped, bodies
//! have per-route limits (413 before parsing, while a block of the largest size is still accepted), user
//! durations are range-checked, and event streams and the keystore are capped.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::testing::{build_chain, chain_key, easy_spec, write_spec};
use ferrochain_core::{ChainSpec, Encode, Network, Transaction};
use ferrochain_http::testing::TestNode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A node on the `easy` chain (proof of work for free) holding `blocks` blocks of `txs` payments each.
async fn node_with_chain(
    dir: &tempfile::TempDir,
    blocks: usize,
    txs: usize,
    tweak: impl FnOnce(&mut ferrochain_node::Config) + Send + 'static,
) -> TestNode {
    let spec = easy_spec();
    let file: PathBuf = write_spec(dir.path(), &spec);
    let network = Network::new(spec).unwrap();
    let chain = build_chain(
        &network,
        blocks,
        txs,
        ferrochain_node::now_ms(),
        &mut rand::rng(),
    );
    let miner = network.address(&chain_key().public_key().pubkey_hash());
    let t = TestNode::builder()
        .config(move |c| {
            c.network = file.display().to_string();
            // No keystore off `dev` without a password: rewards go to the chain's key.
            c.miner_address = Some(miner);
            tweak(c);
        })
        .start()
        .await;
    t.run(move |node| {
        for block in chain {
            node.submit_block(block).unwrap();
        }
    })
    .await;
    t
}

/// The anonymous resident memory of this process (the node and its clients: heaps and stacks), in bytes.
/// File-backed pages — the database file the store maps and reads — are the kernel's page cache, shared and
/// reclaimable, so they are not counted.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Reads a whole answer chunk by chunk without keeping it, pausing `pause` after each chunk; its length.
async fn drain(mut response: reqwest::Response, pause: Duration) -> usize {
    let mut length = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        length += chunk.len();
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    length
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_whole_chain_answers_at_once_stay_within_a_bounded_memory_and_status_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let t = node_with_chain(&dir, 3000, 2, |c| c.max_heavy_requests = 8).await;
    let url = t.root().to_string();
    let client = reqwest::Client::new();

    // One answer, streamed, is the same JSON as before (whole chain, length, peers).
    let whole: Value = client
        .get(format!("{url}/chain"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whole["length"], 3001);
    assert_eq!(whole["chain"].as_array().unwrap().len(), 3001);
    assert_eq!(whole["chain"][3000]["index"], 3001);
    let answer_bytes = serde_json::to_vec(&whole).unwrap().len() as u64;
    drop(whole);

    // Eight slow readers at once.
    let before = rss_bytes();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let finished = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..8 {
        let response = client.get(format!("{url}/chain")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let finished = finished.clone();
        readers.push(tokio::spawn(async move {
            let n = drain(response, Duration::from_millis(2)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            n
        }));
    }
    // Meanwhile: the status answers, and a ninth whole-chain request is refused with Retry-After.
    let status = client
        .get(format!("{url}/api/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let done_when_status_answered = finished.load(Ordering::SeqCst);
    let ninth = client
        .get(format!("{url}/api/get_blocks"))
        .send()
        .await
        .unwrap();
    let ninth_status = ninth.status();
    let retry_after = ninth.headers().get("retry-after").cloned();
    let mut lengths = Vec::new();
    for r in readers {
        lengths.push(r.await.unwrap() as u64);
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let rise = peak.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "8 concurrent answers of {answer_bytes} bytes: RSS {before} -> peak +{rise} bytes ({:.2} answers)",
        rise as f64 / answer_bytes as f64
    );
    assert!(lengths.iter().all(|n| *n == answer_bytes), "{lengths:?}");
    assert!(
        done_when_status_answered < 8,
        "the status answered only after every whole-chain answer was done"
    );
    assert_eq!(ninth_status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.unwrap(), "1");
    // Buffered, the eight answers took at least eight copies of the answer (three each, with the decoded
    // blocks): over 8 × 13 MB here. Streamed, each takes a few chunks and one block's view, whatever the
    // chain's length; the bound allows 2 MiB per answer for the allocator's per-thread arenas (with
    // MALLOC_ARENA_MAX=2 the rise is about 1 MB in all).
    let bound = 8 * 2 * 1024 * 1024;
    assert!(
        answer_bytes > 4 * bound / 8 && rise < bound,
        "RSS rose by {rise} bytes serving 8 answers of {answer_bytes} bytes (bound {bound})"
    );
}

/// Opens a connection with a small receive buffer and asks for `path`, never reading the answer.
async fn request_and_never_read(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads what a connection still delivers until the server closes it (EOF or reset); the bytes read.
async fn read_until_closed(mut stream: tokio::net::TcpStream) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_that_never_read_are_dropped_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let t = node_with_chain(&dir, 2000, 2, |c| {
        c.write_timeout_secs = 1;
        c.max_heavy_requests = 4;
    })
    .await;
    let url = t.root().to_string();
    let full = reqwest::get(format!("{url}/chain"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    // As many non-readers as there are heavy slots: while they hold them, /chain is busy.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(request_and_never_read(t.addr(), "/chain").await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Every slot is taken by a client that reads nothing.
    let busy = reqwest::get(format!("{url}/chain")).await.unwrap().status();
    assert_eq!(busy, StatusCode::SERVICE_UNAVAILABLE);
    // After the write timeout the server drops them and the slots are free again (polled: the drop takes
    // about a second, however slow the machine, a minute at most).
    let mut freed = false;
    for _ in 0..600 {
        let r = reqwest::get(format!("{url}/chain")).await.unwrap();
        if r.status() == StatusCode::OK {
            assert_eq!(r.bytes().await.unwrap().len(), full);
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        freed,
        "the heavy slots held by non-reading clients were never freed"
    );
    // Each stalled connection was closed by the server part way through its answer.
    for stream in stalled {
        let got = read_until_closed(stream).await;
        assert!(
            got < full,
            "a stalled client still got the whole answer ({got} bytes)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_cannot_hold_every_connection_slot() {
    let t = TestNode::start(|c| {
        c.max_connections = 2;
        c.idle_timeout_secs = 1;
    })
    .await;
    // Two clients connect and say nothing: every slot is taken.
    let idle: Vec<_> =
        futures::future::join_all((0..2).map(|_| tokio::net::TcpStream::connect(t.addr())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    // A real client still gets its answer: the idle ones are closed after the idle timeout.
    let status = reqwest::get(format!("{}/api/v1/status", t.root()))
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    for stream in idle {
        assert_eq!(read_until_closed(stream).await, 0);
    }
}

/// Posts a 5 MB JSON body (with `Content-Length`) to `path`, reading the answer while sending: the server may
/// answer (413) and close before the body is all sent. The answer as text.
async fn post_five_megabytes(addr: std::net::SocketAddr, path: &str) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reading, mut writing) = stream.into_split();
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reading.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        answer
    });
    let len = 5_000_000;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{{\"data\":\""
    );
    let mut sent = head.len() - head.find("\r\n\r\n").unwrap() - 4;
    if writing.write_all(head.as_bytes()).await.is_ok() {
        let chunk = vec![b'a'; 64 * 1024];
        while sent < len {
            let n = chunk.len().min(len - sent);
            if writing.write_all(&chunk[..n]).await.is_err() {
                break;
            }
            sent += n;
        }
    }
    String::from_utf8_lossy(&reader.await.unwrap()).into_owned()
}

/// A block of (nearly) the chain's largest size: records with the largest payloads, after genesis.
fn largest_block(network: &Network) -> ferrochain_core::Block {
    let spec = network.spec();
    let key = chain_key();
    let time = ferrochain_node::now_ms() - 10_000;
    let mut txs = Vec::new();
    let mut size = 1000; // header and coinbase
    let payload = spec.max_payload_bytes as usize;
    loop {
        let record = Transaction::signed_record(
            &key,
            vec![b'x'; payload],
            time - 1 - txs.len() as u64,
            &network.genesis_hash(),
        );
        let n = record.to_bytes().len();
        if size + n > spec.max_block_bytes as usize {
            break;
        }
        size += n;
        txs.push(record);
    }
    let mut chain = ChainBuilder::new(network.clone());
    chain
        .mine_block(txs, key.public_key().pubkey_hash(), time, &mut rand::rng())
        .unwrap();
    chain.blocks()[1].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_megabytes_to_a_small_or_transaction_route_is_413_while_the_largest_block_is_accepted()
{
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec {
        name: "bounds".into(),
        ..easy_spec()
    };
    let file = write_spec(dir.path(), &spec);
    let network = Network::new(spec).unwrap();
    let miner = network.address(&chain_key().public_key().pubkey_hash());
    let t = TestNode::builder()
        .config(move |c| {
            c.network = file.display().to_string();
            c.miner_address = Some(miner);
        })
        .start()
        .await;
    let client = reqwest::Client::new();
    for path in [
        "/api/send",
        "/transactions/new",
        "/blockchain/transactions/new",
        "/new_transaction",
        "/api/v1/txs",
        "/api/v1/miner/start",
        "/client/generate/transaction",
    ] {
        let answer = post_five_megabytes(t.addr(), path).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
    }
    // Without Content-Length (chunked), the body is cut at the limit: still 413.
    let stream = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    let (mut reading, mut stream) = stream.into_split();
    // Read while writing: the answer comes before the body is all sent.
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reading.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        answer
    });
    let head = format!(
        "POST /api/v1/txs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        t.addr()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
    for _ in 0..80 {
        // The server may answer and close before every chunk is sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let answer = reader.await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");

    // The largest block, in hex, on C's block route and the REST one (each a fresh block).
    let block = largest_block(&network);
    let bytes = block.to_bytes().len();
    assert!(
        bytes > network.spec().max_block_bytes as usize - 20_000,
        "{bytes}"
    );
    let r = client
        .post(format!("{}/add_block", t.root()))
        .json(&json!({ "hex": hex::encode(block.to_bytes()) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let tip = t.get_root("/api/v1/status").await;
    assert_eq!(tip["height"], 1);
    assert_eq!(tip["tip"], block.hash().to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miner_interval_out_of_range_is_a_400_naming_the_range() {
    let t = TestNode::builder().base_path("/api/v1").start().await;
    let r = t
        .post(
            "/miner/start",
            json!({"interval_secs": 18_446_744_073_709_551_615u64}),
            StatusCode::BAD_REQUEST,
        )
        .await;
    let message = r["error"]["message"].as_str().unwrap();
    assert!(message.contains("0 to 86400"), "{message}");
    assert_eq!(t.get("/miner").await["running"], false);
    // The largest allowed interval is taken, and reported.
    let r = t
        .post(
            "/miner/start",
            json!({"interval_secs": 86_400}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(r["running"], true);
    t.post("/miner/stop", json!({}), StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn event_streams_beyond_the_limit_are_refused_with_503() {
    let t = TestNode::start(|c| c.max_event_subscribers = 2).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/events", t.root());
    let first = client.get(&url).send().await.unwrap();
    let second = client
        .get(format!("{}/ui/live", t.root()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = client.get(&url).send().await.unwrap();
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(
        third.json::<Value>().await.unwrap()["error"]["code"],
        "busy"
    );
    // A subscriber that goes away frees its slot.
    drop(first);
    let mut again = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        again = client.get(&url).send().await.unwrap().status();
        if again == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(again, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keystore_cap_refuses_one_more_key_with_409() {
    // The node's own miner key is the first; the cap allows one more.
    let t = TestNode::builder()
        .base_path("/api/v1")
        .config(|c| c.max_keys = 2)
        .start()
        .await;
    t.post("/wallets", json!({}), StatusCode::CREATED).await;
    let r = t.post("/wallets", json!({}), StatusCode::CONFLICT).await;
    assert_eq!(r["error"]["code"], "keystore_full");
    assert!(r["error"]["message"].as_str().unwrap().contains("max_keys"));
    assert_eq!(t.get("/wallets").await.as_array().unwrap().len(), 2);
}

/// Threads of this process now (Linux).
fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_mine_requests_queue_for_one_block_search_instead_of_each_starting_threads() {
    let t = TestNode::start(|c| c.mine_threads = 2).await;
    // Warm up: the first search starts the pools it uses.
    let r = t
        .client
        .get(format!("{}/mine", t.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = threads();
    let peak = Arc::new(AtomicUsize::new(baseline));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(threads(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let requests = (0..12).map(|_| {
        let (client, url) = (t.client.clone(), t.url());
        tokio::spawn(async move {
            client
                .get(format!("{url}/mine"))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for r in futures::future::join_all(requests).await {
        assert_eq!(r.unwrap(), StatusCode::OK);
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    assert_eq!(t.node.state().tip().height.0, 13);
    // One search at a time: its blocking thread and the miner's 2 threads at most (12 concurrent searches would
    // start 12 × 3). The sampler is one more.
    let grew = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    assert!(
        grew <= 5,
        "threads grew by {grew} during 12 concurrent /mine requests"
    );
}
