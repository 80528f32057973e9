//! [`State`]: the chain as a node holds it — block index, fork choice, reorgs, UTXO set, indexes, mempool.
//!
//! # Fork choice
//! The active chain is the valid chain with the most cumulative work (`HeaderRecord::chain_work`, computed here
//! from checked headers, never taken from a peer). A chain with *equal* work does not replace the active one:
//! ties go to the block seen first.
//!
//! # Atomicity
//! Every accepted block, reorg or mempool change is computed in memory first — against an `OverlayView`
//! of the UTXO set — and written as **one** [`ChangeSet`] in one store transaction. Only after the commit
//! succeeds is the in-memory state updated, so memory and disk never disagree and a crash leaves the store at
//! the previous or the next state.
//!
//! # Correctness
//! A block that fails validation leaves no trace in the store unless its header was valid and the failure came
//! from its transactions in context: then its index entry is kept with `invalid = true`, so the node never
//! downloads or connects it (or its descendants) again. A block "too far in the future" is not invalid, only
//! not valid *yet* ([`StateError::NotYet`]): nothing of it is kept, and it is accepted when it comes again
//! once the clock allows.
//!
//! # What is stored (ADR 0023)
//! Only blocks that can matter take space:
//! - a block with an unknown parent is held in memory, in a pool bounded by count and bytes whose blocks from
//!   senders of bad data go first ([`StateConfig::max_orphans`], [`StateConfig::max_orphan_bytes`],
//!   [`State::submit_block_from`]);
//! - a side-chain block whose chain has less work than the active one, and which no known header of a branch
//!   with at least the active chain's work descends from, keeps only its header in the index
//!   (`has_body = false`, [`BlockOutcome::HeaderOnly`]). Its body is taken when it comes again once its
//!   branch could win: headers first ([`State::submit_headers`]), then bodies, as a syncing node fetches them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use ferrochain_core::block::Block;
use ferrochain_core::check::{
    BlockError, CheckedBlock, HeaderContext, OverlayView, check_block_known, check_blocks_known,
    check_header_contextual, check_header_for, check_transaction, connect_block,
};
use ferrochain_core::encode::{Decode, Encode};
use ferrochain_core::merkle::{MerkleProof, merkle_proof};
use ferrochain_core::pow::{BitsError, Work};
use ferrochain_core::spec::median_time_past;
use ferrochain_core::tx::{OutPoint, Transaction};
use ferrochain_core::utxo::{BlockChanges, MemoryUtxoSet, UtxoEntry};
use ferrochain_core::{Amount, BlockHash, Header, Height, Network, PubkeyHash, Txid};

use crate::mempool::{Mempool, MempoolEntry, MempoolError};
use crate::orphans::{OrphanPool, Source};
use crate::store::{
    ChangeSet, ConnectRecord, Connector, HeaderRecord, HistoryRow, MempoolRecord, Store, StoreError,
};
use crate::verified::VerifiedTxids;

/// A source of the current time in ms since the Unix epoch (injected so tests control time).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_ms)
}

/// Milliseconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Settings of the chain state.
#[derive(Clone)]
pub struct StateConfig {
    /// Largest total size of the mempool in encoded bytes.
    pub mempool_max_bytes: usize,
    /// Most blocks with an unknown parent held while waiting for the parent.
    pub max_orphans: usize,
    /// Largest total encoded size of the blocks held while waiting for their parent.
    pub max_orphan_bytes: usize,
    /// The clock used for the "not too far in the future" rule.
    pub clock: Clock,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            mempool_max_bytes: 32 * 1024 * 1024,
            max_orphans: 256,
            max_orphan_bytes: 8 * 1024 * 1024,
            clock: system_clock(),
        }
    }
}

impl std::fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateConfig")
            .field("mempool_max_bytes", &self.mempool_max_bytes)
            .field("max_orphans", &self.max_orphans)
            .field("max_orphan_bytes", &self.max_orphan_bytes)
            .finish_non_exhaustive()
    }
}

/// Why the chain state refused or failed something.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The block is invalid.
    #[error("block {hash} is invalid: {error}")]
    InvalidBlock {
        /// The block.
        hash: BlockHash,
        /// Why (boxed: block errors carry hashes and targets).
        error: Box<BlockError>,
    },
    /// The block's time is further ahead of this node's clock than the network's drift allows. The block is
    /// not invalid — it may be valid a little later — so nothing of it is kept and its sender is not to blame
    /// (`docs/protocol.md` §8, open point 4).
    #[error(
        "block {hash} is not valid yet: its time {time_ms} is ahead of this node's clock plus the allowed drift \
         ({max_allowed}); it is accepted when it comes again once the clock allows"
    )]
    NotYet {
        /// The block.
        hash: BlockHash,
        /// Its time, ms since the Unix epoch.
        time_ms: u64,
        /// This node's clock plus the allowed drift when it was refused.
        max_allowed: u64,
    },
    /// The block, or one of its ancestors, was found invalid before.
    #[error("block {0} is known to be invalid (it or an ancestor failed validation)")]
    KnownInvalid(BlockHash),
    /// The transaction was refused by the mempool.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// Stored data does not agree with itself.
    #[error("stored chain is inconsistent: {0}")]
    Inconsistent(String),
}

/// What became of a submitted block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// The block was already stored.
    AlreadyKnown,
    /// The block cannot be connected yet: its parent is unknown (the block is held in memory until it arrives),
    /// or the block was stored but the body of an ancestor is missing (its header alone is known). A node
    /// should sync from the sender.
    Orphan {
        /// The missing parent, or the lowest ancestor whose body is missing.
        missing_parent: BlockHash,
    },
    /// Stored on a side chain with no more work than the active one.
    SideChain,
    /// On a side chain with less work than the active one, which no known branch with at least the active
    /// chain's work contains: only its header was kept (`has_body = false`), not its body. It is taken when it
    /// comes again once its branch could win (headers first: [`State::submit_headers`]).
    HeaderOnly,
    /// The active chain changed.
    Connected(Reorged),
}

/// How the active chain changed: blocks disconnected (old tip first) and connected (lowest first). A plain
/// extension has no disconnected blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reorged {
    /// Blocks that left the active chain, tip first.
    pub disconnected: Vec<BlockHash>,
    /// Blocks that joined it, lowest first.
    pub connected: Vec<BlockHash>,
}

/// The active tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: Height,
    /// Cumulative work of the active chain.
    pub chain_work: Work,
    /// Its header.
    pub header: Header,
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool.
    Pending {
        /// Its fee.
        fee: Amount,
    },
    /// In the active chain.
    Confirmed {
        /// Its block.
        block: BlockHash,
        /// The block's height.
        height: Height,
        /// Its position in the block.
        index: u32,
        /// Blocks from its block to the tip, both included.
        confirmations: u64,
    },
}

/// A transaction with its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxInfo {
    /// The transaction.
    pub tx: Transaction,
    /// Its status.
    pub status: TxStatus,
}

/// An address's balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Sum of its unspent outputs in the active chain.
    pub confirmed: Amount,
    /// What the balance will be once the mempool confirms: confirmed + pending received − pending spent.
    pub pending: Amount,
}

/// The chain state handle. Cheap to clone: clones share one state.
///
/// # Locks (ADR 0021)
/// - The *state lock* (`inner`) covers the contextual checks and the in-memory update of blocks and mempool
///   admissions. Stateless checks (proof of work, signatures) run before it is taken. A block commit holds
///   it across its database write; a mempool admission does not: its write is queued and committed by a
///   group commit after the lock is released ([`Admission::wait`]).
/// - Tip, block index, active chain and mempool counters are read from a published view (`shared.view`, a
///   read-write lock held only to copy or swap entries), updated after each commit: reads never wait for a
///   database write.
/// - Database reads (block bodies, transaction locations, address UTXOs and history) go through their own
///   connections (`shared.readers`) beside the write connection.
#[derive(Clone)]
pub struct State {
    network: Arc<Network>,
    inner: Arc<Mutex<Inner>>,
    shared: Arc<Shared>,
}

/// What the state shares outside its lock.
struct Shared {
    /// The write connection and the queue of mempool writes waiting for a group commit.
    writer: Arc<Writer>,
    /// Read connections.
    readers: Readers,
    /// The published block index and active chain (what has been committed).
    view: RwLock<View>,
    /// Mempool transactions (published after each change).
    mempool_len: AtomicUsize,
    /// Mempool bytes (published after each change).
    mempool_bytes: AtomicUsize,
    /// The state's clock (for [`State::next_block_context`] without the lock).
    clock: Clock,
    /// Txids whose signatures were verified here (the signature cache).
    verified: Arc<VerifiedTxids>,
}

/// The committed block index and active chain, as readers see them.
#[derive(Default)]
struct View {
    index: HashMap<BlockHash, HeaderRecord>,
    active: Vec<BlockHash>,
}

impl View {
    fn tip(&self) -> Tip {
        tip_of(&self.index, &self.active)
    }
}

