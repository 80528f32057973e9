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
//! downloads or connects it (or its descendants) again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use ferrochain_core::block::Block;
use ferrochain_core::check::{
    BlockError, CheckedBlock, HeaderContext, OverlayView, check_block, check_header_contextual,
    connect_block,
};
use ferrochain_core::encode::{Decode, Encode};
use ferrochain_core::merkle::{MerkleProof, merkle_proof};
use ferrochain_core::pow::{BitsError, Work};
use ferrochain_core::spec::median_time_past;
use ferrochain_core::tx::{OutPoint, Transaction};
use ferrochain_core::utxo::{BlockChanges, MemoryUtxoSet, UtxoEntry};
use ferrochain_core::{Amount, BlockHash, Header, Height, Network, PubkeyHash, Txid};

use crate::mempool::{Mempool, MempoolEntry, MempoolError};
use crate::store::{
    ChangeSet, ConnectRecord, HeaderRecord, HistoryRow, MempoolRecord, Store, StoreError,
};

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
    /// The clock used for the "not too far in the future" rule.
    pub clock: Clock,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            mempool_max_bytes: 32 * 1024 * 1024,
            max_orphans: 256,
            clock: system_clock(),
        }
    }
}

impl std::fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateConfig")
            .field("mempool_max_bytes", &self.mempool_max_bytes)
            .field("max_orphans", &self.max_orphans)
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
    /// The parent is unknown: the block is held until it arrives (a node should sync from the sender).
    Orphan {
        /// The missing parent.
        missing_parent: BlockHash,
    },
    /// Stored on a side chain with no more work than the active one.
    SideChain,
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
#[derive(Clone)]
pub struct State {
    network: Arc<Network>,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("network", &self.network.spec().name)
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Box<dyn Store>,
    config: StateConfig,
    index: HashMap<BlockHash, HeaderRecord>,
    active: Vec<BlockHash>,
    utxos: MemoryUtxoSet,
    mempool: Mempool,
    orphans: HashMap<BlockHash, CheckedBlock>,
    orphan_order: VecDeque<BlockHash>,
    next_seq: u64,
}

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
        let headers = store.headers()?;
        let next_seq = headers.iter().map(|h| h.seq + 1).max().unwrap_or(1);
        let index: HashMap<BlockHash, HeaderRecord> =
            headers.into_iter().map(|h| (h.hash, h)).collect();
        let active = store.active_chain()?;
        if active.first() != Some(&network.genesis_hash()) {
            return Err(StateError::Inconsistent(
                "the active chain does not start at this network's genesis".into(),
            ));
        }
        if store.tip()? != active.last().copied() {
            return Err(StateError::Inconsistent(
                "the stored tip is not the last block of the active chain".into(),
            ));
        }
        let utxos = MemoryUtxoSet::from_parts(store.utxos()?, store.txids()?);
        let stored_pool = store.mempool()?;
        let mut inner = Inner {
            store,
            mempool: Mempool::new(config.mempool_max_bytes),
            config,
            index,
            active,
            utxos,
            orphans: HashMap::new(),
            orphan_order: VecDeque::new(),
            next_seq,
        };
        // Re-admit the persisted mempool in arrival order; drop what no longer fits the chain.
        let mut dropped = Vec::new();
        for rec in stored_pool {
            let ok = Transaction::from_bytes(&rec.bytes).ok().and_then(|tx| {
                let tip = inner.tip_height();
                let mut entry = inner.mempool.check(&tx, &inner.utxos, tip, &network).ok()?;
                entry.seq = rec.seq;
                inner.mempool.insert(entry).ok()
            });
            if ok.is_none() {
                dropped.push(rec.txid);
            }
        }
        if !dropped.is_empty() {
            inner.store.commit(&ChangeSet {
                mempool_remove: dropped,
                ..ChangeSet::default()
            })?;
        }
        Ok(State {
            network: Arc::new(network),
            inner: Arc::new(Mutex::new(inner)),
        })
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
        inner.store.reset(&fresh)?;
        let changes = network.genesis_changes();
        inner.index = fresh.headers.iter().map(|h| (h.hash, *h)).collect();
        inner.active = vec![network.genesis_hash()];
        inner.utxos = MemoryUtxoSet::from_parts(changes.created, changes.txids);
        inner.mempool = Mempool::new(inner.config.mempool_max_bytes);
        inner.orphans.clear();
        inner.orphan_order.clear();
        inner.next_seq = 1;
        Ok(inner.tip())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the state half-updated (in-memory updates follow a
        // successful commit and cannot fail), so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The active tip.
    pub fn tip(&self) -> Tip {
        self.lock().tip()
    }

    /// The hash of the active block at `height`.
    pub fn hash_at(&self, height: Height) -> Option<BlockHash> {
        self.lock().active.get(height.0 as usize).copied()
    }

    /// A block-index entry (any known block, active or not).
    pub fn header(&self, hash: &BlockHash) -> Option<HeaderRecord> {
        self.lock().index.get(hash).copied()
    }

    /// Whether `hash` is in the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        let inner = self.lock();
        inner
            .index
            .get(hash)
            .is_some_and(|r| inner.active.get(r.header.height.0 as usize) == Some(hash))
    }

    /// A stored block by hash.
    ///
    /// # Errors
    /// [`StateError::Store`], or [`StateError::Inconsistent`] for an undecodable body.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StateError> {
        self.lock().block(hash)
    }

    /// The active block at `height`.
    ///
    /// # Errors
    /// As [`State::block`].
    pub fn block_at(&self, height: Height) -> Result<Option<Block>, StateError> {
        let mut inner = self.lock();
        match inner.active.get(height.0 as usize).copied() {
            Some(hash) => inner.block(&hash),
            None => Ok(None),
        }
    }

    /// A transaction, pending or confirmed in the active chain.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn transaction(&self, txid: &Txid) -> Result<Option<TxInfo>, StateError> {
        let mut inner = self.lock();
        if let Some(e) = inner.mempool.get(txid) {
            return Ok(Some(TxInfo {
                tx: e.tx.clone(),
                status: TxStatus::Pending { fee: e.fee },
            }));
        }
        let Some(loc) = inner.store.tx_location(txid)? else {
            return Ok(None);
        };
        let block = inner.block(&loc.block)?.ok_or_else(|| {
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
        let confirmations = inner.tip_height().0.saturating_sub(loc.height.0) + 1;
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
        let mut inner = self.lock();
        let Some(loc) = inner.store.tx_location(txid)? else {
            return Ok(None);
        };
        let Some(block) = inner.block(&loc.block)? else {
            return Ok(None);
        };
        Ok(merkle_proof(&block.txids(), loc.index as usize).map(|p| (block.header, p)))
    }

    /// An address's confirmed and pending balance.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn balance(&self, address: &PubkeyHash) -> Result<Balance, StateError> {
        let mut inner = self.lock();
        let confirmed = Amount::checked_sum(
            inner
                .store
                .address_utxos(address)?
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
        Ok(self.lock().store.address_utxos(address)?)
    }

    /// Outputs of `address` that a new transaction may spend now: confirmed ones not spent by the mempool
    /// (and matured), plus unconfirmed change from the mempool.
    ///
    /// # Errors
    /// [`StateError::Store`].
    pub fn spendable(
        &self,
        address: &PubkeyHash,
    ) -> Result<Vec<(OutPoint, UtxoEntry)>, StateError> {
        let mut inner = self.lock();
        let next = inner.tip_height().0 + 1;
        let maturity = self.network.spec().coinbase_maturity;
        let mut out: Vec<(OutPoint, UtxoEntry)> = inner
            .store
            .address_utxos(address)?
            .into_iter()
            .filter(|(op, e)| {
                inner.mempool.spender(op).is_none()
                    && (!e.is_coinbase || e.height.0 + maturity <= next)
            })
            .collect();
        for e in inner.mempool.ordered() {
            for (vout, o) in e.tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid: e.txid,
                    vout: vout as u32,
                };
                if o.address == *address && inner.mempool.spender(&op).is_none() {
                    out.push((
                        op,
                        UtxoEntry {
                            output: *o,
                            height: Height(next),
                            is_coinbase: false,
                        },
                    ));
                }
            }
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
        Ok(self.lock().store.address_history(address, offset, limit)?)
    }

    /// Every unspent output of the active chain.
    pub fn utxo_set(&self) -> MemoryUtxoSet {
        self.lock().utxos.clone()
    }

    /// The mempool's transactions in block order (fee rate, then arrival; parents first).
    pub fn mempool(&self) -> Vec<MempoolEntry> {
        self.lock().mempool.ordered().into_iter().cloned().collect()
    }

    /// The number of mempool transactions and their encoded size in bytes (cheap: nothing is copied).
    pub fn mempool_size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.mempool.len(), inner.mempool.bytes())
    }

    /// The first `max` mempool transactions in block order, for a block template.
    pub fn block_template_transactions(&self, max: usize) -> Vec<Transaction> {
        self.lock().mempool.template(max)
    }

    /// The context a new block on the tip is checked in (parent, height, required bits, median time past,
    /// now), for miners building templates.
    ///
    /// # Errors
    /// [`StateError::Inconsistent`] if the tip's bits are malformed.
    pub fn next_block_context(&self) -> Result<HeaderContext, StateError> {
        let inner = self.lock();
        let tip = inner.tip().hash;
        inner
            .header_context(&self.network, &tip)
            .map_err(|e| StateError::Inconsistent(e.to_string()))
    }

    /// Validates a transaction against the active chain and the mempool and adds it to the mempool.
    ///
    /// # Errors
    /// [`StateError::Mempool`] with the reason, or [`StateError::Store`].
    pub fn submit_transaction(&self, tx: Transaction) -> Result<Txid, StateError> {
        let mut inner = self.lock();
        let tip = inner.tip_height();
        let entry = inner.mempool.check(&tx, &inner.utxos, tip, &self.network)?;
        let txid = entry.txid;
        let record = mempool_record(&entry);
        let evicted = inner.mempool.insert_evicting(entry)?;
        let cs = ChangeSet {
            mempool_add: vec![record],
            mempool_remove: evicted.iter().map(|e| e.txid).collect(),
            ..ChangeSet::default()
        };
        if let Err(e) = inner.store.commit(&cs) {
            // Not stored: take the newcomer out and put the evicted back, as before the call.
            inner.mempool.remove(&txid);
            inner.mempool.restore(evicted);
            return Err(e.into());
        }
        Ok(txid)
    }

    /// Validates a block fully and stores it; switches the active chain when the block's chain has more work
    /// (reorganising if needed). Blocks whose parent is unknown are held (bounded) and connected when the
    /// parent arrives.
    ///
    /// # Errors
    /// [`StateError::InvalidBlock`] (nothing of an invalid block is stored except, for a block whose header
    /// was valid, its index entry marked invalid), [`StateError::KnownInvalid`], [`StateError::Store`].
    pub fn submit_block(&self, block: Block) -> Result<BlockOutcome, StateError> {
        let hash = block.hash();
        {
            let inner = self.lock();
            if let Some(rec) = inner.index.get(&hash) {
                if rec.invalid {
                    return Err(StateError::KnownInvalid(hash));
                }
                if rec.has_body {
                    return Ok(BlockOutcome::AlreadyKnown);
                }
            }
        }
        // Stateless checks (proof of work, Merkle root, signatures) run without holding the lock.
        let checked = check_block(block, &self.network, &mut rand::rng())
            .map_err(|error| invalid(hash, error))?;
        let mut inner = self.lock();
        let outcome = inner.accept(&self.network, checked)?;
        // Blocks that were waiting for this one can now follow.
        let mut merged = outcome.clone();
        let mut parents = vec![hash];
        while let Some(parent) = parents.pop() {
            let children: Vec<BlockHash> = inner
                .orphans
                .iter()
                .filter(|(_, b)| b.header().prev_hash == parent)
                .map(|(h, _)| *h)
                .collect();
            for child in children {
                let Some(block) = inner.orphans.remove(&child) else {
                    continue;
                };
                inner.orphan_order.retain(|h| *h != child);
                if let Ok(BlockOutcome::Connected(r)) = inner.accept(&self.network, block) {
                    if let BlockOutcome::Connected(m) = &mut merged {
                        m.connected.extend(r.connected);
                    } else {
                        merged = BlockOutcome::Connected(r);
                    }
                }
                parents.push(child);
            }
        }
        Ok(merged)
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

/// Reads and decodes a stored block.
fn load_block(store: &mut dyn Store, hash: &BlockHash) -> Result<Option<Block>, StateError> {
    match store.block(hash)? {
        Some(bytes) => Block::from_bytes(&bytes).map(Some).map_err(|e| {
            StateError::Inconsistent(format!("stored block {hash} does not decode: {e}"))
        }),
        None => Ok(None),
    }
}

impl Inner {
    fn tip(&self) -> Tip {
        let hash = self.active[self.active.len() - 1];
        let rec = &self.index[&hash];
        Tip {
            hash,
            height: rec.header.height,
            chain_work: rec.chain_work,
            header: rec.header,
        }
    }

    fn tip_height(&self) -> Height {
        Height(self.active.len() as u64 - 1)
    }

    fn block(&mut self, hash: &BlockHash) -> Result<Option<Block>, StateError> {
        load_block(&mut *self.store, hash)
    }

    fn is_active(&self, hash: &BlockHash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|r| self.active.get(r.header.height.0 as usize) == Some(hash))
    }

    /// The ancestor of `hash` at `height` (walking parent links; fast once on the active chain).
    fn ancestor(&self, hash: &BlockHash, height: Height) -> Option<BlockHash> {
        let mut cur = *hash;
        loop {
            let rec = self.index.get(&cur)?;
            if rec.header.height == height {
                return Some(cur);
            }
            if rec.header.height < height {
                return None;
            }
            if self.is_active(&cur) {
                return self.active.get(height.0 as usize).copied();
            }
            cur = rec.header.prev_hash;
        }
    }

    /// The context a child of `parent` is checked in.
    fn header_context(
        &self,
        network: &Network,
        parent: &BlockHash,
    ) -> Result<HeaderContext, BitsError> {
        let rec = &self.index[parent];
        let height = Height(rec.header.height.0 + 1);
        let spec = network.spec();
        let window = spec.retarget_window_start(height).and_then(|start| {
            let start_hash = self.ancestor(parent, start)?;
            Some((self.index[&start_hash].header.time_ms, rec.header.time_ms))
        });
        let expected_bits = spec.expected_bits(height, rec.header.bits, window)?;
        let mut times = Vec::with_capacity(11);
        let mut cur = Some(*parent);
        while let (Some(h), true) = (cur, times.len() < 11) {
            let r = &self.index[&h];
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
            now_ms: (self.config.clock)(),
        })
    }

    fn hold_orphan(&mut self, block: CheckedBlock) {
        let hash = block.hash();
        if self.orphans.insert(hash, block).is_none() {
            self.orphan_order.push_back(hash);
        }
        while self.orphan_order.len() > self.config.max_orphans {
            if let Some(old) = self.orphan_order.pop_front() {
                self.orphans.remove(&old);
            }
        }
    }

    /// Accepts a stateless-checked block whose parent may or may not be known.
    fn accept(
        &mut self,
        network: &Network,
        block: CheckedBlock,
    ) -> Result<BlockOutcome, StateError> {
        let hash = block.hash();
        if let Some(rec) = self.index.get(&hash) {
            if rec.invalid {
                return Err(StateError::KnownInvalid(hash));
            }
            if rec.has_body {
                return Ok(BlockOutcome::AlreadyKnown);
            }
        }
        let prev = block.header().prev_hash;
        let Some(parent) = self.index.get(&prev).copied() else {
            self.hold_orphan(block);
            return Ok(BlockOutcome::Orphan {
                missing_parent: prev,
            });
        };
        if parent.invalid {
            return Err(StateError::KnownInvalid(prev));
        }
        let ctx = self
            .header_context(network, &prev)
            .map_err(|e| invalid(hash, BlockError::BadBits(e)))?;
        check_header_contextual(block.header(), &ctx, network)
            .map_err(|error| invalid(hash, error))?;
        let work = block
            .header()
            .bits
            .to_target()
            .map(|t| t.work())
            .unwrap_or(Work::ZERO);
        let record = HeaderRecord {
            hash,
            header: *block.header(),
            chain_work: parent.chain_work.saturating_add(work),
            seq: self.next_seq,
            has_body: true,
            invalid: false,
        };
        let mut cs = ChangeSet {
            headers: vec![record],
            bodies: vec![(hash, block.block().to_bytes())],
            ..ChangeSet::default()
        };
        self.index.insert(hash, record);
        match self.update_best_chain(network, &mut cs, hash, Some(block)) {
            Ok(outcome) => {
                self.next_seq += 1;
                Ok(outcome)
            }
            Err(e) => {
                // Not stored: forget it (a resubmission is checked again and refused again).
                self.index.remove(&hash);
                Err(e)
            }
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
                    let block = load_block(&mut *self.store, hash)?.ok_or_else(|| {
                        StateError::Inconsistent(format!("no body for block {hash}"))
                    })?;
                    check_block(block, network, &mut rand::rng())
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

        // The mempool after the switch: disconnected transactions first (oldest block first), then the
        // current pool, each re-checked against the new chain.
        let connected_txids: HashSet<Txid> = connects
            .iter()
            .flat_map(|(b, _)| b.txids().iter().copied())
            .collect();
        let new_height = Height(fork_height + connects.len() as u64);
        let mut pool = Mempool::new(self.config.mempool_max_bytes);
        let mut candidates: Vec<Transaction> = Vec::new();
        for hash in disconnected.iter().rev() {
            if let Some(block) = load_block(&mut *self.store, hash)? {
                candidates.extend(block.transactions.into_iter().filter(|t| !t.is_coinbase()));
            }
        }
        let old_pool: Vec<MempoolEntry> = {
            let mut v: Vec<MempoolEntry> = self.mempool.ordered().into_iter().cloned().collect();
            v.sort_by_key(|e| e.seq);
            v
        };
        let mut next_pool_seq = self.mempool.next_seq();
        for tx in candidates {
            if connected_txids.contains(&tx.txid()) {
                continue;
            }
            if let Ok(mut entry) = pool.check(&tx, &working, new_height, network) {
                entry.seq = next_pool_seq;
                next_pool_seq += 1;
                let _ = pool.insert(entry);
            }
        }
        for old in &old_pool {
            if connected_txids.contains(&old.txid) {
                continue;
            }
            if let Ok(mut entry) = pool.check(&old.tx, &working, new_height, network) {
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
        self.mempool = pool;
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
