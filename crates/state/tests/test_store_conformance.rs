//! The store conformance suite: one set of tests, each run against every backend — SQLite in memory, SQLite
//! in a file, and PostgreSQL when `FERROCHAIN_TEST_POSTGRES_URL` is set (each PostgreSQL test works in a
//! fresh schema of that database and drops it at the end; without the variable those tests print a notice
//! and pass).
//!
//! The chains are real: built, mined and checked by `ChainBuilder` on an easy custom network, with transfers,
//! change, a transaction spending an output created in the same block, a record and miner rewards. The test
//! computes the index rows (`ConnectRecord`) from the blocks as the node does, commits them, and checks that
//! every read returns exactly what the builder says.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use ferrochain_core::builder::ChainBuilder;
use ferrochain_core::crypto::{PubkeyHash, SigningKey};
use ferrochain_core::spec::Allocation;
use ferrochain_core::tx::{OutPoint, Transaction, TxOut};
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{
    Amount, Block, BlockHash, ChainSpec, Encode, Height, Network, Target, Txid, Work,
};
use ferrochain_state::postgres::PostgresStore;
use ferrochain_state::schema::SCHEMA_VERSION;
use ferrochain_state::sqlite::SqliteStore;
use ferrochain_state::store::{
    ChangeSet, ConnectRecord, HeaderRecord, HistoryRow, MempoolRecord, Store, StoreError,
    TxLocation,
};

// ---------------------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------------------

/// Storage a test runs on.
trait Backend {
    /// A store on this backend's storage, not yet opened. The first call starts from empty storage; later
    /// calls reach the same storage again, as a restarted node does (only if [`Backend::can_reopen`]).
    fn store(&mut self) -> Box<dyn Store>;
    /// Whether [`Backend::store`] can be called again to reach the same data.
    fn can_reopen(&self) -> bool;
    /// Runs raw SQL on the storage behind the store's back (to damage it); `false` if not possible.
    fn execute(&mut self, sql: &str) -> bool;
    /// The environment variable and value that let a child process reach the same storage, if any.
    fn child_env(&self) -> Option<(&'static str, String)>;
}

/// Environment of the writer child process: the SQLite file it writes.
const CHILD_SQLITE: &str = "FERROCHAIN_TEST_CHILD_SQLITE";
/// Environment of the writer child process: the PostgreSQL schema it writes (in the test database).
const CHILD_PG_SCHEMA: &str = "FERROCHAIN_TEST_CHILD_PG_SCHEMA";

struct SqliteMemory;

impl Backend for SqliteMemory {
    fn store(&mut self) -> Box<dyn Store> {
        Box::new(SqliteStore::open_in_memory().unwrap())
    }
    fn can_reopen(&self) -> bool {
        false
    }
    fn execute(&mut self, _sql: &str) -> bool {
        false
    }
    fn child_env(&self) -> Option<(&'static str, String)> {
        None
    }
}

struct SqliteFile {
    dir: tempfile::TempDir,
}

impl SqliteFile {
    fn new() -> Self {
        SqliteFile {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self) -> PathBuf {
        // A directory that does not exist yet: `open_path` creates it.
        self.dir.path().join("data").join("chain.sqlite")
    }
}

impl Backend for SqliteFile {
    fn store(&mut self) -> Box<dyn Store> {
        Box::new(SqliteStore::open_path(&self.path()).unwrap())
    }
    fn can_reopen(&self) -> bool {
        true
    }
    fn execute(&mut self, sql: &str) -> bool {
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.execute_batch(sql).unwrap();
        true
    }
    fn child_env(&self) -> Option<(&'static str, String)> {
        Some((CHILD_SQLITE, self.path().display().to_string()))
    }
}

struct Postgres {
    url: String,
    schema: String,
    admin: ::postgres::Client,
}

impl Postgres {
    /// A fresh schema in the test database, or `None` (with a notice) when no database is configured.
    fn from_env() -> Option<Self> {
        let Ok(url) = std::env::var("FERROCHAIN_TEST_POSTGRES_URL") else {
            eprintln!("PostgreSQL conformance skipped: FERROCHAIN_TEST_POSTGRES_URL is not set");
            return None;
        };
        let schema = format!("t_{:016x}", rand::random::<u64>());
        let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET search_path TO {schema}"
            ))
            .unwrap();
        Some(Postgres { url, schema, admin })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

impl Backend for Postgres {
    fn store(&mut self) -> Box<dyn Store> {
        Box::new(PostgresStore::connect_with_schema(&self.url, Some(&self.schema)).unwrap())
    }
    fn can_reopen(&self) -> bool {
        true
    }
    fn execute(&mut self, sql: &str) -> bool {
        self.admin.batch_execute(sql).unwrap();
        true
    }
    fn child_env(&self) -> Option<(&'static str, String)> {
        Some((CHILD_PG_SCHEMA, self.schema.clone()))
    }
}

/// Instantiates every listed test once per backend: `sqlite_memory::NAME`, `sqlite_file::NAME`,
/// `postgres::NAME`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_memory {
            $( #[test] fn $name() { super::$name(&mut super::SqliteMemory); } )*
        }
        mod sqlite_file {
            $( #[test] fn $name() { super::$name(&mut super::SqliteFile::new()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(mut backend) = super::Postgres::from_env() {
                        super::$name(&mut backend);
                    }
                }
            )*
        }
    };
}