/// The tip of `active` (never empty: it starts at genesis), from its block index.
fn tip_of(index: &HashMap<BlockHash, HeaderRecord>, active: &[BlockHash]) -> Tip {
    let hash = active[active.len() - 1];
    let rec = &index[&hash];
    Tip {
        hash,
        height: rec.header.height,
        chain_work: rec.chain_work,
        header: rec.header,
    }
}

/// The store's one write connection, and the mempool writes queued for it.
struct Writer {
    store: Mutex<Box<dyn Store>>,
    queue: Mutex<Queue>,
    /// Signalled after each commit of queued writes.
    committed: Condvar,
}

/// Mempool writes waiting for a group commit, in the order they happened in memory.
#[derive(Default)]
struct Queue {
    items: Vec<Queued>,
    /// The ticket the next admission gets.
    next_ticket: u64,
    /// Every ticket below this one is answered: committed, or failed (`failed`).
    done: u64,
    /// Tickets whose write failed, with the reason.
    failed: HashMap<u64, String>,
    /// Whether a thread is committing queued writes now.
    leader: bool,
}

/// One admission's writes.
struct Queued {
    ticket: u64,
    add: MempoolRecord,
    /// Transactions the admission evicted.
    remove: Vec<Txid>,
}

/// Read connections to the store, opened on demand (none for a store that cannot be shared: reads then
/// use the write connection).
struct Readers {
    connector: Option<Connector>,
    idle: Mutex<Vec<Box<dyn Store>>>,
}

/// Most idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Locks a mutex; a poisoned one is still consistent (in-memory updates follow a successful commit and do
/// not fail half-way).
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Queued writes taken for one commit.
struct Taken {
    /// Their net effect.
    changes: ChangeSet,
    /// The items themselves (put back if the commit fails before memory is rolled back).
    items: Vec<Queued>,
    /// The end of the tickets they answer.
    upto: u64,
}

impl Queue {
    /// Takes every queued write with the change set that brings the store's mempool to what memory held
    /// when the last one was queued (for each transaction only its last state counts).
    fn take(&mut self) -> Option<Taken> {
        let last_ticket = self.items.last()?.ticket;
        let items = std::mem::take(&mut self.items);
        let mut last: HashMap<Txid, Option<&MempoolRecord>> = HashMap::new();
        let mut order = Vec::new();
        for item in &items {
            for txid in &item.remove {
                if last.insert(*txid, None).is_none() {
                    order.push(*txid);
                }
            }
            if last.insert(item.add.txid, Some(&item.add)).is_none() {
                order.push(item.add.txid);
            }
        }
        let mut changes = ChangeSet::default();
        for txid in order {
            match last.remove(&txid).flatten() {
                Some(record) => changes.mempool_add.push(record.clone()),
                None => changes.mempool_remove.push(txid),
            }
        }
        Some(Taken {
            changes,
            items,
            upto: last_ticket + 1,
        })
    }
}

impl Writer {
    fn store(&self) -> MutexGuard<'_, Box<dyn Store>> {
        lock(&self.store)
    }

    /// Commits `sets` in one transaction, after (and in the same transaction as) every queued mempool write,
    /// so the store sees them in the order memory did. On failure the queued writes stay queued.
    fn commit_after_queue(&self, sets: &[ChangeSet]) -> Result<(), StoreError> {
        let mut store = self.store();
        let Some(taken) = lock(&self.queue).take() else {
            return store.commit_all(sets);
        };
        let mut all = Vec::with_capacity(sets.len() + 1);
        all.push(taken.changes);
        all.extend_from_slice(sets);
        let result = store.commit_all(&all);
        drop(store);
        let mut q = lock(&self.queue);
        match &result {
            Ok(()) => q.done = q.done.max(taken.upto),
            Err(_) => {
                // Put them back first in line: the next group commit retries them.
                let rest = std::mem::replace(&mut q.items, taken.items);
                q.items.extend(rest);
            }
        }
        drop(q);
        self.committed.notify_all();
        result
    }

    /// Commits the queued mempool writes as the group-commit leader. Returns the transactions whose write
    /// failed (to be taken out of memory).
    fn lead(&self) -> Vec<Txid> {
        let mut store = self.store();
        let taken = lock(&self.queue).take();
        let result = taken.as_ref().map(|t| store.commit(&t.changes));
        drop(store);
        let mut q = lock(&self.queue);
        q.leader = false;
        let mut failed = Vec::new();
        if let (Some(taken), Some(result)) = (taken, result) {
            if let Err(e) = result {
                let message = e.to_string();
                for item in taken.items {
                    q.failed.insert(item.ticket, message.clone());
                    failed.push(item.add.txid);
                }
            }
            q.done = q.done.max(taken.upto);
        }
        drop(q);
        self.committed.notify_all();
        failed
    }
}

/// A mempool admission whose database write may still be pending. [`Admission::wait`] returns once it is
/// committed (durability as before: an accepted transaction survives a crash).
#[must_use = "the transaction is not durable until `wait` returns"]
pub struct Admission {
    txid: Txid,
    ticket: u64,
    state: State,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("txid", &self.txid)
            .finish_non_exhaustive()
    }
}

impl Admission {
    /// The admitted transaction's id.
    pub fn txid(&self) -> Txid {
        self.txid
    }

    /// Waits until the admission is committed to the store (taking part in, or leading, a group commit).
    ///
    /// # Errors
    /// [`StateError::Store`] if the write failed; the transaction (and what spent its outputs meanwhile) is
    /// then taken out of the mempool again.
    pub fn wait(self) -> Result<Txid, StateError> {
        let writer = &self.state.shared.writer;
        let mut q = lock(&writer.queue);
        loop {
            if let Some(message) = q.failed.remove(&self.ticket) {
                return Err(StateError::Store(StoreError::Database(message)));
            }
            if q.done > self.ticket {
                return Ok(self.txid);
            }
            if q.leader {
                q = writer.committed.wait(q).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            q.leader = true;
            drop(q);
            let failed = writer.lead();
            if !failed.is_empty() {
                self.state.roll_back(&failed);
            }
            q = lock(&writer.queue);
        }
    }
}

/// What a batch of blocks ([`State::submit_blocks`]) did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Each block accepted, in order, with its outcome (all committed together).
    pub outcomes: Vec<(BlockHash, BlockOutcome)>,
    /// The error that stopped the batch (the blocks before it were still committed), if any.
    pub error: Option<(BlockHash, StateError)>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("network", &self.network.spec().name)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: StoreHandle,
    config: StateConfig,
    index: HashMap<BlockHash, HeaderRecord>,
    active: Vec<BlockHash>,
    utxos: MemoryUtxoSet,
    mempool: Mempool,
    orphans: OrphanPool,
    /// What headers-first storage needs to decide cheaply (ADR 0023).
    branches: Branches,
    next_seq: u64,
    /// The signature cache (shared with [`Shared::verified`]), for blocks a reorg loads back.
    verified: Arc<VerifiedTxids>,
}

/// The write connection as block processing uses it: commits go after the queued mempool writes, or into
/// the batch being built ([`State::submit_blocks`]), whose bodies and undo data reads then see.
struct StoreHandle {
    writer: Arc<Writer>,
    /// Change sets of the batch being built, committed together at its end.
    batch: Option<Vec<ChangeSet>>,
    /// Block-index entries written since the view was last published.
    touched: Vec<BlockHash>,
}

impl StoreHandle {
    fn commit(&mut self, cs: &ChangeSet) -> Result<(), StoreError> {
        if let Some(batch) = &mut self.batch {
            batch.push(cs.clone());
        } else {
            self.writer.commit_after_queue(std::slice::from_ref(cs))?;
        }
        self.touched.extend(cs.headers.iter().map(|h| h.hash));
        Ok(())
    }

    fn undo(&mut self, hash: &BlockHash) -> Result<Option<BlockChanges>, StoreError> {
        if let Some(batch) = &self.batch {
            let found = batch
                .iter()
                .rev()
                .flat_map(|cs| cs.connect.iter().rev())
                .find(|c| c.changes.block_hash == *hash);
            if let Some(c) = found {
                return Ok(Some(c.changes.clone()));
            }
        }
        self.writer.store().undo(hash)
    }

    fn block(&mut self, hash: &BlockHash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(batch) = &self.batch {
            let found = batch
                .iter()
                .rev()
                .flat_map(|cs| cs.bodies.iter())
                .find(|(h, _)| h == hash);
            if let Some((_, bytes)) = found {
                return Ok(Some(bytes.clone()));
            }
        }
        self.writer.store().block(hash)
    }
}

/// What headers-first storage needs to decide cheaply, without scanning the block index for every block.
#[derive(Debug, Default)]
struct Branches {
    /// The known header with the most work (first seen on ties), with or without its body: a side block on its
    /// branch could win. `None` until a header is added after opening (the index is then searched once).
    best_header: Option<BlockHash>,
    /// Stored blocks with more work than the tip when they came, whose branch lacks the body of an ancestor:
    /// when that body arrives, the state switches to the best of them.
    waiting: HashSet<BlockHash>,
}

/// Most blocks remembered in [`Branches::waiting`].
const MAX_WAITING: usize = 64;

