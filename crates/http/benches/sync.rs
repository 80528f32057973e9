//! Sync throughput over loopback: an empty node syncs a 10,000-block chain with transactions (two payments a
//! block) from another node served in-process, through the real peer protocol (headers first, bodies in
//! batches of 500, every block validated in full and stored with its fsync). The chain uses an easy proof of
//! work so that building it takes seconds; checking a header's proof of work costs one hash whatever the
//! difficulty, so the figure is the sync's own.
//!
//! Bodies of each response are connected as one batch, committed in one store transaction (ADR 0021), so the
//! figure is printed beside this disk's fsync'd commits per second, measured in the same run. A second
//! figure times a fresh node's sync of 200 blocks (what the seed tutorial's `/nodes/resolve` does).
//!
//! Run with `cargo bench -p ferrochain-http --bench sync`. It prints figures; it never fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use ferrochain_core::testing::{build_chain, easy_spec, write_spec};
use ferrochain_core::{ChainSpec, Encode, Network, PubkeyHash};
use ferrochain_http::testing::TestNode;
use ferrochain_node::{Config, p2p};

mod common;

/// Blocks of the short sync (a resolve against a neighbour).
const SHORT: usize = 200;
/// Blocks per batch when the serving node stores the chain.
const LOAD_BATCH: usize = 500;
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
    let fsyncs = common::fsyncs_per_s(std::time::Duration::from_secs(1));
    println!("machine limit: {fsyncs:.0} fsync'd commits/s (temp dir)");
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
        let short: Vec<_> = blocks.iter().take(SHORT).cloned().collect();
        tokio::task::spawn_blocking(move || {
            for chunk in blocks.chunks(LOAD_BATCH) {
                let batch = node.submit_blocks(chunk.to_vec(), None);
                assert!(batch.error.is_none(), "{:?}", batch.error);
            }
        })
        .await
        .expect("loading");
        println!(
            "the serving node stored them in {:.1?} ({:.0} blocks/s, submit_blocks in batches of {LOAD_BATCH})",
            started.elapsed(),
            blocks_wanted as f64 / started.elapsed().as_secs_f64()
        );
        let url = a.root().to_string();

        // A neighbour with the first 200 blocks, and a fresh node resolving against it.
        let n = TestNode::builder()
            .data_dir(dir.path().join("n"))
            .config(on_network(&spec_file))
            .start()
            .await;
        let node = n.node.clone();
        tokio::task::spawn_blocking(move || {
            let batch = node.submit_blocks(short, None);
            assert!(batch.error.is_none(), "{:?}", batch.error);
        })
        .await
        .expect("loading");
        let mut times = Vec::new();
        for i in 0..5 {
            let fresh = TestNode::builder()
                .data_dir(dir.path().join(format!("r{i}")))
                .config(on_network(&spec_file))
                .config(|c| c.public_url = Some("http://127.0.0.1:1".into()))
                .open()
                .await;
            let started = Instant::now();
            let report = p2p::sync_with(&fresh.node, n.root()).await.expect("sync");
            times.push(started.elapsed().as_secs_f64() * 1e3);
            assert_eq!(report.tip_after.hash, n.node.state().tip().hash);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "sync of {SHORT} blocks from a neighbour, fresh node: median {:.1} ms (min {:.1}, max {:.1}; goal ≤ 10 ms)",
            times[2], times[0], times[4]
        );

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
             {:.1} MB/s of blocks; {} blocks per fsync'd commit of this disk (goal ≥ 2,000 blocks/s)",
            report.headers_received,
            report.blocks_received,
            report.blocks_received as f64 / took,
            txs as f64 / took,
            bytes as f64 / 1e6 / took,
            common::ratio(report.blocks_received as f64 / took, fsyncs)
        );
    });
}
