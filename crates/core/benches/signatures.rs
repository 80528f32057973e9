//! Ed25519 signing and verification: one signature at a time against [`BatchVerifier`] batches of 64 and
//! 1,024 signatures by distinct keys over 32-byte digests (what transaction inputs sign). Prints the
//! verifications per second of each and the batch speed-up. It reports; it never fails.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use ferrochain_core::crypto::BatchVerifier;
use ferrochain_core::{PublicKey, Signature, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use common::{SUMMARY_TIME, benchmarking, calls_per_sec, kilo};

/// Batch sizes measured.
const BATCH_SIZES: [usize; 2] = [64, 1024];

/// `n` (key, signature, digest) triples, each by its own key, deterministic.
fn signed_items(n: usize) -> Vec<(PublicKey, Signature, [u8; 32])> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5167);
    (0..n)
        .map(|i| {
            let key = SigningKey::generate(&mut rng);
            let digest = ferrochain_core::hash::sha256(&(i as u64).to_le_bytes());
            (key.public_key(), key.sign(&digest), digest)
        })
        .collect()
}

/// Queues every item in a fresh batch and verifies it: what `check_block` does per block.
fn verify_batch<R: rand::CryptoRng>(
    items: &[(PublicKey, Signature, [u8; 32])],
    rng: &mut R,
) -> bool {
    let mut batch = BatchVerifier::new();
    for (key, sig, msg) in items {
        batch.queue(*key, *sig, *msg);
    }
    batch.verify(rng).is_ok()
}

/// Verifies each item on its own, cycling through them.
fn verify_one(items: &[(PublicKey, Signature, [u8; 32])], next: &mut usize) -> bool {
    let (key, sig, msg) = &items[*next % items.len()];
    *next = next.wrapping_add(1);
    black_box(key)
        .verify(black_box(msg), black_box(sig))
        .is_ok()
}

fn signatures(c: &mut Criterion) {
    let items = signed_items(*BATCH_SIZES.iter().max().unwrap_or(&1024));
    assert!(
        verify_batch(&items, &mut rand::rng()),
        "the benchmark's own signatures must verify"
    );
    let signer = SigningKey::from_secret_bytes([7; 32]);
    let mut rng = rand::rng();

    let mut group = c.benchmark_group("signatures");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    group.bench_function("sign (32-byte digest)", |b| {
        let mut digest = [0u8; 32];
        b.iter(|| {
            digest[0] = digest[0].wrapping_add(1);
            signer.sign(black_box(&digest))
        });
    });
    group.bench_function("verify single", |b| {
        let mut next = 0;
        b.iter(|| verify_one(&items, &mut next));
    });
    for n in BATCH_SIZES {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("verify batch", n),
            &items[..n],
            |b, batch| {
                b.iter(|| verify_batch(batch, &mut rng));
            },
        );
    }
    group.finish();
}

/// Prints verifications per second, single against batched, with the speed-up.
fn summary() {
    let items = signed_items(*BATCH_SIZES.iter().max().unwrap_or(&1024));
    let mut rng = rand::rng();
    let signer = SigningKey::from_secret_bytes([7; 32]);
    let mut digest = [0u8; 32];
    let sign = calls_per_sec(SUMMARY_TIME, || {
        digest[0] = digest[0].wrapping_add(1);
        signer.sign(black_box(&digest))
    });
    let mut next = 0;
    let single = calls_per_sec(SUMMARY_TIME, || verify_one(&items, &mut next));
    println!();
    println!("== signature summary (1 thread, {SUMMARY_TIME:?} per figure) ==");
    let mut line = format!("sign: {} | verify single: {}", kilo(sign), kilo(single));
    for n in BATCH_SIZES {
        let batch = n as f64 * calls_per_sec(SUMMARY_TIME, || verify_batch(&items[..n], &mut rng));
        line.push_str(&format!(
            " | batch of {n}: {} = {:.2}x single",
            kilo(batch),
            batch / single
        ));
    }
    println!("{line}");
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    signatures(&mut c);
    c.final_summary();
    if benchmarking() {
        summary();
    }
}