conformance!(
    open_binds_the_network_and_refuses_another,
    committed_chain_reads_back_exactly,
    address_history_pages_newest_first,
    disconnect_restores_the_utxo_set_and_removes_index_rows,
    reorg_in_one_commit_matches_the_fork,
    mempool_keeps_arrival_order_and_applies_removals_first,
    restart_reads_back_the_same,
    failed_commit_leaves_no_trace,
    headers_are_replaced_and_oversized_values_refused,
    newer_schema_is_refused,
    corrupt_rows_are_reported_not_panicked,
    killed_writer_leaves_whole_commits,
    reset_leaves_only_the_fresh_chain,
    failed_reset_leaves_no_trace,
);

// ---------------------------------------------------------------------------------------------------------
// Fixture: a real chain, its fork, and what the node would commit for them
// ---------------------------------------------------------------------------------------------------------

const COIN: u64 = 100_000_000;
const FEE: u64 = 1_000;
const HEIGHT: u64 = 20;
const FORK_AT: u64 = 15;
const FORK_HEIGHT: u64 = 21;

struct Fixture {
    network: Network,
    /// Genesis and blocks 1..=20.
    chain: ChainBuilder,
    /// The same chain up to 15, then blocks 16'..=21' — more work.
    fork: ChainBuilder,
    keys: Vec<SigningKey>,
}

impl Fixture {
    fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(build_fixture)
    }

    fn addresses(&self) -> Vec<PubkeyHash> {
        self.keys.iter().map(addr).collect()
    }

    fn genesis(&self) -> BlockHash {
        self.network.genesis_hash()
    }
}

fn addr(key: &SigningKey) -> PubkeyHash {
    key.public_key().pubkey_hash()
}

fn coins(units: u64) -> Amount {
    Amount::from_units(units).unwrap()
}

fn time_of(net: &Network, height: u64) -> u64 {
    net.spec().genesis_time_ms + height * 10_000
}

/// Pays `amount` from `from` to `to` with change back, spending one output of `from` not in `used`.
fn pay(
    chain: &ChainBuilder,
    from: &SigningKey,
    to: PubkeyHash,
    amount: u64,
    used: &mut Vec<OutPoint>,
) -> Transaction {
    let (outpoint, entry) = chain
        .spendable(&addr(from))
        .into_iter()
        .find(|(o, e)| !used.contains(o) && e.output.amount.to_units() >= amount + FEE)
        .expect("the fixture's payer has funds");
    used.push(outpoint);
    spend(
        chain,
        from,
        outpoint,
        entry.output.amount.to_units(),
        to,
        amount,
    )
}

fn spend(
    chain: &ChainBuilder,
    from: &SigningKey,
    outpoint: OutPoint,
    value: u64,
    to: PubkeyHash,
    amount: u64,
) -> Transaction {
    let mut outputs = vec![TxOut {
        amount: coins(amount),
        address: to,
    }];
    let change = value - amount - FEE;
    if change > 0 {
        outputs.push(TxOut {
            amount: coins(change),
            address: addr(from),
        });
    }
    Transaction::signed_transfer(
        &[(outpoint, from)],
        outputs,
        Vec::new(),
        &chain.network().genesis_hash(),
    )
}

fn build_fixture() -> Fixture {
    let keys: Vec<SigningKey> = (1..=4u8)
        .map(|b| SigningKey::from_secret_bytes([b; 32]))
        .collect();
    let [alice, bob, carol, miner] = [&keys[0], &keys[1], &keys[2], &keys[3]];
    let mut spec = ChainSpec::dev();
    spec.name = "store-conformance".into();
    spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
    spec.genesis_allocations = vec![
        Allocation {
            address: addr(alice),
            amount: coins(1_000 * COIN),
        },
        Allocation {
            address: addr(bob),
            amount: coins(500 * COIN),
        },
    ];
    let network = Network::new(spec).unwrap();
    let genesis = network.genesis_hash();
    let mut chain = ChainBuilder::new(network.clone());
    let mut rng = rand::rng();
    for h in 1..=HEIGHT {
        let mut used = Vec::new();
        let first = pay(&chain, alice, addr(bob), 10 * COIN, &mut used);
        let mut txs = vec![first.clone()];
        if h % 3 == 0 {
            txs.push(pay(&chain, bob, addr(carol), 3 * COIN, &mut used));
        }
        if h % 4 == 0 {
            txs.push(pay(&chain, miner, addr(alice), COIN, &mut used));
        }
        if h == 7 {
            txs.push(Transaction::signed_record(
                carol,
                b"a record".to_vec(),
                time_of(&network, h),
                &genesis,
            ));
        }
        if h == 10 {
            // Bob spends, in the same block, the output Alice's payment creates: neither appears in the
            // block's net changes.
            let created = OutPoint {
                txid: first.txid(),
                vout: 0,
            };
            txs.push(spend(
                &chain,
                bob,
                created,
                10 * COIN,
                addr(carol),
                5 * COIN,
            ));
        }
        chain
            .mine_block(txs, addr(miner), time_of(&network, h), &mut rng)
            .unwrap();
    }
    let mut fork = chain.clone();
    while fork.height().0 > FORK_AT {
        fork.pop();
    }
    for h in FORK_AT + 1..=FORK_HEIGHT {
        let mut txs = Vec::new();
        if h == FORK_AT + 1 {
            let mut used = Vec::new();
            txs.push(pay(&fork, bob, addr(carol), 7 * COIN, &mut used));
        }
        fork.mine_block(txs, addr(carol), time_of(&network, h) + 1, &mut rng)
            .unwrap();
    }
    Fixture {
        network,
        chain,
        fork,
        keys,
    }
}

