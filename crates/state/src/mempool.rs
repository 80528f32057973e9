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
//! - Bounded chains, as a **cluster limit** ([`ChainLimits`], as Bitcoin Core's cluster mempool does): pool
//!   transactions connected by unconfirmed spends (a transaction, what it spends from the pool, what spends
//!   it, and so on) form a cluster of at most [`MAX_CLUSTER`]. So every transaction has fewer than that many
//!   unconfirmed ancestors and fewer than that many descendants. Clusters are kept as entries come and go
//!   (merged on arrival, split again when members leave), so checking a newcomer looks at its inputs only,
//!   whatever the length of the chain it extends.
//! - Records pay no fee (they have no inputs), so they are rate-limited per author instead (ADR 0021): at most
//!   [`MAX_RECORDS_PER_AUTHOR`] unconfirmed records per author key, and records fill at most a quarter of the
//!   pool.
//! - After a block, only what it confirmed or now conflicts with leaves ([`Mempool::removals_for`]); nothing
//!   else is checked again.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ferrochain_core::check::{TxError, check_transaction, check_transaction_inputs};
use ferrochain_core::tx::{OutPoint, Transaction};
use ferrochain_core::utxo::{UtxoEntry, UtxoView};
use ferrochain_core::{Amount, Block, Height, Network, PubkeyHash, TxKind, Txid};

/// Most transactions in one cluster of connected unconfirmed transactions (so a chain of unconfirmed change
/// longer than this is refused until a block confirms part of it). Generous, so the seed tutorials' flows —
/// many node-built transfers from one key before a block — keep working; checking it costs a look at the
/// newcomer's inputs.
pub const MAX_CLUSTER: usize = 2_500;
/// Most unconfirmed records one author key may have in the pool.
pub const MAX_RECORDS_PER_AUTHOR: usize = 64;
/// Share of the pool (in bytes, as a divisor) records may fill: a quarter.
pub const RECORD_SHARE_DIVISOR: usize = 4;

/// How large a group of connected unconfirmed transactions the pool takes ([`MAX_CLUSTER`] by default). A
/// cluster bounds both the ancestors and the descendants of each of its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLimits {
    /// Most transactions in one cluster.
    pub cluster: usize,
}

