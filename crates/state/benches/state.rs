//! Benchmarks of the chain state on its stores: the connect rate of blocks of 1,000 transfers (blocks/s and
//! transactions/s), and the import of a 10,000-block chain — on SQLite always, on PostgreSQL when
//! `FERROCHAIN_TEST_POSTGRES_URL` is set. They print figures; they never fail.
//!
//! Run with `cargo bench -p ferrochain-state`.

use std::time::{Duration, Instant};

use criterion::Criterion;
use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::spec::Allocation;
use ferrochain_core::tx::{OutPoint, Transaction, TxOut};
use ferrochain_core::{Amount, Block, ChainSpec, Network, SigningKey, Target};
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::{State, StateConfig, Store};

const TRANSFERS: usize = 1_000;
const BIG_BLOCKS: usize = 8;
const LONG_CHAIN: usize = 10_000;

fn keys() -> Vec<SigningKey> {
    (0..TRANSFERS)
        .map(|i| {
            let mut secret = [7u8; 32];
            secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
            SigningKey::from_secret_bytes(secret)
        })
        .collect()
}

fn network(keys: &[SigningKey]) -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "bench".into();
    spec.initial_bits = Target::from_leading_zero_bits(1).to_compact();
    spec.pow_limit = Target::from_leading_zero_bits(1);
    spec.genesis_allocations = keys
        .iter()
        .map(|k| Allocation {
            address: k.public_key().pubkey_hash(),
            amount: Amount::from_units(1_000_000).expect("small"),
        })
        .collect();
    Network::new(spec).expect("valid bench spec")
}

/// Blocks of 1,000 transfers: in each block every key passes its one output on to itself.
fn big_blocks(net: &Network, keys: &[SigningKey]) -> Vec<Block> {
    let mut chain = ChainBuilder::new(net.clone());
    let miner = keys[0].public_key().pubkey_hash();
    for _ in 0..BIG_BLOCKS {
        let txs: Vec<Transaction> = keys
            .iter()
            .map(|k| {
                let owner = k.public_key().pubkey_hash();
                let (op, entry): (OutPoint, _) = chain
                    .spendable(&owner)
                    .into_iter()
                    .find(|(_, e)| !e.is_coinbase)
                    .expect("every key has an output");
                let out = TxOut {
                    amount: entry.output.amount,
                    address: owner,
                };
                Transaction::signed_transfer(&[(op, k)], vec![out], Vec::new(), &net.genesis_hash())
            })
            .collect();
        let t = chain.tip().header.time_ms + 10_000;
        chain
            .mine_block(txs, miner, t, &mut rand::rng())
            .expect("valid block");
    }
    chain.blocks()[1..].to_vec()
}

/// A long chain of small blocks (a coinbase and, every tenth block, a transfer).
fn long_chain(net: &Network, keys: &[SigningKey]) -> Vec<Block> {
    let mut chain = ChainBuilder::new(net.clone());
    let miner = keys[1].public_key().pubkey_hash();
    for i in 0..LONG_CHAIN {
        let mut txs = Vec::new();
        if i % 10 == 0 {
            let mut used = Vec::new();
            if let Some(tx) = chain.transfer(
                &keys[2],
                miner,
                Amount::from_units(1).expect("small"),
                Amount::ZERO,
                Vec::new(),
                &mut used,
            ) {
                txs.push(tx);
            }
        }
        let t = chain.tip().header.time_ms + 10_000;
        chain
            .mine_block(txs, miner, t, &mut rand::rng())
            .expect("valid block");
    }
    chain.blocks()[1..].to_vec()
}

struct Backend {
    name: &'static str,
    open: Box<dyn Fn() -> Box<dyn Store>>,
    _dir: Option<tempfile::TempDir>,
}

fn backends() -> Vec<Backend> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let counter = std::sync::atomic::AtomicU64::new(0);
    out.push(Backend {
        name: "sqlite",
        open: Box::new(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::new(
                SqliteStore::open_path(&path.join(format!("bench-{n}.sqlite")))
                    .expect("sqlite opens"),
            )
        }),
        _dir: Some(dir),
    });
    match std::env::var("FERROCHAIN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let counter = std::sync::atomic::AtomicU64::new(0);
            out.push(Backend {
                name: "postgres",
                open: Box::new(move || {
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let schema = format!("bench_{}_{n}", std::process::id());
                    Box::new(
                        PostgresStore::connect_with_schema(&url, Some(&schema))
                            .expect("postgres connects"),
                    )
                }),
                _dir: None,
            });
        }
        _ => println!("PostgreSQL benchmarks skipped: FERROCHAIN_TEST_POSTGRES_URL is not set"),
    }
    out
}

fn config() -> StateConfig {
    StateConfig {
        clock: std::sync::Arc::new(|| u64::MAX / 4),
        ..StateConfig::default()
    }
}

fn submit_all(state: &State, blocks: &[Block]) -> Duration {
    let start = Instant::now();
    for b in blocks {
        state
            .submit_block(b.clone())
            .expect("bench blocks are valid");
    }
    start.elapsed()
}

fn main() {
    let keys = keys();
    let net = network(&keys);
    println!(
        "building {BIG_BLOCKS} blocks of {TRANSFERS} transfers and a {LONG_CHAIN}-block chain..."
    );
    let big = big_blocks(&net, &keys);
    let long = long_chain(&net, &keys);
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let mut summary = Vec::new();
    for backend in backends() {
        let name = backend.name;
        let mut group = criterion.benchmark_group(format!("state/{name}"));
        group.throughput(criterion::Throughput::Elements(
            (BIG_BLOCKS * TRANSFERS) as u64,
        ));
        group.bench_function(
            format!("connect {BIG_BLOCKS} blocks of {TRANSFERS} transfers"),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let state = State::open(net.clone(), (backend.open)(), config())
                                .expect("opens");
                            submit_all(&state, &big)
                        })
                        .sum()
                })
            },
        );
        group.finish();
        // One timed run of each for the printed summary.
        let state = State::open(net.clone(), (backend.open)(), config()).expect("opens");
        let t = submit_all(&state, &big).as_secs_f64();
        let txs = (BIG_BLOCKS * (TRANSFERS + 1)) as f64;
        summary.push(format!(
            "{name}: connect blocks of {TRANSFERS} transfers: {:.1} blocks/s, {:.0} tx/s",
            BIG_BLOCKS as f64 / t,
            txs / t
        ));
        // Import: export the long chain from one store, time `ops::import` of the file into a fresh one.
        let source = State::open(net.clone(), (backend.open)(), config()).expect("opens");
        submit_all(&source, &long);
        let mut file = Vec::new();
        ferrochain_state::ops::export(&source, &mut file).expect("exports");
        let target = State::open(net.clone(), (backend.open)(), config()).expect("opens");
        let start = Instant::now();
        let report = ferrochain_state::ops::import(&target, &mut file.as_slice(), &mut |_, _| {})
            .expect("imports");
        let t = start.elapsed().as_secs_f64();
        summary.push(format!(
            "{name}: import of a {LONG_CHAIN}-block chain ({} KiB file): {t:.1} s = {:.0} blocks/s",
            file.len() / 1024,
            report.added as f64 / t
        ));
    }
    criterion.final_summary();
    println!();
    for line in summary {
        println!("{line}");
    }
}
