//! The mempool: valid transactions waiting for a block (DESIGN §4).
//!
//! - A transaction is checked against the UTXO set **plus the outputs of unconfirmed transactions** already in
//!   the pool, so a wallet may spend its unconfirmed change.
//! - An output may be spent by one pool transaction only: a second spender is a conflict and is refused.
//! - Order: fee rate (fee per encoded byte) first, then arrival — so on a zero-fee chain blocks take
//!   transactions first-in first-out. A child is never placed before its unconfirmed parent.
//! - Bounded by total encoded bytes: when full, the lowest-fee-rate transaction (with its descendants) is
//!   evicted, or the newcomer refused if it would be the lowest. The lowest is found in an ordered index,
//!   never by scanning the pool.
//! - Bounded chains: a transaction may have at most [`MAX_ANCESTORS`] unconfirmed ancestors, and no
//!   unconfirmed transaction more than [`MAX_DESCENDANTS`] descendants.
//! - Records pay no fee (they have no inputs), so they are rate-limited per author instead (ADR 0021): at most
//!   [`MAX_RECORDS_PER_AUTHOR`] unconfirmed records per author key, and records fill at most a quarter of the
//!   pool.
//! - After a block, only what it confirmed or now conflicts with leaves ([`Mempool::removals_for`]); nothing
//!   else is checked again.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use ferrochain_core::check::{TxError, check_transaction, check_transaction_inputs};
use ferrochain_core::tx::{OutPoint, Transaction};
use ferrochain_core::utxo::{UtxoEntry, UtxoView};
use ferrochain_core::{Amount, Block, Height, Network, PubkeyHash, TxKind, Txid};

/// Most unconfirmed ancestors a pool transaction may have (a chain of unconfirmed change longer than this is
/// refused until a block confirms part of it). Generous, so the seed tutorials' flows — many node-built
/// transfers from one key before a block — keep working; checking it costs at most this many steps.
pub const MAX_ANCESTORS: usize = 2_500;
/// Most unconfirmed descendants a pool transaction may have.
pub const MAX_DESCENDANTS: usize = 2_500;
/// Most unconfirmed records one author key may have in the pool.
pub const MAX_RECORDS_PER_AUTHOR: usize = 64;
/// Share of the pool (in bytes, as a divisor) records may fill: a quarter.
pub const RECORD_SHARE_DIVISOR: usize = 4;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The transaction is invalid.
    #[error("invalid transaction: {0}")]
    Invalid(#[from] TxError),
    /// It is already in the pool.
    #[error("transaction {0} is already waiting in the mempool")]
    AlreadyInPool(Txid),
    /// It is already confirmed.
    #[error("transaction {0} is already in the chain")]
    AlreadyInChain(Txid),
    /// It spends an output another pool transaction spends.
    #[error("input {outpoint:?} is already spent by pending transaction {by}")]
    Conflict {
        /// The contested output.
        outpoint: OutPoint,
        /// The pool transaction spending it.
        by: Txid,
    },
    /// The pool is full of transactions paying at least as much.
    #[error("the mempool is full and this transaction's fee rate is too low to replace any other")]
    Full,
    /// The transaction would have too many unconfirmed ancestors, or give one too many descendants.
    #[error(
        "too long a chain of unconfirmed transactions (at most {MAX_ANCESTORS} ancestors and {MAX_DESCENDANTS} descendants); wait for a block"
    )]
    ChainTooLong,
    /// The author already has the most unconfirmed records allowed.
    #[error(
        "this author already has {MAX_RECORDS_PER_AUTHOR} records waiting for a block; send more once some are confirmed"
    )]
    TooManyRecords,
    /// Records already fill their share of the pool.
    #[error("records already fill their share of the mempool; try again after the next block")]
    RecordsFull,
}

/// A transaction in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Encoded size in bytes.
    pub size: usize,
    /// Arrival order.
    pub seq: u64,
    /// The address and amount of each output its inputs spend (resolved when it was checked), for pending
    /// balances without a lookup.
    pub spends: Vec<(PubkeyHash, Amount)>,
}

