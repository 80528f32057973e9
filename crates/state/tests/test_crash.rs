//! Crash safety: a child process connecting blocks — including a reorg there and back — is killed with
//! SIGKILL at random moments, at least 50 times per backend. After each kill the store must open, `verify`
//! must pass (the UTXO set equals a replay of the stored chain), and the tip must be one that the chain
//! actually had after some whole submission — never a mixture of two states.
//!
//! A second test submits the same blocks in batches ([`State::submit_blocks`], one store transaction per
//! batch, as sync does): after each kill the tip must be one the chain had after a *whole batch*.
//!
//! The child is this test binary itself, re-run on the ignored test `crash_child` with the backend (and the
//! batch size, if any) in the environment.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::spec::Allocation;
use ferrochain_core::{
    Amount, Block, BlockHash, ChainSpec, Header, Network, PubkeyHash, SigningKey, Target,
};
use ferrochain_state::ops::verify;
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::{State, StateConfig, Store};
use rand::{RngExt, SeedableRng};

const CHILD_VAR: &str = "FERROCHAIN_CRASH_CHILD";
const BATCH_VAR: &str = "FERROCHAIN_CRASH_BATCH";
/// Blocks per batch in the batched test.
const BATCH: usize = 8;
const KILLS: usize = 50;
const NOW: u64 = 4_000_000_000_000;

fn key(b: u8) -> SigningKey {
    SigningKey::from_secret_bytes([b; 32])
}

fn addr(k: &SigningKey) -> PubkeyHash {
    k.public_key().pubkey_hash()
}

fn network() -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "crash-tests".into();
    spec.initial_bits = Target::from_leading_zero_bits(6).to_compact();
    spec.pow_limit = Target::from_leading_zero_bits(6);
    for k in 1..=3u8 {
        for _ in 0..4 {
            spec.genesis_allocations.push(Allocation {
                address: addr(&key(k)),
                amount: Amount::from_units(1_000_000).unwrap(),
            });
        }
    }
    Network::new(spec).unwrap()
}

fn extend(chain: &mut ChainBuilder, n: usize, miner: u8, step_ms: u64, out: &mut Vec<Block>) {
    for i in 0..n {
        let mut used = Vec::new();
        let mut txs = Vec::new();
        for (from, to) in [(1u8, 2u8), (2, 3), (3, 1)] {
            let amount = Amount::from_units(1000 + i as u64).unwrap();
            if let Some(tx) = chain.transfer(
                &key(from),
                addr(&key(to)),
                amount,
                Amount::from_units(10).unwrap(),
                Vec::new(),
                &mut used,
            ) {
                txs.push(tx);
            }
        }
        let t = chain.tip().header.time_ms + step_ms;
        chain
            .mine_block(txs, addr(&key(miner)), t, &mut rand::rng())
            .unwrap();
        out.push(chain.tip().clone());
    }
}

/// One submission of the script.
enum Step {
    /// The headers of a branch, before its bodies (as a syncing node sends them: the state keeps the bodies
    /// of a side branch only once its headers show it could win).
    Headers(Vec<Header>),
    /// A block.
    Block(Block),
    /// Blocks submitted as one batch (one store transaction: `State::submit_blocks`).
    Batch(Vec<Block>),
}

/// `steps` with runs of consecutive blocks submitted in batches of `n` (as a sync does), if `n` is given.
fn batched(steps: Vec<Step>, n: Option<usize>) -> Vec<Step> {
    let Some(n) = n else { return steps };
    let mut out = Vec::new();
    let mut run = Vec::new();
    for step in steps {
        match step {
            Step::Block(b) => {
                run.push(b);
                if run.len() == n {
                    out.push(Step::Batch(std::mem::take(&mut run)));
                }
            }
            other => {
                if !run.is_empty() {
                    out.push(Step::Batch(std::mem::take(&mut run)));
                }
                out.push(other);
            }
        }
    }
    if !run.is_empty() {
        out.push(Step::Batch(run));
    }
    out
}

fn submit(state: &State, step: &Step) {
    match step {
        Step::Headers(headers) => {
            state.submit_headers(headers).unwrap();
        }
        Step::Block(block) => {
            state.submit_block(block.clone()).unwrap();
        }
        Step::Batch(blocks) => {
            let batch = state.submit_blocks(blocks.clone(), None);
            assert!(batch.error.is_none(), "{:?}", batch.error);
        }
    }
}

/// What the child submits, in order: a main chain of 40, a branch from height 30 that overtakes it
/// (reorg of depth 10), then the main chain again until it wins back (reorg of depth 12); each branch's
/// headers come before its bodies.
fn script() -> Vec<Step> {
    let mut steps = Vec::new();
    let mut add = |blocks: Vec<Block>, headers_first: bool| {
        if headers_first {
            steps.push(Step::Headers(blocks.iter().map(|b| b.header).collect()));
        }
        steps.extend(blocks.into_iter().map(Step::Block));
    };
    let mut blocks = Vec::new();
    let mut main = ChainBuilder::new(network());
    extend(&mut main, 30, 4, 10_000, &mut blocks);
    let mut branch = main.clone();
    extend(&mut main, 10, 4, 10_000, &mut blocks);
    add(std::mem::take(&mut blocks), false);
    extend(&mut branch, 12, 5, 9_000, &mut blocks);
    add(std::mem::take(&mut blocks), true);
    extend(&mut main, 5, 4, 10_000, &mut blocks);
    add(blocks, true);
    steps
}