/// The transaction-index and address-history rows of a connected block.
fn connect_record(block: &Block, txids: &[Txid], changes: BlockChanges) -> ConnectRecord {
    let spent: HashMap<OutPoint, PubkeyHash> = changes
        .spent
        .iter()
        .map(|(op, e)| (*op, e.output.address))
        .collect();
    let mut created_here: HashMap<OutPoint, PubkeyHash> = HashMap::new();
    let mut txs = Vec::with_capacity(txids.len());
    let mut history = Vec::new();
    for (i, (tx, txid)) in block.transactions.iter().zip(txids).enumerate() {
        let i = i as u32;
        txs.push((*txid, i));
        let mut addresses: Vec<PubkeyHash> = Vec::new();
        for input in tx.inputs() {
            if let Some(a) = spent
                .get(&input.prev_out)
                .or_else(|| created_here.get(&input.prev_out))
            {
                addresses.push(*a);
            }
        }
        if let ferrochain_core::TxKind::Record { author, .. } = &tx.kind {
            addresses.push(author.pubkey_hash());
        }
        for (vout, out) in tx.outputs.iter().enumerate() {
            addresses.push(out.address);
            created_here.insert(
                OutPoint {
                    txid: *txid,
                    vout: vout as u32,
                },
                out.address,
            );
        }
        let mut seen = HashSet::new();
        for a in addresses {
            if seen.insert(a) {
                history.push((a, *txid, i));
            }
        }
    }
    ConnectRecord {
        changes,
        txs,
        history,
    }
}

/// What writing a chain from nothing commits: the genesis block, its index entry (first seen: `seq` 0), its
/// outputs and index rows, and the tip.
fn genesis_changeset(network: &Network) -> ChangeSet {
    let genesis = network.genesis();
    let hash = network.genesis_hash();
    let work = genesis
        .header
        .bits
        .to_target()
        .map(|t| t.work())
        .unwrap_or(Work::ZERO);
    let record = HeaderRecord {
        hash,
        header: genesis.header,
        chain_work: work,
        seq: 0,
        has_body: true,
        invalid: false,
    };
    let changes = network.genesis_changes();
    ChangeSet {
        headers: vec![record],
        bodies: vec![(hash, genesis.to_bytes())],
        connect: vec![connect_record(genesis, &changes.txids.clone(), changes)],
        tip: Some(hash),
        ..ChangeSet::default()
    }
}

fn mempool_record(e: &MempoolEntry) -> MempoolRecord {
    MempoolRecord {
        txid: e.txid,
        bytes: e.tx.to_bytes(),
        seq: e.seq,
    }
}

impl State {
    /// Opens the chain state on a store: binds the store to the network (writing genesis on first use) and
    /// loads the block index, active chain, UTXO set and mempool. Mempool transactions that are no longer
    /// valid are dropped.
    ///
    /// # Errors
    /// [`StateError::Store`] (including another network's store), [`StateError::Inconsistent`].
    pub fn open(
        network: Network,
        mut store: Box<dyn Store>,
        config: StateConfig,
    ) -> Result<State, StateError> {
        store.open(&network.genesis_hash())?;
        if store.headers()?.is_empty() {
            store.commit(&genesis_changeset(&network))?;
        }
        let connector = store.connector();
        let writer = Arc::new(Writer {
            store: Mutex::new(store),
            queue: Mutex::new(Queue::default()),
            committed: Condvar::new(),
        });
        let handle = StoreHandle {
            writer: writer.clone(),
            batch: None,
            touched: Vec::new(),
        };
        let verified = Arc::new(VerifiedTxids::new(crate::verified::DEFAULT_CAPACITY));
        let inner = Inner::load(&network, handle, config, verified.clone())?;
        let shared = Shared {
            writer,
            readers: Readers {
                connector,
                idle: Mutex::new(Vec::new()),
            },
            view: RwLock::new(View::default()),
            mempool_len: AtomicUsize::new(0),
            mempool_bytes: AtomicUsize::new(0),
            clock: inner.config.clock.clone(),
            verified,
        };
        let state = State {
            network: Arc::new(network),
            inner: Arc::new(Mutex::new(inner)),
            shared: Arc::new(shared),
        };
        state.publish_all(&mut state.lock());
        Ok(state)
    }

