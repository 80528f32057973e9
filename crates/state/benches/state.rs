//! Benchmarks of the chain state on its stores: the connect rate of blocks of 1,000 transfers (blocks/s and
//! transactions/s), and the import of a 10,000-block chain — on SQLite always, on PostgreSQL when
//! `FERROCHAIN_TEST_POSTGRES_URL` is set. They print figures; they never fail.
//!
//! Also (ADR 0021):
//! - **Group commit**: 1,000 independent signed transfers submitted by 1, 16 and 32 threads, per backend,
//!   beside this disk's fsync'd commits per second measured in the same run (the ratio above 1 is what the
//!   group commit buys: several admissions per fsync).
//! - **A block's mempool update against pool size**: the pool holds 1,000, 10,000 or 50,000 records; the
//!   time to find and take out what a block of 100 transactions confirms (and put it back, to repeat) must
//!   not grow with the pool.
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
use ferrochain_state::{Mempool, State, StateConfig, Store};

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

/// fsync'd writes per second of the temporary directory's disk (write + `sync_all` of 512 bytes).
fn fsyncs_per_s() -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut file = std::fs::File::create(dir.path().join("fsync.bin")).expect("temp file");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        file.write_all(&[n as u8; 512]).expect("write");
        file.sync_all().expect("fsync");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// One transfer per key, each passing its genesis output to itself: independent, all valid.
fn independent_transfers(net: &Network, keys: &[SigningKey]) -> Vec<Transaction> {
    let chain = ChainBuilder::new(net.clone());
    let mut used = Vec::new();
    keys.iter()
        .map(|k| {
            chain
                .transfer(
                    k,
                    k.public_key().pubkey_hash(),
                    Amount::from_units(1000).expect("small"),
                    Amount::ZERO,
                    Vec::new(),
                    &mut used,
                )
                .expect("funded")
        })
        .collect()
}

/// Submits `txs` from `threads` threads on a fresh state; returns accepted transactions per second.
fn admissions(state: &State, txs: &[Transaction], threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for chunk in txs.chunks(txs.len().div_ceil(threads)) {
            let state = state.clone();
            scope.spawn(move || {
                for tx in chunk {
                    state
                        .submit_transaction(tx.clone())
                        .expect("independent transfers are accepted");
                }
            });
        }
    });
    txs.len() as f64 / start.elapsed().as_secs_f64()
}

/// Pool sizes of the mempool-update benchmark.
const POOL_SIZES: [usize; 3] = [1_000, 10_000, 50_000];

/// A pool of `n` records (64 per author, the per-author limit) and a block that confirms 50 of them and 50
/// transfers that are not in the pool.
fn pool_and_block(net: &Network, keys: &[SigningKey], n: usize) -> (Mempool, Block) {
    let chain = ChainBuilder::new(net.clone());
    let mut pool = Mempool::new(usize::MAX / 2);
    let genesis = net.genesis_hash();
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let mut secret = [9u8; 32];
        secret[..8].copy_from_slice(&((i / 64) as u64).to_le_bytes());
        let author = SigningKey::from_secret_bytes(secret);
        let tx = Transaction::signed_record(
            &author,
            format!("record {i}").into_bytes(),
            1_700_000_000_000 + i as u64,
            &genesis,
        );
        let entry = pool
            .check(&tx, chain.utxos(), chain.height(), net)
            .expect("valid record");
        pool.insert(entry).expect("room");
        records.push(tx);
    }
    let mut txs: Vec<Transaction> = records.iter().step_by(n / 50).take(50).cloned().collect();
    txs.extend(independent_transfers(net, &keys[..50]));
    let mut builder = chain.clone();
    let t = builder.tip().header.time_ms + 10_000;
    builder
        .mine_block(txs, keys[0].public_key().pubkey_hash(), t, &mut rand::rng())
        .expect("valid block");
    (pool, builder.tip().clone())
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
    let fsyncs = fsyncs_per_s();
    summary.push(format!("machine: {fsyncs:.0} fsync'd commits/s (temp dir)"));

    // A block's mempool update against the pool's size.
    let mut group = criterion.benchmark_group("mempool/block update");
    group.measurement_time(Duration::from_secs(5));
    for n in POOL_SIZES {
        let (mut pool, block) = pool_and_block(&net, &keys, n);
        let measure = |pool: &mut Mempool| {
            let start = Instant::now();
            let gone = pool.removals_for(&[&block]);
            let entries: Vec<_> = gone.iter().filter_map(|t| pool.get(t).cloned()).collect();
            pool.remove_all(&gone);
            let took = start.elapsed();
            pool.restore(entries);
            took
        };
        group.bench_function(format!("pool of {n}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| measure(&mut pool)).sum())
        });
        let runs = 200;
        let mean: Duration = (0..runs).map(|_| measure(&mut pool)).sum::<Duration>() / runs;
        summary.push(format!(
            "mempool update for a block of 100 transactions (50 confirmed from the pool), pool of {n:>6}: {:.1} µs",
            mean.as_secs_f64() * 1e6
        ));
    }
    group.finish();

    let transfers = independent_transfers(&net, &keys);
    for backend in backends() {
        let name = backend.name;
        for threads in [1, 16, 32] {
            let state = State::open(net.clone(), (backend.open)(), config()).expect("opens");
            let rate = admissions(&state, &transfers, threads);
            summary.push(format!(
                "{name}: {} signed transfers from {threads:>2} threads: {rate:.0} tx/s = {:.2}× this disk's fsyncs/s",
                transfers.len(),
                rate / fsyncs
            ));
        }
    }
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
