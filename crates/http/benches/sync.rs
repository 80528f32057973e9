//! Sync throughput over loopback: an empty node syncs a 10,000-block chain with transactions (two payments a
//! block) from another node served in-process, through the real peer protocol (headers first, bodies in
//! batches of 500, every block validated in full and stored with its fsync). The chain uses an easy proof of
//! work so that building it takes seconds; checking a header's proof of work costs one hash whatever the
//! difficulty, so the figure is the sync's own.
//!
//! Run with `cargo bench -p ferrochain-http --bench sync`. It prints figures; it never fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::crypto::SigningKey;
use ferrochain_core::{Amount, ChainSpec, Encode, Network, PubkeyHash, Target};
use ferrochain_node::{Config, Node, p2p};

/// Blocks in the chain (`FERROCHAIN_BENCH_BLOCKS` changes it).
const BLOCKS: usize = 10_000;
const TXS_PER_BLOCK: usize = 2;

fn config(dir: &std::path::Path, network: &std::path::Path, addr: std::net::SocketAddr) -> Config {
    Config {
        listen: addr,
        public_url: Some(format!("http://{addr}")),
        data_dir: dir.to_path_buf(),
        network: network.display().to_string(),
        miner_address: Some(Network::dev().address(&PubkeyHash::from_bytes([7; 20]))),
        mine_threads: 1,
        ..Config::default()
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` only checks that it builds
    }
    let blocks_wanted = std::env::var("FERROCHAIN_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BLOCKS);
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ChainSpec {
        name: "bench-sync".into(),
        initial_bits: Target::from_leading_zero_bits(4).to_compact(),
        pow_limit: Target::from_leading_zero_bits(4),
        ..ChainSpec::dev()
    };
    let spec_file = dir.path().join("bench-sync.toml");
    std::fs::write(&spec_file, spec.to_toml().expect("valid spec")).expect("write spec");
    let network = Network::new(spec).expect("valid spec");

    // The chain: rewards to one key, which pays someone twice a block.
    let started = Instant::now();
    let key = SigningKey::from_secret_bytes([42; 32]);
    let owner = key.public_key().pubkey_hash();
    let mut chain = ChainBuilder::new(network.clone());
    let now = ferrochain_node::now_ms();
    let first = now - (blocks_wanted as u64 + 1) * 1000;
    let mut rng = rand::rng();
    for i in 0..blocks_wanted {
        let mut exclude = Vec::new();
        let txs = if i == 0 {
            Vec::new()
        } else {
            (0..TXS_PER_BLOCK)
                .filter_map(|_| {
                    chain.transfer(
                        &key,
                        PubkeyHash::from_bytes([9; 20]),
                        Amount::from_units(1000).expect("amount"),
                        Amount::ZERO,
                        Vec::new(),
                        &mut exclude,
                    )
                })
                .collect()
        };
        chain
            .mine_block(txs, owner, first + (i as u64 + 1) * 1000, &mut rng)
            .expect("a valid block");
    }
    let blocks = chain.blocks()[1..].to_vec();
    let txs: usize = blocks.iter().map(|b| b.transactions.len()).sum();
    let bytes: usize = blocks.iter().map(|b| b.to_bytes().len()).sum();
    println!(
        "built {blocks_wanted} blocks ({txs} transactions with coinbases, {:.1} MB) in {:.1?}",
        bytes as f64 / 1e6,
        started.elapsed()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // The serving node.
        let started = Instant::now();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = listener.local_addr().expect("address");
        let url = format!("http://{addr}");
        let a_dir = dir.path().join("a");
        let a_config = config(&a_dir, &spec_file, addr);
        let a = tokio::task::spawn_blocking(move || {
            let node = Node::open(a_config).expect("node opens");
            for block in blocks {
                node.submit_block(block).expect("valid block");
            }
            node
        })
        .await
        .expect("loading");
        println!(
            "the serving node stored them in {:.1?} ({:.0} blocks/s, submit_block one by one)",
            started.elapsed(),
            blocks_wanted as f64 / started.elapsed().as_secs_f64()
        );
        tokio::spawn(ferrochain_http::serve(
            a.clone(),
            listener,
            std::future::pending(),
        ));

        // The empty node syncs.
        let b_dir = dir.path().join("b");
        // B does not listen; it only needs a URL of its own that is not A's.
        let b_config = config(&b_dir, &spec_file, "127.0.0.1:1".parse().expect("address"));
        let b = tokio::task::spawn_blocking(move || Node::open(b_config).expect("node opens"))
            .await
            .expect("open");
        let started = Instant::now();
        let report = p2p::sync_with(&b, &url).await.expect("sync");
        let took = started.elapsed().as_secs_f64();
        assert_eq!(report.tip_after.hash, a.state().tip().hash);
        println!(
            "sync over loopback: {} headers, {} blocks in {took:.2} s = {:.0} blocks/s, {:.0} transactions/s, \
             {:.1} MB/s of blocks",
            report.headers_received,
            report.blocks_received,
            report.blocks_received as f64 / took,
            txs as f64 / took,
            bytes as f64 / 1e6 / took
        );
    });
}