/// A pool entry's place in the priority order (best first): fee rate, then arrival, then txid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PriorityKey {
    fee: u64,
    size: usize,
    seq: u64,
    txid: Txid,
}

impl PriorityKey {
    fn of(e: &MempoolEntry) -> PriorityKey {
        PriorityKey {
            fee: e.fee.to_units(),
            size: e.size,
            seq: e.seq,
            txid: e.txid,
        }
    }
}

impl Ord for PriorityKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = u128::from(self.fee) * other.size as u128;
        let b = u128::from(other.fee) * self.size as u128;
        b.cmp(&a)
            .then(self.seq.cmp(&other.seq))
            .then(self.txid.as_bytes().cmp(other.txid.as_bytes()))
    }
}

impl PartialOrd for PriorityKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn record_author(tx: &Transaction) -> Option<PubkeyHash> {
    match &tx.kind {
        TxKind::Record { author, .. } => Some(author.pubkey_hash()),
        _ => None,
    }
}

impl MempoolEntry {
    /// Compares by priority: higher fee rate first, then earlier arrival.
    fn priority_cmp(&self, other: &MempoolEntry) -> Ordering {
        // fee_a / size_a > fee_b / size_b  <=>  fee_a * size_b > fee_b * size_a (no floats).
        let a = u128::from(self.fee.to_units()) * other.size as u128;
        let b = u128::from(other.fee.to_units()) * self.size as u128;
        b.cmp(&a).then(self.seq.cmp(&other.seq))
    }
}

/// The pool of unconfirmed transactions.
#[derive(Clone, Debug)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    spent_by: HashMap<OutPoint, Txid>,
    /// Every entry in priority order (the last is the first to evict).
    by_priority: BTreeSet<PriorityKey>,
    /// The pool transactions that pay to or spend from each address.
    by_address: HashMap<PubkeyHash, HashSet<Txid>>,
    /// Unconfirmed records per author.
    records_by_author: HashMap<PubkeyHash, usize>,
    /// Encoded bytes of the records in the pool.
    record_bytes: usize,
    bytes: usize,
    max_bytes: usize,
    next_seq: u64,
}

/// A view of the UTXO set with the pool's transactions applied: confirmed outputs not spent by the pool,
/// plus the pool's own outputs.
struct PoolView<'a, V> {
    chain: &'a V,
    pool: &'a Mempool,
}

impl<V: UtxoView> UtxoView for PoolView<'_, V> {
    fn utxo(&self, outpoint: &OutPoint) -> Option<UtxoEntry> {
        if let Some(parent) = self.pool.entries.get(&outpoint.txid) {
            let output = parent.tx.outputs.get(outpoint.vout as usize)?;
            // Unconfirmed outputs are treated as created at the next height; they are never coinbase.
            return Some(UtxoEntry {
                output: *output,
                height: Height(u64::MAX),
                is_coinbase: false,
            });
        }
        self.chain.utxo(outpoint)
    }
    fn contains_txid(&self, txid: &Txid) -> bool {
        self.chain.contains_txid(txid)
    }
}

impl Mempool {
    /// An empty pool holding at most `max_bytes` of encoded transactions.
    pub fn new(max_bytes: usize) -> Mempool {
        Mempool {
            entries: HashMap::new(),
            spent_by: HashMap::new(),
            by_priority: BTreeSet::new(),
            by_address: HashMap::new(),
            records_by_author: HashMap::new(),
            record_bytes: 0,
            bytes: 0,
            max_bytes,
            next_seq: 0,
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total encoded bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// One transaction.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether a transaction is in the pool.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// The pool transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spent_by.get(outpoint).copied()
    }

    /// The next arrival number (for restoring a persisted pool in order).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Validates `tx` against `chain` (the UTXO set at `tip_height`) plus the pool, and returns the entry it
    /// would become, without adding it.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn check(
        &self,
        tx: &Transaction,
        chain: &impl UtxoView,
        tip_height: Height,
        network: &Network,
    ) -> Result<MempoolEntry, MempoolError> {
        self.check_inner(tx, chain, tip_height, network, true)
    }