fn config() -> StateConfig {
    StateConfig {
        clock: std::sync::Arc::new(|| NOW),
        ..StateConfig::default()
    }
}

/// The store named by the child's environment value `sqlite:PATH` or `postgres:SCHEMA:URL`.
fn open_store(spec: &str) -> Box<dyn Store> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        Box::new(SqliteStore::open_path(std::path::Path::new(path)).unwrap())
    } else if let Some(rest) = spec.strip_prefix("postgres:") {
        let (schema, url) = rest.split_once(':').unwrap();
        Box::new(PostgresStore::connect_with_schema(url, Some(schema)).unwrap())
    } else {
        panic!("unknown backend {spec}")
    }
}

/// The child: submits the whole script (known blocks are skipped quickly) until killed.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let steps = script();
    let state = State::open(network(), open_store(&spec), config()).unwrap();
    // Tell the parent the submissions start now, so its kill lands among them.
    println!("ready");
    let start = std::time::Instant::now();
    let batch = std::env::var(BATCH_VAR)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    for step in &batched(steps, batch) {
        submit(&state, step);
    }
    println!("submitted_ms={}", start.elapsed().as_millis());
}

fn crash_and_check(
    store_spec: &str,
    batch: Option<usize>,
    fresh: &dyn Fn(),
    reopen: &dyn Fn() -> Box<dyn Store>,
) {
    // The tips the chain passes through, computed once in this process.
    let steps = script();
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = State::open(
        network(),
        Box::new(SqliteStore::open_path(&reference_dir.path().join("r.sqlite")).unwrap()),
        config(),
    )
    .unwrap();
    let mut tips: HashSet<BlockHash> = HashSet::from([reference.tip().hash]);
    // Batched, only the state after a whole batch (or after the last block) may be found after a kill.
    for step in &batched(steps, batch) {
        submit(&reference, step);
        tips.insert(reference.tip().hash);
    }
    let final_tip = reference.tip().hash;
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        let mut command = Command::new(&exe);
        command
            .args([
                "--ignored",
                "--exact",
                "crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_VAR, store_spec);
        match batch {
            Some(n) => command.env(BATCH_VAR, n.to_string()),
            None => command.env_remove(BATCH_VAR),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait until the child has opened the store and starts submitting.
        let ready = lines.any(|l| l.is_ok_and(|l| l.contains("ready")));
        (child, lines, ready)
    };
    // One undisturbed run measures how long the submissions take; kills then land uniformly inside that span.
    let (mut child, lines, ready) = spawn();
    assert!(ready, "the child never got ready");
    // Read to the end: closing the pipe early would break the child's last writes.
    let output: Vec<String> = lines.map_while(Result::ok).collect();
    let span_ms: u64 = output
        .iter()
        .find_map(|l| {
            l.split("submitted_ms=")
                .nth(1)
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap();
    assert!(child.wait().unwrap().success());
    fresh();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let (mut kills, mut completions, mut runs, mut interrupted) = (0, 0, 0, 0);
    while kills < KILLS {
        runs += 1;
        assert!(
            runs < KILLS * 10,
            "the child keeps finishing before it can be killed"
        );
        let (mut child, _lines, _) = spawn();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..span_ms.max(1))));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
        }
        let status = child.wait().unwrap();
        if finished {
            assert!(status.success(), "the child failed on its own: {status}");
        }
        // After every stop: the store opens, verifies, and sits at a tip the chain really had.
        let state = State::open(network(), reopen(), config()).unwrap();
        let report = verify(&state, NOW, &mut |_, _| {}).unwrap();
        assert!(
            tips.contains(&report.tip),
            "tip {} is not a state the chain passed through",
            report.tip
        );
        if report.tip == final_tip {
            completions += 1;
            drop(state);
            fresh();
        } else if !finished {
            interrupted += 1;
        }
    }
    // Most kills must have landed while blocks were being connected, not before or after.
    assert!(
        interrupted >= KILLS / 2,
        "only {interrupted} of {kills} kills interrupted the chain mid-way"
    );
    eprintln!(
        "{store_spec} (batch {batch:?}): {kills} kills ({interrupted} mid-chain), {completions} complete runs, {runs} runs, submissions span {span_ms} ms"
    );
}

fn on_every_backend(batch: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.sqlite");
    let spec = format!("sqlite:{}", path.display());
    let fresh = || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    };
    crash_and_check(&spec, batch, &fresh, &|| {
        Box::new(SqliteStore::open_path(&path).unwrap())
    });

    match std::env::var(support::POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => {
            let backend = support::Backend::postgres(&url);
            let schema = backend.schema().unwrap().to_string();
            let spec = format!("postgres:{schema}:{url}");
            let fresh = || backend.wipe();
            crash_and_check(&spec, batch, &fresh, &|| backend.store());
        }
        _ => eprintln!(
            "PostgreSQL half skipped: {} is not set",
            support::POSTGRES_URL_VAR
        ),
    }
}

#[test]
fn sigkill_during_connects_and_reorgs_never_leaves_a_mixed_state() {
    on_every_backend(None);
}

#[test]
fn sigkill_inside_a_batch_of_blocks_leaves_the_previous_batch() {
    on_every_backend(Some(BATCH));
}