/// The index rows of a block, as the node computes them.
fn connect_record(block: &Block, changes: &BlockChanges) -> ConnectRecord {
    let mut txs = Vec::new();
    let mut history = Vec::new();
    for (i, tx) in block.transactions.iter().enumerate() {
        let txid = tx.txid();
        let index = u32::try_from(i).unwrap();
        txs.push((txid, index));
        let mut addresses: Vec<PubkeyHash> = tx
            .inputs()
            .iter()
            .map(|input| input.public_key.pubkey_hash())
            .chain(tx.outputs.iter().map(|o| o.address))
            .collect();
        addresses.sort();
        addresses.dedup();
        history.extend(addresses.into_iter().map(|a| (a, txid, index)));
    }
    ConnectRecord {
        changes: changes.clone(),
        txs,
        history,
    }
}

/// Block-index entries for `chain`'s blocks at `heights`, with cumulative work and `seq` = `seq_base` +
/// height.
fn header_records(
    chain: &ChainBuilder,
    heights: std::ops::RangeInclusive<u64>,
    seq_base: u64,
) -> Vec<HeaderRecord> {
    let mut work = Work::ZERO;
    let mut out = Vec::new();
    for (h, block) in chain.blocks().iter().enumerate() {
        let h = h as u64;
        work = work
            .checked_add(block.header.bits.to_target().unwrap().work())
            .unwrap();
        if heights.contains(&h) {
            out.push(HeaderRecord {
                hash: block.hash(),
                header: block.header,
                chain_work: work,
                seq: seq_base + h,
                has_body: true,
                invalid: false,
            });
        }
    }
    out
}

fn bodies(
    chain: &ChainBuilder,
    heights: std::ops::RangeInclusive<u64>,
) -> Vec<(BlockHash, Vec<u8>)> {
    heights
        .map(|h| {
            let block = &chain.blocks()[h as usize];
            (block.hash(), block.to_bytes())
        })
        .collect()
}

fn connects(chain: &ChainBuilder, heights: std::ops::RangeInclusive<u64>) -> Vec<ConnectRecord> {
    heights
        .map(|h| connect_record(&chain.blocks()[h as usize], &chain.changes()[h as usize]))
        .collect()
}

/// What the node commits to store `chain` from scratch.
fn whole_chain(chain: &ChainBuilder) -> ChangeSet {
    let all = 0..=chain.height().0;
    ChangeSet {
        headers: header_records(chain, all.clone(), 0),
        bodies: bodies(chain, all.clone()),
        connect: connects(chain, all),
        tip: Some(chain.tip().hash()),
        ..ChangeSet::default()
    }
}

/// Disconnects the blocks of `chain` above `height`, tip first.
fn disconnect_above(chain: &ChainBuilder, height: u64) -> Vec<BlockChanges> {
    chain.changes()[height as usize + 1..]
        .iter()
        .rev()
        .cloned()
        .collect()
}

fn popped(chain: &ChainBuilder, height: u64) -> ChainBuilder {
    let mut chain = chain.clone();
    while chain.height().0 > height {
        chain.pop();
    }
    chain
}

/// An opened store holding the fixture's whole chain.
fn store_with_chain(backend: &mut dyn Backend) -> Box<dyn Store> {
    let fx = Fixture::get();
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    store.commit(&whole_chain(&fx.chain)).unwrap();
    store
}

// ---------------------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------------------

/// An address's history in `chain`, newest first.
fn expected_history(chain: &ChainBuilder, address: &PubkeyHash) -> Vec<HistoryRow> {
    let mut rows = Vec::new();
    for block in chain.blocks() {
        for (i, tx) in block.transactions.iter().enumerate() {
            let involved = tx.outputs.iter().any(|o| o.address == *address)
                || tx
                    .inputs()
                    .iter()
                    .any(|input| input.public_key.pubkey_hash() == *address);
            if involved {
                rows.push(HistoryRow {
                    txid: tx.txid(),
                    height: block.header.height,
                    index: u32::try_from(i).unwrap(),
                });
            }
        }
    }
    rows.reverse();
    rows
}

fn sorted_utxos(chain: &ChainBuilder) -> Vec<(OutPoint, UtxoEntry)> {
    let mut utxos: Vec<_> = chain.utxos().iter().map(|(o, e)| (*o, *e)).collect();
    utxos.sort_by_key(|(o, _)| *o);
    utxos
}

