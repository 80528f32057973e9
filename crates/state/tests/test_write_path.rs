//! The write path (ADR 0021): mempool admissions grouped into one commit and durable when answered, blocks
//! of a batch committed together, and the mempool after a block losing only what the block confirmed or
//! conflicts with. On SQLite always, PostgreSQL when `FERROCHAIN_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::hash::{BlockHash, Txid};
use ferrochain_core::spec::Allocation;
use ferrochain_core::tx::OutPoint;
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{
    Amount, Block, ChainSpec, Network, PubkeyHash, SigningKey, Target, Transaction, TxOut,
};
use ferrochain_state::mempool::MAX_RECORDS_PER_AUTHOR;
use ferrochain_state::store::{Connector, HeaderRecord, HistoryRow, MempoolRecord, TxLocation};
use ferrochain_state::{
    BlockOutcome, ChangeSet, MempoolError, State, StateConfig, StateError, Store, StoreError,
};
use support::Backend;

const OUTPUTS: usize = 48;

fn key(b: u8) -> SigningKey {
    SigningKey::from_secret_bytes([b; 32])
}

fn addr(k: &SigningKey) -> PubkeyHash {
    k.public_key().pubkey_hash()
}

/// Alice (1) owns [`OUTPUTS`] genesis outputs, bob (2) a few.
fn network() -> Network {
    let mut spec = ChainSpec::dev();
    spec.name = "write-path-tests".into();
    spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
    for _ in 0..OUTPUTS {
        spec.genesis_allocations.push(Allocation {
            address: addr(&key(1)),
            amount: Amount::from_units(1_000_000).unwrap(),
        });
    }
    for _ in 0..3 {
        spec.genesis_allocations.push(Allocation {
            address: addr(&key(2)),
            amount: Amount::from_units(1_000_000).unwrap(),
        });
    }
    Network::new(spec).unwrap()
}

fn config() -> StateConfig {
    StateConfig {
        clock: Arc::new(|| 4_000_000_000_000),
        ..StateConfig::default()
    }
}

/// A store that counts its commits (to see which writes were grouped).
struct Counting {
    store: Box<dyn Store>,
    commits: Arc<AtomicUsize>,
}

impl Store for Counting {
    fn open(&mut self, network: &BlockHash) -> Result<(), StoreError> {
        self.store.open(network)
    }
    fn headers(&mut self) -> Result<Vec<HeaderRecord>, StoreError> {
        self.store.headers()
    }
    fn active_chain(&mut self) -> Result<Vec<BlockHash>, StoreError> {
        self.store.active_chain()
    }
    fn tip(&mut self) -> Result<Option<BlockHash>, StoreError> {
        self.store.tip()
    }
    fn block(&mut self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.block(hash)
    }
    fn undo(&mut self, hash: &BlockHash) -> Result<Option<BlockChanges>, StoreError> {
        self.store.undo(hash)
    }
    fn utxo(&mut self, outpoint: &OutPoint) -> Result<Option<UtxoEntry>, StoreError> {
        self.store.utxo(outpoint)
    }
    fn utxos(&mut self) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        self.store.utxos()
    }
    fn address_utxos(
        &mut self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError> {
        self.store.address_utxos(address)
    }
    fn tx_location(&mut self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        self.store.tx_location(txid)
    }
    fn txids(&mut self) -> Result<Vec<Txid>, StoreError> {
        self.store.txids()
    }
    fn address_history(
        &mut self,
        address: &PubkeyHash,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        self.store.address_history(address, offset, limit)
    }
    fn mempool(&mut self) -> Result<Vec<MempoolRecord>, StoreError> {
        self.store.mempool()
    }
    fn commit_all(&mut self, changes: &[ChangeSet]) -> Result<(), StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.store.commit_all(changes)
    }
    fn reset(&mut self, fresh: &ChangeSet) -> Result<(), StoreError> {
        self.store.reset(fresh)
    }
    fn connector(&self) -> Option<Connector> {
        self.store.connector()
    }
}

fn open_counting(backend: &Backend) -> (State, Arc<AtomicUsize>) {
    let commits = Arc::new(AtomicUsize::new(0));
    let store = Counting {
        store: backend.store(),
        commits: commits.clone(),
    };
    let state = State::open(network(), Box::new(store), config()).unwrap();
    commits.store(0, Ordering::SeqCst);
    (state, commits)
}

