//! The narrow storage API the chain state is persisted through, and the records it stores.
//!
//! A [`Store`] is dumb on purpose: it writes what a [`ChangeSet`] says, in **one database transaction**, and
//! answers a handful of reads. Every decision — validity, fork choice, what a reorg disconnects — is made by
//! [`crate::State`] before it builds the change set, so the two backends (embedded SQLite, PostgreSQL) only
//! have to agree on rows, and one conformance suite checks that they do (`tests/test_store_conformance.rs`).
//!
//! Atomicity is the whole point: a crash (even `SIGKILL`) during [`Store::commit`] leaves the store exactly as
//! it was before the commit or exactly as after it, never a mixture.

use ferrochain_core::hash::{BlockHash, Txid};
use ferrochain_core::pow::Work;
use ferrochain_core::tx::OutPoint;
use ferrochain_core::utxo::{BlockChanges, UtxoEntry};
use ferrochain_core::{Header, Height, PubkeyHash};

/// One entry of the block index: a header that passed its checks, with the cumulative work of its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRecord {
    /// The block hash.
    pub hash: BlockHash,
    /// The header.
    pub header: Header,
    /// Work of the chain from genesis up to and including this block.
    pub chain_work: Work,
    /// Order in which this node first saw the header (the fork-choice tie-break: lower wins).
    pub seq: u64,
    /// Whether the block's body is stored.
    pub has_body: bool,
    /// Whether the block was found invalid when its transactions were checked (it and its descendants are
    /// never connected).
    pub invalid: bool,
}

/// A block being connected to the active chain, with the index rows it adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRecord {
    /// The block's UTXO changes (also its undo data).
    pub changes: BlockChanges,
    /// Transaction index rows: each txid with its position in the block.
    pub txs: Vec<(Txid, u32)>,
    /// Address history rows: (address, txid, position of the tx in the block), one per address a
    /// transaction pays to or spends from (an address appears once per transaction).
    pub history: Vec<(PubkeyHash, Txid, u32)>,
}

/// A transaction waiting in the mempool, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolRecord {
    /// Its id.
    pub txid: Txid,
    /// Its canonical encoding.
    pub bytes: Vec<u8>,
    /// Arrival order (the tie-break after fee rate).
    pub seq: u64,
}

/// Everything one atomic write changes. Applied in this order: headers, bodies, disconnects (in the order
/// given: tip first), connects (in the order given: lowest first), mempool removals, mempool additions, tip.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Block-index entries to insert or replace.
    pub headers: Vec<HeaderRecord>,
    /// Block bodies (canonical encoding) to store.
    pub bodies: Vec<(BlockHash, Vec<u8>)>,
    /// Blocks to disconnect from the active chain, tip first: their created outputs are deleted, their spent
    /// outputs restored, their index rows, undo data and active-chain entry removed.
    pub disconnect: Vec<BlockChanges>,
    /// Blocks to connect, lowest first: spent outputs deleted, created outputs inserted, undo data, index rows
    /// and the active-chain entry (height → hash) written.
    pub connect: Vec<ConnectRecord>,
    /// Mempool transactions to delete.
    pub mempool_remove: Vec<Txid>,
    /// Mempool transactions to insert.
    pub mempool_add: Vec<MempoolRecord>,
    /// The new active tip, if it changes.
    pub tip: Option<BlockHash>,
}

impl ChangeSet {
    /// Whether the change set changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ChangeSet::default()
    }
}

/// Where a confirmed transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// The block that holds it.
    pub block: BlockHash,
    /// That block's height.
    pub height: Height,
    /// The transaction's position in the block.
    pub index: u32,
}

/// One row of an address's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// The transaction.
    pub txid: Txid,
    /// Height of its block.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// The store holds another network's chain.
    #[error(
        "this data directory holds the chain of network {found}, not {expected}. Hint: use another --data-dir or --database, or the matching --network"
    )]
    WrongNetwork {
        /// The network asked for.
        expected: BlockHash,
        /// The network stored.
        found: BlockHash,
    },
    /// The store's schema is newer than this program.
    #[error(
        "the store has schema version {found}; this ferrochain knows up to {supported}. Hint: upgrade ferrochain"
    )]
    SchemaTooNew {
        /// Version found.
        found: u32,
        /// Newest this program knows.
        supported: u32,
    },
    /// Stored bytes do not decode: the store was modified or damaged.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Opens a new connection to an already opened (migrated, bound) store, for reads. Made by
/// [`Store::connector`].
pub type Connector = std::sync::Arc<dyn Fn() -> Result<Box<dyn Store>, StoreError> + Send + Sync>;