/// Checks that every read of `store` describes `chain` as its active chain.
fn assert_holds(store: &mut dyn Store, chain: &ChainBuilder, what: &str) {
    let fx = Fixture::get();
    let hashes: Vec<BlockHash> = chain.blocks().iter().map(Block::hash).collect();
    assert_eq!(
        store.active_chain().unwrap(),
        hashes,
        "{what}: active chain"
    );
    assert_eq!(
        store.tip().unwrap(),
        Some(chain.tip().hash()),
        "{what}: tip"
    );

    let utxos = sorted_utxos(chain);
    assert_eq!(store.utxos().unwrap(), utxos, "{what}: UTXO set");
    for (outpoint, entry) in &utxos {
        assert_eq!(store.utxo(outpoint).unwrap(), Some(*entry), "{what}: utxo");
    }
    for address in fx.addresses() {
        assert_eq!(
            store.address_utxos(&address).unwrap(),
            chain.spendable(&address),
            "{what}: address utxos"
        );
        assert_eq!(
            store.address_history(&address, 0, u64::MAX).unwrap(),
            expected_history(chain, &address),
            "{what}: address history"
        );
    }

    let mut txids = Vec::new();
    for (h, block) in chain.blocks().iter().enumerate() {
        let hash = block.hash();
        assert_eq!(
            store.undo(&hash).unwrap().as_ref(),
            Some(&chain.changes()[h]),
            "{what}: undo data of block {h}"
        );
        assert_eq!(
            store.block(&hash).unwrap(),
            Some(block.to_bytes()),
            "{what}: body of block {h}"
        );
        for (i, tx) in block.transactions.iter().enumerate() {
            let location = TxLocation {
                block: hash,
                height: Height(h as u64),
                index: u32::try_from(i).unwrap(),
            };
            assert_eq!(
                store.tx_location(&tx.txid()).unwrap(),
                Some(location),
                "{what}: location of a transaction of block {h}"
            );
            txids.push(tx.txid());
        }
    }
    let mut stored = store.txids().unwrap();
    stored.sort();
    txids.sort();
    assert_eq!(stored, txids, "{what}: txids");
    // Spent outputs are gone.
    for changes in chain.changes() {
        for (outpoint, _) in &changes.spent {
            assert_eq!(store.utxo(outpoint).unwrap(), None, "{what}: spent output");
        }
    }
}

/// Everything a store answers about the fixture, for before/after comparisons.
#[derive(Debug, PartialEq)]
struct Snapshot {
    headers: Vec<HeaderRecord>,
    active: Vec<BlockHash>,
    tip: Option<BlockHash>,
    utxos: Vec<(OutPoint, UtxoEntry)>,
    txids: Vec<Txid>,
    mempool: Vec<MempoolRecord>,
    per_block: BTreeMap<BlockHash, (Option<Vec<u8>>, Option<BlockChanges>)>,
    locations: BTreeMap<Txid, Option<TxLocation>>,
    history: BTreeMap<PubkeyHash, Vec<HistoryRow>>,
}

fn snapshot(store: &mut dyn Store) -> Snapshot {
    let fx = Fixture::get();
    let mut headers = store.headers().unwrap();
    headers.sort_by_key(|h| h.hash);
    let mut txids = store.txids().unwrap();
    txids.sort();
    let blocks = fx.chain.blocks().iter().chain(fx.fork.blocks());
    let mut per_block = BTreeMap::new();
    let mut locations = BTreeMap::new();
    for block in blocks {
        let hash = block.hash();
        per_block.insert(
            hash,
            (store.block(&hash).unwrap(), store.undo(&hash).unwrap()),
        );
        for tx in &block.transactions {
            locations.insert(tx.txid(), store.tx_location(&tx.txid()).unwrap());
        }
    }
    let history = fx
        .addresses()
        .into_iter()
        .map(|a| (a, store.address_history(&a, 0, u64::MAX).unwrap()))
        .collect();
    Snapshot {
        headers,
        active: store.active_chain().unwrap(),
        tip: store.tip().unwrap(),
        utxos: store.utxos().unwrap(),
        txids,
        mempool: store.mempool().unwrap(),
        per_block,
        locations,
        history,
    }
}