/// `n` transfers from alice, each spending its own genesis output (no two conflict).
fn transfers(chain: &ChainBuilder, n: usize) -> Vec<Transaction> {
    let mut used = Vec::new();
    (0..n)
        .map(|i| {
            chain
                .transfer(
                    &key(1),
                    addr(&key(3)),
                    Amount::from_units(1000 + i as u64).unwrap(),
                    Amount::ZERO,
                    Vec::new(),
                    &mut used,
                )
                .unwrap()
        })
        .collect()
}

fn admissions_are_grouped_into_one_commit_and_durable(backend: &Backend) {
    let chain = ChainBuilder::new(network());
    let txs = transfers(&chain, 40);
    let (state, commits) = open_counting(backend);
    // Admitted first (each visible in the pool at once), then waited for: the first wait commits them all.
    let admissions: Vec<_> = txs
        .iter()
        .map(|tx| state.admit_transaction(tx.clone()).unwrap())
        .collect();
    assert_eq!(state.mempool_size().0, txs.len());
    assert_eq!(
        commits.load(Ordering::SeqCst),
        0,
        "admission writes nothing yet"
    );
    for a in admissions {
        a.wait().unwrap();
    }
    assert_eq!(
        commits.load(Ordering::SeqCst),
        1,
        "40 admissions, one group commit"
    );
    drop(state);
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    let mut stored: Vec<Txid> = reopened.mempool().iter().map(|e| e.txid).collect();
    let mut sent: Vec<Txid> = txs.iter().map(Transaction::txid).collect();
    stored.sort_by_key(|t| *t.as_bytes());
    sent.sort_by_key(|t| *t.as_bytes());
    assert_eq!(stored, sent, "every answered admission survives a restart");
}