/// What the state needs from storage. Implementations: [`crate::sqlite::SqliteStore`],
/// [`crate::postgres::PostgresStore`].
pub trait Store: Send {
    /// Runs pending migrations and binds the store to `network` (the genesis hash) on first use.
    ///
    /// # Errors
    /// [`StoreError::WrongNetwork`] if it already holds another network; [`StoreError::SchemaTooNew`].
    fn open(&mut self, network: &BlockHash) -> Result<(), StoreError>;

    /// Every block-index entry.
    ///
    /// # Errors
    /// [`StoreError`].
    fn headers(&mut self) -> Result<Vec<HeaderRecord>, StoreError>;

    /// The active chain's block hashes, by height (index = height); empty before the first commit.
    ///
    /// # Errors
    /// [`StoreError`].
    fn active_chain(&mut self) -> Result<Vec<BlockHash>, StoreError>;

    /// The stored tip.
    ///
    /// # Errors
    /// [`StoreError`].
    fn tip(&mut self) -> Result<Option<BlockHash>, StoreError>;

    /// A block body (canonical encoding).
    ///
    /// # Errors
    /// [`StoreError`].
    fn block(&mut self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError>;

    /// The undo data of an active block.
    ///
    /// # Errors
    /// [`StoreError`].
    fn undo(&mut self, hash: &BlockHash) -> Result<Option<BlockChanges>, StoreError>;

    /// One unspent output.
    ///
    /// # Errors
    /// [`StoreError`].
    fn utxo(&mut self, outpoint: &OutPoint) -> Result<Option<UtxoEntry>, StoreError>;

    /// Every unspent output, ordered by outpoint.
    ///
    /// # Errors
    /// [`StoreError`].
    fn utxos(&mut self) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError>;

    /// The unspent outputs of one address, ordered by outpoint.
    ///
    /// # Errors
    /// [`StoreError`].
    fn address_utxos(
        &mut self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StoreError>;

    /// Where a transaction of the active chain is.
    ///
    /// # Errors
    /// [`StoreError`].
    fn tx_location(&mut self, txid: &Txid) -> Result<Option<TxLocation>, StoreError>;

    /// Every txid of the active chain (to rebuild the in-memory txid set at startup).
    ///
    /// # Errors
    /// [`StoreError`].
    fn txids(&mut self) -> Result<Vec<Txid>, StoreError>;

    /// An address's history in the active chain, newest first (height, then position, descending), skipping
    /// `offset` rows and returning at most `limit`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn address_history(
        &mut self,
        address: &PubkeyHash,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<HistoryRow>, StoreError>;

    /// The stored mempool, by arrival order.
    ///
    /// # Errors
    /// [`StoreError`].
    fn mempool(&mut self) -> Result<Vec<MempoolRecord>, StoreError>;

    /// Applies a change set in one atomic transaction.
    ///
    /// # Errors
    /// [`StoreError`]; the store is then unchanged.
    fn commit(&mut self, changes: &ChangeSet) -> Result<(), StoreError> {
        self.commit_all(std::slice::from_ref(changes))
    }

    /// Applies several change sets, in the order given, in **one** atomic transaction: a batch of blocks
    /// connected during a sync, or mempool admissions grouped into one commit. A crash leaves the store as
    /// before the first or as after the last, never in between.
    ///
    /// # Errors
    /// [`StoreError`]; the store is then unchanged.
    fn commit_all(&mut self, changes: &[ChangeSet]) -> Result<(), StoreError>;

    /// A way to open further connections to the same database, for reads beside the writer (SQLite in WAL
    /// mode lets readers run while a write commits; PostgreSQL serves each client on its own). `None` when
    /// the database cannot be shared (an in-memory SQLite database): reads then go through this store.
    fn connector(&self) -> Option<Connector> {
        None
    }

    /// Replaces the whole chain the store holds by `fresh`, in one atomic transaction: every block-index
    /// entry, body, active-chain entry, undo record, unspent output, transaction and history row, every
    /// mempool transaction and the tip are deleted, then `fresh` (a change set that writes a chain from
    /// nothing: the genesis block, as [`crate::State::reset_to_genesis`] builds it) is applied. The network
    /// binding and the schema version stay.
    ///
    /// # Errors
    /// [`StoreError`]; the store is then unchanged.
    fn reset(&mut self, fresh: &ChangeSet) -> Result<(), StoreError>;
}

/// The tables [`Store::reset`] empties: every table but `meta` (the schema has no foreign keys, so the order
/// does not matter; it deletes index rows before the blocks they point at).
pub(crate) const RESET_TABLES: [&str; 8] = [
    "history", "txs", "undo", "utxos", "active", "mempool", "bodies", "headers",
];