    /// Throws the whole chain away and starts again from the genesis block: every other block (active or
    /// not), the UTXO set, the transaction and address indexes, the undo data, the mempool and the held
    /// orphans are gone. For development chains (the `dev` seed route `/api/reset_system`); a node never does
    /// this on its own.
    ///
    /// Atomic: the store is wiped and genesis written in one transaction ([`Store::reset`]), and the
    /// in-memory state is rebuilt only after that commits — if it fails, nothing changed, on disk or in
    /// memory. Returns the new tip (genesis).
    ///
    /// # Errors
    /// [`StateError::Store`]; the state is then unchanged.
    pub fn reset_to_genesis(&self) -> Result<Tip, StateError> {
        let network = &self.network;
        let fresh = genesis_changeset(network);
        let mut inner = self.lock();
        // Queued mempool writes go first, so none lands after the reset.
        self.shared.writer.commit_after_queue(&[])?;
        self.shared.writer.store().reset(&fresh)?;
        let changes = network.genesis_changes();
        inner.index = fresh.headers.iter().map(|h| (h.hash, *h)).collect();
        inner.active = vec![network.genesis_hash()];
        inner.utxos = MemoryUtxoSet::from_parts(changes.created, changes.txids);
        inner.mempool = Mempool::new(inner.config.mempool_max_bytes);
        inner.orphans.clear();
        inner.branches = Branches::default();
        inner.next_seq = 1;
        self.publish_all(&mut inner);
        Ok(inner.tip())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state half-updated (in-memory updates follow a
        // successful commit and cannot fail), so a poisoned lock is still consistent.
        lock(&self.inner)
    }

    fn view(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.shared
            .view
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes what changed since the last publication (under the state lock, after the commit): the
    /// block-index entries written, the active chain from the fork point, and the mempool counters.
    fn publish(&self, inner: &mut Inner) {
        let touched = std::mem::take(&mut inner.store.touched);
        {
            let mut view = self
                .shared
                .view
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for hash in touched {
                match inner.index.get(&hash) {
                    Some(rec) => view.index.insert(hash, *rec),
                    None => view.index.remove(&hash),
                };
            }
            // The common prefix of the published and the new active chain (a reorg is short).
            let mut keep = view.active.len().min(inner.active.len());
            while keep > 0 && view.active[keep - 1] != inner.active[keep - 1] {
                keep -= 1;
            }
            view.active.truncate(keep);
            view.active.extend_from_slice(&inner.active[keep..]);
        }
        self.publish_pool(inner);
    }

    /// Publishes everything again (after opening, a reset or a reload).
    fn publish_all(&self, inner: &mut Inner) {
        inner.store.touched.clear();
        {
            let mut view = self
                .shared
                .view
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            view.index = inner.index.clone();
            view.active = inner.active.clone();
        }
        self.publish_pool(inner);
    }

    fn publish_pool(&self, inner: &Inner) {
        self.shared
            .mempool_len
            .store(inner.mempool.len(), AtomicOrdering::Release);
        self.shared
            .mempool_bytes
            .store(inner.mempool.bytes(), AtomicOrdering::Release);
    }

    /// Runs `f` on a read connection (the write connection if the store has no other).
    fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StateError> {
        let readers = &self.shared.readers;
        let Some(connector) = &readers.connector else {
            return Ok(f(&mut **self.shared.writer.store())?);
        };
        let idle = lock(&readers.idle).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => connector()?,
        };
        let result = f(&mut *conn);
        if result.is_ok() {
            let mut idle = lock(&readers.idle);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        Ok(result?)
    }

    /// Takes transactions whose write failed out of the mempool again, with what spends their outputs;
    /// queued writes of those are answered with the failure too.
    fn roll_back(&self, failed: &[Txid]) {
        let mut inner = self.lock();
        let mut removed = HashSet::new();
        for txid in failed {
            removed.extend(inner.mempool.remove_with_descendants(txid));
        }
        let mut q = lock(&self.shared.writer.queue);
        let items = std::mem::take(&mut q.items);
        for item in items {
            if removed.contains(&item.add.txid) {
                q.failed.insert(
                    item.ticket,
                    "an unconfirmed parent of this transaction could not be stored".into(),
                );
            } else {
                q.items.push(item);
            }
        }
        drop(q);
        self.shared.writer.committed.notify_all();
        self.publish_pool(&inner);
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The active tip (from the published view: never waits for a write).
    pub fn tip(&self) -> Tip {
        self.view().tip()
    }

    /// The hash of the active block at `height`.
    pub fn hash_at(&self, height: Height) -> Option<BlockHash> {
        self.view().active.get(height.0 as usize).copied()
    }

    /// A block-index entry (any known block, active or not).
    pub fn header(&self, hash: &BlockHash) -> Option<HeaderRecord> {
        self.view().index.get(hash).copied()
    }

    /// Whether `hash` is in the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        let view = self.view();
        view.index
            .get(hash)
            .is_some_and(|r| view.active.get(r.header.height.0 as usize) == Some(hash))
    }

    /// A stored block by hash.
    ///
    /// # Errors
    /// [`StateError::Store`], or [`StateError::Inconsistent`] for an undecodable body.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StateError> {
        decode_block(hash, self.read(|s| s.block(hash))?)
    }

    /// The stored bytes of blocks (their canonical encoding, as a peer is sent them), in the order of
    /// `hashes`, through one read connection: `each` gets every block's bytes (`None` if its body is not
    /// stored) and says whether to go on. Nothing is decoded.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn block_bytes(
        &self,
        hashes: impl IntoIterator<Item = BlockHash>,
        mut each: impl FnMut(BlockHash, Option<Vec<u8>>) -> bool,
    ) -> Result<(), StateError> {
        self.read(|s| {
            for hash in hashes {
                if !each(hash, s.block(&hash)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The active block at `height`.
    ///
    /// # Errors
    /// As [`State::block`].
    pub fn block_at(&self, height: Height) -> Result<Option<Block>, StateError> {
        match self.hash_at(height) {
            Some(hash) => self.block(&hash),
            None => Ok(None),
        }
    }

    /// A transaction, pending or confirmed in the active chain.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn transaction(&self, txid: &Txid) -> Result<Option<TxInfo>, StateError> {
        if let Some(e) = self.lock().mempool.get(txid) {
            return Ok(Some(TxInfo {
                tx: e.tx.clone(),
                status: TxStatus::Pending { fee: e.fee },
            }));
        }
        let Some(loc) = self.read(|s| s.tx_location(txid))? else {
            return Ok(None);
        };
        let block = self.block(&loc.block)?.ok_or_else(|| {
            StateError::Inconsistent(format!("block {} is indexed but not stored", loc.block))
        })?;
        let tx = block
            .transactions
            .get(loc.index as usize)
            .cloned()
            .ok_or_else(|| {
                StateError::Inconsistent(format!(
                    "transaction {txid} is indexed at a wrong position"
                ))
            })?;
        let confirmations = self.tip().height.0.saturating_sub(loc.height.0) + 1;
        Ok(Some(TxInfo {
            tx,
            status: TxStatus::Confirmed {
                block: loc.block,
                height: loc.height,
                index: loc.index,
                confirmations,
            },
        }))
    }

    /// The Merkle proof of a confirmed transaction, with its block's header.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn merkle_proof(&self, txid: &Txid) -> Result<Option<(Header, MerkleProof)>, StateError> {
        let Some(loc) = self.read(|s| s.tx_location(txid))? else {
            return Ok(None);
        };
        let Some(block) = self.block(&loc.block)? else {
            return Ok(None);
        };
        Ok(merkle_proof(&block.txids(), loc.index as usize).map(|p| (block.header, p)))
    }

    /// An address's confirmed and pending balance.
    ///
    /// Read under the state lock (so no block commit runs between the confirmed and the pending half), but
    /// through a read connection.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn balance(&self, address: &PubkeyHash) -> Result<Balance, StateError> {
        let inner = self.lock();
        let confirmed = Amount::checked_sum(
            self.read(|s| s.address_utxos(address))?
                .iter()
                .map(|(_, e)| e.output.amount),
        )
        .unwrap_or(Amount::MAX);
        let (received, spent) = inner.mempool.pending_for(address, &inner.utxos);
        let pending = confirmed
            .checked_add(received)
            .unwrap_or(Amount::MAX)
            .checked_sub(spent)
            .unwrap_or(Amount::ZERO);
        Ok(Balance { confirmed, pending })
    }

    /// An address's unspent outputs in the active chain.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn address_utxos(
        &self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StateError> {
        self.read(|s| s.address_utxos(address))
    }

    /// Outputs of `address` that a new transaction may spend now: confirmed ones not spent by the mempool
    /// (and matured), plus unconfirmed change from the mempool.
    ///
    /// Read under the state lock, so the confirmed outputs and the mempool are of one moment.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn spendable(
        &self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StateError> {
        // The in-memory UTXO set's address index: no store read, and nothing but memory under the lock.
        let inner = self.lock();
        let next = inner.tip_height().0 + 1;
        let maturity = self.network.spec().coinbase_maturity;
        let mut out: Vec<(OutPoint, UtxoEntry)> = inner
            .utxos
            .outputs_of(address)
            .into_iter()
            .filter(|(op, e)| {
                inner.mempool.spender(op).is_none()
                    && (!e.is_coinbase || e.height.0 + maturity <= next)
            })
            .collect();
        for (op, o) in inner.mempool.unspent_outputs_to(address) {
            out.push((
                op,
                UtxoEntry {
                    output: o,
                    height: Height(next),
                    is_coinbase: false,
                },
            ));
        }
        Ok(out)
    }

    /// An address's history in the active chain, newest first.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn history(
        &self,
        address: &PubkeyHash,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<HistoryRow>, StateError> {
        self.read(|s| s.address_history(address, offset, limit))
    }

    /// Every unspent output of the active chain.
    pub fn utxo_set(&self) -> MemoryUtxoSet {
        self.lock().utxos.clone()
    }

    /// The mempool's transactions in block order (fee rate, then arrival; parents first).
    pub fn mempool(&self) -> Vec<MempoolEntry> {
        self.lock().mempool.ordered().into_iter().cloned().collect()
    }

    /// The number of mempool transactions and their encoded size in bytes (from published counters: never
    /// waits).
    pub fn mempool_size(&self) -> (usize, usize) {
        (
            self.shared.mempool_len.load(AtomicOrdering::Acquire),
            self.shared.mempool_bytes.load(AtomicOrdering::Acquire),
        )
    }

    /// The first `max` mempool transactions in block order, for a block template.
    pub fn block_template_transactions(&self, max: usize) -> Vec<Transaction> {
        self.lock().mempool.template(max)
    }

    /// The context a new block on the tip is checked in (parent, height, required bits, median time past,
    /// now), for miners building templates. From the published view: never waits for a write.
    ///
    /// # Errors
    /// [`StateError::Inconsistent`] if the tip's bits are malformed.
    pub fn next_block_context(&self) -> Result<HeaderContext, StateError> {
        let view = self.view();
        let tip = view.tip().hash;
        let now = (self.shared.clock)();
        header_context(&view.index, &view.active, now, &self.network, &tip)
            .map_err(|e| StateError::Inconsistent(e.to_string()))
    }

    /// The stateless checks of a block, skipping the signatures of transactions verified before (the
    /// signature cache); the new ones are noted once the block passes.
    fn check_block(&self, block: Block) -> Result<CheckedBlock, BlockError> {
        let verified = &self.shared.verified;
        let checked = check_block_known(block, &self.network, &mut rand::rng(), |t| {
            verified.contains(t)
        })?;
        verified.insert_all(checked.txids().iter().skip(1).copied());
        Ok(checked)
    }

    /// The stateless checks of a batch of blocks: the signatures of each part verified as one batch
    /// ([`check_blocks_known`]), the parts checked side by side on the machine's cores (scoped threads, at
    /// most one per core, only for batches big enough to gain). Returns the checked blocks before the first
    /// failing one, and that one's hash and error.
    fn check_blocks(
        &self,
        blocks: Vec<Block>,
    ) -> (Vec<CheckedBlock>, Option<(BlockHash, BlockError)>) {
        /// Fewest blocks worth a thread of their own.
        const BLOCKS_PER_THREAD: usize = 8;
        let hashes: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parts = cores.min(blocks.len() / BLOCKS_PER_THREAD).max(1);
        let part_len = blocks.len().div_ceil(parts).max(1);
        let verified = &*self.shared.verified;
        let network = &*self.network;
        let known = |t: &Txid| verified.contains(t);
        let mut chunks: Vec<Vec<Block>> = Vec::with_capacity(parts);
        let mut rest = blocks.into_iter();
        loop {
            let chunk: Vec<Block> = rest.by_ref().take(part_len).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        let results = if chunks.len() <= 1 {
            chunks
                .into_iter()
                .map(|c| check_blocks_known(c, network, &mut rand::rng(), known))
                .collect::<Vec<_>>()
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = chunks
                    .into_iter()
                    .map(|c| {
                        scope.spawn(move || check_blocks_known(c, network, &mut rand::rng(), known))
                    })
                    .collect();
                running
                    .into_iter()
                    .map(|r| {
                        r.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            })
        };
        let mut checked = Vec::with_capacity(hashes.len());
        let mut failure = None;
        for (part, (mut good, failed)) in results.into_iter().enumerate() {
            checked.append(&mut good);
            if let Some((position, error)) = failed {
                failure = Some((hashes[part * part_len + position], error));
                break;
            }
        }
        verified.insert_all(
            checked
                .iter()
                .flat_map(|c| c.txids().iter().skip(1).copied()),
        );
        (checked, failure)
    }

    /// How many signature checks the signature cache saved so far (transactions seen again, in a block or
    /// resent).
    pub fn signature_cache_hits(&self) -> u64 {
        self.shared.verified.hits()
    }

    /// Validates a transaction against the active chain and the mempool and adds it to the mempool; returns
    /// once it is stored ([`State::admit_transaction`], then [`Admission::wait`]).
    ///
    /// # Errors
    /// [`StateError::Mempool`] with the reason, or [`StateError::Store`].
    pub fn submit_transaction(&self, tx: Transaction) -> Result<Txid, StateError> {
        self.admit_transaction(tx)?.wait()
    }

    /// Validates a transaction and adds it to the in-memory mempool, queueing its database write for the
    /// next group commit. The stateless checks (signatures) run before the state lock is taken; under it run
    /// only the contextual checks and the in-memory insert. Other callers see the transaction (its outputs
    /// are spendable, its inputs taken) as soon as this returns; call [`Admission::wait`] before telling
    /// anyone it was accepted.
    ///
    /// # Errors
    /// [`StateError::Mempool`] with the reason.
    pub fn admit_transaction(&self, tx: Transaction) -> Result<Admission, StateError> {
        // A txid covers every byte, so a known one passed these checks before (a relay sending it again).
        let txid = tx.txid();
        if !self.shared.verified.contains(&txid) {
            check_transaction(&tx, &self.network).map_err(MempoolError::from)?;
            self.shared.verified.insert_all([txid]);
        }
        let mut inner = self.lock();
        let tip = inner.tip_height();
        let entry = inner
            .mempool
            .check_contextual(&tx, &inner.utxos, tip, &self.network)?;
        let txid = entry.txid;
        let record = mempool_record(&entry);
        let evicted = inner.mempool.insert_evicting(entry)?;
        let ticket = {
            let mut q = lock(&self.shared.writer.queue);
            let ticket = q.next_ticket;
            q.next_ticket += 1;
            q.items.push(Queued {
                ticket,
                add: record,
                remove: evicted.iter().map(|e| e.txid).collect(),
            });
            ticket
        };
        self.publish_pool(&inner);
        Ok(Admission {
            txid,
            ticket,
            state: self.clone(),
        })
    }

    /// Validates a block fully and stores it; switches the active chain when the block's chain has more work
    /// (reorganising if needed). Blocks whose parent is unknown are held (bounded) and connected when the
    /// parent arrives. A side-chain block whose branch cannot win keeps only its header
    /// ([`BlockOutcome::HeaderOnly`]). Same as [`State::submit_block_from`] with no known sender.
    ///
    /// # Errors
    /// [`StateError::InvalidBlock`] (nothing of an invalid block is stored except, for a block whose header
    /// was valid, its index entry marked invalid), [`StateError::NotYet`] (nothing stored),
    /// [`StateError::KnownInvalid`], [`StateError::Store`].
    pub fn submit_block(&self, block: Block) -> Result<BlockOutcome, StateError> {
        self.accept_from(block, None)
    }

    /// [`State::submit_block`] for a block sent by `source` (a peer, a client): a block refused as invalid
    /// counts against its source, and when the orphan pool is full the blocks of the sources with the most bad
    /// blocks are dropped first (ADR 0023).
    ///
    /// # Errors
    /// As [`State::submit_block`].
    pub fn submit_block_from(
        &self,
        block: Block,
        source: &Source,
    ) -> Result<BlockOutcome, StateError> {
        self.accept_from(block, Some(source))
    }

    fn accept_from(
        &self,
        block: Block,
        source: Option<&Source>,
    ) -> Result<BlockOutcome, StateError> {
        let hash = block.hash();
        {
            let mut inner = self.lock();
            if let Some(rec) = inner.index.get(&hash) {
                if rec.invalid {
                    inner.orphans.note_bad(source);
                    return Err(StateError::KnownInvalid(hash));
                }
                if rec.has_body {
                    return Ok(BlockOutcome::AlreadyKnown);
                }
                // Its header alone is kept and its branch still cannot win: no need to check it again.
                let tip_work = inner.tip().chain_work;
                if rec.chain_work < tip_work && !inner.branch_could_win(rec, true, tip_work) {
                    return Ok(BlockOutcome::HeaderOnly);
                }
            }
            if inner.orphans.contains(&hash) {
                return Ok(BlockOutcome::Orphan {
                    missing_parent: block.header.prev_hash,
                });
            }
        }
        // Stateless checks run without holding the lock, cheapest first: the target against the network's bound
        // and the proof of work (one hash), then sizes and the Merkle root, and only then the signatures.
        let checked = match self.check_block(block) {
            Ok(checked) => checked,
            Err(error) => {
                self.lock().orphans.note_bad(source);
                return Err(invalid(hash, error));
            }
        };
        let mut inner = self.lock();
        let outcome = inner.accept_with_orphans(&self.network, checked, source);
        self.publish(&mut inner);
        outcome
    }

    /// Validates and stores a batch of blocks (a sync or resolve), in order, committing them **together in
    /// one store transaction**: a crash inside the batch leaves the state of the previous batch. The
    /// stateless checks of every block run before the state lock is taken. Stops at the first block that
    /// fails (or whose parent is unknown); the blocks before it are committed. `source` is the sender, as for
    /// [`State::submit_block_from`].
    ///
    /// If the final commit fails, nothing of the batch is stored: the in-memory state is loaded again from
    /// the store and the store error is returned for the first block.
    pub fn submit_blocks(&self, blocks: Vec<Block>, source: Option<&Source>) -> BatchOutcome {
        let mut out = BatchOutcome::default();
        let (checked, failed) = self.check_blocks(blocks);
        if let Some((hash, error)) = failed {
            self.lock().orphans.note_bad(source);
            out.error = Some((hash, invalid(hash, error)));
        }
        let first = checked.first().map(|c| c.hash());
        let mut inner = self.lock();
        inner.store.batch = Some(Vec::new());
        for block in checked {
            let hash = block.hash();
            match inner.accept_with_orphans(&self.network, block, source) {
                Ok(outcome @ BlockOutcome::Orphan { .. }) => {
                    out.outcomes.push((hash, outcome));
                    break;
                }
                Ok(outcome) => out.outcomes.push((hash, outcome)),
                Err(e) => {
                    out.error = Some((hash, e));
                    break;
                }
            }
        }
        let batch = inner.store.batch.take().unwrap_or_default();
        if let Err(e) = self.shared.writer.commit_after_queue(&batch) {
            // Memory ran ahead of the store: load it again from what is stored (the previous batch).
            let handle = StoreHandle {
                writer: self.shared.writer.clone(),
                batch: None,
                touched: Vec::new(),
            };
            let config = inner.config.clone();
            match Inner::load(&self.network, handle, config, self.shared.verified.clone()) {
                Ok(fresh) => *inner = fresh,
                Err(reload) => {
                    out.error = Some((first.unwrap_or(BlockHash::ZERO), reload));
                    out.outcomes.clear();
                    return out;
                }
            }
            self.publish_all(&mut inner);
            out.outcomes.clear();
            out.error = Some((first.unwrap_or(BlockHash::ZERO), e.into()));
            return out;
        }
        self.publish(&mut inner);
        out
    }

    /// Takes the headers of a branch before its bodies (headers first, as a syncing node fetches them): each is
    /// checked statelessly and against its parent, which must be known (the first header's parent, or the
    /// header before it), and kept in the block index without a body (`has_body = false`) — but only when
    /// the branch shows at least the active chain's work: a branch that cannot win takes no space. Bodies
    /// submitted afterwards ([`State::submit_block`]) are then stored even while their own chain still has
    /// less work than the active one, because their branch could win. Headers already known are skipped.
    /// Returns how many headers were added; it stops at the first header whose parent is unknown.
    ///
    /// # Errors
    /// [`StateError::InvalidBlock`] or [`StateError::NotYet`] for the first header that fails (none of the
    /// batch is then kept), [`StateError::KnownInvalid`], [`StateError::Store`].
    pub fn submit_headers(&self, headers: &[Header]) -> Result<usize, StateError> {
        let mut hashes = Vec::with_capacity(headers.len());
        for header in headers {
            let hash =
                check_header_for(header, &self.network).map_err(|e| invalid(header.hash(), e))?;
            hashes.push(hash);
        }
        let mut inner = self.lock();
        let added = inner.accept_headers(&self.network, headers, &hashes);
        self.publish(&mut inner);
        added
    }

    /// The state's clock (ms since the Unix epoch): the one the "not too far in the future" rule uses.
    pub fn now_ms(&self) -> u64 {
        (self.shared.clock)()
    }

    /// The blocks held while waiting for their parent: how many, and their encoded size in bytes.
    pub fn orphan_pool_size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.orphans.len(), inner.orphans.bytes())
    }

    /// Up to `max` unspent outputs of the active chain in outpoint order (txid, then output index), after
    /// `after` (from the first with `None`): the UTXO set page by page, for answers that stream it without
    /// copying it whole. Each page scans the set once under the lock (O(set size · log max)); pages read at
    /// different times may straddle a connected block.
    pub fn utxo_page(&self, after: Option<OutPoint>, max: usize) -> Vec<(OutPoint, UtxoEntry)> {
        let inner = self.lock();
        // The `max` smallest outpoints above `after`, kept in a max-heap so each step is O(log max).
        let mut smallest: std::collections::BinaryHeap<OutPoint> =
            std::collections::BinaryHeap::with_capacity(max.min(inner.utxos.len()) + 1);
        for (op, _) in inner.utxos.iter() {
            if after.is_some_and(|a| *op <= a) {
                continue;
            }
            if smallest.len() < max {
                smallest.push(*op);
            } else if smallest.peek().is_some_and(|largest| op < largest) {
                smallest.pop();
                smallest.push(*op);
            }
        }
        smallest
            .into_sorted_vec()
            .into_iter()
            .filter_map(|op| {
                ferrochain_core::utxo::UtxoView::utxo(&inner.utxos, &op).map(|e| (op, e))
            })
            .collect()
    }
}

fn invalid(hash: BlockHash, error: BlockError) -> StateError {
    StateError::InvalidBlock {
        hash,
        error: Box::new(error),
    }
}

/// The error for a block that failed `error`: [`StateError::NotYet`] for a time too far in the future (not
/// invalid, only early), [`StateError::InvalidBlock`] otherwise.
fn refused(hash: BlockHash, error: BlockError) -> StateError {
    match error {
        BlockError::TimeTooFarInFuture {
            time_ms,
            max_allowed,
        } => StateError::NotYet {
            hash,
            time_ms,
            max_allowed,
        },
        error => invalid(hash, error),
    }
}

fn decode_block(hash: &BlockHash, bytes: Option<Vec<u8>>) -> Result<Option<Block>, StateError> {
    match bytes {
        Some(bytes) => Block::from_bytes(&bytes).map(Some).map_err(|e| {
            StateError::Inconsistent(format!("stored block {hash} does not decode: {e}"))
        }),
        None => Ok(None),
    }
}

/// Reads and decodes a stored block.
fn load_block(store: &mut StoreHandle, hash: &BlockHash) -> Result<Option<Block>, StateError> {
    decode_block(hash, store.block(hash)?)
}

/// The ancestor of `hash` at `height` (walking parent links; fast once on the active chain).
fn ancestor(
    index: &HashMap<BlockHash, HeaderRecord>,
    active: &[BlockHash],
    hash: &BlockHash,
    height: Height,
) -> Option<BlockHash> {
    let is_active = |h: &BlockHash| {
        index
            .get(h)
            .is_some_and(|r| active.get(r.header.height.0 as usize) == Some(h))
    };
    let mut cur = *hash;
    loop {
        let rec = index.get(&cur)?;
        if rec.header.height == height {
            return Some(cur);
        }
        if rec.header.height < height {
            return None;
        }
        if is_active(&cur) {
            return active.get(height.0 as usize).copied();
        }
        cur = rec.header.prev_hash;
    }
}

/// The context a child of `parent` is checked in, from a block index and active chain.
fn header_context(
    index: &HashMap<BlockHash, HeaderRecord>,
    active: &[BlockHash],
    now_ms: u64,
    network: &Network,
    parent: &BlockHash,
) -> Result<HeaderContext, BitsError> {
    let rec = &index[parent];
    let height = Height(rec.header.height.0 + 1);
    let spec = network.spec();
    let window = spec.retarget_window_start(height).and_then(|start| {
        let start_hash = ancestor(index, active, parent, start)?;
        Some((index[&start_hash].header.time_ms, rec.header.time_ms))
    });
    let expected_bits = spec.expected_bits(height, rec.header.bits, window)?;
    let mut times = Vec::with_capacity(11);
    let mut cur = Some(*parent);
    while let (Some(h), true) = (cur, times.len() < 11) {
        let r = &index[&h];
        times.push(r.header.time_ms);
        cur = if r.header.height.0 == 0 {
            None
        } else {
            Some(r.header.prev_hash)
        };
    }
    times.reverse();
    Ok(HeaderContext {
        parent_hash: *parent,
        height,
        expected_bits,
        median_time_past: median_time_past(&times),
        now_ms,
    })
}

impl Inner {
    fn tip(&self) -> Tip {
        tip_of(&self.index, &self.active)
    }