fn mempool_record(seq: u64, payload: &[u8]) -> MempoolRecord {
    let fx = Fixture::get();
    let tx = Transaction::signed_record(&fx.keys[2], payload.to_vec(), seq, &fx.genesis());
    MempoolRecord {
        txid: tx.txid(),
        bytes: tx.to_bytes(),
        seq,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

fn open_binds_the_network_and_refuses_another(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let other = Network::dev().genesis_hash();
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    // A fresh store is empty.
    assert_eq!(store.tip().unwrap(), None);
    assert!(store.active_chain().unwrap().is_empty());
    assert!(store.headers().unwrap().is_empty());
    assert!(store.utxos().unwrap().is_empty());
    assert!(store.txids().unwrap().is_empty());
    assert!(store.mempool().unwrap().is_empty());
    assert_eq!(store.block(&fx.genesis()).unwrap(), None);
    assert_eq!(store.undo(&fx.genesis()).unwrap(), None);
    // Opening again with the same network is fine; with another it is refused, naming both.
    store.open(&fx.genesis()).unwrap();
    match store.open(&other) {
        Err(StoreError::WrongNetwork { expected, found }) => {
            assert_eq!(expected, other);
            assert_eq!(found, fx.genesis());
        }
        r => panic!("expected WrongNetwork, got {r:?}"),
    }
    // An empty commit changes nothing.
    store.commit(&ChangeSet::default()).unwrap();
    assert_eq!(store.tip().unwrap(), None);
    if backend.can_reopen() {
        drop(store);
        let mut store = backend.store();
        assert!(matches!(
            store.open(&other),
            Err(StoreError::WrongNetwork { .. })
        ));
        store.open(&fx.genesis()).unwrap();
    }
}

fn committed_chain_reads_back_exactly(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    assert_holds(store.as_mut(), &fx.chain, "after committing the chain");
    let mut headers = store.headers().unwrap();
    headers.sort_by_key(|h| h.seq);
    assert_eq!(headers, header_records(&fx.chain, 0..=HEIGHT, 0));
    // Some outputs were spent and some created in the same block: the set really is the net one.
    assert!(fx.chain.changes().iter().any(|c| !c.spent.is_empty()));
    assert_eq!(store.tx_location(&Txid::ZERO).unwrap(), None);
    assert_eq!(
        store
            .utxo(&OutPoint {
                txid: Txid::ZERO,
                vout: 0
            })
            .unwrap(),
        None
    );
    assert!(
        store
            .address_utxos(&PubkeyHash::from_bytes([9; 20]))
            .unwrap()
            .is_empty()
    );
}

fn address_history_pages_newest_first(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    for address in fx.addresses() {
        let expected = expected_history(&fx.chain, &address);
        assert!(
            expected.len() > 5,
            "the fixture gives every address a history"
        );
        assert!(
            expected
                .windows(2)
                .all(|w| (w[0].height, w[0].index) > (w[1].height, w[1].index))
        );
        let mut paged = Vec::new();
        let mut offset = 0;
        loop {
            let page = store.address_history(&address, offset, 3).unwrap();
            assert!(page.len() <= 3);
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            paged.extend(page);
        }
        assert_eq!(paged, expected);
        assert_eq!(
            store.address_history(&address, 2, 4).unwrap(),
            expected[2..6].to_vec()
        );
        assert!(store.address_history(&address, 0, 0).unwrap().is_empty());
        assert!(
            store
                .address_history(&address, expected.len() as u64, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .address_history(&address, u64::MAX, u64::MAX)
                .unwrap()
                .is_empty()
        );
    }
    assert!(
        store
            .address_history(&PubkeyHash::from_bytes([9; 20]), 0, 10)
            .unwrap()
            .is_empty()
    );
}

fn disconnect_restores_the_utxo_set_and_removes_index_rows(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    let at = HEIGHT - 5;
    let shorter = popped(&fx.chain, at);
    store
        .commit(&ChangeSet {
            disconnect: disconnect_above(&fx.chain, at),
            tip: Some(shorter.tip().hash()),
            ..ChangeSet::default()
        })
        .unwrap();
    assert_holds(store.as_mut(), &shorter, "after disconnecting 5 blocks");
    for block in &fx.chain.blocks()[at as usize + 1..] {
        assert_eq!(store.undo(&block.hash()).unwrap(), None);
        for tx in &block.transactions {
            assert_eq!(store.tx_location(&tx.txid()).unwrap(), None);
        }
        // The block stays known: header and body are kept for a later reorg back.
        assert_eq!(store.block(&block.hash()).unwrap(), Some(block.to_bytes()));
    }
    assert_eq!(store.headers().unwrap().len(), HEIGHT as usize + 1);
    for address in fx.addresses() {
        let history = store.address_history(&address, 0, u64::MAX).unwrap();
        assert!(history.iter().all(|row| row.height.0 <= at));
    }
    // Connecting them again gives back exactly the longer chain.
    store
        .commit(&ChangeSet {
            connect: connects(&fx.chain, at + 1..=HEIGHT),
            tip: Some(fx.chain.tip().hash()),
            ..ChangeSet::default()
        })
        .unwrap();
    assert_holds(store.as_mut(), &fx.chain, "after reconnecting them");
}

fn reorg_in_one_commit_matches_the_fork(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    let fork_range = FORK_AT + 1..=FORK_HEIGHT;
    store
        .commit(&ChangeSet {
            headers: header_records(&fx.fork, fork_range.clone(), 100),
            bodies: bodies(&fx.fork, fork_range.clone()),
            disconnect: disconnect_above(&fx.chain, FORK_AT),
            connect: connects(&fx.fork, fork_range),
            tip: Some(fx.fork.tip().hash()),
            ..ChangeSet::default()
        })
        .unwrap();
    assert_holds(store.as_mut(), &fx.fork, "after the reorg");
    assert_eq!(
        store.headers().unwrap().len(),
        (HEIGHT + 1 + FORK_HEIGHT - FORK_AT) as usize
    );
    for block in &fx.chain.blocks()[FORK_AT as usize + 1..] {
        for tx in &block.transactions {
            assert_eq!(store.tx_location(&tx.txid()).unwrap(), None);
        }
    }
}

fn mempool_keeps_arrival_order_and_applies_removals_first(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    let [a, b, c, d] = [5, 1, 3, 7].map(|seq| mempool_record(seq, format!("tx {seq}").as_bytes()));
    store
        .commit(&ChangeSet {
            mempool_add: vec![a.clone(), b.clone(), c.clone()],
            ..ChangeSet::default()
        })
        .unwrap();
    assert_eq!(
        store.mempool().unwrap(),
        vec![b.clone(), c.clone(), a.clone()]
    );
    store
        .commit(&ChangeSet {
            mempool_remove: vec![b.txid, Txid::ZERO],
            mempool_add: vec![d.clone()],
            ..ChangeSet::default()
        })
        .unwrap();
    assert_eq!(
        store.mempool().unwrap(),
        vec![c.clone(), a.clone(), d.clone()]
    );
    // Removals are applied before additions: a transaction removed and added in one change set stays.
    store
        .commit(&ChangeSet {
            mempool_remove: vec![a.txid, c.txid],
            mempool_add: vec![a.clone()],
            ..ChangeSet::default()
        })
        .unwrap();
    assert_eq!(store.mempool().unwrap(), vec![a, d]);
}

fn restart_reads_back_the_same(backend: &mut dyn Backend) {
    if !backend.can_reopen() {
        return;
    }
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    store
        .commit(&ChangeSet {
            mempool_add: vec![mempool_record(1, b"one"), mempool_record(2, b"two")],
            ..ChangeSet::default()
        })
        .unwrap();
    let before = snapshot(store.as_mut());
    drop(store);
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    assert_eq!(snapshot(store.as_mut()), before);
    assert_holds(store.as_mut(), &fx.chain, "after a restart");
}

fn failed_commit_leaves_no_trace(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    store
        .commit(&ChangeSet {
            mempool_add: vec![mempool_record(1, b"one")],
            ..ChangeSet::default()
        })
        .unwrap();
    let before = snapshot(store.as_mut());
    let fork_20 = FORK_AT + 5;
    let new_header = header_records(&fx.fork, FORK_AT + 1..=FORK_AT + 1, 100);
    let new_body = bodies(&fx.fork, FORK_AT + 1..=FORK_AT + 1);

    // 1. Everything succeeds — a new header and body, disconnecting block 20, connecting it again, the
    //    whole of a second block 20' (its outputs, undo data, index rows) — until 20' claims height 20.
    let result = store.commit(&ChangeSet {
        headers: new_header.clone(),
        bodies: new_body.clone(),
        disconnect: disconnect_above(&fx.chain, HEIGHT - 1),
        connect: vec![
            connects(&fx.chain, HEIGHT..=HEIGHT).remove(0),
            connects(&fx.fork, fork_20..=fork_20).remove(0),
        ],
        mempool_remove: vec![before.mempool[0].txid],
        mempool_add: vec![mempool_record(2, b"two")],
        tip: Some(fx.fork.blocks()[fork_20 as usize].hash()),
    });
    match result {
        Err(StoreError::Database(message)) => assert!(message.contains("height 20"), "{message}"),
        r => panic!("expected a refused commit, got {r:?}"),
    }
    assert_eq!(
        snapshot(store.as_mut()),
        before,
        "after the height conflict"
    );

    // 2. A block at the free height 21 spending an output that is not in the UTXO set (one block 20
    //    spent); every other row it writes would fit.
    let spent_by_20 = fx.chain.changes()[HEIGHT as usize].spent[0];
    let result = store.commit(&ChangeSet {
        headers: new_header.clone(),
        bodies: new_body.clone(),
        connect: vec![ConnectRecord {
            changes: BlockChanges {
                height: Height(HEIGHT + 1),
                block_hash: new_header[0].hash,
                spent: vec![spent_by_20],
                ..BlockChanges::default()
            },
            txs: Vec::new(),
            history: Vec::new(),
        }],
        ..ChangeSet::default()
    });
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(snapshot(store.as_mut()), before, "after the missing output");

    // 3. Disconnecting a block that is not the active one at its height (20' instead of 20).
    let result = store.commit(&ChangeSet {
        headers: new_header,
        bodies: new_body,
        disconnect: vec![BlockChanges {
            height: Height(HEIGHT),
            block_hash: fx.fork.blocks()[fork_20 as usize].hash(),
            ..BlockChanges::default()
        }],
        ..ChangeSet::default()
    });
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(
        snapshot(store.as_mut()),
        before,
        "after the wrong disconnect"
    );

    // The store still works.
    store
        .commit(&ChangeSet {
            mempool_add: vec![mempool_record(2, b"two")],
            ..ChangeSet::default()
        })
        .unwrap();
    assert_eq!(store.mempool().unwrap().len(), 2);
}

/// A store holding the chain, its fork's blocks (known, not active) and a mempool.
fn store_with_chain_fork_and_mempool(backend: &mut dyn Backend) -> Box<dyn Store> {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    let fork_range = FORK_AT + 1..=FORK_HEIGHT;
    store
        .commit(&ChangeSet {
            headers: header_records(&fx.fork, fork_range.clone(), 100),
            bodies: bodies(&fx.fork, fork_range),
            mempool_add: vec![mempool_record(1, b"one"), mempool_record(2, b"two")],
            ..ChangeSet::default()
        })
        .unwrap();
    store
}

fn reset_leaves_only_the_fresh_chain(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain_fork_and_mempool(backend);
    let genesis_only = popped(&fx.chain, 0);
    // Blocks of the chain spent genesis outputs: the reset must bring them back, not only delete rows.
    assert!(
        fx.chain.changes()[1..]
            .iter()
            .flat_map(|c| &c.spent)
            .any(|(_, e)| e.height.0 == 0)
    );
    store.reset(&whole_chain(&genesis_only)).unwrap();
    assert_holds(store.as_mut(), &genesis_only, "after the reset");
    assert_eq!(
        store.headers().unwrap(),
        header_records(&genesis_only, 0..=0, 0)
    );
    assert!(store.mempool().unwrap().is_empty());
    for block in fx.chain.blocks()[1..].iter().chain(&fx.fork.blocks()[1..]) {
        assert_eq!(store.block(&block.hash()).unwrap(), None);
        assert_eq!(store.undo(&block.hash()).unwrap(), None);
        for tx in &block.transactions {
            assert_eq!(store.tx_location(&tx.txid()).unwrap(), None);
        }
    }
    for address in fx.addresses() {
        let history = store.address_history(&address, 0, u64::MAX).unwrap();
        assert!(history.iter().all(|row| row.height.0 == 0), "{history:?}");
    }
    // The network binding stays, and the heights are free again: the old chain commits as it did at first.
    store.open(&fx.genesis()).unwrap();
    assert!(matches!(
        store.open(&Network::dev().genesis_hash()),
        Err(StoreError::WrongNetwork { .. })
    ));
    let rest = 1..=HEIGHT;
    store
        .commit(&ChangeSet {
            headers: header_records(&fx.chain, rest.clone(), 0),
            bodies: bodies(&fx.chain, rest.clone()),
            connect: connects(&fx.chain, rest),
            tip: Some(fx.chain.tip().hash()),
            ..ChangeSet::default()
        })
        .unwrap();
    assert_holds(
        store.as_mut(),
        &fx.chain,
        "after committing the chain again",
    );
    if backend.can_reopen() {
        store.reset(&whole_chain(&genesis_only)).unwrap();
        drop(store);
        let mut store = backend.store();
        store.open(&fx.genesis()).unwrap();
        assert_holds(store.as_mut(), &genesis_only, "after a reset and a restart");
    }
}

fn failed_reset_leaves_no_trace(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain_fork_and_mempool(backend);
    let before = snapshot(store.as_mut());
    // The wipe succeeds, then the fresh chain fails: its genesis spends an output that no longer exists.
    let mut fresh = whole_chain(&popped(&fx.chain, 0));
    fresh.connect[0].changes.spent = vec![fx.chain.changes()[HEIGHT as usize].created[0]];
    let result = store.reset(&fresh);
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(snapshot(store.as_mut()), before, "after the failed reset");
    // The store still works.
    store.reset(&whole_chain(&popped(&fx.chain, 0))).unwrap();
    assert_holds(store.as_mut(), &popped(&fx.chain, 0), "after a good reset");
}

fn headers_are_replaced_and_oversized_values_refused(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    // A header entry is replaced: the block was found invalid.
    let mut record = header_records(&fx.chain, 5..=5, 0).remove(0);
    record.invalid = true;
    record.has_body = false;
    store
        .commit(&ChangeSet {
            headers: vec![record],
            ..ChangeSet::default()
        })
        .unwrap();
    let headers = store.headers().unwrap();
    assert_eq!(headers.len(), HEIGHT as usize + 1);
    assert_eq!(
        headers.iter().find(|h| h.hash == record.hash),
        Some(&record)
    );

    // The largest value a column holds round-trips; a larger one is refused and nothing is written.
    let mut big = header_records(&fx.fork, FORK_AT + 1..=FORK_AT + 1, 0).remove(0);
    big.seq = i64::MAX as u64;
    store
        .commit(&ChangeSet {
            headers: vec![big],
            ..ChangeSet::default()
        })
        .unwrap();
    assert!(store.headers().unwrap().contains(&big));
    let before = snapshot(store.as_mut());
    let mut too_big = header_records(&fx.fork, FORK_AT + 2..=FORK_AT + 2, 0).remove(0);
    too_big.seq = u64::MAX;
    let result = store.commit(&ChangeSet {
        bodies: bodies(&fx.fork, FORK_AT + 2..=FORK_AT + 2),
        headers: vec![too_big],
        mempool_add: vec![mempool_record(u64::MAX, b"late")],
        ..ChangeSet::default()
    });
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(snapshot(store.as_mut()), before);
}

fn newer_schema_is_refused(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    let newer = SCHEMA_VERSION + 1;
    if !backend.execute(&format!(
        "UPDATE meta SET value = '{newer}' WHERE key = 'schema_version'"
    )) {
        return;
    }
    drop(store);
    let mut store = backend.store();
    match store.open(&fx.genesis()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (newer, SCHEMA_VERSION));
        }
        r => panic!("expected SchemaTooNew, got {r:?}"),
    }
    // Refusing wrote nothing: the version is still the newer one.
    let mut store = backend.store();
    assert!(matches!(
        store.open(&fx.genesis()),
        Err(StoreError::SchemaTooNew { .. })
    ));
}

fn corrupt_rows_are_reported_not_panicked(backend: &mut dyn Backend) {
    let fx = Fixture::get();
    let mut store = store_with_chain(backend);
    store
        .commit(&ChangeSet {
            mempool_add: vec![mempool_record(1, b"one")],
            ..ChangeSet::default()
        })
        .unwrap();
    let is_corrupt = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Corrupt(_)));
    let block_4 = fx.chain.blocks()[4].hash();
    let reward_20 = fx.chain.changes()[HEIGHT as usize].created[0].0;
    let coinbase_2 = fx.chain.blocks()[2].transactions[0].txid();
    let miner = addr(&fx.keys[3]);
    let damage = [
        "UPDATE headers SET header = prev_hash WHERE height = 3",
        "UPDATE undo SET bytes = hash",
        "UPDATE utxos SET amount = -1 WHERE height = 20",
        "UPDATE txs SET idx = -1 WHERE height = 2",
        "UPDATE history SET txid = address WHERE height = 1",
        "UPDATE mempool SET seq = -1",
        "UPDATE meta SET value = 'not a hash' WHERE key = 'tip'",
        "DELETE FROM active WHERE height = 5",
    ];
    for sql in damage {
        if !backend.execute(sql) {
            return;
        }
    }
    assert!(is_corrupt(store.headers().map(drop)));
    assert!(is_corrupt(store.undo(&block_4).map(drop)));
    assert!(is_corrupt(store.utxos().map(drop)));
    assert!(is_corrupt(store.utxo(&reward_20).map(drop)));
    assert!(is_corrupt(store.tx_location(&coinbase_2).map(drop)));
    assert!(is_corrupt(store.address_history(&miner, 0, 100).map(drop)));
    assert!(is_corrupt(store.mempool().map(drop)));
    assert!(is_corrupt(store.tip().map(drop)));
    assert!(is_corrupt(store.active_chain().map(drop)));
    // A damaged network id is reported when the store is opened.
    backend.execute("UPDATE meta SET value = 'zz' WHERE key = 'network'");
    drop(store);
    let mut store = backend.store();
    assert!(is_corrupt(store.open(&fx.genesis())));
}