fn concurrent_submissions_are_all_accepted_and_stored(backend: &Backend) {
    let chain = ChainBuilder::new(network());
    let txs = transfers(&chain, OUTPUTS);
    let (state, commits) = open_counting(backend);
    let threads: Vec<_> = txs
        .chunks(OUTPUTS / 16)
        .map(|chunk| {
            let (state, chunk) = (state.clone(), chunk.to_vec());
            std::thread::spawn(move || {
                chunk
                    .into_iter()
                    .map(|tx| state.submit_transaction(tx))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for r in t.join().unwrap() {
            r.unwrap();
        }
    }
    assert!(commits.load(Ordering::SeqCst) <= OUTPUTS);
    drop(state);
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(reopened.mempool().len(), OUTPUTS);
}

fn mine(chain: &mut ChainBuilder, txs: Vec<Transaction>) -> Block {
    let t = chain.tip().header.time_ms + 10_000;
    chain
        .mine_block(txs, addr(&key(9)), t, &mut rand::rng())
        .unwrap();
    chain.tip().clone()
}

fn a_batch_is_one_commit_and_stops_at_the_first_bad_block(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    let txs = transfers(&chain, 8);
    let mut blocks: Vec<Block> = txs
        .into_iter()
        .map(|tx| mine(&mut chain, vec![tx]))
        .collect();
    // The sixth block is damaged: its proof of work no longer holds.
    blocks[5].header.nonce ^= 0xdead_beef;
    let bad = blocks[5].hash();
    let (state, commits) = open_counting(backend);
    let batch = state.submit_blocks(blocks.clone(), None);
    assert_eq!(batch.outcomes.len(), 5);
    assert!(
        batch
            .outcomes
            .iter()
            .all(|(_, o)| matches!(o, BlockOutcome::Connected(_)))
    );
    let (at, error) = batch.error.unwrap();
    assert_eq!(at, bad);
    assert!(matches!(error, StateError::InvalidBlock { .. }), "{error}");
    assert_eq!(commits.load(Ordering::SeqCst), 1, "five blocks, one commit");
    assert_eq!(state.tip().hash, blocks[4].hash());
    assert_eq!(state.tip().height.0, 5);
    drop(state);
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(reopened.tip().hash, blocks[4].hash());
    assert!(reopened.block(&blocks[4].hash()).unwrap().is_some());
}

fn a_big_batch_checked_in_parts_stops_at_the_block_with_a_bad_signature(backend: &Backend) {
    // 40 blocks: big enough that their signatures are checked in parts on several cores, each part as one
    // batch. Block 28 (index 27) carries a transfer whose signature was damaged (then the block re-mined).
    let mut chain = ChainBuilder::new(network());
    let txs = transfers(&chain, 40);
    let mut blocks: Vec<Block> = txs
        .into_iter()
        .map(|tx| mine(&mut chain, vec![tx]))
        .collect();
    let bad = &mut blocks[27];
    if let ferrochain_core::TxKind::Transfer { inputs } = &mut bad.transactions[1].kind {
        inputs[0].signature = ferrochain_core::Signature::from_bytes([7; 64]);
    }
    bad.header.merkle_root = ferrochain_core::merkle::merkle_root(&bad.txids());
    assert!(ferrochain_core::builder::mine(&mut bad.header));
    let bad_hash = bad.hash();
    let (state, commits) = open_counting(backend);
    let batch = state.submit_blocks(blocks.clone(), None);
    assert_eq!(batch.outcomes.len(), 27, "the blocks before the bad one");
    let (at, error) = batch.error.unwrap();
    assert_eq!(at, bad_hash);
    assert!(
        error.to_string().contains("signature"),
        "the bad signature is named: {error}"
    );
    assert_eq!(commits.load(Ordering::SeqCst), 1);
    assert_eq!(state.tip().hash, blocks[26].hash());
    // The same blocks one by one agree.
    let (one_by_one, _) = open_counting(&Backend::sqlite());
    for (i, block) in blocks.iter().enumerate() {
        let outcome = one_by_one.submit_block(block.clone());
        assert_eq!(outcome.is_err(), i == 27, "block {i}: {outcome:?}");
        if i == 27 {
            break;
        }
    }
    assert_eq!(one_by_one.tip(), state.tip());
}

fn outputs_created_and_spent_inside_a_batch_leave_the_stored_utxo_set_exact(backend: &Backend) {
    // Each block spends an output the block before it created (alice -> carol -> dave -> erin ...), so a
    // batch store transaction writes no row for those outputs at all: what is stored must still be exactly
    // the UTXO set, after a restart (which loads it from the store) and after a reorg undoes the batch.
    let mut chain = ChainBuilder::new(network());
    let mut blocks = Vec::new();
    for i in 0..6u8 {
        let (from, to) = (key(1 + 2 * (i > 0) as u8 + i.saturating_sub(1)), key(3 + i));
        let mut used = Vec::new();
        let tx = chain
            .transfer(
                &from,
                addr(&to),
                Amount::from_units(100_000 - u64::from(i) * 1000).unwrap(),
                Amount::ZERO,
                Vec::new(),
                &mut used,
            )
            .unwrap();
        blocks.push(mine(&mut chain, vec![tx]));
    }
    let state = State::open(network(), backend.store(), config()).unwrap();
    let batch = state.submit_blocks(blocks.clone(), None);
    assert!(batch.error.is_none(), "{:?}", batch.error);
    assert_eq!(&state.utxo_set(), chain.utxos());
    drop(state);
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(
        &reopened.utxo_set(),
        chain.utxos(),
        "the stored rows are the UTXO set"
    );
    // A longer branch from genesis undoes all six blocks: the outputs they created and spent come back
    // only as their undo data says.
    let mut other = ChainBuilder::new(network());
    let branch: Vec<Block> = (0..7).map(|_| mine(&mut other, Vec::new())).collect();
    // Headers first, as a sync sends them (a side block alone would keep only its header until its branch
    // could win).
    let headers: Vec<_> = branch.iter().map(|b| b.header).collect();
    reopened.submit_headers(&headers).unwrap();
    let batch = reopened.submit_blocks(branch, None);
    assert!(batch.error.is_none(), "{:?}", batch.error);
    assert_eq!(&reopened.utxo_set(), other.utxos());
    drop(reopened);
    let again = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(&again.utxo_set(), other.utxos());
}

fn a_block_removes_only_what_it_confirms_or_conflicts_with(backend: &Backend) {
    let mut chain = ChainBuilder::new(network());
    let state = State::open(network(), backend.store(), config()).unwrap();
    let genesis = chain.network().genesis_hash();
    let others = transfers(&chain, 5);
    for tx in &others {
        state.submit_transaction(tx.clone()).unwrap();
    }
    // Bob pays carol; then a child spends carol's unconfirmed output.
    let mut bob_used = Vec::new();
    let to_carol = chain
        .transfer(
            &key(2),
            addr(&key(3)),
            Amount::from_units(5000).unwrap(),
            Amount::ZERO,
            Vec::new(),
            &mut bob_used,
        )
        .unwrap();
    state.submit_transaction(to_carol.clone()).unwrap();
    let child = Transaction::signed_transfer(
        &[(
            OutPoint {
                txid: to_carol.txid(),
                vout: 0,
            },
            &key(3),
        )],
        vec![TxOut {
            amount: Amount::from_units(4000).unwrap(),
            address: addr(&key(4)),
        }],
        Vec::new(),
        &genesis,
    );
    state.submit_transaction(child.clone()).unwrap();
    assert_eq!(state.mempool().len(), 7);
    // A block confirms the first of the others and a conflicting spend of bob's coin (not `to_carol`).
    let mut fresh = Vec::new();
    let double = chain
        .transfer(
            &key(2),
            addr(&key(5)),
            Amount::from_units(7000).unwrap(),
            Amount::ZERO,
            Vec::new(),
            &mut fresh,
        )
        .unwrap();
    assert_eq!(double.inputs()[0].prev_out, to_carol.inputs()[0].prev_out);
    let block = mine(&mut chain, vec![others[0].clone(), double]);
    // Resent, a pool transaction is refused without its signature being checked again.
    let hits = state.signature_cache_hits();
    assert!(matches!(
        state.submit_transaction(others[1].clone()),
        Err(StateError::Mempool(MempoolError::AlreadyInPool(_)))
    ));
    assert_eq!(state.signature_cache_hits(), hits + 1);
    assert!(matches!(
        state.submit_block(block).unwrap(),
        BlockOutcome::Connected(_)
    ));
    // The block's transaction from the pool was not verified again; the double spend (new here) was.
    assert_eq!(state.signature_cache_hits(), hits + 2);
    let left: Vec<Txid> = state.mempool().iter().map(|e| e.txid).collect();
    let expected: Vec<Txid> = others[1..].iter().map(Transaction::txid).collect();
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(expected.iter().all(|t| left.contains(t)));
    assert!(!left.contains(&to_carol.txid()) && !left.contains(&child.txid()));
    assert_eq!(state.mempool_size().0, 4);
    // The store agrees.
    drop(state);
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(reopened.mempool().len(), 4);
}

fn records_are_limited_per_author(backend: &Backend) {
    let state = State::open(network(), backend.store(), config()).unwrap();
    let genesis = network().genesis_hash();
    let record = |author: u8, i: usize| {
        Transaction::signed_record(
            &key(author),
            format!("lot {i} packed").into_bytes(),
            1_700_000_000_000 + i as u64,
            &genesis,
        )
    };
    for i in 0..MAX_RECORDS_PER_AUTHOR {
        state.submit_transaction(record(7, i)).unwrap();
    }
    assert!(matches!(
        state.submit_transaction(record(7, MAX_RECORDS_PER_AUTHOR)),
        Err(StateError::Mempool(MempoolError::TooManyRecords))
    ));
    // Another author is not held back by the first one.
    state.submit_transaction(record(8, 0)).unwrap();
}

fn a_state_can_be_dropped_on_an_async_worker(backend: &Backend) {
    // A node's last handle is often dropped at the end of its async server; closing the synchronous
    // PostgreSQL client there used to panic ("Cannot start a runtime from within a runtime").
    let state = State::open(network(), backend.store(), config()).unwrap();
    let reader = state.clone();
    assert_eq!(reader.tip().height.0, 0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async move {
        drop(state);
        drop(reader);
    });
    // It closed: the store opens again.
    let reopened = State::open(network(), backend.store(), config()).unwrap();
    assert_eq!(reopened.tip().height.0, 0);
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            for backend in backends() {
                eprintln!("{}: {}", stringify!($name), backend.name());
                super::$name(&backend);
            }
        }
    )*};
}

mod on {
    use super::support::backends;
    on_every_backend!(
        admissions_are_grouped_into_one_commit_and_durable,
        concurrent_submissions_are_all_accepted_and_stored,
        a_batch_is_one_commit_and_stops_at_the_first_bad_block,
        a_big_batch_checked_in_parts_stops_at_the_block_with_a_bad_signature,
        a_block_removes_only_what_it_confirms_or_conflicts_with,
        records_are_limited_per_author,
        a_state_can_be_dropped_on_an_async_worker,
        outputs_created_and_spent_inside_a_batch_leave_the_stored_utxo_set_exact,
    );
}
