//! Miner throughput: hashes per second of the node's real miner (`Miner::mine` on an opened node, on a
//! network too hard to finish a block) with 1 thread and with every core, beside the machine's raw SHA-256
//! compression rate measured in the same run — one compression per nonce is the most a midstate miner can
//! do, so `miner / raw` is the efficiency figure, and `all cores / (cores × 1 thread)` the scaling.
//!
//! Run with `cargo bench -p ferrochain-node --bench miner`. It prints figures; it never fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferrochain_core::{ChainSpec, Target};
use ferrochain_node::{Config, Node};

const WINDOW: Duration = Duration::from_secs(3);

/// Raw compressions per second on one thread.
fn raw_rate() -> f64 {
    let mut state = [
        0x6a09e667u32,
        0xbb67ae85,
        0x3c6ef372,
        0xa54ff53a,
        0x510e527f,
        0x9b05688c,
        0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut block = [0u8; 64];
    let start = Instant::now();
    let mut n = 0u64;
    // Independent compressions, as a miner's are (each from the same midstate): the result is folded into
    // an accumulator the next compression does not depend on, so the loop runs at the compression
    // *throughput*, the real limit a miner can approach.
    let mut acc = 0u32;
    while start.elapsed() < WINDOW {
        for _ in 0..10_000 {
            block[..8].copy_from_slice(&n.to_le_bytes());
            let mut s = state;
            sha2::block_api::compress256(&mut s, &[block]);
            acc ^= s[0];
            n += 1;
        }
        state = std::hint::black_box(state);
    }
    std::hint::black_box(acc);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Hashes per second of the node's miner with `threads` threads.
fn miner_rate(threads: usize, network_file: &std::path::Path) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        network: network_file.display().to_string(),
        mine_threads: threads,
        wallet_password: Some("bench".into()),
        ..Config::default()
    };
    let node = Node::open(config).expect("node opens");
    let cancel = AtomicBool::new(false);
    let reward = node.miner_address();
    let before = node.miner().total_hashes();
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(WINDOW);
            cancel.store(true, Ordering::Release);
        });
        // 60 leading zero bits: no block is found; the search runs until cancelled.
        let _ = node.find_block(reward, 0, &cancel);
    });
    (node.miner().total_hashes() - before) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` only checks that it builds
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = ChainSpec::dev();
    spec.name = "bench-hard".into();
    spec.initial_bits = Target::from_leading_zero_bits(60).to_compact();
    let file = dir.path().join("hard.toml");
    std::fs::write(&file, spec.to_toml().expect("valid spec")).expect("write spec");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let raw = raw_rate();
    let one = miner_rate(1, &file);
    let all = miner_rate(cores, &file);
    println!(
        "raw SHA-256 compressions, 1 thread:  {:>8.2} M/s",
        raw / 1e6
    );
    println!(
        "node miner, 1 thread:                {:>8.2} MH/s = {:.1}% of raw",
        one / 1e6,
        100.0 * one / raw
    );
    println!(
        "node miner, {cores} threads:               {:>8.2} MH/s = {:.1}% of {cores} x raw, {:.2}x one thread",
        all / 1e6,
        100.0 * all / (raw * cores as f64),
        all / one
    );
}