    /// [`Mempool::check`] without the stateless checks (signatures, shape): for a transaction whose
    /// `check_transaction` already passed (before the state lock was taken, or when it entered the pool or
    /// its block). What it checks depends on the chain and the pool only.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn check_contextual(
        &self,
        tx: &Transaction,
        chain: &impl UtxoView,
        tip_height: Height,
        network: &Network,
    ) -> Result<MempoolEntry, MempoolError> {
        self.check_inner(tx, chain, tip_height, network, false)
    }

    fn check_inner(
        &self,
        tx: &Transaction,
        chain: &impl UtxoView,
        tip_height: Height,
        network: &Network,
        stateless: bool,
    ) -> Result<MempoolEntry, MempoolError> {
        let txid = tx.txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyInPool(txid));
        }
        if chain.contains_txid(&txid) {
            return Err(MempoolError::AlreadyInChain(txid));
        }
        if stateless {
            check_transaction(tx, network)?;
        }
        if let Some(author) = record_author(tx) {
            if self.records_by_author.get(&author).copied().unwrap_or(0) >= MAX_RECORDS_PER_AUTHOR {
                return Err(MempoolError::TooManyRecords);
            }
            if self.record_bytes + tx.encoded_len() > self.max_bytes / RECORD_SHARE_DIVISOR {
                return Err(MempoolError::RecordsFull);
            }
        }
        for input in tx.inputs() {
            if let Some(by) = self.spent_by.get(&input.prev_out) {
                return Err(MempoolError::Conflict {
                    outpoint: input.prev_out,
                    by: *by,
                });
            }
        }
        let view = PoolView { chain, pool: self };
        let next = Height(tip_height.0.saturating_add(1));
        let fee = check_transaction_inputs(tx, &txid, &view, next, network)?;
        self.check_chain_limits(tx)?;
        let spends = tx
            .inputs()
            .iter()
            .filter_map(|i| view.utxo(&i.prev_out))
            .map(|u| (u.output.address, u.output.amount))
            .collect();
        let seq = self.next_seq;
        Ok(MempoolEntry {
            tx: tx.clone(),
            txid,
            fee,
            size: tx.encoded_len(),
            seq,
            spends,
        })
    }

    /// The in-pool ancestors of a transaction (its unconfirmed parents, theirs, …), at most `limit + 1`.
    fn ancestors(&self, tx: &Transaction, limit: usize) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Txid> = tx.inputs().iter().map(|i| i.prev_out.txid).collect();
        while let Some(t) = stack.pop() {
            if seen.len() > limit {
                break;
            }
            if let Some(e) = self.entries.get(&t)
                && seen.insert(t)
            {
                stack.extend(e.tx.inputs().iter().map(|i| i.prev_out.txid));
            }
        }
        seen
    }

    /// Counts the in-pool descendants of `txid`, stopping past `limit`.
    fn descendants_count(&self, txid: &Txid, limit: usize) -> usize {
        let mut seen = HashSet::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            for vout in 0..entry.tx.outputs.len() as u32 {
                if let Some(child) = self.spent_by.get(&OutPoint { txid: t, vout })
                    && seen.insert(*child)
                {
                    if seen.len() > limit {
                        return seen.len();
                    }
                    stack.push(*child);
                }
            }
        }
        seen.len()
    }

    /// The ancestor and descendant limits. Walking the newcomer's ancestors costs at most
    /// [`MAX_ANCESTORS`] steps; the descendant limit is checked on its unconfirmed parents' roots only when
    /// the chain is long enough to matter.
    fn check_chain_limits(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let ancestors = self.ancestors(tx, MAX_ANCESTORS);
        if ancestors.len() > MAX_ANCESTORS {
            return Err(MempoolError::ChainTooLong);
        }
        // Each ancestor gains one descendant. An ancestor has at most as many descendants as the pool has
        // entries, so the walk is needed only when the pool could exceed the limit through it.
        if self.entries.len() >= MAX_DESCENDANTS {
            for a in &ancestors {
                if self.descendants_count(a, MAX_DESCENDANTS) + 1 > MAX_DESCENDANTS {
                    return Err(MempoolError::ChainTooLong);
                }
            }
        }
        Ok(())
    }

    /// Adds a checked entry, evicting lower-priority transactions if the pool is full. Returns the txids
    /// evicted.
    ///
    /// # Errors
    /// [`MempoolError::Full`] if the entry itself would be the one to evict.
    pub fn insert(&mut self, entry: MempoolEntry) -> Result<Vec<Txid>, MempoolError> {
        self.insert_evicting(entry)
            .map(|evicted| evicted.iter().map(|e| e.txid).collect())
    }

    /// [`Mempool::insert`], returning the evicted entries themselves (so a caller can put them back with
    /// [`Mempool::restore`]). On error the pool is unchanged.
    ///
    /// # Errors
    /// [`MempoolError::Full`] if the entry itself would be the one to evict.
    pub fn insert_evicting(
        &mut self,
        entry: MempoolEntry,
    ) -> Result<Vec<MempoolEntry>, MempoolError> {
        let mut evicted = Vec::new();
        while self.bytes + entry.size > self.max_bytes {
            let full = match self.lowest() {
                None => true,
                // The newcomer pays less than everything here (or depends on the lowest).
                Some(lowest) => {
                    self.entries[&lowest].priority_cmp(&entry) == Ordering::Less
                        || self.descends_from(&entry, &lowest)
                }
            };
            if full {
                // Undo the evictions of earlier rounds: a refused newcomer changes nothing.
                self.restore(evicted);
                return Err(MempoolError::Full);
            }
            if let Some(lowest) = self.lowest() {
                evicted.extend(self.take_with_descendants(&lowest));
            }
        }
        self.add(entry);
        Ok(evicted)
    }

    /// Puts back entries taken out earlier (by eviction), without any check: they were valid together with
    /// what is still in the pool.
    pub fn restore(&mut self, entries: Vec<MempoolEntry>) {
        for entry in entries {
            self.add(entry);
        }
    }

    /// The addresses an entry is indexed under: those its outputs pay and its inputs spend from.
    fn addresses(entry: &MempoolEntry) -> impl Iterator<Item = PubkeyHash> + '_ {
        entry
            .tx
            .outputs
            .iter()
            .map(|o| o.address)
            .chain(entry.spends.iter().map(|(a, _)| *a))
    }

    fn add(&mut self, entry: MempoolEntry) {
        self.next_seq = self.next_seq.max(entry.seq + 1);
        for input in entry.tx.inputs() {
            self.spent_by.insert(input.prev_out, entry.txid);
        }
        for a in Self::addresses(&entry) {
            self.by_address.entry(a).or_default().insert(entry.txid);
        }
        if let Some(author) = record_author(&entry.tx) {
            *self.records_by_author.entry(author).or_default() += 1;
            self.record_bytes += entry.size;
        }
        self.by_priority.insert(PriorityKey::of(&entry));
        self.bytes += entry.size;
        self.entries.insert(entry.txid, entry);
    }

    fn descends_from(&self, entry: &MempoolEntry, ancestor: &Txid) -> bool {
        let mut stack: Vec<Txid> = entry.tx.inputs().iter().map(|i| i.prev_out.txid).collect();
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if t == *ancestor {
                return true;
            }
            if seen.insert(t)
                && let Some(e) = self.entries.get(&t)
            {
                stack.extend(e.tx.inputs().iter().map(|i| i.prev_out.txid));
            }
        }
        false
    }

    fn lowest(&self) -> Option<Txid> {
        self.by_priority.last().map(|k| k.txid)
    }

    /// Removes one transaction (not its descendants). Returns whether it was there.
    pub fn remove(&mut self, txid: &Txid) -> bool {
        self.take(txid).is_some()
    }

    fn take(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        for input in entry.tx.inputs() {
            if self.spent_by.get(&input.prev_out) == Some(txid) {
                self.spent_by.remove(&input.prev_out);
            }
        }
        for a in Self::addresses(&entry) {
            if let Some(set) = self.by_address.get_mut(&a) {
                set.remove(txid);
                if set.is_empty() {
                    self.by_address.remove(&a);
                }
            }
        }
        if let Some(author) = record_author(&entry.tx) {
            if let Some(n) = self.records_by_author.get_mut(&author) {
                *n -= 1;
                if *n == 0 {
                    self.records_by_author.remove(&author);
                }
            }
            self.record_bytes -= entry.size;
        }
        self.by_priority.remove(&PriorityKey::of(&entry));
        self.bytes -= entry.size;
        Some(entry)
    }

    /// An empty pool with the same bound and arrival counter (to rebuild this one after a reorg).
    pub fn emptied(&self) -> Mempool {
        let mut pool = Mempool::new(self.max_bytes);
        pool.next_seq = self.next_seq;
        pool
    }

    /// What must leave the pool when `blocks` join the active chain on top of the chain it was checked
    /// against: the transactions they confirm, and every pool transaction that spends an output they spend
    /// (a conflict), with its descendants. Costs in proportion to the blocks (and what they remove), not to
    /// the pool. Does not change the pool (the caller removes them once the blocks are committed).
    pub fn removals_for(&self, blocks: &[&Block]) -> Vec<Txid> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for block in blocks {
            for tx in &block.transactions {
                let txid = tx.txid();
                if self.entries.contains_key(&txid) {
                    if seen.insert(txid) {
                        out.push(txid);
                    }
                    continue;
                }
                for input in tx.inputs() {
                    let Some(conflict) = self.spent_by.get(&input.prev_out) else {
                        continue;
                    };
                    let mut stack = vec![*conflict];
                    while let Some(t) = stack.pop() {
                        let Some(e) = self.entries.get(&t) else {
                            continue;
                        };
                        if !seen.insert(t) {
                            continue;
                        }
                        out.push(t);
                        for vout in 0..e.tx.outputs.len() as u32 {
                            if let Some(child) = self.spent_by.get(&OutPoint { txid: t, vout }) {
                                stack.push(*child);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The outputs pool transactions pay to `address` that no pool transaction spends yet (unconfirmed
    /// change a new transaction may spend), in arrival order.
    pub fn unspent_outputs_to(
        &self,
        address: &PubkeyHash,
    ) -> Vec<(OutPoint, ferrochain_core::TxOut)> {
        let mut entries: Vec<&MempoolEntry> = self
            .by_address
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|t| self.entries.get(t))
            .collect();
        entries.sort_by_key(|e| e.seq);
        let mut out = Vec::new();
        for e in entries {
            for (vout, o) in e.tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid: e.txid,
                    vout: vout as u32,
                };
                if o.address == *address && !self.spent_by.contains_key(&op) {
                    out.push((op, *o));
                }
            }
        }
        out
    }

    /// Removes a transaction and every pool transaction that spends its outputs, transitively.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        self.take_with_descendants(txid)
            .iter()
            .map(|e| e.txid)
            .collect()
    }

    fn take_with_descendants(&mut self, txid: &Txid) -> Vec<MempoolEntry> {
        let mut removed = Vec::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            let children: Vec<Txid> = (0..entry.tx.outputs.len() as u32)
                .filter_map(|vout| self.spent_by.get(&OutPoint { txid: t, vout }).copied())
                .collect();
            removed.extend(self.take(&t));
            stack.extend(children);
        }
        removed
    }

    /// Every transaction in block order: by priority, each after its unconfirmed parents.
    pub fn ordered(&self) -> Vec<&MempoolEntry> {
        /// Max-heap item: the best priority pops first.
        struct Ready<'a>(&'a MempoolEntry);
        impl PartialEq for Ready<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.0.txid == other.0.txid
            }
        }
        impl Eq for Ready<'_> {}
        impl PartialOrd for Ready<'_> {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Ready<'_> {
            fn cmp(&self, other: &Self) -> Ordering {
                other.0.priority_cmp(self.0)
            }
        }
        // Number of distinct unconfirmed parents each entry waits for, and each entry's pool children.
        let mut waiting: HashMap<Txid, usize> = HashMap::with_capacity(self.entries.len());
        let mut children: HashMap<Txid, Vec<Txid>> = HashMap::new();
        let mut heap = std::collections::BinaryHeap::with_capacity(self.entries.len());
        for e in self.entries.values() {
            let parents: HashSet<Txid> =
                e.tx.inputs()
                    .iter()
                    .map(|i| i.prev_out.txid)
                    .filter(|p| self.entries.contains_key(p))
                    .collect();
            for p in &parents {
                children.entry(*p).or_default().push(e.txid);
            }
            if parents.is_empty() {
                heap.push(Ready(e));
            } else {
                waiting.insert(e.txid, parents.len());
            }
        }
        let mut out = Vec::with_capacity(self.entries.len());
        while let Some(Ready(e)) = heap.pop() {
            out.push(e);
            for child in children.get(&e.txid).into_iter().flatten() {
                if let Some(n) = waiting.get_mut(child) {
                    *n -= 1;
                    if *n == 0 {
                        waiting.remove(child);
                        heap.push(Ready(&self.entries[child]));
                    }
                }
            }
        }
        out
    }

    /// The first `max` transactions in block order, for a block template.
    pub fn template(&self, max: usize) -> Vec<Transaction> {
        self.ordered()
            .into_iter()
            .take(max)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// The pending effect on an address: (received by it, spent from it), for "pending balance". Looks at
    /// the pool transactions of that address only.
    pub fn pending_for(
        &self,
        address: &ferrochain_core::PubkeyHash,
        _chain: &impl UtxoView,
    ) -> (Amount, Amount) {
        let mut received = 0u64;
        let mut spent = 0u64;
        for e in self
            .by_address
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|t| self.entries.get(t))
        {
            for o in &e.tx.outputs {
                if o.address == *address {
                    received = received.saturating_add(o.amount.to_units());
                }
            }
            for (a, amount) in &e.spends {
                if a == address {
                    spent = spent.saturating_add(amount.to_units());
                }
            }
        }
        let a = |v: u64| Amount::from_units(v).unwrap_or(Amount::MAX);
        (a(received), a(spent))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrochain_core::builder::ChainBuilder;
    use ferrochain_core::spec::Allocation;
    use ferrochain_core::{ChainSpec, SigningKey, Target, TxOut};

    fn key(b: u8) -> SigningKey {
        SigningKey::from_secret_bytes([b; 32])
    }

    fn chain() -> ChainBuilder {
        let mut spec = ChainSpec::dev();
        spec.initial_bits = Target::from_leading_zero_bits(8).to_compact();
        for b in 1..=6u8 {
            let address = key(b).public_key().pubkey_hash();
            spec.genesis_allocations.push(Allocation {
                address,
                amount: Amount::from_units(1_000_000).unwrap(),
            });
        }
        ChainBuilder::new(Network::new(spec).unwrap())
    }

    /// A transfer from key `from` paying `fee`.
    fn pay(chain: &ChainBuilder, from: u8, fee: u64) -> Transaction {
        let to = key(9).public_key().pubkey_hash();
        let amount = Amount::from_units(1000).unwrap();
        chain
            .transfer(
                &key(from),
                to,
                amount,
                Amount::from_units(fee).unwrap(),
                Vec::new(),
                &mut Vec::new(),
            )
            .unwrap()
    }

    fn add(
        pool: &mut Mempool,
        chain: &ChainBuilder,
        tx: &Transaction,
    ) -> Result<Vec<Txid>, MempoolError> {
        let entry = pool.check(tx, chain.utxos(), chain.height(), chain.network())?;
        pool.insert(entry)
    }

    #[test]
    fn a_full_pool_evicts_the_lowest_fee_rate_with_its_descendants() {
        let chain = chain();
        let low = pay(&chain, 1, 10);
        let size = low.encoded_len();
        // Room for exactly three transactions of this size.
        let mut pool = Mempool::new(3 * size);
        add(&mut pool, &chain, &low).unwrap();
        // A child of `low`, spending its change.
        let change = OutPoint {
            txid: low.txid(),
            vout: 1,
        };
        let child = Transaction::signed_transfer(
            &[(change, &key(1))],
            vec![TxOut {
                amount: Amount::from_units(5000).unwrap(),
                address: key(9).public_key().pubkey_hash(),
            }],
            Vec::new(),
            &chain.network().genesis_hash(),
        );
        add(&mut pool, &chain, &child).unwrap();
        add(&mut pool, &chain, &pay(&chain, 2, 500)).unwrap();
        assert_eq!(pool.len(), 3);
        // A richer newcomer evicts `low` and, with it, the child that spends its output.
        let rich = pay(&chain, 3, 900);
        let evicted = add(&mut pool, &chain, &rich).unwrap();
        assert!(
            evicted.contains(&low.txid()) && evicted.contains(&child.txid()),
            "{evicted:?}"
        );
        assert!(pool.contains(&rich.txid()) && !pool.contains(&child.txid()));
        assert!(pool.bytes() <= 3 * size);
        add(&mut pool, &chain, &pay(&chain, 5, 600)).unwrap();
        assert_eq!(pool.len(), 3);
        // A newcomer paying less than everything there is refused, and nothing is evicted.
        let poor = pay(&chain, 4, 1);
        assert_eq!(add(&mut pool, &chain, &poor), Err(MempoolError::Full));
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn a_refused_newcomer_leaves_the_pool_unchanged_even_after_a_partial_eviction() {
        let chain = chain();
        let low = pay(&chain, 1, 10);
        let size = low.encoded_len();
        let mut pool = Mempool::new(3 * size);
        for tx in [&low, &pay(&chain, 2, 500), &pay(&chain, 3, 900)] {
            add(&mut pool, &chain, tx).unwrap();
        }
        // Over twice the size of the others, at a fee rate above `low`'s but below the next one's: evicting
        // `low` is not enough room, and the next candidate outranks it.
        let to = key(9).public_key().pubkey_hash();
        let big = chain
            .transfer(
                &key(4),
                to,
                Amount::from_units(1000).unwrap(),
                Amount::from_units(600).unwrap(),
                vec![7; size + 40],
                &mut Vec::new(),
            )
            .unwrap();
        assert!(big.encoded_len() > 2 * size);
        let (txids, bytes) = (
            pool.ordered().iter().map(|e| e.txid).collect::<Vec<_>>(),
            pool.bytes(),
        );
        assert_eq!(add(&mut pool, &chain, &big), Err(MempoolError::Full));
        assert_eq!(
            pool.ordered().iter().map(|e| e.txid).collect::<Vec<_>>(),
            txids
        );
        assert_eq!(pool.bytes(), bytes);
        assert!(
            pool.spender(&low.inputs()[0].prev_out).is_some(),
            "the evicted candidate was put back"
        );
    }

    #[test]
    fn parents_come_before_richer_children_and_ties_go_by_arrival() {
        let chain = chain();
        let mut pool = Mempool::new(1 << 20);
        let parent = pay(&chain, 1, 0);
        add(&mut pool, &chain, &parent).unwrap();
        let child = Transaction::signed_transfer(
            &[(
                OutPoint {
                    txid: parent.txid(),
                    vout: 1,
                },
                &key(1),
            )],
            vec![TxOut {
                amount: Amount::from_units(1000).unwrap(),
                address: key(9).public_key().pubkey_hash(),
            }],
            Vec::new(),
            &chain.network().genesis_hash(),
        );
        add(&mut pool, &chain, &child).unwrap();
        let (a, b) = (pay(&chain, 2, 0), pay(&chain, 3, 0));
        add(&mut pool, &chain, &a).unwrap();
        add(&mut pool, &chain, &b).unwrap();
        let order: Vec<Txid> = pool.ordered().iter().map(|e| e.txid).collect();
        // The child pays a huge fee but cannot precede its parent; zero-fee transactions go first-in first-out.
        let pos = |t: &Transaction| order.iter().position(|x| *x == t.txid()).unwrap();
        assert!(pos(&parent) < pos(&child));
        assert_eq!(
            order[0],
            parent.txid(),
            "first arrived, and no one pays more without depending on it"
        );
        assert!(pos(&a) < pos(&b));
        // Removing the parent takes the child with it.
        let removed = pool.remove_with_descendants(&parent.txid());
        assert_eq!(removed.len(), 2);
        assert!(
            pool.spender(&OutPoint {
                txid: parent.txid(),
                vout: 1
            })
            .is_none()
        );
    }
}