    fn tip_height(&self) -> Height {
        Height(self.active.len() as u64 - 1)
    }

    /// Loads the block index, active chain, UTXO set and mempool from the store (at open, and after a
    /// failed batch commit). Mempool transactions that are no longer valid are dropped.
    fn load(
        network: &Network,
        store: StoreHandle,
        config: StateConfig,
        verified: Arc<VerifiedTxids>,
    ) -> Result<Inner, StateError> {
        let writer = store.writer.clone();
        let mut db = writer.store();
        let headers = db.headers()?;
        let next_seq = headers.iter().map(|h| h.seq + 1).max().unwrap_or(1);
        let index: HashMap<BlockHash, HeaderRecord> =
            headers.into_iter().map(|h| (h.hash, h)).collect();
        let active = db.active_chain()?;
        if active.first() != Some(&network.genesis_hash()) {
            return Err(StateError::Inconsistent(
                "the active chain does not start at this network's genesis".into(),
            ));
        }
        if db.tip()? != active.last().copied() {
            return Err(StateError::Inconsistent(
                "the stored tip is not the last block of the active chain".into(),
            ));
        }
        let utxos = MemoryUtxoSet::from_parts(db.utxos()?, db.txids()?);
        let stored_pool = db.mempool()?;
        let mut inner = Inner {
            store,
            mempool: Mempool::new(config.mempool_max_bytes),
            config,
            index,
            active,
            utxos,
            orphans: OrphanPool::default(),
            branches: Branches::default(),
            next_seq,
            verified,
        };
        // Re-admit the persisted mempool in arrival order; drop what no longer fits the chain.
        let mut dropped = Vec::new();
        for rec in stored_pool {
            let ok = Transaction::from_bytes(&rec.bytes).ok().and_then(|tx| {
                let tip = inner.tip_height();
                let mut entry = inner.mempool.check(&tx, &inner.utxos, tip, network).ok()?;
                inner.verified.insert_all([entry.txid]);
                entry.seq = rec.seq;
                inner.mempool.insert(entry).ok()
            });
            if ok.is_none() {
                dropped.push(rec.txid);
            }
        }
        if !dropped.is_empty() {
            db.commit(&ChangeSet {
                mempool_remove: dropped,
                ..ChangeSet::default()
            })?;
        }
        drop(db);
        Ok(inner)
    }