impl Default for ChainLimits {
    fn default() -> ChainLimits {
        ChainLimits {
            cluster: MAX_CLUSTER,
        }
    }
}

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
    /// The transaction would join too large a group of connected unconfirmed transactions.
    #[error(
        "too long a chain of unconfirmed transactions (at most {} connected by unconfirmed spends); wait for a block",
        .0.cluster
    )]
    ChainTooLong(ChainLimits),
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
    /// The cluster of every entry (connected by unconfirmed spends), and each cluster's members.
    cluster_of: HashMap<Txid, u64>,
    clusters: HashMap<u64, Vec<Txid>>,
    next_cluster: u64,
    /// The outputs of pool transactions that no pool transaction spends, per address they pay, in arrival
    /// order (unconfirmed change a payment may spend, without scanning the address's pool transactions).
    unspent_to: HashMap<PubkeyHash, BTreeMap<(u64, Txid, u32), ferrochain_core::TxOut>>,
    limits: ChainLimits,
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
    /// An empty pool holding at most `max_bytes` of encoded transactions, with the default [`ChainLimits`].
    pub fn new(max_bytes: usize) -> Mempool {
        Mempool::with_limits(max_bytes, ChainLimits::default())
    }

    /// An empty pool holding at most `max_bytes` of encoded transactions, taking chains of unconfirmed
    /// transactions up to `limits`.
    pub fn with_limits(max_bytes: usize, limits: ChainLimits) -> Mempool {
        Mempool {
            entries: HashMap::new(),
            spent_by: HashMap::new(),
            by_priority: BTreeSet::new(),
            by_address: HashMap::new(),
            records_by_author: HashMap::new(),
            record_bytes: 0,
            cluster_of: HashMap::new(),
            clusters: HashMap::new(),
            next_cluster: 0,
            unspent_to: HashMap::new(),
            limits,
            bytes: 0,
            max_bytes,
            next_seq: 0,
        }
    }

    /// How many pool transactions are connected to `txid` by unconfirmed spends, itself included; `None` if
    /// it is not in the pool.
    pub fn cluster_size(&self, txid: &Txid) -> Option<usize> {
        let id = self.cluster_of.get(txid)?;
        self.clusters.get(id).map(Vec::len)
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

    /// The distinct clusters of a transaction's in-pool parents.
    fn parent_clusters(&self, tx: &Transaction) -> Vec<u64> {
        let mut ids: Vec<u64> = Vec::new();
        for input in tx.inputs() {
            if let Some(id) = self.cluster_of.get(&input.prev_out.txid)
                && !ids.contains(id)
            {
                ids.push(*id);
            }
        }
        ids
    }

    /// The cluster limit: the newcomer and the clusters it would join, together.
    fn check_chain_limits(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let joined: usize = self
            .parent_clusters(tx)
            .iter()
            .map(|id| self.clusters.get(id).map_or(0, Vec::len))
            .sum();
        if joined + 1 > self.limits.cluster {
            return Err(MempoolError::ChainTooLong(self.limits));
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

    /// Adds an entry whose unconfirmed parents are all in the pool already (so its descendants are not).
    fn add(&mut self, entry: MempoolEntry) {
        self.next_seq = self.next_seq.max(entry.seq + 1);
        // Join the parents' clusters: the largest absorbs the others (each entry moves O(log n) times).
        let mut ids = self.parent_clusters(&entry.tx);
        ids.sort_by_key(|id| std::cmp::Reverse(self.clusters.get(id).map_or(0, Vec::len)));
        let id = match ids.split_first() {
            None => {
                self.next_cluster += 1;
                self.next_cluster
            }
            Some((largest, others)) => {
                for other in others {
                    for member in self.clusters.remove(other).unwrap_or_default() {
                        self.cluster_of.insert(member, *largest);
                        self.clusters.entry(*largest).or_default().push(member);
                    }
                }
                *largest
            }
        };
        self.cluster_of.insert(entry.txid, id);
        self.clusters.entry(id).or_default().push(entry.txid);
        for input in entry.tx.inputs() {
            let op = input.prev_out;
            if let Some(parent) = self.entries.get(&op.txid)
                && let Some(outputs) = parent
                    .tx
                    .outputs
                    .get(op.vout as usize)
                    .and_then(|o| self.unspent_to.get_mut(&o.address))
            {
                outputs.remove(&(parent.seq, op.txid, op.vout));
            }
        }
        for (vout, o) in entry.tx.outputs.iter().enumerate() {
            self.unspent_to
                .entry(o.address)
                .or_default()
                .insert((entry.seq, entry.txid, vout as u32), *o);
        }
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
        !self.take_all(std::slice::from_ref(txid)).is_empty()
    }

    /// Removes these transactions (not their other descendants), as after a block that confirms them or
    /// conflicts with them. Returns how many were there.
    pub fn remove_all(&mut self, txids: &[Txid]) -> usize {
        self.take_all(txids).len()
    }

    /// Takes a set of entries out, returning them parents first (the order [`Mempool::restore`] needs). The
    /// clusters they leave are split again into what is still connected: one walk of each such cluster per
    /// call, whatever the number taken.
    fn take_all(&mut self, txids: &[Txid]) -> Vec<MempoolEntry> {
        let order = self.parents_first(txids);
        let mut affected: Vec<u64> = Vec::new();
        let mut taken: Vec<MempoolEntry> = Vec::with_capacity(order.len());
        for txid in &order {
            if let Some(id) = self.cluster_of.remove(txid)
                && !affected.contains(&id)
            {
                affected.push(id);
            }
            taken.extend(self.take(txid));
        }
        for id in affected {
            let members = self.clusters.remove(&id).unwrap_or_default();
            self.regroup(members);
        }
        taken
    }

    /// Gives the members (of one former cluster) still in the pool a cluster per connected group.
    fn regroup(&mut self, members: Vec<Txid>) {
        let mut placed: HashSet<Txid> = HashSet::new();
        for start in members {
            if !self.entries.contains_key(&start) || !placed.insert(start) {
                continue;
            }
            self.next_cluster += 1;
            let id = self.next_cluster;
            let mut group = Vec::new();
            let mut stack = vec![start];
            while let Some(t) = stack.pop() {
                group.push(t);
                let Some(e) = self.entries.get(&t) else {
                    continue;
                };
                let parents = e.tx.inputs().iter().map(|i| i.prev_out.txid);
                let children = (0..e.tx.outputs.len() as u32)
                    .filter_map(|vout| self.spent_by.get(&OutPoint { txid: t, vout }).copied());
                for next in parents.chain(children) {
                    if self.entries.contains_key(&next) && placed.insert(next) {
                        stack.push(next);
                    }
                }
            }
            for t in &group {
                self.cluster_of.insert(*t, id);
            }
            self.clusters.insert(id, group);
        }
    }

    /// The pool entries among `txids`, each after those of its in-pool parents that are among them too.
    fn parents_first(&self, txids: &[Txid]) -> Vec<Txid> {
        let set: HashSet<Txid> = txids
            .iter()
            .copied()
            .filter(|t| self.entries.contains_key(t))
            .collect();
        let mut waiting: HashMap<Txid, usize> = HashMap::new();
        let mut ready: Vec<Txid> = Vec::new();
        let mut seen = HashSet::new();
        for t in txids.iter().filter(|t| set.contains(t)) {
            if !seen.insert(*t) {
                continue;
            }
            let parents: HashSet<Txid> = self.entries[t]
                .tx
                .inputs()
                .iter()
                .map(|i| i.prev_out.txid)
                .filter(|p| set.contains(p))
                .collect();
            if parents.is_empty() {
                ready.push(*t);
            } else {
                waiting.insert(*t, parents.len());
            }
        }
        ready.reverse();
        let mut out = Vec::with_capacity(set.len());
        while let Some(t) = ready.pop() {
            out.push(t);
            for vout in 0..self.entries[&t].tx.outputs.len() as u32 {
                let Some(child) = self.spent_by.get(&OutPoint { txid: t, vout }) else {
                    continue;
                };
                if let Some(n) = waiting.get_mut(child) {
                    *n -= 1;
                    if *n == 0 {
                        waiting.remove(child);
                        ready.push(*child);
                    }
                }
            }
        }
        out
    }

    /// Takes one entry out of every index but the clusters ([`Mempool::take_all`] keeps those).
    fn take(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        for (vout, o) in entry.tx.outputs.iter().enumerate() {
            if let Some(outputs) = self.unspent_to.get_mut(&o.address) {
                outputs.remove(&(entry.seq, entry.txid, vout as u32));
                if outputs.is_empty() {
                    self.unspent_to.remove(&o.address);
                }
            }
        }
        // The pool outputs it spent are unspent again.
        for input in entry.tx.inputs() {
            let op = input.prev_out;
            if let Some(parent) = self.entries.get(&op.txid)
                && let Some(o) = parent.tx.outputs.get(op.vout as usize)
            {
                self.unspent_to
                    .entry(o.address)
                    .or_default()
                    .insert((parent.seq, op.txid, op.vout), *o);
            }
        }
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
        let mut pool = Mempool::with_limits(self.max_bytes, self.limits);
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
        self.unspent_to
            .get(address)
            .into_iter()
            .flatten()
            .map(|((_, txid, vout), o)| {
                (
                    OutPoint {
                        txid: *txid,
                        vout: *vout,
                    },
                    *o,
                )
            })
            .collect()
    }

    /// Removes a transaction and every pool transaction that spends its outputs, transitively.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        self.take_with_descendants(txid)
            .iter()
            .map(|e| e.txid)
            .collect()
    }

    fn take_with_descendants(&mut self, txid: &Txid) -> Vec<MempoolEntry> {
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            if !seen.insert(t) {
                continue;
            }
            all.push(t);
            stack.extend(
                (0..entry.tx.outputs.len() as u32)
                    .filter_map(|vout| self.spent_by.get(&OutPoint { txid: t, vout }).copied()),
            );
        }
        self.take_all(&all)
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

    /// A transfer from `from` spending `outpoint` (worth `amount`) in `outputs` equal shares back to itself.
    fn spend(
        chain: &ChainBuilder,
        from: u8,
        outpoint: OutPoint,
        amount: u64,
        outputs: u64,
    ) -> Transaction {
        let to = key(from).public_key().pubkey_hash();
        let outs = (0..outputs)
            .map(|_| TxOut {
                amount: Amount::from_units(amount / outputs).unwrap(),
                address: to,
            })
            .collect();
        Transaction::signed_transfer(
            &[(outpoint, &key(from))],
            outs,
            Vec::new(),
            &chain.network().genesis_hash(),
        )
    }

    /// A chain of `n` unconfirmed transfers from key 1, each spending the previous one's first output.
    fn unconfirmed_chain(chain: &ChainBuilder, n: usize) -> Vec<Transaction> {
        let (funds, entry) = chain.spendable(&key(1).public_key().pubkey_hash())[0];
        let mut txs = vec![spend(chain, 1, funds, entry.output.amount.to_units(), 1)];
        while txs.len() < n {
            let prev = txs.last().unwrap();
            let out = OutPoint {
                txid: prev.txid(),
                vout: 0,
            };
            let value = prev.outputs[0].amount.to_units();
            txs.push(spend(chain, 1, out, value, 1));
        }
        txs
    }

    #[test]
    fn a_chain_of_unconfirmed_transactions_stops_at_the_cluster_limit() {
        let chain = chain();
        let limits = ChainLimits { cluster: 4 };
        let mut pool = Mempool::with_limits(1 << 20, limits);
        let txs = unconfirmed_chain(&chain, 5);
        // Four connected transactions are allowed; the fifth would make five.
        for tx in &txs[..4] {
            add(&mut pool, &chain, tx).unwrap();
        }
        assert_eq!(
            add(&mut pool, &chain, &txs[4]),
            Err(MempoolError::ChainTooLong(limits))
        );
        assert_eq!(pool.len(), 4, "the refused one left nothing behind");
        assert_eq!(pool.cluster_size(&txs[0].txid()), Some(4));
        // The only unconfirmed output key 1 may spend is the last one's.
        let me = key(1).public_key().pubkey_hash();
        let unspent = |pool: &Mempool| -> Vec<OutPoint> {
            pool.unspent_outputs_to(&me)
                .into_iter()
                .map(|(op, _)| op)
                .collect()
        };
        let first_out = |tx: &Transaction| OutPoint {
            txid: tx.txid(),
            vout: 0,
        };
        assert_eq!(unspent(&pool), vec![first_out(&txs[3])]);
        // A block confirming the first makes room for the fifth.
        let mut next = chain.clone();
        let t = next.tip().header.time_ms + 1000;
        next.mine_block(
            vec![txs[0].clone()],
            key(9).public_key().pubkey_hash(),
            t,
            &mut rand::rng(),
        )
        .unwrap();
        let block = next.tip().clone();
        let removals = pool.removals_for(&[&block]);
        assert_eq!(removals, vec![txs[0].txid()]);
        assert_eq!(pool.remove_all(&removals), 1);
        assert_eq!(pool.cluster_size(&txs[1].txid()), Some(3));
        let entry = pool
            .check(&txs[4], next.utxos(), next.height(), next.network())
            .unwrap();
        pool.insert(entry).unwrap();
        assert_eq!(pool.len(), 4);
        assert_eq!(pool.cluster_size(&txs[4].txid()), Some(4));
        assert_eq!(unspent(&pool), vec![first_out(&txs[4])]);
        // Taking the last one out makes its parent's output spendable again.
        pool.remove_with_descendants(&txs[4].txid());
        assert_eq!(unspent(&pool), vec![first_out(&txs[3])]);
        assert_eq!(pool.cluster_size(&txs[1].txid()), Some(3));
    }

    #[test]
    fn clusters_count_descendants_too_and_split_when_a_shared_parent_leaves() {
        let chain = chain();
        let limits = ChainLimits { cluster: 5 };
        let mut pool = Mempool::with_limits(1 << 20, limits);
        // A root with six outputs, and a child spending each: the fifth child is one too many.
        let (root_in, funds) = chain.spendable(&key(2).public_key().pubkey_hash())[0];
        let root = spend(&chain, 2, root_in, funds.output.amount.to_units(), 6);
        add(&mut pool, &chain, &root).unwrap();
        let child = |vout: u32| {
            let out = OutPoint {
                txid: root.txid(),
                vout,
            };
            spend(
                &chain,
                2,
                out,
                root.outputs[vout as usize].amount.to_units(),
                2,
            )
        };
        let children: Vec<Transaction> = (0..6).map(child).collect();
        for c in &children[..4] {
            add(&mut pool, &chain, c).unwrap();
        }
        assert_eq!(pool.cluster_size(&root.txid()), Some(5));
        assert_eq!(
            add(&mut pool, &chain, &children[4]),
            Err(MempoolError::ChainTooLong(limits))
        );
        // A grandchild counts too.
        let grandchild = spend(
            &chain,
            2,
            OutPoint {
                txid: children[0].txid(),
                vout: 0,
            },
            children[0].outputs[0].amount.to_units(),
            1,
        );
        assert_eq!(
            add(&mut pool, &chain, &grandchild),
            Err(MempoolError::ChainTooLong(limits))
        );
        // Once one child leaves (with what spends it), there is room again.
        assert_eq!(pool.remove_with_descendants(&children[1].txid()).len(), 1);
        assert_eq!(pool.cluster_size(&root.txid()), Some(4));
        add(&mut pool, &chain, &children[4]).unwrap();
        assert_eq!(
            add(&mut pool, &chain, &children[5]),
            Err(MempoolError::ChainTooLong(limits))
        );
        // The root confirmed: its four children no longer share anything unconfirmed, each is alone.
        assert_eq!(pool.remove_all(&[root.txid()]), 1);
        for c in [&children[0], &children[2], &children[3], &children[4]] {
            assert_eq!(pool.cluster_size(&c.txid()), Some(1));
        }
        add(&mut pool, &chain, &children[5]).unwrap_err(); // its input (the root's output) is gone
        add(&mut pool, &chain, &grandchild).unwrap();
        assert_eq!(pool.cluster_size(&grandchild.txid()), Some(2));
        // Two clusters joined by one transaction spending from both become one.
        let joint = Transaction::signed_transfer(
            &[
                (
                    OutPoint {
                        txid: children[2].txid(),
                        vout: 0,
                    },
                    &key(2),
                ),
                (
                    OutPoint {
                        txid: grandchild.txid(),
                        vout: 0,
                    },
                    &key(2),
                ),
            ],
            vec![TxOut {
                amount: Amount::from_units(1000).unwrap(),
                address: key(9).public_key().pubkey_hash(),
            }],
            Vec::new(),
            &chain.network().genesis_hash(),
        );
        add(&mut pool, &chain, &joint).unwrap();
        assert_eq!(pool.cluster_size(&children[0].txid()), Some(4));
        assert_eq!(pool.cluster_size(&children[3].txid()), Some(1));
        // Evicting everything leaves no cluster behind.
        for c in [&children[0], &children[2], &children[3], &children[4]] {
            pool.remove_with_descendants(&c.txid());
        }
        assert!(pool.is_empty() && pool.clusters.is_empty() && pool.cluster_of.is_empty());
    }

    #[test]
    fn the_default_limit_takes_a_chain_of_2500_and_no_more() {
        let chain = chain();
        let mut pool = Mempool::new(usize::MAX / 2);
        let txs = unconfirmed_chain(&chain, MAX_CLUSTER + 1);
        for tx in &txs[..MAX_CLUSTER] {
            add(&mut pool, &chain, tx).unwrap();
        }
        assert_eq!(pool.cluster_size(&txs[0].txid()), Some(MAX_CLUSTER));
        let err = add(&mut pool, &chain, &txs[MAX_CLUSTER]).unwrap_err();
        assert_eq!(err, MempoolError::ChainTooLong(ChainLimits::default()));
        assert!(err.to_string().contains("at most 2500 connected"), "{err}");
    }
}
