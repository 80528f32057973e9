//! Validation of a block of 1,000 signed transfers: the stateless [`check_block`] (header, Merkle root,
//! shapes and one batch verification of all signatures), the contextual [`connect_block`] against an
//! in-memory UTXO set, and both in a row, in transactions per second. The summary compares them with
//! batch verification of the block's signatures alone, the cost that dominates. It reports; it never fails.
//!
//! The block is built before measuring, on a network like `dev` but with a 1-bit proof of work (so the block
//! is mined at once) and 1,000 genesis allocations, each spent by one transfer.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use ferrochain_core::block::BLOCK_VERSION;
use ferrochain_core::check::{check_block, connect_block};
use ferrochain_core::crypto::BatchVerifier;
use ferrochain_core::merkle::merkle_root;
use ferrochain_core::spec::{Allocation, median_time_past};
use ferrochain_core::utxo::MemoryUtxoSet;
use ferrochain_core::{
    Amount, Block, ChainSpec, CheckedBlock, Header, HeaderContext, HeaderHasher, Height, Network,
    OutPoint, SigningKey, Target, Transaction, TxOut,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use common::{SUMMARY_TIME, benchmarking, calls_per_sec, kilo};

/// Transfers in the block (plus its coinbase).
const TRANSFERS: usize = 1000;
/// Each genesis allocation, in smallest units.
const ALLOCATION: u64 = 100_000_000;
/// Fee each transfer pays.
const FEE: u64 = 1_000;

/// Everything a measurement needs: the network, the block, its context and the UTXO set it extends.
struct Fixture {
    network: Network,
    block: Block,
    ctx: HeaderContext,
    utxos: MemoryUtxoSet,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(0xb10c);
    let senders: Vec<SigningKey> = (0..TRANSFERS)
        .map(|_| SigningKey::generate(&mut rng))
        .collect();
    let recipient = SigningKey::generate(&mut rng).public_key().pubkey_hash();
    let miner = SigningKey::generate(&mut rng).public_key().pubkey_hash();
    let amount = |units| Amount::from_units(units).expect("small amounts are valid");

    let mut spec = ChainSpec::dev();
    spec.name = "bench".into();
    spec.pow_limit = Target::from_leading_zero_bits(1);
    spec.initial_bits = spec.pow_limit.to_compact();
    spec.genesis_allocations = senders
        .iter()
        .map(|k| Allocation {
            address: k.public_key().pubkey_hash(),
            amount: amount(ALLOCATION),
        })
        .collect();
    let network = Network::new(spec).expect("the bench network's spec is valid");
    let genesis = network.genesis().header;
    let genesis_hash = network.genesis_hash();
    let genesis_txid = network.genesis().transactions[0].txid();

    let height = Height(1);
    let mut transactions = vec![Transaction::coinbase(
        height,
        vec![TxOut {
            amount: amount(network.spec().subsidy_at(height).to_units() + FEE * TRANSFERS as u64),
            address: miner,
        }],
        Vec::new(),
    )];
    transactions.extend(senders.iter().enumerate().map(|(i, key)| {
        let spent = OutPoint {
            txid: genesis_txid,
            vout: i as u32,
        };
        Transaction::signed_transfer(
            &[(spent, key)],
            vec![TxOut {
                amount: amount(ALLOCATION - FEE),
                address: recipient,
            }],
            Vec::new(),
            &genesis_hash,
        )
    }));
    let txids: Vec<_> = transactions.iter().map(Transaction::txid).collect();
    let mut header = Header {
        version: BLOCK_VERSION,
        height,
        prev_hash: genesis_hash,
        merkle_root: merkle_root(&txids),
        time_ms: genesis.time_ms + network.spec().target_block_time_ms,
        bits: network.spec().initial_bits,
        nonce: 0,
    };
    let target = header.bits.to_target().expect("the bench target is valid");
    let hasher = HeaderHasher::new(&header);
    header.nonce = (0..)
        .find(|&n| target.is_met_by(&hasher.hash_with_nonce(n)))
        .expect("a 1-bit target is met within a few nonces");
    let block = Block {
        header,
        transactions,
    };

    let ctx = HeaderContext {
        parent_hash: genesis_hash,
        height,
        expected_bits: network
            .spec()
            .expected_bits(height, genesis.bits, None)
            .expect("the genesis bits are valid"),
        median_time_past: median_time_past(&[genesis.time_ms]),
        now_ms: header.time_ms,
    };
    let mut utxos = MemoryUtxoSet::new();
    utxos.apply(&network.genesis_changes());
    Fixture {
        network,
        block,
        ctx,
        utxos,
    }
}

/// The stateless check, which must pass (a benchmark of a rejected block would measure the wrong thing).
fn checked(f: &Fixture) -> CheckedBlock {
    check_block(f.block.clone(), &f.network, &mut rand::rng()).expect("the bench block is valid")
}

/// A batch of the block's signatures, as `check_block` queues them.
fn signature_batch(f: &Fixture) -> BatchVerifier {
    let genesis = f.network.genesis_hash();
    let mut batch = BatchVerifier::new();
    for tx in &f.block.transactions {
        let msg = tx.sighash(&genesis);
        for (key, sig) in tx.signatures() {
            batch.queue(key, sig, msg);
        }
    }
    batch
}

fn validation(c: &mut Criterion) {
    let f = fixture();
    let checked_block = checked(&f);
    let changes = connect_block(&checked_block, &f.ctx, &f.network, &f.utxos)
        .expect("the bench block connects");
    assert_eq!(changes.spent.len(), TRANSFERS);
    let mut rng = rand::rng();

    let mut group = c.benchmark_group("block_validation_1000_tx");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(TRANSFERS as u64));
    // `check_block` takes the block by value: the copy is made outside the timed part.
    group.bench_function("check_block (stateless, batch signatures)", |b| {
        b.iter_batched(
            || f.block.clone(),
            |block| check_block(block, &f.network, &mut rng),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("connect_block (contextual, MemoryUtxoSet)", |b| {
        b.iter(|| connect_block(&checked_block, &f.ctx, &f.network, black_box(&f.utxos)));
    });
    group.bench_function("check_block + connect_block", |b| {
        b.iter_batched(
            || f.block.clone(),
            |block| {
                check_block(block, &f.network, &mut rng)
                    .and_then(|cb| connect_block(&cb, &f.ctx, &f.network, &f.utxos))
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// Prints the rates in transactions per second and as fractions of batch-verifying the signatures alone.
fn summary() {
    let f = fixture();
    let checked_block = checked(&f);
    let mut rng = rand::rng();
    let per_block = |blocks_per_sec: f64| blocks_per_sec * TRANSFERS as f64;

    let sigs = per_block(calls_per_sec(SUMMARY_TIME, || {
        signature_batch(&f).verify(&mut rng).is_ok()
    }));
    let copy = per_block(calls_per_sec(SUMMARY_TIME, || f.block.clone()));
    // These include the block copy `check_block` needs (measured above, to subtract if wanted).
    let check = per_block(calls_per_sec(SUMMARY_TIME, || {
        check_block(f.block.clone(), &f.network, &mut rng).is_ok()
    }));
    let connect = per_block(calls_per_sec(SUMMARY_TIME, || {
        connect_block(&checked_block, &f.ctx, &f.network, &f.utxos).is_ok()
    }));
    let both = per_block(calls_per_sec(SUMMARY_TIME, || {
        check_block(f.block.clone(), &f.network, &mut rng)
            .and_then(|cb| connect_block(&cb, &f.ctx, &f.network, &f.utxos))
            .is_ok()
    }));
    let pct = |x: f64| 100.0 * x / sigs;
    println!();
    println!(
        "== block validation summary ({TRANSFERS} transfers, 1 thread, {SUMMARY_TIME:?} per figure; tx/s) =="
    );
    println!(
        "signatures alone (sighash + queue + batch verify): {} | check_block: {} = {:.1}% of it | \
         connect_block: {} | check + connect: {} = {:.1}% of it | (block copy alone: {})",
        kilo(sigs),
        kilo(check),
        pct(check),
        kilo(connect),
        kilo(both),
        pct(both),
        kilo(copy),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    validation(&mut c);
    c.final_summary();
    if benchmarking() {
        summary();
    }
}