    /// Accepts a block, then the held orphans that were waiting for it (and for them, transitively). A block
    /// refused as invalid counts against its sender (`source`, or the orphan's own).
    fn accept_with_orphans(
        &mut self,
        network: &Network,
        checked: CheckedBlock,
        source: Option<&Source>,
    ) -> Result<BlockOutcome, StateError> {
        let hash = checked.hash();
        let outcome = self.accept(network, checked, source);
        if matches!(
            outcome,
            Err(StateError::InvalidBlock { .. } | StateError::KnownInvalid(_))
        ) {
            self.orphans.note_bad(source);
        }
        let outcome = outcome?;
        // Blocks that were waiting for this one can now follow.
        let mut merged = outcome.clone();
        let mut parents = vec![hash];
        while let Some(parent) = parents.pop() {
            for (block, from) in self.orphans.take_children(&parent) {
                let child = block.hash();
                match self.accept(network, block, from.as_ref()) {
                    Ok(BlockOutcome::Connected(r)) => {
                        if let BlockOutcome::Connected(m) = &mut merged {
                            m.connected.extend(r.connected);
                        } else {
                            merged = BlockOutcome::Connected(r);
                        }
                    }
                    Ok(_) | Err(StateError::NotYet { .. } | StateError::Store(_)) => {}
                    Err(_) => self.orphans.note_bad(from.as_ref()),
                }
                parents.push(child);
            }
        }
        Ok(merged)
    }

    fn is_active(&self, hash: &BlockHash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|r| self.active.get(r.header.height.0 as usize) == Some(hash))
    }

    /// The context a child of `parent` is checked in.
    fn header_context(
        &self,
        network: &Network,
        parent: &BlockHash,
    ) -> Result<HeaderContext, BitsError> {
        header_context(
            &self.index,
            &self.active,
            (self.config.clock)(),
            network,
            parent,
        )
    }

    /// Checks a header whose parent `parent` is known against its place in the chain and builds its index
    /// record (without a body). A header seen before keeps its first-seen order.
    fn header_record(
        &self,
        network: &Network,
        header: &Header,
        hash: BlockHash,
        parent: &HeaderRecord,
    ) -> Result<HeaderRecord, StateError> {
        if parent.invalid {
            return Err(StateError::KnownInvalid(parent.hash));
        }
        let ctx = self
            .header_context(network, &parent.hash)
            .map_err(|e| invalid(hash, BlockError::BadBits(e)))?;
        check_header_contextual(header, &ctx, network).map_err(|error| refused(hash, error))?;
        let work = header
            .bits
            .to_target()
            .map(|t| t.work())
            .unwrap_or(Work::ZERO);
        Ok(HeaderRecord {
            hash,
            header: *header,
            chain_work: parent.chain_work.saturating_add(work),
            seq: self.index.get(&hash).map_or(self.next_seq, |r| r.seq),
            has_body: false,
            invalid: false,
        })
    }