/// Chain height after commit `n` of the writer child: blocks 0..=20 one per commit, then alternately
/// disconnecting the last 5 blocks and connecting them again.
fn height_after_commit(n: u64) -> u64 {
    match n {
        0..=HEIGHT => n,
        _ if (n - HEIGHT - 1).is_multiple_of(2) => HEIGHT - 5,
        _ => HEIGHT,
    }
}

/// Commit `n` of the writer child: the chain change of [`height_after_commit`] plus, in the same
/// transaction, a mempool record with `seq = n` replacing the previous one.
fn child_commit(n: u64) -> ChangeSet {
    let fx = Fixture::get();
    let chain = &fx.chain;
    let mut changes = ChangeSet {
        mempool_remove: n
            .checked_sub(1)
            .map(|p| vec![mempool_record(p, b"commit").txid])
            .unwrap_or_default(),
        mempool_add: vec![mempool_record(n, b"commit")],
        ..ChangeSet::default()
    };
    let (from, to) = (
        height_after_commit(n.saturating_sub(1)),
        height_after_commit(n),
    );
    if n <= HEIGHT {
        changes.headers = header_records(chain, n..=n, 0);
        changes.bodies = bodies(chain, n..=n);
        changes.connect = connects(chain, n..=n);
    } else if to < from {
        changes.disconnect = disconnect_above(chain, to);
    } else {
        changes.connect = connects(chain, from + 1..=to);
    }
    changes.tip = Some(chain.blocks()[to as usize].hash());
    changes
}

