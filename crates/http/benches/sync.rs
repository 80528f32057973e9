//! Sync throughput over loopback: an empty node syncs a 10,000-block chain with transactions (two payments a
//! block) from another node served in-process, through the real peer protocol (headers first, bodies in
//! batches of 500, every block validated in full and stored with its fsync). The chain uses an easy proof of
//! work so that building it takes seconds; checking a header's proof of work costs one hash whatever the
//! difficulty, so the figure is the sync's own.
//!
//! Run with `cargo bench -p ferrochain-http --bench sync`. It prints figures; it never fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use ferrochain_core::testing::{build_chain, easy_spec, write_spec};
use ferrochain_core::{ChainSpec, Encode, Network, PubkeyHash};
use ferrochain_http::testing::TestNode;
use ferrochain_node::{Config, p2p};

/// Blocks in the chain (`FERROCHAIN_BENCH_BLOCKS` changes it).
const BLOCKS: usize = 10_000;
const TXS_PER_BLOCK: usize = 2;

/// The bench chain's network file and a miner address on it (no node-held keys off `dev`).
fn on_network(network: &std::path::Path) -> impl FnOnce(&mut Config) + Send + 'static {
    let network = network.display().to_string();
    move |c| {
        c.network = network;
        c.miner_address = Some(Network::dev().address(&PubkeyHash::from_bytes([7; 20])));
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
        ..easy_spec()
    };
    let spec_file = write_spec(dir.path(), &spec);
    let network = Network::new(spec).expect("valid spec");

    // The chain: rewards to one key, which pays someone twice a block.
    let started = Instant::now();
    let blocks = build_chain(
        &network,
        blocks_wanted,
        TXS_PER_BLOCK,
        ferrochain_node::now_ms(),
        &mut rand::rng(),
    );
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
        let a = TestNode::builder()
            .data_dir(dir.path().join("a"))
            .config(on_network(&spec_file))
            .start()
            .await;
        let node = a.node.clone();
        tokio::task::spawn_blocking(move || {
            for block in blocks {
                node.submit_block(block).expect("valid block");
            }
        })
        .await
        .expect("loading");
        println!(
            "the serving node stored them in {:.1?} ({:.0} blocks/s, submit_block one by one)",
            started.elapsed(),
            blocks_wanted as f64 / started.elapsed().as_secs_f64()
        );
        let url = a.root().to_string();

        // The empty node syncs.
        // B does not listen; it only needs a URL of its own that is not A's.
        let b = TestNode::builder()
            .data_dir(dir.path().join("b"))
            .config(on_network(&spec_file))
            .config(|c| c.public_url = Some("http://127.0.0.1:1".into()))
            .open()
            .await;
        let started = Instant::now();
        let report = p2p::sync_with(&b.node, &url).await.expect("sync");
        let took = started.elapsed().as_secs_f64();
        assert_eq!(report.tip_after.hash, a.node.state().tip().hash);
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