    /// Whether a block with index record `rec` is on a branch that could win: some known header descending
    /// from it has at least `tip_work`. Only a block whose header was in the index before can have known
    /// descendants; the best header's branch is tried first, the whole index only if that fails.
    fn branch_could_win(&self, rec: &HeaderRecord, known: bool, tip_work: Work) -> bool {
        if !known {
            return false;
        }
        let descends = |e: &HeaderRecord| {
            e.chain_work >= tip_work
                && e.header.height > rec.header.height
                && !e.invalid
                && self.ancestor_in_index(&e.hash, rec.header.height) == Some(rec.hash)
        };
        if self.best_header().is_some_and(descends) {
            return true;
        }
        self.index.values().any(descends)
    }

    /// The known header with the most work, first seen on ties.
    fn best_header(&self) -> Option<&HeaderRecord> {
        self.branches.best_header.and_then(|h| self.index.get(&h))
    }

    /// Adds a checked header record to the index (and keeps the best header up to date).
    fn index_header(&mut self, rec: HeaderRecord) {
        self.index.insert(rec.hash, rec);
        let best = match self.branches.best_header {
            Some(h) if self.index.contains_key(&h) => Some(h),
            _ => self
                .index
                .values()
                .max_by(|a, b| a.chain_work.cmp(&b.chain_work).then(b.seq.cmp(&a.seq)))
                .map(|r| r.hash),
        };
        let best_work = best.and_then(|h| self.index.get(&h)).map(|r| r.chain_work);
        self.branches.best_header = match best_work {
            Some(w) if w >= rec.chain_work => best,
            _ => Some(rec.hash),
        };
    }

    /// The ancestor of `hash` at `height` by parent links in the index alone (side branches included).
    fn ancestor_in_index(&self, hash: &BlockHash, height: Height) -> Option<BlockHash> {
        let mut cur = self.index.get(hash)?;
        while cur.header.height > height {
            cur = self.index.get(&cur.header.prev_hash)?;
        }
        (cur.header.height == height).then_some(cur.hash)
    }

    /// The lowest block between the active chain and `hash` (included) whose body is not stored.
    fn first_missing_body(&self, hash: &BlockHash) -> Option<BlockHash> {
        let mut missing = None;
        let mut cur = *hash;
        while !self.is_active(&cur) {
            let rec = self.index.get(&cur)?;
            if !rec.has_body {
                missing = Some(cur);
            }
            cur = rec.header.prev_hash;
        }
        missing
    }

    /// Of the stored blocks waiting for an ancestor's body ([`Branches::waiting`]) that descend from `hash`,
    /// have more work than the tip and whose whole branch is now stored and valid, the one with the most work
    /// (first seen on ties): the chain to switch to once the body of `hash` has completed a branch.
    fn best_stored_descendant(&self, hash: &BlockHash) -> Option<BlockHash> {
        let tip_work = self.tip().chain_work;
        let height = self.index.get(hash)?.header.height;
        let mut candidates: Vec<&HeaderRecord> = self
            .branches
            .waiting
            .iter()
            .filter_map(|h| self.index.get(h))
            .filter(|e| e.chain_work > tip_work && e.has_body && !e.invalid)
            .filter(|e| self.ancestor_in_index(&e.hash, height) == Some(*hash))
            .collect();
        candidates.sort_by(|a, b| b.chain_work.cmp(&a.chain_work).then(a.seq.cmp(&b.seq)));
        candidates
            .into_iter()
            .find(|e| {
                self.first_missing_body(&e.hash).is_none() && !self.has_invalid_ancestor(&e.hash)
            })
            .map(|e| e.hash)
    }

    /// Whether a block between the active chain and `hash` is marked invalid.
    fn has_invalid_ancestor(&self, hash: &BlockHash) -> bool {
        let mut cur = *hash;
        while !self.is_active(&cur) {
            let Some(rec) = self.index.get(&cur) else {
                return false;
            };
            if rec.invalid {
                return true;
            }
            cur = rec.header.prev_hash;
        }
        false
    }