/// The writer child process of [`killed_writer_leaves_whole_commits`]: does nothing unless started by it.
/// It commits [`child_commit`] 0, 1, 2, … forever, printing `committed N` after each commit returns, until
/// the parent kills it.
#[test]
fn writer_child_process() {
    let mut store: Box<dyn Store> = if let Ok(path) = std::env::var(CHILD_SQLITE) {
        Box::new(SqliteStore::open_path(std::path::Path::new(&path)).unwrap())
    } else if let Ok(schema) = std::env::var(CHILD_PG_SCHEMA) {
        let url = std::env::var("FERROCHAIN_TEST_POSTGRES_URL").unwrap();
        Box::new(PostgresStore::connect_with_schema(&url, Some(&schema)).unwrap())
    } else {
        return;
    };
    store.open(&Fixture::get().genesis()).unwrap();
    for n in 0.. {
        store.commit(&child_commit(n)).unwrap();
        println!("committed {n}");
    }
}

/// A writer killed (SIGKILL) at an arbitrary moment leaves the store exactly as after one of its commits —
/// chain and mempool from the same commit, never a mixture — and no older than the last commit it reported.
fn killed_writer_leaves_whole_commits(backend: &mut dyn Backend) {
    use std::io::BufRead;
    let Some((var, value)) = backend.child_env() else {
        return;
    };
    let fx = Fixture::get();
    // Build the fixture before timing anything, and give the child a store that is already migrated.
    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    drop(store);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(var, value)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reported = None;
    // Kill somewhere in the alternating phase, at a moment that varies from run to run.
    let kill_after = HEIGHT + 4 + rand::random::<u64>() % 8;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            let n: u64 = n.parse().unwrap();
            reported = Some(n);
            if n >= kill_after {
                std::thread::sleep(std::time::Duration::from_micros(
                    rand::random::<u64>() % 2_000,
                ));
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    let reported = reported.expect("the child reported its commits");
    assert!(
        reported >= kill_after,
        "the child stopped early at commit {reported}"
    );

    let mut store = backend.store();
    store.open(&fx.genesis()).unwrap();
    let mempool = store.mempool().unwrap();
    assert_eq!(
        mempool.len(),
        1,
        "exactly one commit's mempool: {mempool:?}"
    );
    let last = mempool[0].seq;
    assert!(
        last >= reported,
        "commit {reported} was reported but the store is at {last}"
    );
    let chain = popped(&fx.chain, height_after_commit(last));
    assert_holds(
        store.as_mut(),
        &chain,
        &format!("after a kill at commit {last}"),
    );
}
