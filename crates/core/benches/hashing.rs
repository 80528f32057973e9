//! Header hashing against the raw SHA-256 compression rate of the same machine.
//!
//! A 96-byte header is two SHA-256 compressions. [`HeaderHasher`] compresses the nonce-free first 64 bytes
//! once (the midstate), so each nonce costs one compression: the physical limit of a miner on this machine is
//! the rate of `compress256` on one 64-byte block. The benchmark measures that limit, [`Header::hash`] (two
//! compressions plus the encoding) and [`HeaderHasher::hash_with_nonce`], then prints the rates as
//! fractions of the limit — the figure that matters. It reports; it never fails.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use ferrochain_core::{Header, HeaderHasher, Network};
use sha2::block_api::compress256;

use common::{SUMMARY_TIME, benchmarking, calls_per_sec, mega};

/// An arbitrary chaining state (SHA-256's initial one), copied before each compression as a midstate is.
const STATE: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Blocks per call in the streaming measurement.
const STREAM_BLOCKS: usize = 64;

/// One compression of one 64-byte block from a copied state, with a fresh counter in the block each time:
/// what a midstate miner must do per nonce, without the encoding of the result.
fn raw_compression(block: &mut [u8; 64], counter: &mut u64) -> [u32; 8] {
    *counter = counter.wrapping_add(1);
    block[24..32].copy_from_slice(&counter.to_le_bytes());
    let mut state = black_box(STATE);
    compress256(&mut state, std::slice::from_ref(block));
    state
}

/// The header of block 1 of the dev network, as a miner would hash it.
fn sample_header() -> Header {
    let network = Network::dev();
    let genesis = network.genesis().header;
    Header {
        height: ferrochain_core::Height(1),
        prev_hash: network.genesis_hash(),
        time_ms: genesis.time_ms + 10_000,
        ..genesis
    }
}

fn hashing(c: &mut Criterion) {
    let header = sample_header();
    let hasher = HeaderHasher::new(&header);
    let mut group = c.benchmark_group("header_hashing");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));

    group.bench_function("raw compress256 (1 block)", |b| {
        let mut block = [0x5au8; 64];
        let mut counter = 0u64;
        b.iter(|| raw_compression(&mut block, &mut counter));
    });
    group.bench_function("Header::hash (2 compressions)", |b| {
        let mut h = header;
        b.iter(|| {
            h.nonce = h.nonce.wrapping_add(1);
            black_box(&h).hash()
        });
    });
    group.bench_function("HeaderHasher::hash_with_nonce (midstate)", |b| {
        let mut nonce = 0u64;
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            hasher.hash_with_nonce(black_box(nonce))
        });
    });
    // The compression rate without any per-call cost: many blocks in one call (not possible per nonce,
    // shown for context).
    group.throughput(Throughput::Elements(STREAM_BLOCKS as u64));
    group.bench_function("raw compress256 (64-block stream)", |b| {
        let blocks = [[0x5au8; 64]; STREAM_BLOCKS];
        let mut state = STATE;
        b.iter(|| compress256(black_box(&mut state), black_box(&blocks)));
    });
    group.finish();
}

/// Prints the rates measured with short plain loops, as fractions of the raw compression rate.
fn summary() {
    let header = sample_header();
    let hasher = HeaderHasher::new(&header);

    let mut block = [0x5au8; 64];
    let mut counter = 0u64;
    let raw = calls_per_sec(SUMMARY_TIME, || raw_compression(&mut block, &mut counter));

    let mut h = header;
    let plain = calls_per_sec(SUMMARY_TIME, || {
        h.nonce = h.nonce.wrapping_add(1);
        black_box(&h).hash()
    });

    let mut nonce = 0u64;
    let midstate = calls_per_sec(SUMMARY_TIME, || {
        nonce = nonce.wrapping_add(1);
        hasher.hash_with_nonce(black_box(nonce))
    });

    let blocks = [[0x5au8; 64]; STREAM_BLOCKS];
    let mut state = STATE;
    let stream = STREAM_BLOCKS as f64
        * calls_per_sec(SUMMARY_TIME, || {
            compress256(black_box(&mut state), black_box(&blocks))
        });

    let pct = |x: f64| 100.0 * x / raw;
    println!();
    println!("== header hashing summary (1 thread, {SUMMARY_TIME:?} per figure) ==");
    println!(
        "raw sha256 compressions/s: {} | header hash (plain): {} = {:.1}% of raw | midstate: {} = {:.1}% of raw",
        mega(raw),
        mega(plain),
        pct(plain),
        mega(midstate),
        pct(midstate),
    );
    println!(
        "ideal: plain 50% (two compressions), midstate 100% (one) | midstate / plain = {:.2}x | \
         streaming compress256 ({STREAM_BLOCKS} blocks per call): {} (single-block calls reach {:.1}% of it) | \
         SHA-NI: {}",
        midstate / plain,
        mega(stream),
        100.0 * raw / stream,
        sha_ni(),
    );
}

/// Whether the CPU has the SHA extensions the `sha2` crate uses when present.
fn sha_ni() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("sha") {
            "yes"
        } else {
            "no"
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        "n/a (not x86)"
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    hashing(&mut c);
    c.final_summary();
    if benchmarking() {
        summary();
    }
}