    /// Keeps the checked headers of a branch in the index without bodies (see [`State::submit_headers`]).
    fn accept_headers(
        &mut self,
        network: &Network,
        headers: &[Header],
        hashes: &[BlockHash],
    ) -> Result<usize, StateError> {
        let first_seq = self.next_seq;
        let mut added: Vec<HeaderRecord> = Vec::new();
        let mut best = Work::ZERO;
        let mut result = Ok(());
        for (header, hash) in headers.iter().zip(hashes) {
            if let Some(rec) = self.index.get(hash) {
                if rec.invalid {
                    result = Err(StateError::KnownInvalid(*hash));
                    break;
                }
                best = best.max(rec.chain_work);
                continue;
            }
            let Some(parent) = self.index.get(&header.prev_hash).copied() else {
                break;
            };
            match self.header_record(network, header, *hash, &parent) {
                Ok(rec) => {
                    best = best.max(rec.chain_work);
                    self.index_header(rec);
                    self.next_seq += 1;
                    added.push(rec);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let forget = |inner: &mut Inner, added: &[HeaderRecord]| {
            for rec in added {
                inner.index.remove(&rec.hash);
            }
            inner.next_seq = first_seq;
            // The best header may have been one of them: it is searched again when next needed.
            if inner.best_header().is_none() {
                inner.branches.best_header = None;
            }
        };
        if let Err(e) = result {
            forget(self, &added);
            return Err(e);
        }
        // A branch with less work than the active chain cannot win: its headers take no space.
        if added.is_empty() || best < self.tip().chain_work {
            forget(self, &added);
            return Ok(0);
        }
        let cs = ChangeSet {
            headers: added.clone(),
            ..ChangeSet::default()
        };
        if let Err(e) = self.store.commit(&cs) {
            forget(self, &added);
            return Err(e.into());
        }
        Ok(added.len())
    }

    fn hold_orphan(&mut self, block: CheckedBlock, source: Option<&Source>) {
        let (count, bytes) = (self.config.max_orphans, self.config.max_orphan_bytes);
        self.orphans.insert(block, source.cloned(), count, bytes);
    }

    /// Accepts a stateless-checked block whose parent may or may not be known.
    fn accept(
        &mut self,
        network: &Network,
        block: CheckedBlock,
        source: Option<&Source>,
    ) -> Result<BlockOutcome, StateError> {
        let hash = block.hash();
        let known = self.index.get(&hash).copied();
        if let Some(rec) = known {
            if rec.invalid {
                return Err(StateError::KnownInvalid(hash));
            }
            if rec.has_body {
                return Ok(BlockOutcome::AlreadyKnown);
            }
        }
        let prev = block.header().prev_hash;
        let Some(parent) = self.index.get(&prev).copied() else {
            self.hold_orphan(block, source);
            return Ok(BlockOutcome::Orphan {
                missing_parent: prev,
            });
        };
        let record = self.header_record(network, block.header(), hash, &parent)?;
        let tip_work = self.tip().chain_work;
        if record.chain_work < tip_work
            && !self.branch_could_win(&record, known.is_some(), tip_work)
        {
            // Headers first: a branch with less work than the active chain keeps its header, not its body.
            if known.is_none() {
                self.store.commit(&ChangeSet {
                    headers: vec![record],
                    ..ChangeSet::default()
                })?;
                self.index_header(record);
                self.next_seq += 1;
            }
            return Ok(BlockOutcome::HeaderOnly);
        }
        let record = HeaderRecord {
            has_body: true,
            ..record
        };
        let mut cs = ChangeSet {
            headers: vec![record],
            bodies: vec![(hash, block.block().to_bytes())],
            ..ChangeSet::default()
        };
        let stored_seq = |inner: &mut Inner| {
            if known.is_none() {
                inner.next_seq += 1;
            }
        };
        // More work than the tip but an ancestor's body is missing: the block is stored (its branch could win)
        // and waits for that body. (Only then is the branch walked: a block with no more work than the tip is
        // not connected, whatever its ancestors.)
        let missing = if record.chain_work > tip_work {
            self.first_missing_body(&prev)
        } else {
            None
        };
        if let Some(missing) = missing {
            self.store.commit(&cs)?;
            self.index_header(record);
            stored_seq(self);
            if self.branches.waiting.len() < MAX_WAITING {
                self.branches.waiting.insert(hash);
            }
            return Ok(BlockOutcome::Orphan {
                missing_parent: missing,
            });
        }
        self.index_header(record);
        match self.update_best_chain(network, &mut cs, hash, Some(block)) {
            Ok(outcome) => {
                stored_seq(self);
                if outcome == BlockOutcome::SideChain && !self.branches.waiting.is_empty() {
                    // This body may have completed a stored branch with more work (its descendants arrived first).
                    return Ok(self.switch_to_stored_descendant(network, hash));
                }
                Ok(outcome)
            }
            Err(e) => {
                // Not stored: forget it, or go back to its header alone (a resubmission is checked again and
                // refused again).
                match known {
                    Some(rec) => self.index.insert(hash, rec),
                    None => self.index.remove(&hash),
                };
                if self.best_header().is_none() {
                    self.branches.best_header = None;
                }
                Err(e)
            }
        }
    }

    /// After the body of `hash` was stored on a side chain: switches to the best stored branch through it with
    /// more work than the tip, if there is one now that this body completed it. A failure there marks the
    /// failing block invalid (it was stored earlier) and leaves `hash` stored on its side chain.
    fn switch_to_stored_descendant(&mut self, network: &Network, hash: BlockHash) -> BlockOutcome {
        let Some(best) = self.best_stored_descendant(&hash) else {
            return BlockOutcome::SideChain;
        };
        let mut cs = ChangeSet::default();
        let result = self.update_best_chain(network, &mut cs, best, None);
        let waiting = std::mem::take(&mut self.branches.waiting);
        self.branches.waiting = waiting
            .into_iter()
            .filter(|h| self.index.get(h).is_some_and(|r| !r.invalid) && !self.is_active(h))
            .collect();
        match result {
            Ok(outcome) => outcome,
            Err(StateError::InvalidBlock { hash: bad, .. }) => {
                if let Some(rec) = self.index.get_mut(&bad) {
                    rec.invalid = true;
                    let rec = *rec;
                    // Best effort: on a failure here the flag is set again when the branch is tried again.
                    let _ = self.store.commit(&ChangeSet {
                        headers: vec![rec],
                        ..ChangeSet::default()
                    });
                }
                if self.is_active(&hash) {
                    BlockOutcome::Connected(Reorged::default())
                } else {
                    BlockOutcome::SideChain
                }
            }
            Err(_) => BlockOutcome::SideChain,
        }
    }

    /// Switches to `candidate`'s chain if it has more work than the active one, committing `cs` (plus the
    /// reorg) atomically; otherwise commits `cs` as a side-chain block.
    fn update_best_chain(
        &mut self,
        network: &Network,
        cs: &mut ChangeSet,
        candidate: BlockHash,
        mut in_hand: Option<CheckedBlock>,
    ) -> Result<BlockOutcome, StateError> {
        let tip = self.tip();
        if self.index[&candidate].chain_work <= tip.chain_work {
            self.store.commit(cs)?;
            return Ok(BlockOutcome::SideChain);
        }
        // The branch from the fork point up to the candidate.
        let mut path = Vec::new();
        let mut cur = candidate;
        while !self.is_active(&cur) {
            path.push(cur);
            cur = self.index[&cur].header.prev_hash;
        }
        let fork = cur;
        path.reverse();
        let fork_height = self.index[&fork].header.height.0;

        let mut working = OverlayView::new(&self.utxos);
        let mut disconnected = Vec::new();
        let mut disconnected_changes = Vec::new();
        for h in ((fork_height + 1)..=tip.height.0).rev() {
            let hash = self.active[h as usize];
            let changes = self.store.undo(&hash)?.ok_or_else(|| {
                StateError::Inconsistent(format!("no undo data for active block {hash}"))
            })?;
            working.undo(&changes);
            disconnected.push(hash);
            disconnected_changes.push(changes);
        }
        let mut connects: Vec<(CheckedBlock, ConnectRecord)> = Vec::new();
        let mut failure: Option<(BlockHash, BlockError)> = None;
        for hash in &path {
            let checked = match in_hand.take_if(|b| b.hash() == *hash) {
                Some(b) => b,
                None => {
                    let block = load_block(&mut self.store, hash)?.ok_or_else(|| {
                        StateError::Inconsistent(format!("no body for block {hash}"))
                    })?;
                    let verified = &self.verified;
                    check_block_known(block, network, &mut rand::rng(), |t| verified.contains(t))
                        .map_err(|error| invalid(*hash, error))?
                }
            };
            let parent = checked.header().prev_hash;
            // The context must see the branch being built, so index lookups are enough (not the active chain).
            let ctx = self
                .header_context(network, &parent)
                .map_err(|e| invalid(*hash, BlockError::BadBits(e)))?;
            match connect_block(&checked, &ctx, network, &working) {
                Ok(changes) => {
                    working.apply(&changes);
                    let record = connect_record(checked.block(), checked.txids(), changes);
                    connects.push((checked, record));
                }
                Err(error) => {
                    failure = Some((*hash, error));
                    break;
                }
            }
        }
        // On a failure the candidate (the failing block or a descendant of it) leaves no trace in the store;
        // a failing block stored earlier (on a side chain) is marked invalid there. The active chain switches
        // only if the valid prefix of the branch still has more work.
        if let Some((bad, _)) = &failure {
            cs.headers.retain(|h| h.hash != candidate);
            cs.bodies.retain(|(h, _)| *h != candidate);
            if *bad != candidate {
                let mut rec = self.index[bad];
                rec.invalid = true;
                cs.headers.retain(|h| h.hash != *bad);
                cs.headers.push(rec);
            }
        }
        let new_tip = connects.last().map(|(b, _)| b.hash());
        let switch = new_tip.is_some_and(|t| self.index[&t].chain_work > tip.chain_work);
        if !switch {
            drop(working);
            self.store.commit(cs)?;
            if let Some((bad, error)) = failure {
                if let Some(r) = self.index.get_mut(&bad) {
                    r.invalid = true;
                }
                return Err(invalid(bad, error));
            }
            return Ok(BlockOutcome::SideChain);
        }
        let new_tip = new_tip.unwrap_or(tip.hash);

        // The mempool after the switch. A plain extension only takes out what the new blocks confirmed or
        // now conflict with (and what spends those conflicts): nothing else can have become invalid, so
        // nothing is checked again — the cost follows the blocks, not the pool. A reorg rebuilds the pool:
        // disconnected transactions first (oldest block first), then the current pool, each checked again in
        // context only (their signatures were checked when they entered the pool or their block).
        let new_height = Height(fork_height + connects.len() as u64);
        let mut new_pool: Option<Mempool> = None;
        let mut confirmed_or_conflicting: Vec<Txid> = Vec::new();
        if disconnected.is_empty() {
            let blocks: Vec<&Block> = connects.iter().map(|(b, _)| b.block()).collect();
            confirmed_or_conflicting = self.mempool.removals_for(&blocks);
            cs.mempool_remove
                .extend(confirmed_or_conflicting.iter().copied());
        } else {
            let connected_txids: HashSet<Txid> = connects
                .iter()
                .flat_map(|(b, _)| b.txids().iter().copied())
                .collect();
            let mut pool = self.mempool.emptied();
            let mut candidates: Vec<Transaction> = Vec::new();
            for hash in disconnected.iter().rev() {
                if let Some(block) = load_block(&mut self.store, hash)? {
                    candidates.extend(block.transactions.into_iter().filter(|t| !t.is_coinbase()));
                }
            }
            let old_pool: Vec<MempoolEntry> = {
                let mut v: Vec<MempoolEntry> =
                    self.mempool.ordered().into_iter().cloned().collect();
                v.sort_by_key(|e| e.seq);
                v
            };
            let mut next_pool_seq = self.mempool.next_seq();
            for tx in candidates {
                if connected_txids.contains(&tx.txid()) {
                    continue;
                }
                if let Ok(mut entry) = pool.check_contextual(&tx, &working, new_height, network) {
                    entry.seq = next_pool_seq;
                    next_pool_seq += 1;
                    let _ = pool.insert(entry);
                }
            }
            for old in &old_pool {
                if connected_txids.contains(&old.txid) {
                    continue;
                }
                if let Ok(mut entry) = pool.check_contextual(&old.tx, &working, new_height, network)
                {
                    entry.seq = old.seq;
                    let _ = pool.insert(entry);
                }
            }
            for old in &old_pool {
                if !pool.contains(&old.txid) {
                    cs.mempool_remove.push(old.txid);
                }
            }
            for e in pool.ordered() {
                if !self.mempool.contains(&e.txid) {
                    cs.mempool_add.push(mempool_record(e));
                }
            }
            new_pool = Some(pool);
        }
        drop(working);
        cs.disconnect = disconnected_changes.clone();
        cs.connect = connects.iter().map(|(_, r)| r.clone()).collect();
        cs.tip = Some(new_tip);
        self.store.commit(cs)?;

        // Committed: bring memory in line.
        for changes in &disconnected_changes {
            self.utxos.undo(changes);
        }
        self.active.truncate(fork_height as usize + 1);
        for (block, record) in &connects {
            self.utxos.apply(&record.changes);
            self.active.push(block.hash());
        }
        match new_pool {
            Some(pool) => self.mempool = pool,
            None => {
                self.mempool.remove_all(&confirmed_or_conflicting);
            }
        }
        if let Some((bad, error)) = failure {
            if let Some(r) = self.index.get_mut(&bad) {
                r.invalid = true;
            }
            // The candidate itself is invalid (or descends from the invalid block) even though a valid prefix
            // of its branch became active.
            return Err(invalid(bad, error));
        }
        Ok(BlockOutcome::Connected(Reorged {
            disconnected,
            connected: connects.iter().map(|(b, _)| b.hash()).collect(),
        }))
    }
}
